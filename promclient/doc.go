// Package promclient owns access to metric values: Prometheus over its HTTP API (client_golang
// api/prometheus/v1) with per-server auth, headers, TLS, timeouts and bounded retries, and the
// offline trace source (the backtest CSV format). It turns query results into numbers under the
// explicit rules of docs/design.md §5 — one series or a scalar, empty is missing, NaN and ±Inf are
// missing, negatives count as 0 — and recomputes past recommendations for stabilization from range
// queries. PrometheusSource and TraceSource serve all of it with the same methods — a cycle's
// values, a stabilization window (one replay for both), one metric over a range for charts, a
// shadow policy's comparison series (the live autoscaler's desired replicas and the metrics over
// a window) — so either can be wired where the other was. It decides nothing: that is package policy.
package promclient
