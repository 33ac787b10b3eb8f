// Package render walls off the third-party renderers and verifies decisions with them
// (docs/design.md §2 step 7; docs/render-verification.md explains the rules to users).
//
// Render renders what a policy's render block names and parses the output into Objects: a
// Helm chart of the repository (helm.sh/helm/v3, like `helm template`, values files merged in
// order as `-f a -f b`), a kustomization (kustomize krusty, plugins disabled), the sources of
// an Argo CD Application committed in the repository (configured as Argo CD's repo server
// configures `helm template` and `kustomize build`: value files, $ref sources, inline values,
// parameters, release name, namespace, kubeVersion, apiVersions, kustomize options, plain
// directories), or the chart of a Flux HelmRelease. Render and Verify are the only entry
// points to the libraries. Renders run in a pool of worker processes of the same binary, each
// under limits.render's memory, CPU-time, output and time limits (sandbox.go, docs/design.md
// §8): a render that reaches one is stopped and fails with a *LimitError naming it, for its
// policy alone. Panics are recovered into errors, the context's end stops a render, every path is joined under the repository root (no `..`, no absolute path, no
// symlink out), charts must vendor their dependencies (as directories or as the .tgz archives
// `helm dependency build` leaves), and other remote sources — another Git repository, a
// remote kustomize base, a values URL, an OCI artifact of manifests — are refused with an
// error naming the field rather than fetched. The one download is a remote chart (charts.go,
// docs/design.md §8 "Remote charts"): an Argo CD chart source from a Helm repository or OCI
// registry, or a Flux HelmRelease's chart from a HelmRepository or OCIRepository, which
// Charts pulls in the service's process with the Helm SDK's getter and registry client,
// bounded by limits.charts, into a content-addressed cache the worker renders from. Nothing
// is executed. Helm test hooks are left out
// of every render: they are not deployed state. An Overlay renders edited content without
// writing it.
//
// Verify renders before and after one decision's edit and checks that the target workload's
// spec.replicas moves from current to desired and nothing else changes but its consequences —
// a PodDisruptionBudget of its pods that appears, disappears or changes, anti-affinity or
// topology spread that switches on — which it returns by name. Fields the chart generates
// (random passwords, certificates, UUIDs, timestamps and the checksums derived from them) are
// found by rendering the unchanged input a second time and are not compared (compare.go).
// Otherwise it refuses with a *VerifyError whose Reason says why (a later values file or a
// parameter of the Application overrides the key, the chart does not read it, an HPA also
// scales the workload, the pod template changes, other objects would change, …).
//
// CheckPolicy checks a render block against the repository without rendering, for
// `validate`: the Application or HelmRelease is there and renders from this repository, and
// replicas.file is among the files it reads.
//
// It leaves editing files and committing to gitops, and deciding to policy.
//
// Must not import: cmd/..., gitops/..., internal/web, promclient/..., integration/...,
// internal/testserver/....
package render
