#!/usr/bin/env bash
# Starts or stops the local control plane: a kwok cluster on the binary runtime, built from bin/
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok), with three simulated
# nodes. kube-controller-manager runs there, so Deployments become available, namespaces really
# finish deleting and the garbage collector follows owner references.
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

kwokctl() { "${BIN}/kwokctl" --name "${name}" "$@"; }

case "${action}" in
up)
  mkdir -p "$(dirname "${kubeconfig}")"
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
    --wait 2m
  # kwok's nodes report no node disk by default; real nodes do, and the tiers' quotas make every
  # container request some (ephemeral-storage), which the scheduler then needs to find
  kwokctl scale node --replicas "${nodes}" --param '.allocatable["ephemeral-storage"]="1Ti"' --param '.capacity["ephemeral-storage"]="1Ti"'

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
