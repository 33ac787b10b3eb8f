package promclient

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// RangeQuerier runs range queries; *Client is one.
type RangeQuerier interface {
	QueryRange(ctx context.Context, q string, r v1.Range) (model.Value, error)
}

var _ RangeQuerier = (*Client)(nil)

// Steps returns the instants a stabilization window covers: the multiples of step strictly
// inside (now−window, now), oldest first. Aligning to multiples of step (rather than to now)
// is what lets a one-shot run and a long-running service see the same instants.
func Steps(now time.Time, window, step time.Duration) []time.Time {
	return alignedSteps(now.Add(-window).UnixNano(), now.UnixNano()-1, window, step)
}

// alignedSteps are the multiples of step in (lo, hi], in unix nanoseconds, oldest first.
func alignedSteps(lo, hi int64, window, step time.Duration) []time.Time {
	if window <= 0 || step <= 0 {
		return nil
	}
	s := int64(step)
	first := floorDiv(lo, s)*s + s
	last := floorDiv(hi, s) * s
	var out []time.Time
	for t := first; t <= last; t += s {
		out = append(out, time.Unix(0, t).UTC())
	}
	return out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// Recommendations recomputes the policy's raw recommendations over the window before now, so
// stabilization needs no memory of its own: every metric is range-queried at the step
// instants (see Steps), and at each instant engine.Recommend turns the values and the replica
// count of that time (replicasAt) into the recommendation. Data problems at an instant (empty,
// NaN, several series) make that metric missing there, exactly as a live run would have seen;
// a failed query is an error, because the window then cannot be known.
func Recommendations(ctx context.Context, q RangeQuerier, p *policy.Policy, now time.Time, window, step time.Duration, replicasAt func(t time.Time) int) ([]engine.Recommendation, error) {
	steps := Steps(now, window, step)
	if len(steps) == 0 {
		return nil, nil
	}
	r := v1.Range{Start: steps[0], End: steps[len(steps)-1], Step: step}
	perMetric := make([][]engine.MetricValue, len(p.Spec.Metrics))
	for k, m := range p.Spec.Metrics {
		v, err := q.QueryRange(ctx, m.PromQL, r)
		if err != nil {
			return nil, fmt.Errorf("stabilization window of %s: metric %s: %w", p.ID(), m.Name, err)
		}
		perMetric[k] = SeriesValues(m, v, nil, steps)
	}
	return replay(p, steps, func(i int) []engine.MetricValue {
		values := make([]engine.MetricValue, len(p.Spec.Metrics))
		for k := range p.Spec.Metrics {
			values[k] = perMetric[k][i]
		}
		return values
	}, replicasAt), nil
}

// replay is the one stabilization replay, whatever the values come from: at every instant of
// steps, the raw recommendation (engine.Recommend) that the metric values of that instant
// (valuesAt(i) for steps[i]) and the replica count of that time give.
func replay(p *policy.Policy, steps []time.Time, valuesAt func(i int) []engine.MetricValue, replicasAt func(time.Time) int) []engine.Recommendation {
	out := make([]engine.Recommendation, len(steps))
	for i, t := range steps {
		rec, _ := engine.Recommend(p, replicasAt(t), valuesAt(i))
		out[i] = engine.Recommendation{At: t, Replicas: rec}
	}
	return out
}

// Seasons recomputes a Steady policy's memory (engine.Snapshot.Seasons) the way Recommendations
// recomputes a stabilization window: the needs at the instants of Policy.MemoryWindow a day and
// a week before now (Steps, aligned to the policy's interval), each from the metric values of
// that instant at the count of that time (engine.Remembered, which leaves out an instant where
// every metric was missing). windowValues reads one window's values, one slice per instant.
func seasons(p *policy.Policy, now time.Time, step time.Duration, replicasAt func(time.Time) int,
	windowValues func(offset time.Duration, steps []time.Time) ([][]engine.MetricValue, error)) (engine.Seasons, error) {
	var out engine.Seasons
	back, ahead, ok := engine.MemoryWindow(p)
	if !ok {
		return out, nil
	}
	for _, w := range []struct {
		offset time.Duration
		dst    *[]engine.Recommendation
	}{{engine.SeasonDay, &out.Day}, {engine.SeasonWeek, &out.Week}} {
		steps := Steps(now.Add(-w.offset+ahead), back+ahead, step)
		if len(steps) == 0 {
			continue
		}
		values, err := windowValues(w.offset, steps)
		if err != nil {
			return engine.Seasons{}, fmt.Errorf("memory of %s, %s before: %w", p.ID(), w.offset, err)
		}
		for i, t := range steps {
			if need, ok := engine.Remembered(p, replicasAt(t), values[i]); ok {
				*w.dst = append(*w.dst, engine.Recommendation{At: t, Replicas: need})
			}
		}
	}
	return out, nil
}
