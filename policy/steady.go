package policy

import (
	"math"
	"time"
)

// Steady's defaults, chosen on the week-long traces of docs/benchmarks.md.
const (
	DefaultSteadyHeadroomPercent       = 0
	DefaultSteadyMaxChangesPerDay      = 24
	DefaultSteadyScaleDownDelaySeconds = 7200
)

// The fixed parts of Steady's rules (see steady below and docs/steady.md).
const (
	// steadyTrendWindow is how far back the need's trend is fitted (least squares, as
	// Prometheus' predict_linear does), and steadyHorizon how far ahead a scale-up projects it:
	// one step up covers a morning ramp for the next hour.
	steadyTrendWindow = time.Hour
	steadyHorizon     = time.Hour
	// steadyCarry: a need that jumped is confirmed by the next evaluation, and the step up then
	// plans for the last evaluation's rise going on for half as long again, so that a spike
	// climbing over two evaluations costs one commit up.
	steadyCarry = 0.5
	// A scale-down by a fraction d of the count waits steadyWaitUnit / d³, at least
	// steadyMinWait: a spike that ended (d ≈ 0.85) comes down after 3 minutes, half the count
	// after 8, a third after 27, a quarter after 64; a drop whose wait is longer than the
	// look-back (scaleDownDelaySeconds) needs the whole look-back, and waits while demand grows.
	steadyWaitUnit = time.Minute
	steadyMinWait  = 3 * time.Minute
	// steadyFallWindow and steadyFallRate: while the need's trend over the last 5 minutes falls
	// by more than 10 % a minute (a spike's decay), a scale-down waits, so it lands once, where
	// the fall ends.
	steadyFallWindow = 5 * time.Minute
	steadyFallRate   = 0.10
	// steadyDay is the rolling window maxChangesPerDay counts over, and how far back "a day
	// ago" is for the growth check of a slow drift down.
	steadyDay = 24 * time.Hour
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

// steady is the Steady strategy's step between the need — the recommendation without
// tolerance — and the bounds. c is inside the bounds b; s.Recommendations are the needs of the
// evaluations before now (oldest first), over the look-back. docs/steady.md explains each rule.
//
//  1. Up, when the need is above c.
//     a. Confirm: when the evaluation before was covered (its need at most c) and the need
//     jumped above c since, c stays for this one evaluation: a one-evaluation blip costs no
//     commit, and a spike is measured once more before the step, so the commit lands where
//     the climb ends rather than on its way.
//     b. Otherwise, at once, to the largest of the need; the need plus its trend over the last
//     hour projected 45 minutes ahead, while it rises; and, after a confirmed jump, the need plus
//     half the last evaluation's rise — all × (1 + headroom), rounded up. Nothing holds it
//     back: not the delay, not the budget (its line says it was spent).
//  2. Down, when the need is at most c. While the need's trend over the last 5 minutes falls
//     by more than 10 % of the need a minute, c stays: the step lands where the fall ends.
//     Otherwise, looking back from now over (now − T, now], not before
//     the last change nor scaleDownDelaySeconds ago, with P(T) the peak need of that time and
//     L(T) = ceil(P(T) × (1 + headroom)), not below the lower bound and — after a climb of
//     scale-ups within the look-back — not below the count it started from; T reaches no further back
//     than the needs observed. The count drops to L(T) in
//     one step for the first T that covers L(T)'s wait: max(3 min, 60 s / d³) for a drop by a
//     fraction d. A wait longer than the look-back needs the whole look-back, and only while
//     demand is not growing (the need's trend over the look-back does not rise, and L(T) is
//     not above the count of a day ago). The budget holds a scale-down while maxChangesPerDay
//     changes were made in the last 24 h.
//  3. Otherwise c stays, and the line says what the scale-down waits for.
func steady(cfg *steadyConfig, need, c int, b bounds, s *Snapshot, h *history, e *explainer) int {
	if need > c {
		return steadyUp(cfg, need, c, s, e)
	}
	return steadyDown(cfg, need, c, b, s, h, e)
}

func steadyUp(cfg *steadyConfig, need, c int, s *Snapshot, e *explainer) int {
	recs := s.Recommendations
	var prev *Recommendation
	if len(recs) > 0 {
		prev = &recs[len(recs)-1]
	}
	if prev != nil && prev.Replicas <= c {
		e.begin(ReasonSteadyConfirm).str("need ").int(need).str(" > ").int(c).str(", up from ").int(prev.Replicas).
			str(" ").secs(s.Now.Sub(prev.At)).str(" before: the next evaluation confirms it before a commit").hold(c).end()
		return c
	}
	e.begin(ReasonSteadyScaleUp).str("need ").int(need).str(" > ").int(c)
	plan := float64(need)
	if slope := needTrend(recs, s.Now, steadyTrendWindow, need); slope > 0 {
		if ahead := float64(need) + slope*steadyHorizon.Seconds(); ahead > plan {
			plan = ahead
			e.str(", rising ").num(roundTo(slope*3600, 1)).str("/h over the last ").secs(steadyTrendWindow).
				str(": ").num(roundTo(ahead, 2)).str(" in ").secs(steadyHorizon)
		}
	}
	if prev != nil && need > prev.Replicas {
		if carried := float64(need) + steadyCarry*float64(need-prev.Replicas); carried > plan {
			plan = carried
			e.str(", jumped ").int(prev.Replicas).str(" → ").int(need).str(" in ").secs(s.Now.Sub(prev.At)).
				str(": plan for ").num(roundTo(carried, 2))
		}
	}
	if cfg.headroom > 0 {
		plan *= 1 + float64(cfg.headroom)/100
		e.str("; headroom ").int(cfg.headroom).str(" % → ").num(roundTo(plan, 2))
	}
	up := max(ceilInt(plan), need)
	e.to(up).end()
	if cfg.maxChanges > 0 {
		if used := changesWithin(s.History, s.Now, steadyDay); used >= cfg.maxChanges {
			e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
				str(" changes used in the last 24 h; a scale-up the need requires goes ahead").end()
		}
	}
	return up
}

// steadyDrop is one candidate scale-down: to level, justified by the need staying at or
// below it for the last T, against the wait its depth asks for.
type steadyDrop struct {
	level int
	T     time.Duration
	wait  time.Duration
	// whole: the wait is the whole look-back; growing: and demand grows, so it never comes.
	whole, growing bool
	// from is the first scale-up of the climb whose starting count is the level, when that is
	// what sets it.
	from *Event
}

func steadyDown(cfg *steadyConfig, need, c int, b bounds, s *Snapshot, h *history, e *explainer) int {
	recs := s.Recommendations
	if slope := needTrend(recs, s.Now, steadyFallWindow, need) * 60; slope < -steadyFallRate*float64(max(need, 1)) && need < c {
		e.begin(ReasonSteadyWaits).str("steady at ").int(c).str(": need ").int(need).str(" still falling ").
			num(roundTo(-slope, 1)).str(" a minute over the last ").secs(steadyFallWindow).str("; the scale-down lands where it ends").hold(c).end()
		return c
	}
	start := s.Now.Add(-cfg.delay)
	if h.last != nil && h.last.At.After(start) {
		start = h.last.At
	}
	// After a climb — the scale-ups that brought the count to c, within the look-back — a
	// scale-down returns at most to where the climb started: that count was justified by the
	// look-back before the rise, where a noisy moment after it is not.
	floor := max(b.min, need)
	var rise *Event
	if ev := h.last; ev != nil && ev.To == c {
		for i := len(s.History) - 1; i >= 0; i-- {
			ev := &s.History[i]
			if ev.To <= ev.From || s.Now.Sub(ev.At) > cfg.delay {
				break
			}
			rise = ev
		}
	}
	if rise != nil {
		floor = max(floor, rise.From)
	}
	level := func(peak int) int {
		return max(ceilInt(float64(peak)*(1+float64(cfg.headroom)/100)), floor)
	}
	dayAgo := CountAt(s.History, s.Now.Add(-steadyDay), c)
	rising, risingKnown := false, false
	candidate := func(l int, T time.Duration) steadyDrop {
		d := 1 - float64(l)/float64(c)
		wait := time.Duration(float64(steadyWaitUnit) / (d * d * d)).Round(time.Second)
		cd := steadyDrop{level: l, T: T, wait: max(steadyMinWait, wait)}
		if cd.wait > cfg.delay {
			if !risingKnown {
				slope := needTrend(recs, s.Now, cfg.delay, need)
				rising, risingKnown = slope > 0, true
			}
			cd.wait, cd.whole, cd.growing = cfg.delay, true, rising || l > dayAgo
		}
		return cd
	}

	p := need
	var best steadyDrop
	for i := len(recs) - 1; i >= -1; i-- {
		// Over (at, now] the peak need is p; at is the next older recommendation's instant, or
		// the window's start — but never further back than the oldest need observed covers (one
		// evaluation interval before it): without a window of needs nothing justifies a drop.
		at := start
		switch {
		case i >= 0 && recs[i].At.After(start):
			at = recs[i].At
		case i < 0 && len(recs) == 0:
			at = s.Now
		case i < 0:
			gap := s.Now.Sub(recs[0].At)
			if len(recs) > 1 {
				gap = recs[1].At.Sub(recs[0].At)
			}
			if a := recs[0].At.Add(-gap); a.After(at) {
				at = a
			}
		}
		if l := level(p); l < c {
			cd := candidate(l, s.Now.Sub(at))
			if cd.T >= cd.wait && !cd.growing {
				if rise != nil && cd.level == rise.From && cd.level > ceilInt(float64(p)*(1+float64(cfg.headroom)/100)) {
					cd.from = rise
				}
				return steadyScaleDown(cfg, &cd, c, p, s, e)
			}
			best = cd
		}
		if i < 0 || !recs[i].At.After(start) {
			break
		}
		p = max(p, recs[i].Replicas)
	}
	e.begin(ReasonSteadyWaits).str("steady at ").int(c).str(": need ").int(need)
	switch {
	case best.level == 0:
		e.str(" fits no lower count")
	case best.growing:
		e.str("; a scale-down to ").int(best.level).str(" (").int(int(math.Round(100 * (1 - float64(best.level)/float64(c))))).
			str(" % fewer) waits while demand grows: ")
		if best.level > dayAgo {
			e.str("the count a day ago was ").int(dayAgo)
		} else {
			e.str("the need's trend over the last ").secs(cfg.delay).str(" rises")
		}
	default:
		e.str("; a scale-down to ").int(best.level).str(" (").int(int(math.Round(100 * (1 - float64(best.level)/float64(c))))).
			str(" % fewer) waits: demand has been lower for ").secs(best.T).str(" of the ").secs(best.wait).str(" it needs")
	}
	e.hold(c).end()
	return c
}

// steadyScaleDown is a justified scale-down, unless the budget is spent.
func steadyScaleDown(cfg *steadyConfig, cd *steadyDrop, c, peak int, s *Snapshot, e *explainer) int {
	if cfg.maxChanges > 0 {
		if used := changesWithin(s.History, s.Now, steadyDay); used >= cfg.maxChanges {
			e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
				str(" changes used in the last 24 h: the scale-down to ").int(cd.level).str(" waits").hold(c).end()
			return c
		}
	}
	e.begin(ReasonSteadyScaleDown).str("scale-down: need at most ").int(peak).str(" for the last ").secs(cd.T)
	if cd.whole {
		e.str(", the whole look-back")
	} else {
		e.str(" (a drop of ").int(int(math.Round(100 * (1 - float64(cd.level)/float64(c))))).str(" % waits ").secs(cd.wait).str(")")
	}
	if cd.from != nil {
		e.str("; not below ").int(cd.level).str(", where the climb ").secs(s.Now.Sub(cd.from.At)).str(" ago started")
	}
	e.to(cd.level).end()
	return cd.level
}

// needTrend fits a least-squares line to the needs over the window before now, now's need
// included, and returns its slope in replicas per second. Fewer than three points have no
// trend.
func needTrend(recs []Recommendation, now time.Time, window time.Duration, need int) float64 {
	cut := now.Add(-window)
	n, sx, sy, sxx, sxy := 1.0, 0.0, float64(need), 0.0, 0.0
	for i := len(recs) - 1; i >= 0 && recs[i].At.After(cut); i-- {
		x, y := -now.Sub(recs[i].At).Seconds(), float64(recs[i].Replicas)
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if n < 3 || !(den > 0) {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// CountAt is the count Git held at t, from the history (oldest first) and the current count:
// the newest event at or before t set it; before the oldest event it was that event's From;
// without events it is the current count.
func CountAt(history []Event, t time.Time, current int) int {
	for i := len(history) - 1; i >= 0; i-- {
		if !history[i].At.After(t) {
			return history[i].To
		}
	}
	if len(history) > 0 {
		return history[0].From
	}
	return current
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
