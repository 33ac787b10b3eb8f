// Command prebuild builds the cluster tier's binaries (kube-apiserver, Flux's source and
// kustomize controllers) into their cache folder ahead of the tests, so that a cold build
// does not count against a test's timeout. `make cluster` runs it; a warm cache makes it a
// no-op.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/....
package main
