// Package gitops owns the Git side of the loop and the loop itself.
//
//   - The Git repository is package gitops/gitrepo: clones kept in a cache directory, one
//     fetch and one push per cycle, commits of one file, history read back from first-parent
//     `git log`. It is the only package that imports go-git.
//   - The replica editor is package gitops/edit: it changes one YAML scalar and no other byte.
//   - Commit messages and trailers are package gitops/commitmsg.
//   - The loop (cycle.go, decide.go): Runner.Cycle runs docs/design.md §2 for a repository's
//     policies — sync, metrics once for all, then per policy three steps: observe (the
//     policy.Snapshot from Git and the sources), policy.Decide, apply (edit, verify, commit or
//     deliver) — and one push, re-decided on a race. Beside the decisions, once a cycle, each
//     shadow policy is compared with its live autoscaler (policy.CompareShadow). Runner.Scale
//     is a person's scale through the same apply and push.
//   - Delivery by pull request (pullrequest.go): one branch and one PR per policy, updates in
//     place, quiet (the branch is rebuilt only when the decision or its file on the base
//     changed, or the host merges only up-to-date branches), squash merges, rejected PRs as
//     holds, stale PRs withdrawn (closed and labelled autoscaler-withdrawn when the decision is
//     to keep the count). Delivery declares what it needs of a host in small interfaces
//     (PullRequestFinder, PullRequestWriter, Labeler, …, together Host; AutoMerger,
//     UpToDateRequirer and CommitMaker where a host has them); the providers implement them in
//     gitops/host/github (GitHub and GitHub Enterprise) and gitops/host/gitlab, over the
//     vocabulary of gitops/host, and gitops/host/hosts wires them in. HostPublisher makes a
//     workspace's commits through a host's API (verified commits).
//   - The service scheduler (service.go): each policy on its cron schedule, one cycle per
//     repository at a time, shards, graceful shutdown, status for the HTTP API.
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
// Must not import: cmd/..., gitops/web, integration/....
package gitops
