// Package commitmsg is the commit message of a decision (docs/design.md §6): the subject, the
// reason lines and the Autoscaler-* trailers, written by Format (rendered from the decision's
// typed reasons, engine.Reason) and read back by ParseTrailers, and the decision id that tells
// one decision from another. ParseTrailerBlock is the one reader of our trailers anywhere in the
// program: a commit's last paragraph, or the copy a pull request's description shows.
//
// It must not import anything that does I/O (gitops/gitrepo, gitops/host, the loop); only
// policy's types.
//
// It is pure text. Making the commit, reading history from Git and proposing a pull request
// belong to gitops/gitrepo and the loop in gitops; the reasons themselves come from policy.
//
// Must not import: cmd/..., gitops, internal/edit, gitops/gitrepo, gitops/host/..., render/...,
// promclient/..., net/http, os/exec, os.
package commitmsg
