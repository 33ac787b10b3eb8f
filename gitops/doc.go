// Package gitops owns the Git side of the loop and the loop itself.
//
//   - The Git repository is package gitops/gitrepo: clones kept in a cache directory, one
//     fetch and one push per cycle, commits of one file, a walk of the base's first parents.
//     It is the only package that imports go-git, and it knows no decision.
//   - What a past commit means to a policy (its decision, a revert of one, a person's edit) is
//     package gitops/history, read through that walk.
//   - The replica editor is package internal/edit: it changes one YAML scalar and no other byte.
//   - Commit messages and trailers are package gitops/commitmsg.
//   - The loop (cycle.go, decide.go): Runner.Cycle runs docs/design.md §2 for a repository's
//     policies — sync, metrics once for all, then per policy three steps: observe (the
//     engine.Snapshot from Git and the sources), engine.Decide, apply (edit, verify, commit or
//     deliver) — and one push, re-decided on a race. Beside the decisions, once a cycle, each
//     shadow policy is compared with its live autoscaler (engine.CompareShadow). Runner.Scale
//     is a person's scale through the same apply and push.
//   - Delivery by pull request is package gitops/delivery; the loop holds it as a Deliverer
//     (cycle.go) and hands it a delivery.Proposal.
//   - The service scheduler (service.go): each policy on its cron schedule, one cycle per
//     repository at a time, shards, graceful shutdown, status for the HTTP API. It shares one
//     Runner between the repositories and uses only its exported API (Cycle, Workspace,
//     Synced, Policies), never its fields.
//   - Ownership between teams (owners.go): what the set checks (policy.CheckRepoSet) learn
//     only from Git — what each target file holds, the node each path resolves to, and which
//     document claimed a name or a value first — for the loop and, over a checkout,
//     `validate --repo` (CheckCheckout) alike.
//
// It consumes metric values, stabilization history, shadow series, sync status and render
// verification through small interfaces of its own (MetricSource, RecommendationSource,
// ShadowSource, SyncSource, Verifier); it never talks to Prometheus or renders charts itself, and it never decides: every
// rule — Decide, the rerun guard, when a pull request is stale, a manual scale's bounds, what
// counts as a hold — is package policy's.
//
// Nothing under gitops/ imports this package (their doc.go files say so, and internal/layers
// holds them to it).
//
// Must not import: cmd/..., internal/web, integration/..., internal/testserver/....
package gitops
