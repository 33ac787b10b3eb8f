// Command gitops-autoscaler scales Kubernetes workloads on Prometheus signals by writing each
// decision into Git: one replica number changed in one file, committed with its reasons, pushed
// or proposed as a pull request. It never calls the Kubernetes API.
//
// The commands: serve (the service), evaluate and plan (one pass, for Jenkins or cron),
// validate, backtest, history, scale, import and version; `gitops-autoscaler help` lists them and
// `gitops-autoscaler <command> --help` explains each with its flags, an example and its exit
// status. Exit status 0 is done, 1 a runtime failure, 2 a usage error or an invalid config or
// policy.
//
// This package owns the command line and the wiring, nothing more: each command parses its
// flags into an options struct, checks them, and runs with them — loading the config
// (package policy), choosing the metric source (promclient's Prometheus or trace source),
// wiring render verification and pull request delivery into a gitops.Runner or a
// gitops.Service, serving internal/web's handler, and printing results as text or JSON. Only main
// turns signals into cancellation. The rules live in policy, the Git work in gitops, the HTTP
// face in internal/web. The in-process tests run the same entry point (run) on port 0.
//
// Must not import: integration/..., internal/testserver/....
package main
