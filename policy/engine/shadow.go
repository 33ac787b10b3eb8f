package engine

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// ShadowWindow is how far back a shadow comparison looks: a day, the period people count
// changes in (and Steady's budget).
const ShadowWindow = 24 * time.Hour

// ShadowSeries is what a shadow comparison is computed from, gathered by the caller over one
// window: the live autoscaler's desired replicas (spec.shadow.promQL) and the policy's metric
// values, both at Start + i·Step. Both come from Prometheus, so a restarted service, or a
// one-shot evaluate, computes the same comparison.
type ShadowSeries struct {
	Start time.Time
	Step  time.Duration
	// Live holds the shadow query's value at each step; a value that could not be had is
	// Missing with a Cause.
	Live []MetricValue
	// Metrics holds, per step, one value per spec.metrics entry in order. Nil when they could
	// not be had: MetricsCause says why, and there is no replay of our own.
	Metrics      [][]MetricValue
	MetricsCause string
}

// ShadowComparison sets a shadow policy against the live autoscaler it runs beside, over a
// window ending now. The live side is what the live autoscaler wanted at each step. Our side is
// a replay of the policy over the same steps (Backtest, through Decide) from the live count at
// the first step it is known, each change taken as made: the count the workload would run now,
// and the changes — commits — it would have taken to get there, had the policy been in charge.
// Counting the DryRun evaluations that wanted a change would count one wanted change again at
// every evaluation, since in DryRun nothing ever moves the count.
type ShadowComparison struct {
	// Start is the first step the live count is known at (where the replay starts); End is now.
	Start time.Time     `json:"start"`
	End   time.Time     `json:"end"`
	Step  time.Duration `json:"-"`
	// Live is the live autoscaler's desired count at End; nil when missing (LiveCause says why).
	Live      *int   `json:"live"`
	LiveCause string `json:"liveCause,omitempty"`
	// Ours is the count the replay reached at End; nil when there is no replay (OursCause).
	Ours      *int   `json:"ours"`
	OursCause string `json:"oursCause,omitempty"`
	// LiveChanges counts the changes of the live count over the window, as sampled at Step;
	// OurChanges the replay's decisions. They count over the same steps.
	LiveChanges int `json:"liveChanges"`
	OurChanges  int `json:"ourChanges"`
	// LiveReplicaHours and OurReplicaHours are the capacity each side paid for, Σ replicas × Step;
	// LiveShortSeconds and OurShortSeconds the time each was below the metrics' Need.
	LiveReplicaHours float64 `json:"liveReplicaHours"`
	OurReplicaHours  float64 `json:"ourReplicaHours"`
	LiveShortSeconds float64 `json:"liveShortSeconds"`
	OurShortSeconds  float64 `json:"ourShortSeconds"`
	// LivePoints and OurPoints are both counts as step lines: the first step, then each change.
	LivePoints []ReplicaPoint `json:"livePoints,omitempty"`
	OurPoints  []ReplicaPoint `json:"ourPoints,omitempty"`
	// LiveBest and OurBest are the offline optimum at each side's replica-hours over the window
	// (docs/design.md §11; set by package policy/optimum, OfShadow, not by CompareShadow): nil
	// when it was not computed — no metric values over the window, or no replay of ours.
	LiveBest *ShadowBest `json:"liveBest,omitempty"`
	OurBest  *ShadowBest `json:"ourBest,omitempty"`
}

// ShadowBest is the offline optimum at one side's replica-hours over a shadow comparison's
// window: the fewest changes of a count that is never below the need (within the bounds) and
// costs no more replica-hours than that side did.
type ShadowBest struct {
	// Fits is false when no never-short count costs as little as the side did (it was short
	// to spend so little); Changes is then 0.
	Fits    bool `json:"fits"`
	Changes int  `json:"changes"`
	// Exact is false when the exact search passed its limit: Changes is then the hull's
	// vertex, an upper bound.
	Exact bool `json:"exact"`
}

// ReplicaPoint is a replica count from an instant on.
type ReplicaPoint struct {
	At       time.Time `json:"at"`
	Replicas int       `json:"replicas"`
}

// ReplicaCount turns a value that reports a replica count (a live autoscaler's desired
// replicas, a workload's spec.replicas) into one: missing stays missing, a fractional value —
// an average over time, say — rounds to the nearest count, and a value beyond any count is
// missing. The value has been through the one-number rules of docs/design.md §5 already.
func ReplicaCount(v MetricValue) (int, string, bool) {
	switch {
	case v.Missing:
		return 0, v.Cause, false
	case math.IsNaN(v.Value) || math.IsInf(v.Value, 0):
		return 0, fmt.Sprintf("value %g is not a replica count", v.Value), false
	case v.Value > math.MaxInt32:
		return 0, fmt.Sprintf("value %g is not a replica count", v.Value), false
	case v.Value < 0:
		return 0, "", true
	}
	return int(math.Round(v.Value)), "", true
}

