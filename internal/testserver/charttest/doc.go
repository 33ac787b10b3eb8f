// Package charttest runs the real servers remote charts come from, for tests: a Helm
// repository (the archives `helm package` makes and the index.yaml the Helm SDK builds, served
// by net/http, over HTTP or HTTPS, with or without basic auth) and an OCI registry (Debian's
// docker-registry, the CNCF distribution registry, on a free loopback port, over HTTP or
// HTTPS, with or without htpasswd auth; charts pushed with the Helm SDK's registry client).
// NewCA makes a certificate authority and a loopback server certificate for the HTTPS forms.
//
// It is test infrastructure: every helper fails the test on error instead of returning it.
//
// Must not import: cmd/..., gitops/..., render/..., promclient/....
package charttest
