// Package notify owns the notify step (docs/design.md §7, "Notify after a push"): after a push
// lands decisions on a repository's branch, it calls each webhook of the repository's notify
// list — a Flux notification-controller Receiver (generic, generic-hmac or github type) or Argo
// CD's /api/webhook — with a GitHub push event naming the branch, the commits and the files
// they changed, so that the controller syncs at once instead of at its next poll.
//
// It is bounded: each call has a timeout (Timeout), at most MaxResponseBytes of an answer is
// read, and a redirect to another origin is refused (internal/origin). It never fails a
// decision: each outcome is returned for the log and the metrics. The tokens and secrets that
// sign the requests are read from their files at each call and never printed; neither is the
// path of a Flux receiver URL, which is a digest of its token.
//
// Must not import: cmd/..., gitops, gitops/delivery, gitops/gitrepo, gitops/host/..., internal/web, render/..., promclient/..., integration/..., internal/testserver/....
package notify
