# The operator's image for cells that build with Docker or BuildKit; `make image` builds the same
# image without a container engine (docs/install.md). Multi-platform:
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=v$(cat VERSION) -t registry.example.be/mutualis:v$(cat VERSION) .
# The builder runs on the build machine's platform and cross-compiles for the target's. Pin it by
# digest in your build (GO_IMAGE=golang:1.26@sha256:...): this repository is built offline, where no
# registry can be asked for the digest of the day.
ARG GO_IMAGE=golang:1.26
FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS build
ARG TARGETOS TARGETARCH VERSION=dev
WORKDIR /src
# the module downloads are a layer of their own, rebuilt only when go.mod or go.sum change
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY LICENSE ./
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags="-s -w -X github.com/crtpl/mutualis/cmd/internal/build.version=${VERSION}" \
      -o /out/manager ./cmd/manager

# no base image: the static binary and its licence are all the operator needs (docs/install.md)
FROM scratch
COPY --from=build /out/manager /manager
COPY --from=build /src/LICENSE /licenses/mutualis/LICENSE
USER 65532:65532
ENTRYPOINT ["/manager"]
