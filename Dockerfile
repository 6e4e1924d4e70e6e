# The operator's image: a static binary on a distroless base, run as a non-root user.
# docker build -t ghcr.io/crtpl/mutualis:0.1.0 .
# (There is no container engine on the development machines; the Helm chart and config/manager
# expect this image, and run it with a read-only root file system.)
FROM golang:1.26 AS build
WORKDIR /src
# the module downloads are a layer of their own, rebuilt only when go.mod or go.sum change
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
RUN go build -ldflags="-s -w" -o /out/manager ./cmd/manager

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
