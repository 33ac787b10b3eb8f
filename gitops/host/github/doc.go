// Package github is the pull request host for repositories on GitHub and GitHub Enterprise,
// over go-github: it finds, opens, updates, labels, closes and squash-merges pull requests,
// reads the base branch's required checks and a commit's statuses and check runs, and tidies
// branches through the API.
//
// A Client serves one repository and implements the interfaces pull request delivery declares
// (delivery.Host); gitops/host/hosts keeps one per repository. The token is read at every request, a
// rejected token is not sent again until it changes, and rate limits are waited out below
// go-github when the wait fits the call's deadline. Errors name the repository and the step,
// never the token, and classify as the gitops/host errors.
//
// What to propose, and when, is delivery's (package gitops/delivery); the Git side of a pull request —
// its branch and commit — is gitops/gitrepo's.
//
// Must not import: cmd/..., gitops, gitops/host/hosts, internal/web, render/..., promclient/...,
// integration/..., internal/testserver/....
package github
