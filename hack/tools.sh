#!/usr/bin/env bash
# Builds the test and development binaries (etcd, the Kubernetes control plane, kwok, helm,
# controller-gen, krew and its manifest validator, promtool, Flux's source-controller and
# kustomize-controller, Velero with its S3 plugin and an S3 server) from the Go module proxy into
# bin/.
#
# Nothing is downloaded from anywhere but the Go module proxy. Each binary is built once per pinned
# version into a per-user cache (${XDG_CACHE_HOME:-~/.cache}/mutualis-tools/<tool>-<version>/) and
# linked into bin/, so a fresh clone costs seconds when the cache is warm. Cold, it is long: on two
# cores with an empty Go build cache and tool cache (the module cache warm), the whole set took
# 43 minutes 41 seconds on 2026-12-05, 61 minutes of user and 19 of system time, so the compile work
# alone is over 40 minutes of two cores; Velero, its plugin and the S3 gateway are about 10 of them,
# Flux's two controllers about 8 (both carry cloud SDKs). Keep the Go build cache between runs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN="${ROOT}/bin"
CACHE="${MUTUALIS_TOOLS_CACHE:-${XDG_CACHE_HOME:-${HOME}/.cache}/mutualis-tools}"

KUBERNETES_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v3.22.0
CONTROLLER_GEN_VERSION=v0.23.0
# Velero, its object-store plugin for S3 and the S3 server the backups go to, for the backup and
# restore end-to-end tests. The plugin's releases that the module proxy serves here (v1.14.x) go
# with Velero v1.18. The S3 server is Versity's gateway (Apache 2.0, a posix folder as the store):
# MinIO publishes no module versions the proxy serves, and is AGPL.
VELERO_VERSION=v1.18.3
VELERO_AWS_VERSION=v1.14.3
VERSITYGW_VERSION=v1.8.0
# Flux's controllers for the GitOps end-to-end test; v1.10 asks for a newer Go than this machine's.
# source-controller stays at v1.9.0: v1.9.1 to v1.9.6 need patch releases of fluxcd/pkg/artifact
# that the module proxy does not serve here.
FLUX_SOURCE_VERSION=v1.9.0
FLUX_KUSTOMIZE_VERSION=v1.9.6

# krew and its manifest validator, to check the plugin's release (make release) as krew's index
# would
KREW_VERSION=v0.4.3
# promtool, Prometheus's own rule tester, for the alerts of config/prometheus (module versions
# v0.3xx.y are Prometheus 3.xx.y)
PROMETHEUS_VERSION=v0.316.0

# No debug information (-dwarf=false for the compiler, -s for the linker, which implies -w): these
# binaries are run, never debugged, and dropping it takes about a tenth off a cold build. Flags in
# GOFLAGS cannot hold spaces, hence -ldflags=-s alone; a build that needs more -ldflags passes them
# on its command line, which replaces these.
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -gcflags=all=-dwarf=false -ldflags=-s" CGO_ENABLED=0

mkdir -p "${BIN}" "${CACHE}"

