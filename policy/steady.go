package policy

import (
	"math"
	"time"
)

// Steady's defaults, chosen on the week-long traces of docs/benchmarks.md.
const (
	DefaultSteadyHeadroomPercent       = 15
	DefaultSteadyMaxChangesPerDay      = 24
	DefaultSteadyScaleDownDelaySeconds = 3600
)

// The fixed parts of Steady's rules (see steady below and docs/steady.md).
const (
	// steadyLadderRatio is the ratio between neighbouring rungs of the replica ladder: 1, 2, …,
	// 10, 11, 13, 15, 17, 19, 21, 24, 27, 30, 33, 37, … (each rung the ceiling of the one below
	// × the ratio, and at least one more).
	steadyLadderRatio = 1.1
	// steadyWaste is what a scale-down must have wasted before it is worth a commit: a drop by a
	// fraction d of the count waits steadyWaste / d (a half-empty count 30 minutes, one a quarter
	// too large an hour), never longer than the scale-down delay allows.
	steadyWaste = 15 * time.Minute
	// steadyMomentumWindow and steadyMomentumPercent: a scale-up also plans for this share of
	// the rise of the need over the window, so a spike that takes two evaluations to climb costs
	// one commit, not two.
	steadyMomentumWindow  = 2 * time.Minute
	steadyMomentumPercent = 30
	// steadyBudgetWindow is the rolling window maxChangesPerDay counts over.
	steadyBudgetWindow = 24 * time.Hour
)

// steadyConfig is a Steady strategy's knobs after defaults.
type steadyConfig struct {
	headroom   int // percent
	maxChanges int // per 24 h; 0: no budget
	delay      time.Duration
}

// steadyOf returns the Steady configuration of a policy; ok is false for the Rules strategy.
func steadyOf(spec *Spec) (c steadyConfig, ok bool) {
	st := spec.Strategy
	if st == nil || st.Type != StrategySteady {
		return c, false
	}
	c = steadyConfig{
		headroom:   DefaultSteadyHeadroomPercent,
		maxChanges: DefaultSteadyMaxChangesPerDay,
		delay:      DefaultSteadyScaleDownDelaySeconds * time.Second,
	}
	if st.HeadroomPercent != nil {
		c.headroom = max(*st.HeadroomPercent, 0)
	}
	if st.MaxChangesPerDay != nil {
		c.maxChanges = max(*st.MaxChangesPerDay, 0)
	}
	if st.ScaleDownDelaySeconds != nil {
		c.delay = time.Duration(max(*st.ScaleDownDelaySeconds, 0)) * time.Second
	}
	return c, true
}

// IsSteady reports whether the policy uses the Steady strategy.
func (p *Policy) IsSteady() bool {
	_, ok := steadyOf(&p.Spec)
	return ok
}

// rungUp is the lowest rung of the ladder at or above x (0 for x ≤ 0), saturating at
// MaxReplicaCount.
func rungUp(x float64) int {
	if !(x > 0) {
		return 0
	}
	if !(x < MaxReplicaCount) {
		return MaxReplicaCount
	}
	r := 1
	for float64(r) < x-floatEpsilon*x {
		r = max(r+1, int(math.Ceil(float64(r)*steadyLadderRatio-floatEpsilon)))
	}
	return min(r, MaxReplicaCount)
}