// CompareShadow compares the policy with the live autoscaler over the series (see
// ShadowComparison). Between known live values the live count is taken to hold, as a count
// does; a change across a gap counts once. p must have gone through SetDefaults. CompareShadow
// is pure.
func CompareShadow(p *policy.Policy, s ShadowSeries) ShadowComparison {
	c := ShadowComparison{Step: s.Step}
	n := len(s.Live)
	if n == 0 || s.Step <= 0 {
		c.LiveCause, c.OursCause = "no live values", "no live count to start from"
		return c
	}
	c.End = s.Start.Add(time.Duration(n-1) * s.Step)
	c.Start = c.End

	// The live count at each step, held across gaps; first is the first step it is known at.
	live := make([]int, n)
	first, last, have := -1, 0, false
	for i, v := range s.Live {
		count, cause, ok := ReplicaCount(v)
		if i == n-1 {
			if ok {
				c.Live = &count
			} else {
				c.LiveCause = cause
			}
		}
		if !ok {
			live[i] = last
			continue
		}
		if first < 0 {
			first = i
		} else if count != last {
			c.LiveChanges++
			c.LivePoints = append(c.LivePoints, ReplicaPoint{At: s.Start.Add(time.Duration(i) * s.Step), Replicas: count})
		}
		last, have, live[i] = count, true, count
	}
	if !have {
		c.OursCause = "no live count to start from"
		return c
	}
	c.Start = s.Start.Add(time.Duration(first) * s.Step)
	c.LivePoints = append([]ReplicaPoint{{At: c.Start, Replicas: live[first]}}, c.LivePoints...)

	metricsAt := func(i int) []MetricValue {
		if i < len(s.Metrics) {
			return s.Metrics[i]
		}
		return nil
	}
	// The live side, measured as a replay is: replica-hours and time below the need.
	liveRun := BacktestResult{Policy: p.ID(), Step: s.Step, Initial: live[first]}
	for i := first; i < n; i++ {
		liveRun.Steps = append(liveRun.Steps, BacktestStep{Time: s.Start.Add(time.Duration(i) * s.Step), Replicas: live[i], Metrics: metricsAt(i)})
	}
	la := Assess(p, &liveRun)
	c.LiveReplicaHours, c.LiveShortSeconds = la.ReplicaHours, la.ShortSeconds

	if s.Metrics == nil || len(s.Metrics) < n {
		c.OursCause = s.MetricsCause
		if c.OursCause == "" {
			c.OursCause = "no metric values over the window"
		}
		return c
	}
	initial := live[first]
	ours := Backtest(p, func(at time.Time) []MetricValue {
		return s.Metrics[int(at.Sub(s.Start)/s.Step)]
	}, BacktestOptions{Start: c.Start, End: c.End, Step: s.Step, Initial: &initial})
	oa := Assess(p, &ours)
	c.OurChanges, c.OurReplicaHours, c.OurShortSeconds = oa.Changes, oa.ReplicaHours, oa.ShortSeconds
	end := initial
	c.OurPoints = []ReplicaPoint{{At: c.Start, Replicas: initial}}
	for _, d := range ours.Decisions {
		c.OurPoints = append(c.OurPoints, ReplicaPoint{At: d.Time, Replicas: d.To})
		end = d.To
	}
	c.Ours = &end
	return c
}

// Span is the time the comparison covers: its steps from Start to End, each Step long. It is
// shorter than the window asked for while the live count has not been known that long.
func (c *ShadowComparison) Span() time.Duration {
	if c.Step <= 0 || c.End.IsZero() {
		return 0
	}
	return c.End.Sub(c.Start) + c.Step
}

// Summary is the comparison in one line, for logs and the text output of evaluate, e.g.
// "shadow: live 8, ours 6; changes in 24h: live 17, ours 3; replica-hours: live 190.5, ours 150.2".
func (c *ShadowComparison) Summary() string {
	count := func(v *int, cause string) string {
		switch {
		case v != nil:
			return strconv.Itoa(*v)
		case cause != "":
			return "unknown (" + cause + ")"
		}
		return "unknown"
	}
	s := fmt.Sprintf("shadow: live %s, ours %s", count(c.Live, c.LiveCause), count(c.Ours, c.OursCause))
	if c.Span() == 0 {
		return s
	}
	s += fmt.Sprintf("; changes in %s: live %d", shortWindow(c.Span()), c.LiveChanges)
	if c.Ours != nil {
		s += fmt.Sprintf(", ours %d", c.OurChanges)
	}
	s += fmt.Sprintf("; replica-hours: live %.1f", c.LiveReplicaHours)
	if c.Ours != nil {
		s += fmt.Sprintf(", ours %.1f", c.OurReplicaHours)
	}
	return s
}

// shortWindow writes a window in whole hours when it is one ("24h"), else as Go does.
func shortWindow(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return d.String()
}
