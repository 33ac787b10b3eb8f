// Package delivery delivers a decision by pull request (docs/design.md §7, PullRequest and
// AutoMerge): one branch and one pull request per policy, updated in place, quiet (the branch
// is rebuilt only when the decision or its file on the base changed, or the host merges only
// up-to-date branches), squash merges, rejected pull requests as holds, stale ones withdrawn
// (closed and labelled autoscaler-withdrawn). It keeps no state: the branch, its commit's
// trailers and the host's pull requests are the state.
//
// It owns the interfaces it consumes of a Git host, one small interface per concern
// (PullRequestFinder, PullRequestWriter, Labeler, …, together Host; AutoMerger,
// UpToDateRequirer and CommitMaker where a host has them). A host answers its own questions
// from its own settings (UncheckedMergeRefuser: may a pull request merge while its base
// requires no checks?); delivery never reads a host's configuration block. The providers
// implement these in gitops/host/github and gitops/host/gitlab, over the vocabulary of
// gitops/host; gitops/host/hosts wires them. HostPublisher makes a workspace's commits
// through a host's API (verified commits). PullRequestBody renders a description from the
// decision's typed reasons and trailers; the one trailer reader is commitmsg's.
//
// It must not import the loop (package gitops), nor a provider (gitops/host/github,
// gitops/host/gitlab, gitops/host/hosts), nor anything under cmd: the loop imports it, and
// the providers implement it.
//
// Must not import: cmd/..., gitops, gitops/host/github, gitops/host/gitlab, gitops/host/hosts,
// internal/web, render/..., integration/....
package delivery
