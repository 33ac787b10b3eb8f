// Package cluster runs a real Kubernetes control plane for the tests, without containers: a
// kube-apiserver on Debian's etcd, Flux's source, kustomize, notification and helm controllers
// and, on request, kube-state-metrics, and (StartArgoCD) Argo CD's repo server, application
// controller and API server on Debian's redis, all on 127.0.0.1 with generated keys, a static
// token and AlwaysAllow authorisation. The binaries are built from pinned module versions (the
// modules under build/, each with its go.sum) into folders of the user cache directory named
// after those versions, and reused while they stay.
//
// It is test infrastructure: the product never calls the Kubernetes API. The tests read the
// API server to see what Flux made of a commit, and use the controllers' own knobs (suspend,
// a reconcile request) as a person would.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/....
package cluster
