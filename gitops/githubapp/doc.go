// Package githubapp authenticates as a GitHub App installation: it signs the App's JWT with
// its private key (RS256, golang-jwt), mints installation tokens through the REST API
// (POST /app/installations/{id}/access_tokens), keeps one until five minutes before it ends
// and then mints the next. The token serves both the REST API (a bearer token) and HTTPS Git
// (the password of x-access-token).
//
// The private key is read from a file; neither it, the JWT nor a token ever appears in an
// error. It knows nothing of pull requests or repositories: the GitHub provider and the Git
// credentials take tokens from it.
//
// Must not import: cmd/..., gitops, gitops/host/..., internal/web, render/..., promclient/....
package githubapp
