// Package locate finds where a workload's replica count lives in a GitOps repository: the
// Helm values key that reaches the workload's spec.replicas, the kustomization's replicas
// entry, or the manifest's spec.replicas field. Every candidate is proven by rendering
// through the render package: the candidate is set to a value no file holds, the chart or
// kustomization is rendered with that edit (without writing it), and only a candidate that
// moves exactly the workload's spec.replicas to that value is returned.
//
// The import command uses it to fill in a translated policy's spec.replicas and render block.
// It reads the repository only; editing stays with gitops and deciding with policy.
//
// Must not import: cmd/..., gitops/..., internal/web, promclient/..., net/http.
package locate
