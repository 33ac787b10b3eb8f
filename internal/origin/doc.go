// Package origin is the one rule for credentials across HTTP redirects (docs/design.md §8): a
// credential is sent only to the origin — scheme, host and port — it was configured for. The
// clients of Prometheus (promclient), GitHub and GitLab (gitops/host/...) and Git over HTTPS
// (gitops/gitrepo) all follow it through this package:
//
//   - CheckRedirect refuses a redirect to another origin with a *RedirectError, so no request
//     of the chain goes there: not with the headers net/http copies onto a redirect (it keeps
//     Authorization for another port, and any other header for any host), and not with those a
//     round tripper adds to every request it sends (a bearer token, PRIVATE-TOKEN,
//     X-Scope-OrgID), which net/http cannot know to drop.
//   - Transport, the innermost round tripper under those that add credentials, removes every
//     credential header from a request a redirect took off the first request's origin, for a
//     client whose CheckRedirect is not ours.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/....
package origin
