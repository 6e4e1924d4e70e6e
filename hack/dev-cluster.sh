#!/usr/bin/env bash
# Starts or stops the local control plane: a kwok cluster on the binary runtime, built from bin/
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), with simulated nodes.
# kube-controller-manager runs there, so Deployments become available, namespaces really finish
# deleting and the garbage collector follows owner references.
#
# The cluster has room for the demo and the benchmark (every commune and CPAS with their
# applications), which the defaults of kwokctl do not give:
# - Service IPs: kube-apiserver's range is a /24 (254 addresses, gone after about 40 tenants with
#   applications); a ServiceCIDR object adds a /16 (65,534);
# - pods: NODES simulated nodes (default 3) of PODS_PER_NODE pods each (default 1000), with the
#   CPU (1000) and memory (4Ti) to schedule that many;
# - volumes: kube-controller-manager's host-path provisioner behind a default StorageClass, so
#   every PersistentVolumeClaim binds to a volume provisioned for it, as on a real cluster;
# - pace: kube-controller-manager and kube-scheduler talk to the API server at 200 requests a second
#   (their defaults, 20 and 50, would make thousands of pods wait on them, not on the API server),
#   and kube-controller-manager syncs 25 Deployments and 25 ReplicaSets at once (its default, 5,
#   left 10,000 Deployments created at once waiting on the deployment controller for an hour).
#
#   hack/dev-cluster.sh up   <name> <kubeconfig>
#   hack/dev-cluster.sh down <name> <kubeconfig>
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${ROOT}/bin"
action=${1:?up or down}
name=${2:-mutualis-dev}
kubeconfig=${3:-${ROOT}/.kube/${name}.yaml}
nodes=${NODES:-3}
pods_per_node=${PODS_PER_NODE:-1000}
service_cidr=${SERVICE_CIDR:-10.128.0.0/16}

kwokctl() { "${BIN}/kwokctl" --name "${name}" "$@"; }

case "${action}" in
up)
  mkdir -p "$(dirname "${kubeconfig}")"
  # the components' flags go through a configuration file: kwokctl v0.8.0's --extra-args mixes up
  # the components when more than one takes several flags
  config=$(mktemp)
  trap 'rm -f "${config}"' EXIT
  cat >"${config}" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - {key: enable-hostpath-provisioner, value: "true"}
  - {key: kube-api-qps, value: "200"}
  - {key: kube-api-burst, value: "400"}
  - {key: concurrent-deployment-syncs, value: "25"}
  - {key: concurrent-replicaset-syncs, value: "25"}
  - {key: concurrent-statefulset-syncs, value: "10"}
- name: kube-scheduler
  extraArgs:
  - {key: kube-api-qps, value: "200"}
  - {key: kube-api-burst, value: "400"}
---
# the nodes run no container, so no program writes a log: kwok answers for the export container of
# a Shared application's data hook (kubectl mutualis offboard keeps that log in the export) with
# the lines of hack/kwok/data-hook.log (in the container runtime's log format, as a kubelet reads them)
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: data-hooks
spec:
  logs:
  - containers: [export]
    logsFile: ${ROOT}/hack/kwok/data-hook.log
EOF
  # a stale cluster of the same name (an interrupted run) goes first
  kwokctl delete cluster --kubeconfig "${kubeconfig}" >/dev/null 2>&1 || true
  kwokctl create cluster \
    --runtime binary \
    --kubeconfig "${kubeconfig}" \
    --etcd-binary "${BIN}/etcd" \
    --kube-apiserver-binary "${BIN}/kube-apiserver" \
    --kube-controller-manager-binary "${BIN}/kube-controller-manager" \
    --kube-scheduler-binary "${BIN}/kube-scheduler" \
    --kwok-controller-binary "${BIN}/kwok" \
    --config "${config}" \
    --wait 2m
  # kwok's nodes report no node disk by default; real nodes do, and the tiers' quotas make every
  # container request some (ephemeral-storage), which the scheduler then needs to find
  kwokctl scale node --replicas "${nodes}" \
    --param '.allocatable["ephemeral-storage"]="1Ti"' --param '.capacity["ephemeral-storage"]="1Ti"' \
    --param ".allocatable.pods=\"${pods_per_node}\"" --param ".capacity.pods=\"${pods_per_node}\"" \
    --param '.allocatable.cpu="1000"' --param '.capacity.cpu="1000"' \
    --param '.allocatable.memory="4Ti"' --param '.capacity.memory="4Ti"'
  "${BIN}/kubectl" --kubeconfig "${kubeconfig}" apply --server-side --field-manager dev-cluster -f - >/dev/null <<EOF
apiVersion: networking.k8s.io/v1
kind: ServiceCIDR
metadata:
  name: dev-cluster-services
spec:
  cidrs: ["${service_cidr}"]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: host-path
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF

  echo "cluster ${name} is up; KUBECONFIG=${kubeconfig}"
  ;;
down)
  kwokctl delete cluster --kubeconfig "${kubeconfig}"
  ;;
*)
  echo "usage: $0 up|down <name> <kubeconfig>" >&2
  exit 2
  ;;
esac
