// Package faultproxy is an HTTP reverse proxy that does to chosen requests what broken
// networks and servers do — answer 500, answer garbage, answer slowly, drop the connection
// half-way through a response or a request body, stop sending and let the client time out, or
// do the work and answer that it failed — and forwards everything else unchanged. The fault
// suite puts it in front of the real backends (git http-backend, Prometheus, the GitHub API
// test server), so the product meets each fault over a real protocol, at a real point of its
// exchange. A hook (Call) sees each request before it goes on, for a test to act at that
// exact point: SIGKILL the client there.
//
// It is test infrastructure: it decides nothing about what a correct reaction is; the tests
// check the invariants after each fault.
//
// Must not import: cmd/..., gitops/..., policy/..., render/..., promclient/....
package faultproxy
