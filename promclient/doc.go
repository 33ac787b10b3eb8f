// Package promclient owns access to metric values: Prometheus over its HTTP API, with per-server
// auth, headers, TLS, timeouts, bounded retries and answers bounded by limits.prometheus (the
// requests and the streaming decoding of answers are ours, answer.go; the value types are
// prometheus/common's), and the offline trace source (the backtest CSV format). It turns query
// results into numbers under the explicit rules of docs/design.md §5 — one series or a scalar,
// empty is missing, NaN and ±Inf are missing, negatives count as 0 — and recomputes past
// recommendations for stabilization from range queries. PrometheusSource and TraceSource serve
// all of it with the same methods — a cycle's values, a stabilization window (one replay for
// both), one metric over a range for charts, a shadow policy's comparison series (the live
// autoscaler's desired replicas and the metrics over a window) — so either can be wired where
// the other was. It decides nothing: that is package policy.
//
// Must not import: cmd/..., gitops/..., internal/web, render/..., integration/...,
// internal/testserver/..., os/exec.
package promclient
