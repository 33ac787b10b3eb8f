package engine

import (
	"math"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Recommend computes the raw recommendation: per-metric recommendations (step rule,
// AverageValue, Value, missing handling, activation/scale-to-zero) and aggregation. It is the
// value remembered for stabilization. It also returns its reason lines.
//
// metrics holds one value per p.Spec.Metrics entry, in the same order; an entry that is absent
// counts as missing. p must have gone through SetDefaults. Recommend is pure: it neither reads
// the clock nor writes to p.
//
// Rules (docs/design.md §5), with c the current count and v a metric's value (negative counts
// as 0):
//   - step rule: v > scaleUp.threshold → c + step; v < scaleDown.threshold → c − step (not
//     below 0; under the Steady strategy 0: the rule asks for nothing); otherwise c.
//   - AverageValue: ceil(v / averageValue), but c when |v / (averageValue·c) − 1| ≤ tolerance.
//   - Value: ceil(c · v / value), but c when |v / value − 1| ≤ tolerance. From c = 0 there is
//     no ratio to scale, so the Value form then scales as if one replica ran: ceil(v / value).
//   - tolerance does not apply when c is 0; its bound is inclusive. A ratio above 1 is compared
//     with the scale-up tolerance, one below 1 with the scale-down tolerance: spec.tolerance,
//     unless behavior.scaleUp.tolerance or behavior.scaleDown.tolerance overrides it (the
//     HPA's per-direction tolerance, Kubernetes 1.33).
//   - aggregation over the metrics that have a value: max, min, average (ceil of the mean),
//     weighted (ceil of Σ wᵢ·rᵢ / Σ wᵢ, weights default to 1).
//   - activation, only with minReplicas 0: a metric is active when its value is strictly above
//     its activationThreshold (0 when unset, as KEDA). No active metric → 0; any active metric
//     → at least 1.
//   - missing values: the other metrics may still scale up, but never down (the result is then
//     c); with every metric missing the result is c.
//
// ceil here is exact for decimal inputs: a quotient within 1e-9 of an integer is that integer,
// so 1.1 / 0.1 gives 11 and not 12 (the HPA avoids the same floating-point artefact by working
// in milli-units). A recommendation saturates at MaxReplicaCount, as the HPA's does: a huge
// value (above 2^63, say) scales up to the bound, never wraps around to a small count.
func Recommend(p *policy.Policy, current int, metrics []MetricValue) (rec int, reasons []Reason) {
	e := newExplainer(len(p.Spec.Metrics))
	rec = recommend(p, current, metrics, e)
	return rec, e.finish()
}

// floatEpsilon absorbs floating-point error in comparisons the design defines on decimals
// (tolerance bounds, ceil of a quotient).
const floatEpsilon = 1e-9

// recommend is Recommend writing its reasons to e.
func recommend(p *policy.Policy, c int, metrics []MetricValue, e *explainer) int {
	spec := &p.Spec
	tol := policyTolerances(spec)
	_, steady := steadyOf(spec)
	activation := spec.MinReplicas != nil && *spec.MinReplicas == 0

	// Per-metric recommendations; a small policy keeps them on the stack.
	var recsArr [8]int
	var weightsArr [8]float64
	recs, weights := recsArr[:0], weightsArr[:0]
	missing, active := 0, false
	firstActive := -1
	var firstActiveValue float64
	for i := range spec.Metrics {
		m := &spec.Metrics[i]
		v, ok, cause := metricValue(metrics, i)
		if !ok {
			missing++
			e.begin(ReasonMetricMissing).str(m.Name).str(" missing: ").str(cause).end()
			continue
		}
		r, ok := metricRecommendation(m, v, c, tol, steady, e)
		if !ok {
			missing++
			continue
		}
		recs = append(recs, r)
		w := 1.0
		if m.Weight != nil {
			w = *m.Weight
		}
		weights = append(weights, w)
		if activation {
			threshold := 0.0
			if m.ActivationThreshold != nil {
				threshold = *m.ActivationThreshold
			}
			if v > threshold && !active {
				active, firstActive, firstActiveValue = true, i, v
			}
		}
	}

	if len(recs) == 0 {
		e.begin(ReasonAllMetricsMissing).str("all metrics missing").hold(c).end()
		return c
	}

	rec := aggregate(spec.Aggregation, recs, weights)
	if len(recs) > 1 {
		e.begin(ReasonAggregated).str("aggregation ").str(string(aggregationOrMax(spec.Aggregation))).to(rec).end()
	}

	if activation {
		switch {
		case !active && rec != 0:
			rec = 0
			e.begin(ReasonActivation).str("activation: no metric above its activation threshold").to(0).end()
		case active && rec < 1:
			rec = 1
			m := &spec.Metrics[firstActive]
			e.begin(ReasonActivation).str("activation: ").str(m.Name).str(" = ").num(firstActiveValue).
				str(" > activationThreshold ").num(activationThreshold(m)).to(1).end()
		}
	}

	if missing > 0 && rec < c {
		e.begin(ReasonScaleDownBlocked).str("scale-down blocked: ")
		n := 0
		for i := range spec.Metrics {
			if _, ok, _ := metricValue(metrics, i); ok && validRule(&spec.Metrics[i]) {
				continue
			}
			if n > 0 {
				e.str(", ")
			}
			e.str(spec.Metrics[i].Name)
			n++
		}
		e.str(" missing").hold(c).end()
		rec = c
	}
	return rec
}

// metricValue is the i-th metric's usable value: present, finite, negative counted as 0.
func metricValue(metrics []MetricValue, i int) (v float64, ok bool, cause string) {
	if i >= len(metrics) {
		return 0, false, "no value"
	}
	mv := &metrics[i]
	if mv.Missing {
		if mv.Cause == "" {
			return 0, false, "no value"
		}
		return 0, false, mv.Cause
	}
	if math.IsNaN(mv.Value) || math.IsInf(mv.Value, 0) {
		return 0, false, "value is not a finite number"
	}
	if mv.Value < 0 {
		return 0, true, ""
	}
	return mv.Value, true, ""
}

func activationThreshold(m *policy.Metric) float64 {
	if m.ActivationThreshold != nil {
		return *m.ActivationThreshold
	}
	return 0
}

// validRule reports whether a metric has a rule the engine can apply. Validation guarantees
// it; the engine still treats a metric without one as missing rather than guessing.
func validRule(m *policy.Metric) bool {
	if m.Target != nil {
		switch m.Target.Type {
		case policy.TargetAverageValue:
			return m.Target.AverageValue != nil && *m.Target.AverageValue > 0
		case policy.TargetValue:
			return m.Target.Value != nil && *m.Target.Value > 0
		}
		return false
	}
	return (m.ScaleUp != nil && m.ScaleUp.Threshold != nil) || (m.ScaleDown != nil && m.ScaleDown.Threshold != nil)
}

// metricRecommendation applies one metric's rule to its value v at current count c. ok is
// false when the metric has no usable rule (then it counts as missing).
func metricRecommendation(m *policy.Metric, v float64, c int, tol tolerances, steady bool, e *explainer) (int, bool) {
	if !validRule(m) {
		e.begin(ReasonMetricMissing).str(m.Name).str(" missing: no usable scaling rule").end()
		return 0, false
	}
	if m.Target != nil {
		if m.Target.Type == policy.TargetAverageValue {
			return averageValueRecommendation(m.Name, v, *m.Target.AverageValue, c, tol, e), true
		}
		return valueRecommendation(m.Name, v, *m.Target.Value, c, tol, e), true
	}
	return stepRecommendation(m, v, c, steady, e), true
}

// stepRecommendation applies a step rule. Under the Steady strategy a value below the
// scale-down threshold asks for nothing (0) instead of one step fewer: the rule says the count
// may come down, and Steady comes down in one step to what the other metrics (or minReplicas)
// need, rather than a step per evaluation.
func stepRecommendation(m *policy.Metric, v float64, c int, steady bool, e *explainer) int {
	up, down := m.ScaleUp, m.ScaleDown
	if up != nil && up.Threshold != nil && v > *up.Threshold {
		r := c + up.Step
		e.metric(ReasonMetricValue, m.Name, v).str(" > scaleUp.threshold ").num(*up.Threshold).to(r).end()
		return r
	}
	if down != nil && down.Threshold != nil && v < *down.Threshold {
		r := max(c-down.Step, 0)
		e.metric(ReasonMetricValue, m.Name, v).str(" < scaleDown.threshold ").num(*down.Threshold)
		if steady {
			r = 0
			e.str(": asks for nothing")
		}
		e.to(r).end()
		return r
	}
	e.metric(ReasonMetricValue, m.Name, v)
	switch {
	case up != nil && up.Threshold != nil && down != nil && down.Threshold != nil:
		e.str(" within [").num(*down.Threshold).str(", ").num(*up.Threshold).str("]")
	case up != nil && up.Threshold != nil:
		e.str(" ≤ scaleUp.threshold ").num(*up.Threshold)
	default:
		e.str(" ≥ scaleDown.threshold ").num(*down.Threshold)
	}
	e.to(c).end()
	return c
}

func averageValueRecommendation(name string, v, target float64, c int, tol tolerances, e *explainer) int {
	if ratio := v / (target * float64(c)); c > 0 && tol.within(ratio) {
		e.metric(ReasonWithinTolerance, name, v)
		if ratio == 1 {
			// "within tolerance 0 of" a value it equals says nothing.
			e.str(", exactly averageValue ")
		} else {
			e.str(" within tolerance ").num(tol.of(ratio)).str(" of averageValue ")
		}
		e.num(target).str(" × ").int(c).to(c).end()
		return c
	}
	r := ceilInt(v / target)
	e.metric(ReasonMetricValue, name, v).str(" / averageValue ").num(target).to(r).end()
	return r
}

func valueRecommendation(name string, v, target float64, c int, tol tolerances, e *explainer) int {
	ratio := v / target
	if c > 0 && tol.within(ratio) {
		e.metric(ReasonWithinTolerance, name, v)
		if ratio == 1 {
			e.str(", exactly the target value")
		} else {
			e.str(" within tolerance ").num(tol.of(ratio)).str(" of value ").num(target)
		}
		e.to(c).end()
		return c
	}
	// From zero there is nothing to multiply: scale as if one replica ran (activation then
	// guarantees at least 1 when the metric is active).
	base := max(c, 1)
	r := ceilInt(float64(base) * ratio)
	e.metric(ReasonMetricValue, name, v).str(" / value ").num(target).str(" × ").int(base).to(r).end()
	return r
}

// tolerances are a policy's tolerances per direction of the ratio: down for a ratio below 1,
// up for one above.
type tolerances struct{ down, up float64 }

// policyTolerances resolves spec.tolerance and the HPA form's per-direction overrides.
func policyTolerances(spec *policy.Spec) tolerances {
	if _, ok := steadyOf(spec); ok {
		// Steady's need has no tolerance: its waits are the dead band, and a tolerance would
		// let the count run short.
		return tolerances{}
	}
	t := policy.DefaultTolerance
	if spec.Tolerance != nil {
		t = *spec.Tolerance
	}
	tol := tolerances{down: t, up: t}
	if b := spec.Behavior; b != nil {
		if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
			tol.up = *b.ScaleUp.Tolerance
		}
		if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
			tol.down = *b.ScaleDown.Tolerance
		}
	}
	return tol
}

