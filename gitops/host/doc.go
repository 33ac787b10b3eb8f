// Package host is what pull request delivery and the Git host providers say to each other:
// a pull request as delivery sees it, the pull request to open, the merge to make, the state
// of a commit's required checks, commits to make through the API, the errors a provider
// classifies for the loop to decide on, and the host's words for a pull request (Terms:
// GitHub's "pull request #12", GitLab's "merge request !12"). It has no behaviour of its own
// beyond writing those words.
//
// The interfaces a provider implements are declared by their consumer, delivery in package
// gitops (Host and the small interfaces it is made of); the providers live below this package,
// one per host: gitops/host/github for GitHub and GitHub Enterprise, gitops/host/gitlab for
// GitLab; gitops/host/hosts picks a repository's.
//
// Must not import: cmd/..., gitops, gitops/gitrepo, policy/..., render/..., promclient/...,
// net/http.
package host
