package promclient

import (
	"context"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// ShadowTraceMetric is the name a trace gives the live autoscaler's desired replicas: the
// series a shadow policy's spec.shadow.promQL would return from Prometheus.
const ShadowTraceMetric = "shadow"

// ShadowSteps are the instants a shadow comparison covers: the multiples of step in
// (now−window, now], oldest first. Aligned like the stabilization window's (Steps), so that a
// one-shot run and the service compare over the same instants.
func ShadowSteps(now time.Time, window, step time.Duration) []time.Time {
	return alignedSteps(now.Add(-window).UnixNano(), now.UnixNano(), window, step)
}

// shadowFrame is the empty series both sources fill, and its instants: the ShadowSteps at the
// policy's evaluation interval. A policy without spec.shadow has none.
func shadowFrame(p *policy.Policy, now time.Time, window time.Duration) (engine.ShadowSeries, []time.Time) {
	out := engine.ShadowSeries{Step: engine.BacktestInterval(p)}
	if p.Spec.Shadow == nil {
		return out, nil
	}
	steps := ShadowSteps(now, window, out.Step)
	if len(steps) > 0 {
		out.Start = steps[0]
	}
	return out, steps
}

// shadowMetric is the shadow query as a metric, so that it runs through the same rules as any
// other: one number per instant, empty and errors missing.
func shadowMetric(p *policy.Policy) policy.Metric {
	return policy.Metric{Name: ShadowTraceMetric, PromQL: p.Spec.Shadow.PromQL}
}

// Shadow gathers the shadow policy's comparison series over the window before now, at the
// policy's evaluation interval (engine.BacktestInterval): the shadow query and every metric,
// range-queried on the policy's own server; of a window read before, only the instants that
// may have changed are queried again (windowCache). It does not fail: a failed shadow query leaves
// every live value missing with the error as its cause, and a failed metric query leaves the
// metrics out with MetricsCause — a replay over unknown data would invent decisions. What
// failed is logged once, here.
func (s PrometheusSource) Shadow(ctx context.Context, p *policy.Policy, now time.Time, window time.Duration) engine.ShadowSeries {
	out, steps := shadowFrame(p, now, window)
	if len(steps) == 0 {
		return out
	}
	step, end := out.Step, steps[len(steps)-1]
	c, err := s.servers.For(p.Spec.Prometheus)
	if err != nil {
		s.log.Warn("shadow comparison unavailable", "repository", p.Source.Repository, "policy", p.ID(), "error", err)
		out.Live = SeriesValues(shadowMetric(p), nil, err, steps)
		out.MetricsCause = err.Error()
		return out
	}
	live, err := s.windows.values(ctx, c, shadowMetric(p), out.Start, end, step)
	if err != nil {
		s.log.Warn("shadow query failed", "repository", p.Source.Repository, "policy", p.ID(), "error", err)
		live = SeriesValues(shadowMetric(p), nil, err, steps)
	}
	out.Live = live
	perMetric := make([][]engine.MetricValue, len(p.Spec.Metrics))
	for k, m := range p.Spec.Metrics {
		if perMetric[k], err = s.windows.values(ctx, c, m, out.Start, end, step); err != nil {
			s.log.Warn("shadow comparison: metrics unavailable", "repository", p.Source.Repository, "policy", p.ID(), "metric", m.Name, "error", err)
			out.MetricsCause = err.Error()
			return out
		}
	}
	out.Metrics = make([][]engine.MetricValue, len(steps))
	for i := range steps {
		out.Metrics[i] = make([]engine.MetricValue, len(p.Spec.Metrics))
		for k := range p.Spec.Metrics {
			out.Metrics[i][k] = perMetric[k][i]
		}
	}
	return out
}

// Shadow gathers the shadow policy's comparison series over the window before now from the
// trace: the live values are the trace's metric named ShadowTraceMetric, the metrics as
// Values reads them, at the same instants as PrometheusSource.Shadow.
func (s TraceSource) Shadow(_ context.Context, p *policy.Policy, now time.Time, window time.Duration) engine.ShadowSeries {
	out, steps := shadowFrame(p, now, window)
	if len(steps) == 0 {
		return out
	}
	out.Live = make([]engine.MetricValue, len(steps))
	out.Metrics = make([][]engine.MetricValue, len(steps))
	for i, t := range steps {
		out.Live[i] = s.trace.ValueAt(ShadowTraceMetric, t)
		out.Metrics[i] = s.trace.Values(p, t)
	}
	return out
}
