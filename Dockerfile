# syntax=docker/dockerfile:1
# gitops-autoscaler image: a static Go binary on distroless, running as nonroot.
# Git operations use go-git, in-process: the image needs no git binary, no shell, no kubectl.

FROM golang:1.26 AS build
WORKDIR /src
# Dependencies first, so source edits reuse the module download layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/gitops-autoscaler ./cmd/gitops-autoscaler

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.title="gitops-autoscaler" \
      org.opencontainers.image.description="Scales Kubernetes workloads on Prometheus signals by committing replica counts to Git" \
      org.opencontainers.image.source="https://github.com/gitops-autoscaler/gitops-autoscaler" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /out/gitops-autoscaler /usr/local/bin/gitops-autoscaler
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gitops-autoscaler"]
CMD ["serve", "--config", "/etc/gitops-autoscaler/config.yaml"]
