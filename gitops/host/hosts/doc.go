// Package hosts picks each repository's pull request host — GitHub (gitops/host/github) or
// GitLab (gitops/host/gitlab), from its github or gitlab settings — and keeps one client per
// repository across cycles. It also completes what a repository's Git needs from its host:
// a GitHub App's installation token for HTTPS Git, and, with github.verifiedCommits, the
// publisher that makes the commits through GitHub's API so that GitHub signs them.
//
// It is wiring: the loop (package gitops) declares what it needs, the providers implement
// it, and this package joins them for the commands and the tests.
//
// Must not import: cmd/..., gitops, internal/web, render/..., integration/..., internal/testserver/....
package hosts
