package engine

import (
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// bounds are the replica bounds at an instant: the policy's, changed by active schedules.
type bounds struct {
	min, max int
	// minFrom and maxFrom name the schedule window that set each bound; "" for the spec.
	minFrom, maxFrom string
}

// effectiveBounds computes the bounds at now. An active window raises the floor to its
// minReplicas and replaces the ceiling with its maxReplicas; with several active windows the
// highest floor and the highest ceiling win (a window never lowers another's capacity). When
// a floor ends up above the ceiling, the floor wins: schedules exist to guarantee capacity.
// A window that cannot be compiled (only possible on an unvalidated policy) is skipped with a
// reason line.
func effectiveBounds(p *policy.Policy, now time.Time, e *explainer) bounds {
	b := bounds{max: p.Spec.MaxReplicas}
	if p.Spec.MinReplicas != nil {
		b.min = *p.Spec.MinReplicas
	}
	scheduledMax := false
	for i := range p.Spec.Schedules {
		w := &p.Spec.Schedules[i]
		if w.MinReplicas == nil && w.MaxReplicas == nil {
			continue
		}
		active, err := w.Active(now)
		if err != nil {
			e.begin(ReasonScheduleInvalid).str("schedule ignored: ").str(err.Error()).end()
			continue
		}
		if !active {
			continue
		}
		if w.MinReplicas != nil && *w.MinReplicas > b.min {
			b.min, b.minFrom = *w.MinReplicas, w.Name
		}
		if w.MaxReplicas != nil && (!scheduledMax || *w.MaxReplicas > b.max) {
			b.max, b.maxFrom, scheduledMax = *w.MaxReplicas, w.Name, true
		}
	}
	if b.min > b.max {
		b.max, b.maxFrom = b.min, b.minFrom
	}
	return b
}

// bounds writes "[3, 30]" and names the schedules that set them.
func (e *explainer) bounds(b bounds) *explainer {
	e.str("[").int(b.min).str(", ").int(b.max).str("]")
	switch {
	case b.minFrom != "" && b.minFrom == b.maxFrom:
		e.str(" (schedule ").str(b.minFrom).str(")")
	case b.minFrom != "" && b.maxFrom != "":
		e.str(" (schedules ").str(b.minFrom).str(", ").str(b.maxFrom).str(")")
	case b.minFrom != "":
		e.str(" (schedule ").str(b.minFrom).str(")")
	case b.maxFrom != "":
		e.str(" (schedule ").str(b.maxFrom).str(")")
	}
	return e
}

// applyBounds clamps the count into the bounds, last of the rules so that no limit holds it
// outside them (as the HPA).
func applyBounds(desired int, b bounds, e *explainer) int {
	out, from := desired, ""
	switch {
	case desired < b.min:
		out, from = b.min, b.minFrom
	case desired > b.max:
		out, from = b.max, b.maxFrom
	default:
		return desired
	}
	code := ReasonBounded
	if from != "" {
		code = ReasonScheduleActive
	}
	e.begin(code).str("bounds ").bounds(b).to(out).end()
	return out
}
