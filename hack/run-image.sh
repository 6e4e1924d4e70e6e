#!/usr/bin/env bash
# Installs mutualis on the local cluster as a cell installs it, from the image that make image
# built: the Helm chart, pinned to the image's digest, then the operator the image holds, run as
# the chart's ServiceAccount with the chart's own arguments. The local cluster has no container
# runtime, so its simulated pod runs nothing: this process is the operator, with exactly the rights
# the chart gives it. The e2e test TestTheChartRunsTheBuiltImage does the same with two replicas.
#
#   hack/run-image.sh up   [kubeconfig]   (make run-image: after make dev-cluster)
#   hack/run-image.sh down [kubeconfig]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${ROOT}/bin"
action=${1:?up or down}
export KUBECONFIG=${2:-${KUBECONFIG:-${ROOT}/.kube/mutualis-dev.yaml}}
NS=mutualis-system
STATE="${ROOT}/.kube/run-image"
METRICS=127.0.0.1:18080
PROBES=127.0.0.1:18081

stop() {
  if [ -f "${STATE}/pid" ]; then
    kill "$(cat "${STATE}/pid")" 2>/dev/null || true
    rm -f "${STATE}/pid"
  fi
}

case "${action}" in
up)
  [ -f "${ROOT}/dist/image/index.json" ] || { echo "no image in dist/image: run make image" >&2; exit 1; }
  [ -f "${KUBECONFIG}" ] || { echo "no cluster at ${KUBECONFIG}: run make dev-cluster" >&2; exit 1; }
  stop
  mkdir -p "${STATE}"
  digest=$(cd "${ROOT}" && go run ./hack/release extract -from dist/image -out "${STATE}/manager")
  "${BIN}/helm" upgrade --install mutualis "${ROOT}/charts/mutualis" --namespace "${NS}" --create-namespace \
    --set image.digest="${digest}" --set replicas=1 --wait --timeout 3m
  # a kubeconfig of the chart's ServiceAccount: the API server of the current one, a token of a day
  server=$("${BIN}/kubectl" config view --raw --minify --flatten -o jsonpath='{.clusters[0].cluster.server}')
  "${BIN}/kubectl" config view --raw --minify --flatten -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"${STATE}/ca.crt"
  [ -s "${STATE}/ca.crt" ] || { echo "the current kubeconfig names no CA of its cluster" >&2; exit 1; }
  token=$("${BIN}/kubectl" create token mutualis --namespace "${NS}" --duration=24h)
  sa="${STATE}/kubeconfig"
  rm -f "${sa}"
  "${BIN}/kubectl" --kubeconfig "${sa}" config set-cluster local --server "${server}" --certificate-authority "${STATE}/ca.crt" --embed-certs >/dev/null
  "${BIN}/kubectl" --kubeconfig "${sa}" config set-credentials mutualis --token "${token}" >/dev/null
  "${BIN}/kubectl" --kubeconfig "${sa}" config set-context mutualis --cluster local --user mutualis --namespace "${NS}" >/dev/null
  "${BIN}/kubectl" --kubeconfig "${sa}" config use-context mutualis >/dev/null
  # the Deployment's own arguments, the ports moved to local ones
  args=()
  for arg in $("${BIN}/kubectl" get deployment mutualis --namespace "${NS}" -o jsonpath='{range .spec.template.spec.containers[0].args[*]}{@}{" "}{end}'); do
    case "${arg}" in
      --metrics-bind-address=*) arg="--metrics-bind-address=${METRICS}" ;;
      --health-probe-bind-address=*) arg="--health-probe-bind-address=${PROBES}" ;;
    esac
    args+=("${arg}")
  done
  KUBECONFIG="${sa}" nohup "${STATE}/manager" "${args[@]}" --leader-election-namespace="${NS}" >"${STATE}/operator.log" 2>&1 &
  echo $! >"${STATE}/pid"
  for _ in $(seq 60); do
    if curl -fsS "http://${PROBES}/readyz" >/dev/null 2>&1; then
      echo "mutualis $("${STATE}/manager" --version) runs from ${digest} as ServiceAccount ${NS}/mutualis"
      echo "log: ${STATE}/operator.log; metrics: https://${METRICS}/metrics (metrics-reader ClusterRole); stop: hack/run-image.sh down"
      echo "next: kubectl apply --server-side -k config/samples/platform -k config/samples/catalog, then a tenant (docs/onboarding.md)"
      exit 0
    fi
    sleep 1
  done
  echo "the operator did not become ready; its log:" >&2
  tail -20 "${STATE}/operator.log" >&2
  exit 1
  ;;
down)
  stop
  ;;
*)
  echo "usage: $0 up|down [kubeconfig]" >&2
  exit 2
  ;;
esac
