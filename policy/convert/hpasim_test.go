package convert

import (
	"math"
	"time"
)

// hpaSim is a reference for what the systems being imported do, written for these tests
// from the Kubernetes HPA controller's algorithm (pkg/controller/podautoscaler: the replica
// calculator, reconcileAutoscaler, normalizeDesiredReplicas and
// normalizeDesiredReplicasWithBehaviors) and from how KEDA feeds it (one External metric per
// trigger, values in milli-units). It shares no code with the policy engine: it keeps the
// controller's own state (recommendations and scale events in memory) and integer milli
// arithmetic, so a round trip compares the imported policy against the original system, not
// the engine against itself. All pods are taken as ready.
type hpaSim struct {
	min, max  int32
	tolerance float64
	metrics   []simMetric
	behavior  *simBehavior // nil: the controller's built-in limits (no spec.behavior)

	recs   []simRec
	events []simEvent
}

type simMetric struct {
	averageValue bool    // AverageValue target (per pod), else Value
	target       float64 // in units; compared in milli-units as the controller does
}

type simRules struct {
	window   int32
	selectFn string // Max | Min | Disabled
	policies []simPolicy
}

type simPolicy struct {
	pods   bool
	value  int32
	period int32
}

type simBehavior struct{ up, down simRules }

type simRec struct {
	at  time.Time
	rec int32
}

type simEvent struct {
	at     time.Time
	change int32
}

// downscaleWindow is --horizontal-pod-autoscaler-downscale-stabilization.
const downscaleWindow = 300 * time.Second

// step is one HPA sync: the metric values (NaN for a metric that could not be read) and the
// current count in, the new count out.
func (h *hpaSim) step(now time.Time, current int32, values []float64) int32 {
	if current == 0 && h.min != 0 {
		return 0 // autoscaling disabled by scaling to 0
	}
	var desired int32
	switch {
	case current > h.max:
		desired = h.max
	case current < h.min:
		desired = h.min
	default:
		var proposal int32
		invalid := 0
		for i, m := range h.metrics {
			v := values[i]
			if math.IsNaN(v) {
				invalid++
				continue
			}
			p := m.replicas(current, v, h.tolerance)
			if proposal == 0 || p > proposal {
				proposal = p
			}
		}
		if invalid == len(h.metrics) {
			return current
		}
		if invalid > 0 && proposal < current {
			return current // never scale down on partial metrics
		}
		desired = proposal
		if h.behavior == nil {
			desired = h.normalize(now, current, desired)
		} else {
			desired = h.normalizeWithBehavior(now, current, desired)
		}
	}
	if desired != current {
		h.events = append(h.events, simEvent{at: now, change: desired - current})
	}
	return desired
}

func milli(v float64) int64 { return int64(v * 1000) }

// replicas is the replica calculator for one External (or Object) metric.
func (m simMetric) replicas(current int32, v, tol float64) int32 {
	usage, target := milli(v), milli(m.target)
	within := func(ratio float64) bool { return 1-tol <= ratio && ratio <= 1+tol }
	if m.averageValue {
		ratio := float64(usage) / (float64(target) * float64(current))
		if current > 0 && within(ratio) {
			return current
		}
		return int32(math.Ceil(float64(usage) / float64(target)))
	}
	ratio := float64(usage) / float64(target)
	if current == 0 {
		return int32(math.Ceil(ratio))
	}
	if within(ratio) {
		return current
	}
	return int32(math.Ceil(ratio * float64(current)))
}

// normalize is the controller's path without spec.behavior: the highest recommendation of
// the downscale window, then at most max(2 × current, 4), within the bounds.
func (h *hpaSim) normalize(now time.Time, current, prenormalized int32) int32 {
	stabilized := prenormalized
	cutoff := now.Add(-downscaleWindow)
	kept := h.recs[:0]
	for _, r := range h.recs {
		if r.at.Before(cutoff) {
			continue
		}
		kept = append(kept, r)
		if r.rec > stabilized {
			stabilized = r.rec
		}
	}
	h.recs = append(kept, simRec{at: now, rec: prenormalized})
	upLimit := max(2*current, 4)
	maxAllowed := min(h.max, upLimit)
	switch {
	case stabilized < h.min:
		return h.min
	case stabilized > maxAllowed:
		return maxAllowed
	}
	return stabilized
}

// normalizeWithBehavior is stabilizeRecommendationWithBehaviors, then
// convertDesiredReplicasWithBehaviorRate.
func (h *hpaSim) normalizeWithBehavior(now time.Time, current, prenormalized int32) int32 {
	b := h.behavior
	up, down := prenormalized, prenormalized
	upCut := now.Add(-time.Duration(b.up.window) * time.Second)
	downCut := now.Add(-time.Duration(b.down.window) * time.Second)
	for _, r := range h.recs {
		if r.at.After(upCut) {
			up = min(up, r.rec)
		}
		if r.at.After(downCut) {
			down = max(down, r.rec)
		}
	}
	h.recs = append(h.recs, simRec{at: now, rec: prenormalized})
	desired := current
	if desired < up {
		desired = up
	}
	if desired > down {
		desired = down
	}
	switch {
	case desired > current:
		limit := h.limit(now, current, b.up, true)
		if limit < current {
			limit = current
		}
		if m := min(h.max, limit); desired > m {
			return m
		}
	case desired < current:
		limit := h.limit(now, current, b.down, false)
		if limit > current {
			limit = current
		}
		if m := max(h.min, limit); desired < m {
			return m
		}
	}
	return desired
}

// limit is calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors.
func (h *hpaSim) limit(now time.Time, current int32, r simRules, up bool) int32 {
	if r.selectFn == "Disabled" {
		return current
	}
	var result int32
	pick := func(a, b int32) int32 { return max(a, b) }
	switch {
	case up && r.selectFn != "Min", !up && r.selectFn == "Min":
		result = math.MinInt32
	default:
		result = math.MaxInt32
		pick = func(a, b int32) int32 { return min(a, b) }
	}
	for _, p := range r.policies {
		var added, deleted int32
		for _, e := range h.events {
			if e.at.Add(time.Duration(p.period) * time.Second).After(now) {
				if e.change > 0 {
					added += e.change
				} else {
					deleted -= e.change
				}
			}
		}
		start := current - added + deleted
		var proposed int32
		switch {
		case p.pods && up:
			proposed = start + p.value
		case p.pods:
			proposed = start - p.value
		case up:
			proposed = int32(math.Ceil(float64(start) * (1 + float64(p.value)/100)))
		default:
			proposed = int32(float64(start) * (1 - float64(p.value)/100))
		}
		result = pick(result, proposed)
	}
	return result
}
