// Package render walls off the third-party renderers: it renders a Helm chart
// (helm.sh/helm/v3, like `helm template`) or builds a kustomization (kustomize krusty, no
// plugins, no exec) from inside a repository root, and finds a workload's replicas in the
// rendered manifests, so a decision can be verified before it is committed. Panics in the
// libraries are recovered into errors; nothing is read outside the root and nothing is fetched.
package render
