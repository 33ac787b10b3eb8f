package engine

import "github.com/gitops-autoscaler/gitops-autoscaler/policy"

// Decide runs the whole of docs/design.md §5 and returns the desired count with ordered reasons.
//
// It is a pure function of the policy and the snapshot: no I/O, no clock (s.Now is the
// instant), no logging, and it does not write to p or s, so it may run concurrently on one
// policy. p must have gone through SetDefaults; Compile saves it parsing schedules.
//
// The steps, in the HPA's order:
//
//  0. A count of 0 in Git while minReplicas is above 0 means a person switched the workload
//     off, as the HPA reads it: hold at 0 (SwitchedOff) until a count above 0 is written.
//     With minReplicas 0, 0 is an ordinary count and activation decides as always.
//     A current count outside [minReplicas, maxReplicas] (after active schedules) goes straight
//     to the nearest bound, before metrics (OutOfBounds); the recommendation is still
//     computed and returned for the stabilization memory, but not explained.
//  1. Recommend: per-metric recommendations, aggregation, activation, missing metrics.
//  2. Stabilization (HPA form: scale-up window min, scale-down window max, current kept inside
//     both; the original form's window is a scale-down window).
//  3. Rate limits: the HPA form's policies over History, then maxScaleUp/DownStepPercent.
//  4. Cooldowns since the last change in any direction.
//  5. Bounds [min, max] raised (or set) by active schedules, last, so that no limit holds the
//     count outside them.
//  6. Holds: suspend, revert, manual edit, rejected pull request, sync check. They only ever
//     keep the current count, and only when the steps above wanted a change (Held).
//
// Without a behavior block, steps 2–4 do nothing: the count follows the recommendation.
//
// When the stabilization windows could not be read (s.RecommendationsUnknown), Decide does not
// take them as empty, which could scale down at once: it assumes the count held all along —
// one recommendation of the current count just before now — so the windows keep the current
// count, and says so first; the next evaluation with history decides.
func Decide(p *policy.Policy, s *Snapshot) Decision {
	e := newExplainer(len(p.Spec.Metrics))
	if s.RecommendationsUnknown != "" {
		s = heldWindow(s, e)
	}
	c := s.Current
	d := Decision{Current: c}
	b := effectiveBounds(p, s.Now, e)
	h := summarize(s.History)

	var desired int
	if c == 0 && p.Spec.MinReplicas != nil && *p.Spec.MinReplicas > 0 {
		lines, bytes := e.mark()
		d.Recommendation = recommend(p, c, s.Metrics, e)
		e.reset(lines, bytes)
		e.begin(ReasonSwitchedOff).str("switched off: the count in Git is 0 while minReplicas is ").
			int(*p.Spec.MinReplicas).str("; write a count above 0 to resume").hold(0).end()
		d.Desired, d.Held, d.Reasons = 0, true, e.finish()
		return d
	}
	if c < b.min || c > b.max {
		lines, bytes := e.mark()
		d.Recommendation = recommend(p, c, s.Metrics, e)
		e.reset(lines, bytes)
		desired = min(max(c, b.min), b.max)
		e.begin(ReasonOutOfBounds).str("current ").int(c).str(" outside bounds ").bounds(b).to(desired).end()
	} else {
		desired = recommend(p, c, s.Metrics, e)
		d.Recommendation = desired
		if cfg, ok := steadyOf(&p.Spec); ok {
			desired = steady(&cfg, desired, c, b, s, &h, e)
		} else if r, ok := resolveBehavior(p.Spec.Behavior); ok {
			desired = stabilize(desired, c, &r, s.Recommendations, s.Now, e)
			desired = rateLimit(desired, c, &r, s.History, s.Now, e)
			desired = cooldown(desired, c, &r, h.last, s.Now, e)
		}
		desired = applyBounds(desired, b, e)
	}

	d.Desired, d.Held = applyHolds(p, s, &h, desired, e)
	// A step that kept the count has said so; only a recommendation that was the current count
	// all along gets a closing line.
	if d.Desired == c && !d.Held && d.Recommendation == c {
		e.begin(ReasonUnchanged).str("unchanged at ").int(c).end()
	}
	d.Reasons = e.finish()
	return d
}
