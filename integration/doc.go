// Package integration holds the end-to-end tests: the product against a real Prometheus (the
// `prometheus` binary, started by integration/promtest on a loopback port, its history seeded
// with `promtool tsdb create-blocks-from openmetrics`) and a real Git server (`git
// http-backend`, integration/gittest). Most tests exec the built gitops-autoscaler binary, so
// they prove the CLI a Jenkins job runs; the ones about a long-running process drive a
// gitops.Runner in-process with the same Prometheus wiring.
//
// What they cover: a live scrape driving a scale-up through `evaluate` into a Git commit with
// its trailers; stabilization recomputed from seeded history; a one-shot run after a restart
// deciding as a process that ran all along; no scale-down while Prometheus is down, and
// decisions resuming after it returns; the syncCheck hold; `backtest --prometheus` over
// seeded history.
//
// Beside them, the real fakes the other tiers use: gittest (the Git server), promtest
// (Prometheus), githubtest and gitlabtest (the REST APIs of GitHub and GitLab for the calls
// the providers make, with real state over the Git server).
//
// Without the prometheus binary the tests skip, except in CI (CI=true), where they fail.
package integration
