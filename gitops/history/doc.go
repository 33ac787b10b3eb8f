// Package history says what a commit of the GitOps repository means to a policy: one of its
// decisions or a person's manual scale (our trailers, read by commitmsg), a `git revert` of
// one of them, or a person's edit of the count at its target — the events Decide's holds,
// cooldowns, rate limits and budget count (docs/design.md §6). It reads Git only through the
// walk package gitrepo offers (first parents of the base, a commit by hash, a blob), so the Git
// plumbing knows nothing of decisions, and what counts as a revert is decided here.
//
// Must not import: cmd/..., gitops, gitops/delivery, gitops/host/..., internal/web, render/...,
// promclient/..., integration/..., internal/testserver/....
package history
