// Package promtest runs a real Prometheus for tests: started from the `prometheus` binary on
// a free loopback port with its data in the test's temporary directory, scraping the targets a
// test names every second, optionally over history seeded with `promtool tsdb
// create-blocks-from openmetrics`, and stopped when the test ends. It also serves a tiny
// exporter whose values a test changes at will.
//
// Without the binary a test skips, or fails in CI (CI=true) where skipping would hide it.
//
// Must not import: cmd/..., gitops/..., render/....
package promtest
