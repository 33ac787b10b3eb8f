// Package render walls off the third-party renderers and verifies decisions with them
// (docs/design.md §2 step 7).
//
// Render renders a Helm chart of the repository (helm.sh/helm/v3, like `helm template`, with
// the policy's values files merged in order as `-f a -f b`) or builds a kustomization
// (kustomize krusty, plugins disabled) and parses the output into Objects. It is the only
// entry point to the libraries: panics are recovered into errors, the context's end abandons a
// render, every path is joined under the repository root (no `..`, no absolute path, no
// symlink out), charts must vendor their dependencies, and remote kustomize bases are refused
// rather than fetched — nothing is downloaded or executed. An Overlay renders edited content
// without writing it.
//
// Verify renders before and after one decision's edit and checks that exactly the target
// workload's spec.replicas changed, from current to desired; otherwise it refuses with a
// *VerifyError whose Reason says why (a later values file overrides the key, the chart does
// not read it, an HPA also scales the workload, other objects would change, …).
//
// It leaves editing files and committing to gitops, and deciding to policy.
package render
