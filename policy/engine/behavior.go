package engine

import (
	"math"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// The HPA's defaults (autoscaling/v2) for the parts of its behavior form a policy leaves out.
// They live here rather than in SetDefaults because "left out" has an HPA meaning: they apply
// only when the HPA form is present at all.
const (
	hpaDefaultScaleUpWindow   = 0
	hpaDefaultScaleDownWindow = 300
)

var (
	hpaDefaultScaleUpPolicies = []policy.HPAPolicy{
		{Type: policy.PolicyPercent, Value: 100, PeriodSeconds: 15},
		{Type: policy.PolicyPods, Value: 4, PeriodSeconds: 15},
	}
	hpaDefaultScaleDownPolicies = []policy.HPAPolicy{
		{Type: policy.PolicyPercent, Value: 100, PeriodSeconds: 15},
	}
)

// direction is one direction's resolved HPA scaling rules.
type direction struct {
	selectPolicy string
	policies     []policy.HPAPolicy
}

// behavior is a policy's behavior block resolved for the engine: both forms, with the HPA's
// defaults applied where its form is present.
type behavior struct {
	// Stabilization windows in seconds (0: none).
	upWindow, downWindow int
	// hpa is set when the HPA form is present; up and down are then its rate limits.
	hpa      bool
	up, down direction
	// The original form's step limits and cooldowns (0: none).
	upStepPercent, downStepPercent int
	upCooldown, downCooldown       int
}

// resolveBehavior resolves a behavior block; ok is false when there is none, and the count
// then follows the recommendation at once.
//
// The scale-down window is the HPA form's when it sets one, else the original form's
// stabilizationWindowSeconds, else the HPA default of 300 s when the HPA form is present; when
// both forms set one, the longer applies. The HPA form counts as present when scaleUp or
// scaleDown is given; an empty policies list counts as left out.
func resolveBehavior(b *policy.Behavior) (r behavior, ok bool) {
	if b == nil {
		return r, false
	}
	r.upStepPercent = deref(b.MaxScaleUpStepPercent)
	r.downStepPercent = deref(b.MaxScaleDownStepPercent)
	r.upCooldown = deref(b.ScaleUpCooldownSeconds)
	r.downCooldown = deref(b.ScaleDownCooldownSeconds)
	original := deref(b.StabilizationWindowSeconds)
	r.downWindow = original

	r.hpa = b.ScaleUp != nil || b.ScaleDown != nil
	if !r.hpa {
		return r, true
	}
	r.upWindow = hpaDefaultScaleUpWindow
	r.up = direction{selectPolicy: policy.SelectMax, policies: hpaDefaultScaleUpPolicies}
	if s := b.ScaleUp; s != nil {
		if s.StabilizationWindowSeconds != nil {
			r.upWindow = *s.StabilizationWindowSeconds
		}
		if s.SelectPolicy != nil && *s.SelectPolicy != "" {
			r.up.selectPolicy = *s.SelectPolicy
		}
		if len(s.Policies) > 0 {
			r.up.policies = s.Policies
		}
	}
	if b.StabilizationWindowSeconds == nil {
		r.downWindow = hpaDefaultScaleDownWindow
	}
	r.down = direction{selectPolicy: policy.SelectMax, policies: hpaDefaultScaleDownPolicies}
	if s := b.ScaleDown; s != nil {
		if s.StabilizationWindowSeconds != nil {
			r.downWindow = max(*s.StabilizationWindowSeconds, original)
		}
		if s.SelectPolicy != nil && *s.SelectPolicy != "" {
			r.down.selectPolicy = *s.SelectPolicy
		}
		if len(s.Policies) > 0 {
			r.down.policies = s.Policies
		}
	}
	return r, true
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// stabilize applies the stabilization windows as the HPA does
// (stabilizeRecommendationWithBehaviors): the scale-up window's lowest recommendation is the
// floor, the scale-down window's highest the ceiling, and the current count is kept inside
// both. The recommendations considered are the remembered raw ones plus rec itself (Now's); an
// entry is in a window when it is strictly after now − window.
func stabilize(rec, current int, r *behavior, recs []Recommendation, now time.Time, e *explainer) int {
	if r.upWindow <= 0 && r.downWindow <= 0 {
		return rec
	}
	upCut := now.Add(-time.Duration(r.upWindow) * time.Second)
	downCut := now.Add(-time.Duration(r.downWindow) * time.Second)
	upRec, downRec := rec, rec
	for i := range recs {
		at := recs[i].At
		if r.upWindow > 0 && at.After(upCut) {
			upRec = min(upRec, recs[i].Replicas)
		}
		if r.downWindow > 0 && at.After(downCut) {
			downRec = max(downRec, recs[i].Replicas)
		}
	}
	out := min(max(current, upRec), downRec)
	if out == rec {
		return rec
	}
	e.begin(ReasonStabilized)
	if rec > current {
		e.str("stabilization: lowest recommendation in the last ").int(r.upWindow).str("s (scale-up window) is ").int(upRec)
	} else {
		e.str("stabilization: highest recommendation in the last ").int(r.downWindow).str("s (scale-down window) is ").int(downRec)
	}
	if out == current {
		e.hold(out).end()
	} else {
		e.to(out).end()
	}
	return out
}

// changesSince sums the History changes strictly newer than cutoff, per direction, as the
// HPA's getReplicasChangePerPeriod does over its scale events. Every kind of event counts: our
// decisions, manual scales, reverts and manual edits all moved the count.
func changesSince(history []Event, cutoff time.Time) (up, down int) {
	for i := range history {
		ev := &history[i]
		if !ev.At.After(cutoff) {
			continue
		}
		if d := ev.To - ev.From; d > 0 {
			up += d
		} else {
			down -= d
		}
	}
	return up, down
}

// rateLimit applies the HPA form's policies and then the original form's step percents to a
// change from current to desired.
func rateLimit(desired, current int, r *behavior, history []Event, now time.Time, e *explainer) int {
	switch {
	case desired > current:
		if r.hpa {
			desired = hpaScaleUpLimit(desired, current, &r.up, history, now, e)
		}
		if p := r.upStepPercent; p > 0 && desired > current {
			inc := max(ceilDiv(current*p, 100), 1)
			if desired > current+inc {
				desired = current + inc
				e.begin(ReasonScaleUpLimited).str("maxScaleUpStepPercent ").int(p).str(" allows ≤ ").int(desired).to(desired).end()
			}
		}
	case desired < current:
		if r.hpa {
			desired = hpaScaleDownLimit(desired, current, &r.down, history, now, e)
		}
		if p := r.downStepPercent; p > 0 && desired < current {
			dec := max(current*p/100, 1)
			if desired < current-dec {
				desired = current - dec
				e.begin(ReasonScaleDownLimited).str("maxScaleDownStepPercent ").int(p).str(" allows ≥ ").int(desired).to(desired).end()
			}
		}
	}
	return desired
}

// hpaScaleUpLimit is calculateScaleUpLimitWithScalingRules: per policy, the count at the
// period's start (current − additions + removals within the period) plus the policy's Pods or
// Percent (rounded up); selectPolicy Max takes the most permissive, Min the least, Disabled
// forbids scaling up. The limit is never below current, and from zero it is at least 1 (the
// HPA does not act at zero; KEDA's activation brings 0 to 1 outside the HPA's limits).
//
// Percent is computed in integers, exactly: the HPA's float expression gives, e.g., 29 for
// 25 + 12 % (25 × 1.12 = 28.000000000000004) where the exact ceil is 28.
func hpaScaleUpLimit(desired, current int, d *direction, history []Event, now time.Time, e *explainer) int {
	if d.selectPolicy == policy.SelectDisabled {
		e.begin(ReasonScalingDisabled).str("scaleUp selectPolicy Disabled").hold(current).end()
		return current
	}
	limit := math.MinInt
	if d.selectPolicy == policy.SelectMin {
		limit = math.MaxInt
	}
	var startsArr [8]int
	starts := startsArr[:0]
	for i := range d.policies {
		start := periodStartReusing(d.policies, starts, i, current, history, now)
		starts = append(starts, start)
		proposed := scaleUpProposal(&d.policies[i], start)
		if d.selectPolicy == policy.SelectMin {
			limit = min(limit, proposed)
		} else {
			limit = max(limit, proposed)
		}
	}
	limit = max(limit, current)
	if current == 0 {
		limit = max(limit, 1)
	}
	if desired <= limit {
		return desired
	}
	e.begin(ReasonScaleUpLimited).str("scale-up limited: ")
	for i := range d.policies {
		pol := &d.policies[i]
		if i > 0 {
			e.str(", ")
		}
		e.str(pol.Type).str(" ").int(pol.Value).str("/").int(pol.PeriodSeconds).str("s from ").int(starts[i]).
			str(" allows ").int(scaleUpProposal(pol, starts[i]))
	}
	e.str("; selectPolicy ").str(d.selectPolicy).to(limit).end()
	return limit
}

// hpaScaleDownLimit is calculateScaleDownLimitWithBehaviors: per policy, the count at the
// period's start minus the policy's Pods or Percent, the Percent result truncated as the HPA
// does (int32 of the product; computed exactly in integers here). selectPolicy Max takes the
// lowest count (largest change), Min the highest, Disabled forbids scaling down. The limit is
// never above current.
func hpaScaleDownLimit(desired, current int, d *direction, history []Event, now time.Time, e *explainer) int {
	if d.selectPolicy == policy.SelectDisabled {
		e.begin(ReasonScalingDisabled).str("scaleDown selectPolicy Disabled").hold(current).end()
		return current
	}
	limit := math.MaxInt
	if d.selectPolicy == policy.SelectMin {
		limit = math.MinInt
	}
	var startsArr [8]int
	starts := startsArr[:0]
	for i := range d.policies {
		start := periodStartReusing(d.policies, starts, i, current, history, now)
		starts = append(starts, start)
		proposed := scaleDownProposal(&d.policies[i], start)
		if d.selectPolicy == policy.SelectMin {
			limit = max(limit, proposed)
		} else {
			limit = min(limit, proposed)
		}
	}
	limit = min(limit, current)
	if desired >= limit {
		return desired
	}
	e.begin(ReasonScaleDownLimited).str("scale-down limited: ")
	for i := range d.policies {
		pol := &d.policies[i]
		if i > 0 {
			e.str(", ")
		}
		e.str(pol.Type).str(" ").int(pol.Value).str("/").int(pol.PeriodSeconds).str("s from ").int(starts[i]).
			str(" allows ").int(scaleDownProposal(pol, starts[i]))
	}
	e.str("; selectPolicy ").str(d.selectPolicy).to(limit).end()
	return limit
}

// periodStart is the count at the start of a policy's period, as getReplicasChangePerPeriod's
// callers compute it: current − (additions in the period) + (removals in the period).
func periodStart(pol *policy.HPAPolicy, current int, history []Event, now time.Time) int {
	up, down := changesSince(history, now.Add(-time.Duration(pol.PeriodSeconds)*time.Second))
	return current - up + down
}

// periodStartReusing is periodStart of policies[i], reusing an earlier policy's result for the
// same period (the HPA defaults share one) instead of scanning History again.
func periodStartReusing(policies []policy.HPAPolicy, starts []int, i, current int, history []Event, now time.Time) int {
	for j := range starts {
		if policies[j].PeriodSeconds == policies[i].PeriodSeconds {
			return starts[j]
		}
	}
	return periodStart(&policies[i], current, history, now)
}

// scaleUpProposal is the count a policy allows from the count at its period's start.
func scaleUpProposal(pol *policy.HPAPolicy, start int) int {
	if pol.Type == policy.PolicyPercent {
		return ceilDiv(start*(100+pol.Value), 100)
	}
	return start + pol.Value
}

// scaleDownProposal is the count a policy allows down to from the count at its period's start.
func scaleDownProposal(pol *policy.HPAPolicy, start int) int {
	if pol.Type == policy.PolicyPercent {
		return start * (100 - pol.Value) / 100 // truncation toward zero, as int32(float) in the HPA
	}
	return start - pol.Value
}

// cooldown holds a change while the last change in any direction is more recent than the
// direction's cooldown (scaleUpCooldownSeconds gates scale-ups, scaleDownCooldownSeconds
// scale-downs). At exactly the cooldown the change is allowed.
func cooldown(desired, current int, r *behavior, last *Event, now time.Time, e *explainer) int {
	seconds, name := r.upCooldown, "scaleUpCooldownSeconds"
	if desired < current {
		seconds, name = r.downCooldown, "scaleDownCooldownSeconds"
	}
	if desired == current || seconds <= 0 {
		return desired
	}
	if last == nil {
		return desired
	}
	ago := now.Sub(last.At)
	if ago >= time.Duration(seconds)*time.Second {
		return desired
	}
	e.begin(ReasonCooldownActive).str("cooldown: last change ").secs(ago).str(" ago < ").str(name).str(" ").int(seconds).hold(current).end()
	return current
}
