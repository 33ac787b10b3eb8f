package promclient

import (
	"context"
	"log/slog"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// A source serves what the loop and the status page read of metrics: the values of a cycle,
// the recommendations of a stabilization window, a Steady policy's memory of yesterday and last
// week, one metric over a time range, and a shadow policy's comparison series (shadow.go). There are
// two, with the same methods: PrometheusSource (the configured servers) and TraceSource (a trace
// file, the offline alternative).

// PrometheusSource serves metric values from the configured Prometheus servers, one batch a
// cycle, and recomputes stabilization windows and chart series from range queries.
type PrometheusSource struct {
	servers *Servers
	batch   *Batch
	log     *slog.Logger
	// windows holds what shadow comparisons and Steady memories already read (see windowCache).
	windows *windowCache
}

// NewPrometheusSource returns the source over servers. A nil logger discards.
func NewPrometheusSource(servers *Servers, log *slog.Logger) PrometheusSource {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return PrometheusSource{servers: servers, batch: NewBatch(servers, log), log: log, windows: newWindowCache()}
}

// Values are the metric values of every policy at the instant at: one batch for all of them
// (see Batch.Values).
func (s PrometheusSource) Values(ctx context.Context, at time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	return s.batch.Values(ctx, at, ps)
}

// Recommendations are the policy's raw recommendations over the window before now, at the
// policy's evaluation interval, from range queries (see Recommendations).
func (s PrometheusSource) Recommendations(ctx context.Context, p *policy.Policy, now time.Time, window time.Duration, replicasAt func(time.Time) int) ([]engine.Recommendation, error) {
	c, err := s.servers.For(p.Spec.Prometheus)
	if err != nil {
		return nil, err
	}
	return Recommendations(ctx, c, p, now, window, engine.BacktestInterval(p), replicasAt)
}

// Seasons are a Steady policy's memory — its needs at the same hours a day and a week ago —
// from range queries at the policy's evaluation interval (see seasons). What a window already
// read is kept and only the new instants are queried, as for a shadow's day (windowCache).
func (s PrometheusSource) Seasons(ctx context.Context, p *policy.Policy, now time.Time, replicasAt func(time.Time) int) (engine.Seasons, error) {
	if !engine.IsSteady(p) {
		return engine.Seasons{}, nil
	}
	c, err := s.servers.For(p.Spec.Prometheus)
	if err != nil {
		return engine.Seasons{}, err
	}
	step := engine.BacktestInterval(p)
	return seasons(p, now, step, replicasAt, func(offset time.Duration, steps []time.Time) ([][]engine.MetricValue, error) {
		out := make([][]engine.MetricValue, len(steps))
		for i := range out {
			out[i] = make([]engine.MetricValue, len(p.Spec.Metrics))
		}
		for k, m := range p.Spec.Metrics {
			vals, err := s.windows.valuesAt(ctx, c, m, offset, steps[0], steps[len(steps)-1], step)
			if err != nil {
				return nil, err
			}
			for i := range steps {
				out[i][k] = vals[i]
			}
		}
		return out, nil
	})
}

// Series is the value of the policy's metric number metric at start + i·step for every i up
// to end, from range queries (see RangeValues).
func (s PrometheusSource) Series(ctx context.Context, p *policy.Policy, metric int, start, end time.Time, step time.Duration) ([]engine.MetricValue, error) {
	c, err := s.servers.For(p.Spec.Prometheus)
	if err != nil {
		return nil, err
	}
	one := *p
	one.Spec.Metrics = p.Spec.Metrics[metric : metric+1]
	vals, err := RangeValues(ctx, c, &one, start, end, step)
	if err != nil {
		return nil, err
	}
	out := make([]engine.MetricValue, len(vals))
	for i, v := range vals {
		out[i] = v[0]
	}
	return out, nil
}

// TraceSource serves metric values, stabilization windows and chart series from a trace.
type TraceSource struct{ trace *Trace }

// NewTraceSource returns the source over a trace.
func NewTraceSource(t *Trace) TraceSource { return TraceSource{trace: t} }

// Values are the metric values of every policy at the instant at (see Trace.Values).
func (s TraceSource) Values(_ context.Context, at time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	out := make([][]engine.MetricValue, len(ps))
	for i, p := range ps {
		out[i] = s.trace.Values(p, at)
	}
	return out
}

// Recommendations are the policy's raw recommendations over the window before now, at the
// policy's evaluation interval, replayed from the trace with the same steps as Prometheus.
func (s TraceSource) Recommendations(_ context.Context, p *policy.Policy, now time.Time, window time.Duration, replicasAt func(time.Time) int) ([]engine.Recommendation, error) {
	steps := Steps(now, window, engine.BacktestInterval(p))
	return replay(p, steps, func(i int) []engine.MetricValue { return s.trace.Values(p, steps[i]) }, replicasAt), nil
}

// Seasons are a Steady policy's memory, replayed from the trace at the same instants as
// Prometheus (see seasons).
func (s TraceSource) Seasons(_ context.Context, p *policy.Policy, now time.Time, replicasAt func(time.Time) int) (engine.Seasons, error) {
	return seasons(p, now, engine.BacktestInterval(p), replicasAt, func(_ time.Duration, steps []time.Time) ([][]engine.MetricValue, error) {
		out := make([][]engine.MetricValue, len(steps))
		for i, t := range steps {
			out[i] = s.trace.Values(p, t)
		}
		return out, nil
	})
}

// Series is the value of the policy's metric number metric at start + i·step for every i up
// to end (see Trace.ValueAt).
func (s TraceSource) Series(_ context.Context, p *policy.Policy, metric int, start, end time.Time, step time.Duration) ([]engine.MetricValue, error) {
	name := p.Spec.Metrics[metric].Name
	var out []engine.MetricValue
	for t := start; !t.After(end); t = t.Add(step) {
		out = append(out, s.trace.ValueAt(name, t))
	}
	return out, nil
}
