// Package web is the face of the service and of the backtest: what people and other systems
// look at and call.
//
//   - The HTTP API (api.go): /metrics, /healthz, /readyz, the status of every policy as JSON,
//     evaluation on demand behind a bearer token, and the Alertmanager webhook, which evaluates
//     the policies its firing alerts name; the status page and JSON behind the status token
//     when one is set.
//   - The HTTP server (server.go): the timeouts, sizes and connection cap of limits.http, and
//     a refused POST answered and its connection closed without waiting for its body.
//   - The status page (status.go, status.html.tmpl): a row per policy with its last decision,
//     holds and next run, and a chart of its first metric against the replica count.
//   - The service's own Prometheus metrics (metrics.go), fed by the service's cycle events.
//   - Shadow policies (shadow.go): the live autoscaler's count against ours, and the changes
//     each made or would have made, as gauges and on the status page, whose chart draws the
//     live line beside ours.
//   - The SVG chart (chart.go), the self-contained backtest report (backtest.go), and the
//     comparison of several policies replayed over one trace (compare.go): their figures side
//     by side and every replica line over the metric on one chart.
//
// It is a leaf: it reads the core's types (policy's documents and backtest results, the
// service's status and results) and turns them into HTTP and HTML. Nothing in policy,
// promclient or the loop imports it, so the decision engine carries no presentation and a
// change of layout never touches a rule. What it needs of metrics it declares itself
// (SeriesSource); the command wires promclient's sources in.
//
// It lives under internal/ (it is no public API) and beside the loop, not under it: it may
// import the loop (package gitops) and policy, and nothing under gitops/, policy, promclient
// or render may import it.
//
// Must not import: cmd/..., render/..., integration/..., internal/testserver/....
package web
