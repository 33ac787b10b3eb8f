package engine

import (
	"math"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Need is the replica count the metrics ask for, measured at replicas, with no tolerance, no
// behavior and no bounds: the count below which a workload is under-provisioned. Per metric:
//   - AverageValue: ceil(v / averageValue), the replicas that bring each one to its target;
//   - Value: ceil(replicas × v / value), the ratio form's count (from 0, as if one replica
//     ran): above the target more than replicas, at or under it no more;
//   - step rule: replicas + scaleUp.step while v is above scaleUp.threshold (the rule's own
//     word that more are needed); otherwise it asks for nothing.
//
// The need is the largest over the metrics that have a value (whatever the aggregation: a
// metric whose target is missed is a metric missing its target); 0 when none has one. A replay
// takes replicas to be the count the values were measured at — the count before the step's
// decision — and is short when the count after it is below the need.
func Need(p *policy.Policy, replicas int, metrics []MetricValue) int {
	need := 0
	for i := range p.Spec.Metrics {
		m := &p.Spec.Metrics[i]
		v, ok, _ := metricValue(metrics, i)
		if !ok || !validRule(m) {
			continue
		}
		n := 0
		switch {
		case m.Target != nil && m.Target.Type == policy.TargetAverageValue:
			n = ceilInt(v / *m.Target.AverageValue)
		case m.Target != nil:
			n = ceilInt(float64(max(replicas, 1)) * v / *m.Target.Value)
		case m.ScaleUp != nil && m.ScaleUp.Threshold != nil && v > *m.ScaleUp.Threshold:
			n = replicas + m.ScaleUp.Step
		}
		need = max(need, n)
	}
	return need
}

// BoundsAt is the policy's [minReplicas, maxReplicas] at an instant, raised or replaced by the
// schedules active then, exactly as Decide applies them last: the bounds a replay's offline
// optimum keeps to (package policy/optimum).
func BoundsAt(p *policy.Policy, at time.Time) (lo, hi int) {
	var b bounds
	if len(p.Spec.Schedules) == 0 {
		b = bounds{max: p.Spec.MaxReplicas}
		if p.Spec.MinReplicas != nil {
			b.min = *p.Spec.MinReplicas
		}
	} else {
		b = effectiveBounds(p, at, newExplainer(0))
	}
	return b.min, b.max
}

// Assessment is how a replay served its workload: what `backtest --compare` prints side by
// side, one per policy.
type Assessment struct {
	Policy string `json:"policy"`
	// Days is the replay's length in days (evaluations × step).
	Days          float64 `json:"days"`
	Changes       int     `json:"changes"`
	ChangesPerDay float64 `json:"changesPerDay"`
	ScaleUps      int     `json:"scaleUps"`
	ScaleDowns    int     `json:"scaleDowns"`
	// ReplicaHours is the capacity paid for: Σ replicas × step.
	ReplicaHours float64 `json:"replicaHours"`
	// ShortSeconds is the time the count was below Need; ShortReplicaMinutes its depth,
	// Σ (need − replicas) × step.
	ShortSeconds        float64 `json:"shortSeconds"`
	ShortReplicaMinutes float64 `json:"shortReplicaMinutes"`
	// LargestStep is the largest change of one decision, in replicas.
	LargestStep int `json:"largestStep"`
}

// Assess measures a replay of p (its Steps and Decisions) against the need of every step, as
// Backtest's summary does (shortBy): a step is short when its count is below the need of its
// metrics read at the count before it (r.Initial for the first).
func Assess(p *policy.Policy, r *BacktestResult) Assessment {
	a := Assessment{Policy: r.Policy, Changes: len(r.Decisions)}
	secs := r.Step.Seconds()
	before := r.Initial
	for i := range r.Steps {
		st := &r.Steps[i]
		a.ReplicaHours += float64(st.Replicas) * secs / 3600
		if short := shortBy(p, before, st.Replicas, st.Metrics); short > 0 {
			a.ShortSeconds += secs
			a.ShortReplicaMinutes += float64(short) * secs / 60
		}
		before = st.Replicas
	}
	for _, d := range r.Decisions {
		if d.To > d.From {
			a.ScaleUps++
		} else {
			a.ScaleDowns++
		}
		a.LargestStep = max(a.LargestStep, int(math.Abs(float64(d.To-d.From))))
	}
	a.Days = float64(len(r.Steps)) * secs / 86400
	if a.Days > 0 {
		a.ChangesPerDay = float64(a.Changes) / a.Days
	}
	return a
}

// shortBy is the one definition of under-provisioning: how many replicas the count after a
// step falls below the need of the step's metrics, read at the count before it (0 when
// covered).
func shortBy(p *policy.Policy, before, after int, metrics []MetricValue) int {
	return max(Need(p, before, metrics)-after, 0)
}

// Compare replays every policy over the same instants with the same options and assesses
// each, in order. Without opts.Step the step is the shortest of the policies' intervals, so
// every policy is evaluated at the same instants. src gives a policy's metric source (a trace's
// values keyed by that policy's metric names). Compare is pure.
func Compare(policies []*policy.Policy, src func(p *policy.Policy) func(at time.Time) []MetricValue, opts BacktestOptions) ([]BacktestResult, []Assessment) {
	if opts.Step <= 0 {
		for _, p := range policies {
			if st := BacktestInterval(p); opts.Step <= 0 || st < opts.Step {
				opts.Step = st
			}
		}
	}
	results := make([]BacktestResult, len(policies))
	out := make([]Assessment, len(policies))
	for i, p := range policies {
		results[i] = Backtest(p, src(p), opts)
		out[i] = Assess(p, &results[i])
	}
	return results, out
}
