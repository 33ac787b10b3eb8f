// Package integration holds the end-to-end tests: the product against a real Prometheus (the
// `prometheus` binary, started by internal/testserver/promtest on a loopback port, its history
// seeded with `promtool tsdb create-blocks-from openmetrics`) and a real Git server (`git
// http-backend`, internal/testserver/gittest). Most tests exec the built gitops-autoscaler binary,
// so they prove the CLI a Jenkins job runs; the ones about a long-running process drive a
// gitops.Runner in-process with the same Prometheus wiring.
//
// What they cover: a live scrape driving a scale-up through `evaluate` into a Git commit with
// its trailers; stabilization recomputed from seeded history; a one-shot run after a restart
// deciding as a process that ran all along; no scale-down while Prometheus is down, and
// decisions resuming after it returns; the syncCheck hold; `backtest --prometheus` over
// seeded history.
//
// The real fakes they use live under internal/testserver, where the unit tests of the other
// packages use them too: gittest (the Git server), promtest (Prometheus), githubtest and
// gitlabtest (the REST APIs of GitHub and GitLab for the calls the providers make, with real
// state over the Git server), faultproxy, tinyfs and benchrepo.
//
// The fault suite (faults_test.go) puts a fault-injecting proxy (internal/testserver/faultproxy) in
// front of the real servers and runs the built binary through every fault: the Git server answering
// 500, dropping or stalling the fetch and the push at their pack, or slow; a damaged cache clone; a
// full cache disk (internal/testserver/tinyfs, a small tmpfs); Prometheus answering 500, garbage or
// too slowly. faults_host_test.go adds the pull request host: the GitHub API test server behind
// another proxy, answering 500 or a secondary rate limit at each step of a pull request's lifecycle
// in PullRequest and AutoMerge modes; and the process SIGKILLed at a random request of its pull
// request cycles (a hook of the proxies), 20 times from a logged seed. After each fault it checks
// that the remote has no partial commit and every person's commit, that no pull request is
// duplicated and no branch stray, and that the next run converges.
//
// The service's end-to-end scenarios (serve_e2e_test.go) run the built `serve` against a real
// Prometheus scraping the example's load app (examples/laravel/loadapp, built too) every second:
// load rising and falling, a queue filling from 0 and draining to 0, a person's revert held
// and then resumed, Prometheus killed with no scale-down, a person pushing every 100 ms during
// a burst of decisions, and two instances without sharding. Each reads what landed on the remote over time and checks the same invariants as
// the fault suite. TestMain fails the package when a child process outlives the tests.
//
// Without the prometheus binary the tests skip, except in CI (CI=true), where they fail; so
// do the disk-full tests without the right to mount a tmpfs.
package integration