// of is the tolerance a ratio is compared with.
func (t tolerances) of(ratio float64) float64 {
	if ratio > 1 {
		return t.up
	}
	return t.down
}

// within reports 1 − down ≤ ratio ≤ 1 + up (the HPA's isWithin), the bounds inclusive even
// where the decimal tolerance is not exact in binary (|1.1 − 1| is 0.10000000000000009).
func (t tolerances) within(ratio float64) bool {
	return math.Abs(ratio-1) <= t.of(ratio)+floatEpsilon
}

// MaxReplicaCount is the largest recommendation the engine computes: the HPA's cap (MaxInt32).
const MaxReplicaCount = math.MaxInt32

// ceilInt is ceil(x) for a replica count, taking x within floatEpsilon of an integer as that
// integer, and saturating at MaxReplicaCount (x may be +Inf or beyond any int).
func ceilInt(x float64) int {
	if !(x < MaxReplicaCount) {
		return MaxReplicaCount
	}
	if r := math.Round(x); math.Abs(x-r) <= floatEpsilon*math.Max(1, math.Abs(x)) {
		return int(r)
	}
	return int(math.Ceil(x))
}

func aggregationOrMax(a policy.Aggregation) policy.Aggregation {
	switch a {
	case policy.AggregateMin, policy.AggregateAverage, policy.AggregateWeighted:
		return a
	}
	return policy.AggregateMax
}

// aggregate combines per-metric recommendations (at least one).
func aggregate(a policy.Aggregation, recs []int, weights []float64) int {
	switch aggregationOrMax(a) {
	case policy.AggregateMin:
		out := recs[0]
		for _, r := range recs[1:] {
			out = min(out, r)
		}
		return out
	case policy.AggregateAverage:
		sum := 0
		for _, r := range recs {
			sum += r
		}
		return ceilDiv(sum, len(recs))
	case policy.AggregateWeighted:
		var sw, swr float64
		for i, r := range recs {
			sw += weights[i]
			swr += weights[i] * float64(r)
		}
		if sw <= 0 { // unvalidated weights: fall back to the plain mean
			return aggregate(policy.AggregateAverage, recs, weights)
		}
		return ceilInt(swr / sw)
	default:
		out := recs[0]
		for _, r := range recs[1:] {
			out = max(out, r)
		}
		return out
	}
}

// ceilDiv is ⌈a / b⌉ for b > 0, exact for negative a too.
func ceilDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}