log() { printf '[tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# cached <tool> <version> prints the cache folder of a tool at a version.
cached() { printf '%s/%s-%s' "${CACHE}" "$1" "$2"; }

# link_all <dir> links every binary of a cache folder into bin/.
link_all() {
  local f
  for f in "$1"/*; do
    ln -sfn "${f}" "${BIN}/$(basename "${f}")"
  done
}

# complete <out> marks a finished build complete and moves it into place. A build cut off half-way
# leaves only <out>.tmp, which the next run starts again.
complete() {
  touch "$1.tmp/.complete"
  rm -rf "$1"
  mv "$1.tmp" "$1"
}

# publish <out> completes a build and links its binaries into bin/.
publish() {
  complete "$1"
  link_all "$1"
}

# scratch_module <dir> makes an empty throw-away module to build a tool in.
scratch_module() {
  rm -rf "$1"
  mkdir -p "$1"
  (cd "$1" && go mod init mutualis.local/tools >/dev/null 2>&1)
}

# module_dir <module> <version> prints the folder of a module's source in the module cache,
# downloading it first when needed.
module_dir() {
  local scratch; scratch=$(mktemp -d "${CACHE}/work-dl-XXXXXX")
  (cd "${scratch}" && go mod init mutualis.local/dl >/dev/null 2>&1 &&
    go mod download -json "$1@$2" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "${scratch}"
}

# module_source <module> <version> <dir> copies a module's source into a writable folder, to be
# built there with its own go.mod (and its replace directives, which go install refuses).
module_source() {
  local dir; dir=$(module_dir "$1" "$2")
  rm -rf "$3"
  cp -r "${dir}" "$3" && chmod -R u+w "$3"
}

# build_simple <tool> <version> <module> <package>... builds packages of one module with go install,
# which honours the module's own go.mod (but not replace directives, none of these need one).
build_simple() {
  local tool=$1 version=$2 module=$3; shift 3
  local out; out=$(cached "${tool}" "${version}")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building ${tool} ${version} (first time only)"
  rm -rf "${out}.tmp"; mkdir -p "${out}.tmp"
  local pkg
  for pkg in "$@"; do
    GOBIN="${out}.tmp" go install "${module}/${pkg}@${version}"
  done
  publish "${out}"
}

build_etcd() {
  local out; out=$(cached etcd "${ETCD_VERSION}")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building etcd ${ETCD_VERSION} (first time only)"
  local work="${CACHE}/work-etcd"
  scratch_module "${work}"
  cat >"${work}/main.go" <<'GO'
// Command etcd is etcd's server, built from its Go module for tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "${work}" && go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" && go mod tidy &&
    mkdir -p "${out}.tmp" && go build -o "${out}.tmp/etcd" .)
  rm -rf "${work}"
  publish "${out}"
}

build_kubernetes() {
  local out; out=$(cached kubernetes "${KUBERNETES_VERSION}-release")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl ${KUBERNETES_VERSION} (first time only, the long one)"
  local work="${CACHE}/work-kubernetes"
  scratch_module "${work}"
  local gomod
  gomod=$(cd "${work}" && go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  {
    echo "require k8s.io/kubernetes ${KUBERNETES_VERSION}"
    echo "replace ("
    # Every staging module that k8s.io/kubernetes replaces with a local folder comes from its release.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/.*#\t\1 => \1 '"${STAGING_VERSION}"'#p' "${gomod}"
    echo ")"
  } >>"${work}/go.mod"
  cat >"${work}/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  (cd "${work}" && go mod tidy -e >/dev/null 2>&1 || true)
  mkdir -p "${out}.tmp"
  local cmd
  # the version a release stamps (hack/lib/version.sh of Kubernetes): without it the API server says
  # v0.0.0-master, and helm refuses to install a chart whose kubeVersion asks for 1.31 or later
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="-s"
  local pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean"
  done
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    log "  ${cmd}"
    # compiled with debug information, unlike the other tools: a machine that built this version
    # before they lost it keeps its compiled packages and only links (see docs/development.md)
    (cd "${work}" && GOFLAGS=-buildvcs=false go build -tags tools -ldflags="${ldflags}" -o "${out}.tmp/${cmd}" "k8s.io/kubernetes/cmd/${cmd}")
  done
  rm -rf "${work}"
  publish "${out}"
}

# build_helm builds helm as its own release does: with the Kubernetes version of the client-go it
# is compiled with as the one that `helm template` and `helm lint` assume (a plain go install says
# v1.20, and then refuses the chart's kubeVersion unless --kube-version is given), and its own
# version.
build_helm() {
  local out; out=$(cached helm "${HELM_VERSION}-release")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building helm ${HELM_VERSION} (first time only)"
  local work="${CACHE}/work-helm"
  scratch_module "${work}"
  local gomod minor
  gomod=$(cd "${work}" && go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "${gomod}")
  [ -n "${minor}" ] || { log "no k8s.io/client-go in helm's go.mod"; return 1; }
  local ldflags="-s -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
  local pkg
  for pkg in chartutil lint/rules; do
    ldflags+=" -X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/${pkg}.k8sVersionMinor=${minor}"
  done
  rm -rf "${out}.tmp"; mkdir -p "${out}.tmp"
  (cd "${work}" && GOBIN="${out}.tmp" go install -ldflags="${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}")
  rm -rf "${work}"
  publish "${out}"
}

# build_promtool builds promtool without Prometheus's service discoveries (its remove_all_sd build
# tag): rule tests need none of them, and the cloud SDKs they bring would be most of its build.
build_promtool() {
  local out; out=$(cached promtool "${PROMETHEUS_VERSION}")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building promtool ${PROMETHEUS_VERSION} (first time only)"
  rm -rf "${out}.tmp"; mkdir -p "${out}.tmp"
  GOBIN="${out}.tmp" go install -tags remove_all_sd "github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_VERSION}"
  publish "${out}"
}

# velero_crds puts Velero's own CRDs, from its Go module, into bin/velero-crds: the tests install
# them instead of copies kept in this repository.
velero_crds() {
  local out; out=$(cached velero-crds "${VELERO_VERSION}")
  if [ ! -f "${out}/.complete" ]; then
    log "fetching Velero ${VELERO_VERSION} CRDs from the module proxy (first time only)"
    local dir; dir=$(module_dir github.com/vmware-tanzu/velero "${VELERO_VERSION}")
    rm -rf "${out}.tmp"; mkdir -p "${out}.tmp"
    # Velero's server refuses to start without every CRD of its group, v2alpha1's included
    cp "${dir}"/config/crd/v1/bases/*.yaml "${dir}"/config/crd/v2alpha1/bases/*.yaml "${out}.tmp/"
    chmod 644 "${out}.tmp"/*.yaml
    complete "${out}"
  fi
  ln -sfn "${out}" "${BIN}/velero-crds"
}

# build_velero builds Velero's server and client (one binary, cmd/velero) from its module's source:
# its go.mod replaces kopia with Velero's fork, which go install would refuse. Velero's CRDs are
# those of velero_crds, from the same version.
build_velero() {
  local out; out=$(cached velero "${VELERO_VERSION}")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building Velero ${VELERO_VERSION} (first time only)"
  local work="${CACHE}/work-velero-src"
  module_source github.com/vmware-tanzu/velero "${VELERO_VERSION}" "${work}"
  rm -rf "${out}.tmp"; mkdir -p "${out}.tmp"
  # the module proxy here does not serve k8s.io/cli-runtime v0.33.12, which Velero pins; the next
  # patch release is served
  (cd "${work}" && go mod edit -require=k8s.io/cli-runtime@v0.33.13 &&
    go build -mod=mod -o "${out}.tmp/velero" ./cmd/velero)
  rm -rf "${work}"
  publish "${out}"
}

# build_velero_plugin builds Velero's object-store plugin for S3 into a folder of its own,
# bin/velero-plugins/: Velero runs every executable of its plugin folder as a plugin.
build_velero_plugin() {
  local out; out=$(cached velero-plugins "${VELERO_AWS_VERSION}")
  if [ ! -f "${out}/.complete" ]; then
    log "building Velero's plugin for AWS ${VELERO_AWS_VERSION} (first time only)"
    rm -rf "${out}.tmp"; mkdir -p "${out}.tmp/plugins"
    GOBIN="${out}.tmp/plugins" go install "github.com/vmware-tanzu/velero-plugin-for-aws/velero-plugin-for-aws@${VELERO_AWS_VERSION}"
    complete "${out}"
  fi
  ln -sfn "${out}/plugins" "${BIN}/velero-plugins"
}

# build_flux <controller> <version> builds one of Flux's controllers from its module's source, with
# the module's own pins. Its go.mod replaces the controller's api module with a folder that the
# module's zip leaves out (a nested module), so the build drops that replace and takes the api
# module of the version the go.mod requires. The controller's CRDs are kept beside it, in
# bin/<controller>-crds.
build_flux() {
  local ctl=$1 version=$2
  local out; out=$(cached "${ctl}" "${version}")
  if [ -f "${out}/.complete" ]; then link_all "${out}"; return; fi
  log "building Flux's ${ctl} ${version} (first time only)"
  local work="${CACHE}/work-${ctl}"
  module_source "github.com/fluxcd/${ctl}" "${version}" "${work}"
  rm -rf "${out}.tmp"; mkdir -p "${out}.tmp/${ctl}-crds"
  (cd "${work}" && go mod edit -dropreplace "github.com/fluxcd/${ctl}/api" &&
    go build -mod=mod -o "${out}.tmp/${ctl}" .)
  cp "${work}"/config/crd/bases/*.yaml "${out}.tmp/${ctl}-crds/"
  chmod 644 "${out}.tmp/${ctl}-crds"/*.yaml
  rm -rf "${work}"
  publish "${out}"
}

# Two queues at once: the control plane and its tools in one, Velero, the S3 server and Flux in the
# other. On two cores the compiler of one queue keeps the machine busy while the other links a
# large binary, downloads modules or runs a single-threaded step, which saves minutes on a cold
# build; with a warm cache each step only links and returns.
(
  build_etcd
  build_simple controller-gen "${CONTROLLER_GEN_VERSION}" sigs.k8s.io/controller-tools cmd/controller-gen
  build_kubernetes
  build_simple kwok "${KWOK_VERSION}" sigs.k8s.io/kwok cmd/kwok cmd/kwokctl
  build_helm
  build_simple krew "${KREW_VERSION}" sigs.k8s.io/krew cmd/krew cmd/validate-krew-manifest
  build_promtool
) &
control_plane=$!
(
  velero_crds
  build_velero
  build_velero_plugin
  build_simple versitygw "${VERSITYGW_VERSION}" github.com/versity/versitygw cmd/versitygw
  build_flux source-controller "${FLUX_SOURCE_VERSION}"
  build_flux kustomize-controller "${FLUX_KUSTOMIZE_VERSION}"
) &
others=$!
status=0
wait "${control_plane}" || status=$?
wait "${others}" || status=$?
if [ "${status}" -ne 0 ]; then
  log "a build failed (exit ${status}): see above"
  exit "${status}"
fi
log "tools ready in ${BIN}"
