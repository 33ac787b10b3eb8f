// Package policy owns the documents users write and the decision made from them.
//
// It holds the PrometheusAutoscaler policy and the AutoscalerConfig service configuration
// (types, strict decoding that keeps line numbers, defaults in one place, and validation that
// reports every problem as file:line: field: message), the replica path syntax, and the
// decision engine: Decide is a pure function from a Snapshot (spec, current replicas, metric
// values, Git history, past recommendations, now) to the desired replica count and the reasons
// for it. Nothing here performs I/O, reads the clock or logs; Prometheus, Git and rendering
// stay with the callers (promclient, gitops, render).
//
// Backtest replays a policy over a metric trace through the same Decide, so a replay sees
// exactly the history a live run would.
package policy
