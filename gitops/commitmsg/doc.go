// Package commitmsg is the commit message of a decision (docs/design.md §6): the subject, the
// reason lines and the Autoscaler-* trailers, written by Format and read back by ParseTrailers,
// and the decision id that tells one decision from another.
//
// It is pure text. Making the commit, reading history from Git and proposing a pull request
// belong to gitops/gitrepo and the loop in gitops; the reasons themselves come from policy.
//
// Must not import: cmd/..., gitops, gitops/edit, gitops/gitrepo, gitops/host/..., render/...,
// promclient/..., net/http, os/exec, os.
package commitmsg
