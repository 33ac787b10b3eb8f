// Package gittest runs a real Git server for tests: the `git http-backend` that ships with Git,
// served through net/http/cgi from an httptest.Server, with HTTP Basic auth and push enabled.
// It also acts as the humans around the autoscaler: helpers push commits, revert them and read
// the repositories back with the git command line, outside the server so they are not counted.
//
// It is test infrastructure: every helper fails the test on error instead of returning it.
//
// Must not import: cmd/..., gitops/..., render/..., promclient/....
package gittest