// steady is the Steady strategy's step between the recommendation — the need: the replicas
// the metrics ask for, without tolerance — and the bounds. c is inside the bounds b.
//
//  1. Up, when the need is above c: to rung((need + 30 % of its rise over the last 2 minutes)
//     × (1 + headroom)), at once. Nothing holds it back — not the delay, not the budget (the
//     budget's line says it was spent, and the scale-up goes ahead): the count is never left
//     short.
//  2. Down, when the need has stayed at or below a rung L under c for a while: looking back
//     from now over the window (at most scaleDownDelaySeconds, and not before the last change),
//     with P(T) the peak need of the last T and L(T) = max(rung(P(T)), lower bound), the count
//     drops to L(T) in one step for the first T with T × (1 − L(T)/c) ≥ 15 minutes: a deep drop
//     goes soon, a shallow one waits, one the window cannot justify never happens. A scale-down
//     never lands below the need of the last T (L ≥ P(T) ≥ need). The budget holds a
//     scale-down while maxChangesPerDay changes were made in the last 24 h.
//  3. Otherwise c stays, and the line says what the scale-down waits for.
func steady(cfg *steadyConfig, need, c int, b bounds, s *Snapshot, h *history, e *explainer) int {
	used := changesWithin(s.History, s.Now, steadyBudgetWindow)
	recs := s.Recommendations
	if need > c {
		low := need
		mcut := s.Now.Add(-steadyMomentumWindow)
		for i := range recs {
			if r := &recs[i]; r.At.After(mcut) {
				low = min(low, r.Replicas)
			}
		}
		plan := need + max(need-low, 0)*steadyMomentumPercent/100
		x := float64(plan) * (1 + float64(cfg.headroom)/100)
		up := rungUp(x)
		e.begin(ReasonSteadyScaleUp).str("need ").int(need).str(" > ").int(c)
		if plan > need {
			e.str(", rising by ").int(need - low).str(" in ").secs(steadyMomentumWindow).str(": plan for ").int(plan)
		}
		e.str("; headroom ").int(cfg.headroom).str(" % → ").num(roundTo(x, 2)).to(up).str(" (rung)").end()
		if cfg.maxChanges > 0 && used >= cfg.maxChanges {
			e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
				str(" changes used in the last 24 h; a scale-up the need requires goes ahead").end()
		}
		return up
	}

	// The window looks back to the last change (the count has been c since) or the delay.
	start := s.Now.Add(-cfg.delay)
	if h.last != nil && h.last.At.After(start) {
		start = h.last.At
	}
	// candidate evaluates a drop justified by the need staying ≤ p over the last T.
	type drop struct {
		level int
		d     float64
		wait  time.Duration
	}
	candidate := func(p int) drop {
		l := max(rungUp(float64(p)), b.min)
		if l >= c {
			return drop{level: c}
		}
		d := 1 - float64(l)/float64(c)
		return drop{level: l, d: d, wait: time.Duration(float64(steadyWaste) / d)}
	}
	p, best, bestT := need, drop{level: c}, time.Duration(0)
	for i := len(recs) - 1; i >= -1; i-- {
		// Over (at, now] the peak need is p; at is the next older recommendation's instant, or
		// the window's start.
		at := start
		if i >= 0 && recs[i].At.After(start) {
			at = recs[i].At
		}
		T := s.Now.Sub(at)
		if cd := candidate(p); cd.level < c {
			if T >= cd.wait {
				return steadyDown(cfg, cd.level, c, p, T, used, e)
			}
			best, bestT = cd, T
		}
		if i < 0 || !recs[i].At.After(start) {
			break
		}
		p = max(p, recs[i].Replicas)
	}
	e.begin(ReasonSteadyWaits).str("steady at ").int(c).str(": need ").int(need)
	if best.level < c {
		e.str("; a scale-down to ").int(best.level).str(" (").int(int(math.Round(100 * best.d))).
			str(" % fewer) waits: demand has been lower for ").secs(bestT).str(" of the ").secs(best.wait).str(" it needs")
	} else {
		e.str(" fits no lower rung")
	}
	e.hold(c).end()
	return c
}

// steadyDown is a justified scale-down, unless the budget is spent.
func steadyDown(cfg *steadyConfig, level, c, peak int, T time.Duration, used int, e *explainer) int {
	if cfg.maxChanges > 0 && used >= cfg.maxChanges {
		e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
			str(" changes used in the last 24 h: the scale-down to ").int(level).str(" waits").hold(c).end()
		return c
	}
	e.begin(ReasonSteadyScaleDown).str("scale-down: need at most ").int(peak).str(" for the last ").secs(T).
		to(level).str(" (rung)").end()
	return level
}

// changesWithin counts the History events strictly newer than now − window.
func changesWithin(history []Event, now time.Time, window time.Duration) int {
	cut := now.Add(-window)
	n := 0
	for i := range history {
		if history[i].At.After(cut) {
			n++
		}
	}
	return n
}

// roundTo rounds x to n decimals, for reason lines.
func roundTo(x float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(x*p) / p
}
