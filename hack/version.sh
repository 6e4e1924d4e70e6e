#!/usr/bin/env bash
# Writes the version of the VERSION file wherever a file must spell it: the chart's version and
# appVersion, the image tag of config/manager, and the plugin release that the GitOps sample's CI
# step downloads. The binaries take it at build time (Makefile, hack/release). `make manifests` runs
# this and `make verify` fails when a file still says another version.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(tr -d '[:space:]' <"${ROOT}/VERSION")
[[ "${VERSION}" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "VERSION holds '${VERSION}': want 1.2.3 (no v)" >&2; exit 1; }
TAG="v${VERSION}"

sed -i -e "s/^version: .*/version: ${VERSION}/" -e "s/^appVersion: .*/appVersion: \"${TAG}\"/" "${ROOT}/charts/mutualis/Chart.yaml"
sed -i -e "s#\(image: ghcr.io/crtpl/mutualis\):.*#\1:${TAG}#" "${ROOT}/config/manager/manager.yaml"
sed -i -e "s/\(MUTUALIS_VERSION: \).*/\1${TAG}/" "${ROOT}/config/samples/.github/workflows/validate.yaml"
