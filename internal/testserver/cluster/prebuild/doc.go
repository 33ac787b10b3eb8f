// Command prebuild builds the cluster tier's binaries (kube-apiserver, Flux's source and
// kustomize controllers; Argo CD and the helm its repo server runs) into their cache folders
// ahead of the tests, so that a cold build does not count against a test's timeout. `make cluster` runs it; a warm cache makes it a
// no-op.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/....
package main
