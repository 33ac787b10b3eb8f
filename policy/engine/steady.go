package engine

import (
	"math"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Season offsets: Steady remembers the same hours a day and a week before now.
const (
	SeasonDay  = 24 * time.Hour
	SeasonWeek = 7 * SeasonDay
)

// The fixed parts of Steady's model (see steady below and docs/steady.md), chosen on the
// tuning traces of docs/benchmarks.md.
const (
	// steadyBlocks: the horizon is planned in this many equal blocks (5 minutes of 2 hours),
	// none shorter than an evaluation; the forecast's arrays live on the stack.
	steadyBlocks = 24
	steadyArray  = 64
	// steadyFitWindow: the trend (least squares, as Prometheus' predict_linear) and a season's
	// scale are fitted on the needs of the last hour.
	steadyFitWindow = time.Hour
	// steadyProjection caps how far ahead a trend is carried: a ramp does not climb forever.
	steadyProjection = time.Hour
	// steadyTrendFitFrom, steadyTrendFitFull: the R² of the last hour's line from which its
	// trend starts to count, and from which it counts fully.
	steadyTrendFitFrom, steadyTrendFitFull = 0.3, 0.9
	// steadyMinPersist is the shortest look-back of the band: the band of the next minutes is
	// the peak of the last steadyMinPersist at least, so a spike that ended is forgotten after
	// as long, not at once. The band k minutes ahead looks back 0.6 k minutes (steadyPersist ×
	// k).
	steadyMinPersist = 3 * time.Minute
	steadyPersist    = 0.6
	// steadySeasonR2 and steadySeasonMiss: a season counts fully when it explains this share of
	// the last hour's variance, or misses it by no more than this share of its level on
	// average (root mean square, at least a replica); steadySeasonScale is the furthest
	// today's level may be from the season's (a factor either way).
	steadySeasonR2    = 0.25
	steadySeasonMiss  = 0.1
	steadySeasonScale = 2.0
	// steadyDwell: for this long after a scale-up the band stays at least at the level it
	// chose — the forecast that chose it stands until then.
	steadyDwell = 30 * time.Minute
	// steadyFallWindow and steadyFallRate: while the need's trend over the last 5 minutes falls
	// by more than 10 % a minute (a spike's decay), a scale-down waits, so it lands once, where
	// the fall ends.
	steadyFallWindow = 5 * time.Minute
	steadyFallRate   = 0.10
	// steadyCarry: a need that jumped above the count is confirmed by the next evaluation
	// (unless the memory foresaw it), and the band then allows for the rise of the last
	// minutes going on for half as long again, so that a spike climbing over two evaluations
	// costs one commit up.
	steadyCarry = 0.5
	// steadyConfirmStep: a jump waits for the next evaluation only when that is this close: a
	// policy evaluated every 5 minutes would be short for 5 minutes.
	steadyConfirmStep = 2 * time.Minute
	// steadyRound: a band less than this above a count rounds down to it: the forecast's
	// fraction of a replica is not worth a commit.
	steadyRound = 0.3
	// steadySteps: every window spans at least this many evaluations.
	steadySteps = 12
	// steadyTail: past the horizon the plan counts its last level for half a horizon more.
	steadyTail = 0.5
	// steadyCostMinutes: unless changeCost says otherwise, a change is worth as many
	// replica-hours as the count runs in this many minutes.
	steadyCostMinutes = 45.0
	// steadyJitter and steadyJitterMax: a change costs more on a jittery series, where the
	// forecast is less sure: 1 + steadyJitter × the mean step between successive needs ÷ their
	// mean, at most 1 + steadyJitterMax times (steadyJitterOf).
	steadyJitter, steadyJitterMax = 2.0, 1.0
	// steadyBudgetFactor: with the day's budget spent a change costs this many times as much;
	// from half the budget on, the cost rises linearly towards it, so the budget spreads
	// changes over the day and never freezes a high level.
	steadyBudgetFactor = 4.0
	// steadyDay is the rolling window maxChangesPerDay counts over.
	steadyDay = 24 * time.Hour
	// steadyBursty: a series evaluated less often than steadyConfirmStep whose jitter
	// (steadyJitterOf) is at least this — successive needs differ by 30 % of their mean on
	// average — is bursty: its forecast rests on a dozen or two noisy needs and cannot tell a
	// burst from a level, so Steady follows it with steadyBurstyStep instead of the plan.
	steadyBursty = 0.6
	// steadyNoisyPeaks: on a series whose jitter (steadyJitterOf) is at least this — successive
	// needs differ by 5 % of their mean on average — a season's band over each block is never
	// below the highest need the season had in that block, scaled to today: the noise peaks of
	// yesterday's same hours, met before they come. A smooth series (a spike on a flat level)
	// keeps the season's means: its peaks are no noise and need not recur.
	steadyNoisyPeaks = 0.1
	// steadyShortBudget and steadyLoneRatio: on a bursty series Steady leaves a lone burst
	// uncovered for one evaluation (steadyLoneBurst) while the evaluations short over the last
	// day, that one included, stay within steadyShortBudget of a day's evaluations — the
	// target's 1 % short, spent on bursts that would cost a change up and one down — and the
	// burst is at most steadyLoneRatio times the count, which bounds how deep one is short.
	steadyShortBudget = 0.01
	steadyLoneRatio   = 1.5
)

// steadyJitterOf is what jitter adds to the cost of a change, as a share of it: steadyJitter
// × the mean absolute difference between successive needs over the look-back (from cut, now's
// need included) ÷ their mean, at most steadyJitterMax. A smooth series adds nothing; one that
// jumps by its own mean every evaluation adds steadyJitterMax.
func steadyJitterOf(recs []Recommendation, need int, cut time.Time) float64 {
	sum, jit, n, prev := float64(need), 0.0, 1.0, float64(need)
	for i := len(recs) - 1; i >= 0 && recs[i].At.After(cut); i-- {
		y := float64(recs[i].Replicas)
		sum, jit, n, prev = sum+y, jit+math.Abs(prev-y), n+1, y
	}
	if n < 3 || sum <= 0 {
		return 0
	}
	return min(steadyJitter*(jit/(n-1))/(sum/n), steadyJitterMax)
}

// steadyConfig is a Steady strategy's knobs after defaults.
type steadyConfig struct {
	headroom   int     // percent
	maxChanges int     // per 24 h; 0: no budget
	changeCost float64 // replica-hours; below 0: by the workload's size
	// The windows, at least steadySteps evaluations each (see steadyOf): the look-back
	// (delay), the horizon, the fit window, the band's shortest look-back and the dwell after a
	// scale-up. step is the evaluation interval.
	delay, horizon, fit, minPersist, dwell, step time.Duration
}

// steadyOf returns the Steady configuration of a policy; ok is false for the Rules strategy.
func steadyOf(spec *policy.Spec) (c steadyConfig, ok bool) {
	st := spec.Strategy
	if st == nil || st.Type != policy.StrategySteady {
		return c, false
	}
	c = steadyConfig{
		headroom:   policy.DefaultSteadyHeadroomPercent,
		maxChanges: policy.DefaultSteadyMaxChangesPerDay,
		delay:      policy.DefaultSteadyScaleDownDelaySeconds * time.Second,
		horizon:    policy.DefaultSteadyHorizonSeconds * time.Second,
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
	if st.HorizonSeconds != nil && *st.HorizonSeconds > 0 {
		c.horizon = time.Duration(*st.HorizonSeconds) * time.Second
	}
	if st.ChangeCost != nil && *st.ChangeCost >= 0 && !math.IsInf(*st.ChangeCost, 0) {
		c.changeCost = *st.ChangeCost
	} else {
		c.changeCost = -1 // by the workload's size (steady)
	}
	// A policy evaluated every 5 or 30 minutes sees the same hours in fewer needs: each window
	// spans at least steadySteps evaluations, the band's shortest one and the dwell at least one.
	c.step = scheduleInterval(spec.Schedule)
	span := time.Duration(steadySteps) * c.step
	c.delay, c.horizon, c.fit = max(c.delay, span), max(c.horizon, span), max(steadyFitWindow, span)
	c.minPersist, c.dwell = max(steadyMinPersist, c.step), max(steadyDwell, c.step)
	return c, true
}

// IsSteady reports whether the policy uses the Steady strategy.
func IsSteady(p *policy.Policy) bool {
	_, ok := steadyOf(&p.Spec)
	return ok
}

// MemoryWindow is the span of past needs Steady remembers around the same hours a day and a
// week ago (SeasonDay, SeasonWeek): the needs at instants strictly inside (now − offset − Back,
// now − offset + Ahead). ok is false for a policy that is not Steady. The loop recomputes them
// from range queries as it does a stabilization window (Recommendations with now − offset +
// Ahead as the instant and Back + Ahead as the window), and Backtest from its own replay.
func MemoryWindow(p *policy.Policy) (back, ahead time.Duration, ok bool) {
	cfg, ok := steadyOf(&p.Spec)
	if !ok {
		return 0, 0, false
	}
	return max(cfg.delay, cfg.fit), cfg.horizon, true
}

// Remembered is the need Steady remembers of an instant: the recommendation (Recommend) of the
// metric values then at the count then, or nothing (ok false) when every metric was missing —
// a gap in the data is not a need. Backtest and promclient's memory replay both use it.
func Remembered(p *policy.Policy, replicas int, metrics []MetricValue) (need int, ok bool) {
	any := false
	for i := range p.Spec.Metrics {
		if _, has, _ := metricValue(metrics, i); has {
			any = true
			break
		}
	}
	if !any {
		return 0, false
	}
	e := explainer{}
	return recommend(p, replicas, metrics, &e), true
}

// Models of demand a forecast can rest on.
const (
	modelPeaks = iota // the recent peaks alone: no trend, no season
	modelTrend        // the last hour's least-squares trend
	modelDay          // the same hours yesterday, scaled to today
	modelWeek         // the same hours a week ago, scaled to today
)

// forecast is Steady's one model of demand over the horizon: for each of n equal blocks from
// now, the upper band of the need — the model's level plus the largest excess over it
// observed for as long back as the block lies ahead.
type forecast struct {
	n    int
	blk  time.Duration
	band [steadyArray]float64
	// model is modelPeaks or modelTrend; slope is the trend in replicas an hour. A season that
	// explains the last hour (which: modelDay or modelWeek) has its factor to today's level
	// in scale and its needs in ref; season counts the blocks where its band is the higher.
	model  int
	slope  float64
	which  int
	scale  float64
	weight float64
	// next is the season's level over the next block, scaled.
	next   float64
	ref    []Recommendation
	season int
	// refPeak and refPeakAt: the season's highest need over the horizon, scaled, and when.
	refPeak   float64
	refPeakAt time.Time
	// jitter is steadyJitterOf over the look-back.
	jitter float64
}

// steadyForecast builds the forecast from the needs of the look-back (recs, oldest first),
// now's need and the remembered seasons.
func steadyForecast(cfg *steadyConfig, need int, recs []Recommendation, seasons *Seasons, now time.Time) forecast {
	var f forecast
	// Blocks of the horizon, none shorter than an evaluation.
	f.n = steadyBlocks
	f.blk = max(cfg.horizon/time.Duration(f.n), cfg.step, time.Second)
	f.n = min(f.n, int(cfg.horizon/f.blk))
	look := max(cfg.delay, cfg.minPersist)
	f.jitter = steadyJitterOf(recs, need, now.Add(-cfg.delay))

	// The trend: least squares over the fit window, x in seconds before now; and over each of
	// its halves, for the trend is a trend only when both halves rise too (a step, a spike, a
	// turn is not).
	cut, mid := now.Add(-cfg.fit), now.Add(-cfg.fit/2)
	var all, older, newer lsq
	all.add(0, float64(need))
	newer.add(0, float64(need))
	for i := len(recs) - 1; i >= 0 && recs[i].At.After(cut); i-- {
		x, y := -now.Sub(recs[i].At).Seconds(), float64(recs[i].Replicas)
		all.add(x, y)
		if recs[i].At.After(mid) {
			newer.add(x, y)
		} else {
			older.add(x, y)
		}
	}
	slope, alpha, sseLine := 0.0, 0.0, math.Inf(1)
	if s, a, ok := all.fit(); ok {
		slope, alpha = s, a
		sseLine = sq(float64(need) - alpha)
		mean := all.sy / all.n
		sst := sq(float64(need) - mean)
		for i := len(recs) - 1; i >= 0 && recs[i].At.After(cut); i-- {
			x, y := -now.Sub(recs[i].At).Seconds(), float64(recs[i].Replicas)
			sseLine += sq(y - alpha - slope*x)
			sst += sq(y - mean)
		}
		// A trend the last hour hardly follows (noise) does not count: the slope is weighted
		// by how much of the hour it explains (R²), from none at steadyTrendFitFrom to all at
		// steadyTrendFitFull, and only a rise that both halves of the hour show. A fall needs
		// no forecast to come down: the band forgets the peaks it leaves behind.
		s1, _, ok1 := older.fit()
		s2, _, ok2 := newer.fit()
		w := 0.0
		if sst > 0 {
			w = min(1, max(0, (1-sseLine/sst-steadyTrendFitFrom)/(steadyTrendFitFull-steadyTrendFitFrom)))
		}
		switch {
		case !ok1 || !ok2:
			slope = 0
		case slope > 0 && s1 >= 0 && s2 >= 0:
			slope *= w
		default:
			slope = 0
		}
		f.model = modelTrend
	}
	f.slope = slope * 3600

	// The seasons: the one that explains the last hour best, if it does about as well as the
	// line.
	var grids [2]seasonGrid
	var grid *seasonGrid
	best := math.Inf(1)
	for k, ref := range [2][]Recommendation{seasons.Day, seasons.Week} {
		off := SeasonDay
		if k == 1 {
			off = SeasonWeek
		}
		g := &grids[k]
		if !g.build(ref, now.Add(-off), f.blk, look, cfg.fit, f.n) {
			continue
		}
		scale, sse, sst, n, ok := g.fit(recs, need, now, cut)
		if !ok || scale < 1/steadySeasonScale || scale > steadySeasonScale || sse >= best {
			continue
		}
		// A season counts for as much as it explains the last hour: fully when it explains
		// steadySeasonR2 of its variance, or when it misses by no more than noise does
		// (steadySeasonMiss of the level, at least one replica, on average); not at all when
		// it misses by twice that, or today's level is far from its.
		miss := max(1, steadySeasonMiss*scale*g.at(0))
		w := max(0, 2-math.Sqrt(sse/n)/miss)
		if sst > 0 {
			w = max(w, (1-sse/sst)/steadySeasonR2)
		}
		if w > 0 {
			best, grid = sse, g
			f.scale, f.ref, f.which, f.weight = scale, ref, modelDay+k, min(w, 1)
		}
	}

	// The band of each model: for block j, the model ahead plus the largest excess of a need
	// over the model for the last max(steadyMinPersist, steadyPersist × j blocks) — about as
	// far back as the block lies ahead: what the last hour did above the model, the next hour
	// may do too. A season's band is its curve scaled to today plus today's excess over that
	// curve: the season's own excess over its curve is not added again (it counted the noise
	// twice and held the count above the need). The forecast's band is the higher of the trend's and the season's,
	// so that the model of one evaluation and the next cannot contradict each other.
	// A need older than the fit window is not moved further by the trend fitted over it.
	trendAt := func(d time.Duration) float64 { return slope * max(d, -cfg.fit).Seconds() }
	f.persist(recs, need, now, cfg.minPersist, look, trendAt, func(j int) float64 {
		tau := time.Duration(j+1) * f.blk
		if slope < 0 {
			tau -= f.blk
		}
		return slope * min(tau, steadyProjection).Seconds()
	}, &f.band)
	if f.ref != nil {
		var band [steadyArray]float64
		f.persist(recs, need, now, cfg.minPersist, look, func(d time.Duration) float64 { return f.scale * grid.at(d) }, func(j int) float64 {
			a, b := grid.at(time.Duration(j)*f.blk), grid.at(time.Duration(j+1)*f.blk)
			if s := f.scale * a; s > f.refPeak {
				f.refPeak, f.refPeakAt = s, now.Add(time.Duration(j)*f.blk)
			}
			return f.scale * max(a, (a+b)/2)
		}, &band)
		// A noisy series (steadyNoisyPeaks) leads its ramps: block j is never below the
		// highest need the season had in the same block, scaled to today, so the noise peaks
		// of yesterday's 08:00–08:05 are met at 08:00, not one confirmation and a stair later.
		for j := 0; j < f.n && f.jitter >= steadyNoisyPeaks; j++ {
			p := f.scale * grid.peakAt(j)
			band[j] = max(band[j], p)
			if p > f.refPeak {
				f.refPeak, f.refPeakAt = p, now.Add(time.Duration(j)*f.blk)
			}
		}
		for j := range f.n {
			f.band[j] += f.weight * (band[j] - f.band[j])
		}
		f.next = f.scale * max(grid.at(0), grid.at(f.blk))
	}
	if f.model == modelTrend && f.slope == 0 {
		f.model = modelPeaks
	}
	f.band[0] = max(f.band[0], float64(need)+steadyRound)
	return f
}

// lookback is how far back the band of block j looks.
func (f *forecast) lookback(cfg *steadyConfig, j int) time.Duration {
	return min(max(cfg.minPersist, time.Duration(steadyPersist*float64(j)*float64(f.blk))), max(cfg.delay, cfg.minPersist))
}

// persist writes a model's band: for block j, ahead(j) (the model's highest level over the
// block, relative to now's) plus the largest excess over the model (at) of the needs of the
// last max(steadyMinPersist, steadyPersist × j blocks), at most look.
func (f *forecast) persist(recs []Recommendation, need int, now time.Time, minPersist, look time.Duration, at func(time.Duration) float64, ahead func(int) float64, band *[steadyArray]float64) {
	excess := float64(need) - at(0)
	i := len(recs) - 1
	nowNs := now.UnixNano()
	for j := range f.n {
		from := -min(max(minPersist, time.Duration(steadyPersist*float64(j)*float64(f.blk))), look)
		for ; i >= 0; i-- {
			d := time.Duration(recs[i].At.UnixNano() - nowNs)
			if d <= from {
				break
			}
			excess = max(excess, float64(recs[i].Replicas)-at(d))
		}
		band[j] = ahead(j) + excess
	}
}

func sq(x float64) float64 { return x * x }

// lsq accumulates a least-squares line.
type lsq struct{ n, sx, sy, sxx, sxy float64 }

func (l *lsq) add(x, y float64) {
	l.n, l.sx, l.sy, l.sxx, l.sxy = l.n+1, l.sx+x, l.sy+y, l.sxx+x*x, l.sxy+x*y
}

// fit is the line's slope and its value at x = 0; ok is false for fewer than three points.
func (l *lsq) fit() (slope, at0 float64, ok bool) {
	den := l.n*l.sxx - l.sx*l.sx
	if l.n < 3 || !(den > 0) {
		return 0, 0, false
	}
	slope = (l.n*l.sxy - l.sx*l.sy) / den
	return slope, (l.sy - slope*l.sx) / l.n, true
}

// seasonGrid holds a remembered window's needs as block means on the grid of the forecast's
// blocks, from look before the instant a season ago to the horizon after it.
type seasonGrid struct {
	blk   time.Duration
	past  int // blocks before the season's now
	n     int // blocks in all
	means [2 * steadyArray]float64
	// peaks is each block's highest need (0 where the memory has none).
	peaks [2 * steadyArray]float64
}

// peakAt is the season's highest need in block j of the horizon (0: none remembered).
func (g *seasonGrid) peakAt(j int) float64 {
	return g.peaks[min(g.past+j, g.n-1)]
}

// build fills the grid from ref (oldest first) around then (now a season ago); ok is false
// when the memory does not cover three quarters of the blocks of the last hour and of the
// horizon.
func (g *seasonGrid) build(ref []Recommendation, then time.Time, blk, look, fit time.Duration, ahead int) bool {
	if len(ref) == 0 {
		return false
	}
	g.blk, g.peaks = blk, [2 * steadyArray]float64{}
	g.past = min(int((max(look, fit)+blk-1)/blk), steadyArray)
	g.n = g.past + ahead
	var sums [2 * steadyArray]float64
	var counts [2 * steadyArray]int
	// Instants as unix nanoseconds: a decision reads every remembered need twice.
	start := then.Add(-time.Duration(g.past) * blk).UnixNano()
	for i := range ref {
		d := ref[i].At.UnixNano() - start
		if d < 0 {
			continue
		}
		k := int(d / int64(blk))
		if k >= g.n {
			break
		}
		sums[k] += float64(ref[i].Replicas)
		counts[k]++
		g.peaks[k] = max(g.peaks[k], float64(ref[i].Replicas))
	}
	fitBlocks := int((fit + blk - 1) / blk)
	covered, coveredAhead := 0, 0
	for k := g.past - fitBlocks; k < g.n; k++ {
		if k >= 0 && counts[k] > 0 {
			if k < g.past {
				covered++
			} else {
				coveredAhead++
			}
		}
	}
	if 4*covered < 3*fitBlocks || 4*coveredAhead < 3*ahead {
		return false
	}
	// Blocks without data take their neighbour's mean: the last before, else the first after.
	last := -1.0
	for k := range g.n {
		if counts[k] > 0 {
			g.means[k] = sums[k] / float64(counts[k])
			last = g.means[k]
		} else {
			g.means[k] = last
		}
	}
	for k := g.n - 1; k >= 0; k-- {
		if g.means[k] < 0 {
			g.means[k] = last
		} else {
			last = g.means[k]
		}
	}
	return true
}

// at is the season's mean need at offset d from its now (negative: before): the block means
// taken at the blocks' middles, linearly between them.
func (g *seasonGrid) at(d time.Duration) float64 {
	x := float64(d)/float64(g.blk) + float64(g.past) - 0.5
	k := int(math.Floor(x))
	if k < 0 {
		return g.means[0]
	}
	if k >= g.n-1 {
		return g.means[g.n-1]
	}
	w := x - float64(k)
	return g.means[k]*(1-w) + g.means[k+1]*w
}

// fit scales the season to today's level over the fit window (the ratio of the sums) and
// returns the squared error of the scaled season against today's needs there.
func (g *seasonGrid) fit(recs []Recommendation, need int, now, cut time.Time) (scale, sse, sst, n float64, ok bool) {
	sumN, sumR := float64(need), g.at(0)
	n = 1
	nowNs, cutNs := now.UnixNano(), cut.UnixNano()
	first := len(recs)
	for i := len(recs) - 1; i >= 0 && recs[i].At.UnixNano() > cutNs; i-- {
		sumN += float64(recs[i].Replicas)
		sumR += g.at(time.Duration(recs[i].At.UnixNano() - nowNs))
		n++
		first = i
	}
	if sumR <= 0 {
		return 0, 0, 0, 0, false
	}
	scale, mean := sumN/sumR, sumN/n
	sse, sst = sq(float64(need)-scale*g.at(0)), sq(float64(need)-mean)
	for i := first; i < len(recs); i++ {
		sse += sq(float64(recs[i].Replicas) - scale*g.at(time.Duration(recs[i].At.UnixNano()-nowNs)))
		sst += sq(float64(recs[i].Replicas) - mean)
	}
	return scale, sse, sst, n, true
}

// plan is the receding-horizon choice over a forecast: the level to hold from now that
// minimises replica-hours plus the cost of changes over the horizon, never below the band.
type plan struct {
	keep bool // hold the current count
	// level and until: the first segment of the best plan (the count to go to, or the count
	// kept) and how many blocks it lasts; next is the level after it (0: none).
	level, until, next int
	cost               float64 // of the chosen plan, replica-hours
	// drop: the best plan that changes now while keeping was chosen, for the reason line.
	alt plan1
}

type plan1 struct {
	level, until, next int
	cost               float64
}

// levels rounds the band to replica counts: × (1 + headroom), up, inside the bounds.
func (f *forecast) levels(cfg *steadyConfig, b bounds, out *[steadyArray]int) {
	for j := range f.n {
		u := f.band[j]
		if cfg.headroom > 0 {
			u *= 1 + float64(cfg.headroom)/100
		}
		out[j] = min(max(ceilInt(u-steadyRound), b.min), b.max)
	}
}

// steadyPlan solves the horizon by dynamic programming over segments: V[j] is the cheapest way
// to cover blocks j… with a change at j; a segment holds the highest level of its blocks.
//
// Past the horizon the last level is taken to stay for tail hours more: a level that lasts to
// the horizon's end saves (or costs) beyond it too.
func steadyPlan(lv *[steadyArray]int, n int, blkHours, tail float64, c, now int, cost float64) plan {
	var v [steadyArray + 1]float64
	var next [steadyArray + 1]int
	for j := n - 1; j >= 0; j-- {
		v[j] = math.Inf(1)
		m := 0
		for e := j + 1; e <= n; e++ {
			m = max(m, lv[e-1])
			x := cost + float64(m)*float64(e-j)*blkHours + v[e]
			if e == n {
				x += float64(m) * tail
			}
			if x < v[j] {
				v[j], next[j] = x, e
			}
		}
	}
	segMax := func(a, b int) int {
		m := 0
		for k := a; k < b; k++ {
			m = max(m, lv[k])
		}
		return m
	}
	levelAfter := func(e int) int {
		if e >= n {
			return 0
		}
		return segMax(e, next[e])
	}
	change := plan1{level: segMax(0, next[0]), until: next[0], cost: v[0]}
	change.next = levelAfter(change.until)
	// Keep c for the first e blocks, while it covers them: the first block by now's need
	// (now), so that a forecast a few minutes ahead moves the count when it comes, not before.
	var keep plan1
	keep.cost = math.Inf(1)
	for e := 1; e <= n && (lv[e-1] <= c || e == 1 && now <= c); e++ {
		x := float64(c)*float64(e)*blkHours + v[e]
		if e == n {
			x += float64(c) * tail
		}
		if x <= keep.cost {
			keep = plan1{level: c, until: e, cost: x, next: levelAfter(e)}
		}
	}
	if keep.cost <= change.cost {
		return plan{keep: true, level: c, until: keep.until, next: keep.next, cost: keep.cost, alt: change}
	}
	return plan{level: change.level, until: change.until, next: change.next, cost: change.cost, alt: keep}
}

// steady is the Steady strategy's step between the need — the recommendation without
// tolerance — and the bounds. c is inside the bounds b; s.Recommendations are the needs of the
// evaluations before now (oldest first), over the look-back, and s.Seasons the needs of the
// same hours a day and a week ago. docs/steady.md explains each step.
//
//  1. Confirm: when the need is above c and the evaluation before was covered (its need at most
//     c), c stays for this one evaluation: a one-evaluation blip costs no commit, and a spike is
//     measured once more, so the commit lands where the climb ends.
//  2. Forecast: one model of demand for both directions — the upper band of the need for each
//     block of the horizon: the model's level (a season scaled to today, else the last hour's
//     trend, else nothing) plus the largest excess of the needs over the model, observed for as
//     long back as the block lies ahead; never below now's need.
//  3. Plan: the levels to hold over the horizon that cover the band at least replica-hours plus
//     changeCost a change (more as the day's budget is spent); c stays when keeping it is part
//     of the cheapest plan, else the count goes to the plan's first level — never below the
//     band. On a bursty series evaluated less often than every 2 minutes (steadyBursty), the
//     rule of steadyBurstyStep replaces the plan: up to the need at once (but a lone burst
//     within the day's short budget waits, steadyLoneBurst), down once the excess held since
//     the last change has paid for a change.
func steady(cfg *steadyConfig, need, c int, b bounds, s *Snapshot, h *history, e *explainer) int {
	recs := s.Recommendations
	f := steadyForecast(cfg, need, recs, &s.Seasons, s.Now)
	if need > c && len(recs) > 0 && cfg.step <= steadyConfirmStep && !f.expects(need) {
		if prev := &recs[len(recs)-1]; prev.Replicas <= c {
			e.begin(ReasonSteadyConfirm).str("need ").int(need).str(" > ").int(c).str(", up from ").int(prev.Replicas).
				str(" ").secs(s.Now.Sub(prev.At)).str(" before: the next evaluation confirms it before a commit").hold(c).end()
			return c
		}
	}
	f.hold(cfg, need, c, s, h)
	var lv [steadyArray]int
	f.levels(cfg, b, &lv)
	if lv[0] < c {
		if slope := needTrend(recs, s.Now, steadyFallWindow, need) * 60; slope < -steadyFallRate*float64(max(need, 1)) {
			e.begin(ReasonSteadyWaits).str("steady at ").int(c).str(": need ").int(need).str(" still falling ").
				num(roundTo(-slope, 1)).str(" a minute over the last ").dur(steadyFallWindow).str("; the scale-down lands where it ends").hold(c).end()
			return c
		}
	}

	tail := steadyTail * f.blk.Hours() * float64(f.n)
	jitter := f.jitter
	bursty := cfg.step > steadyConfirmStep && jitter >= steadyBursty
	cost, used := cfg.changeCost, 0
	if cost < 0 {
		// What a change is worth scales with the workload: steadyCostMinutes of the count.
		// On a jittery series the forecast is less sure, so a change must save more; the
		// bursty rule saves on what the series did, not on a forecast, so it pays the plain
		// cost.
		cost = steadyCostMinutes / 60 * float64(c)
		if !bursty {
			cost *= 1 + jitter
		}
	}
	base := cost
	if cfg.maxChanges > 0 {
		used = changesWithin(s.History, s.Now, steadyDay)
		half := float64(cfg.maxChanges) / 2
		if x := (float64(used) - half) / half; x > 0 {
			cost *= 1 + (steadyBudgetFactor-1)*min(x, 1)
		}
		if used >= cfg.maxChanges {
			// With the budget spent, a level lasts until the budget frees a change: a
			// scale-down weighs the excess over all that time against the dearer change.
			tail = max(tail, freesAt(s.History, s.Now).Sub(s.Now).Hours()-f.blk.Hours()*float64(f.n))
		}
	}
	blkHours := f.blk.Hours()
	needLevel := need
	if cfg.headroom > 0 {
		needLevel = ceilInt(float64(need) * (1 + float64(cfg.headroom)/100))
	}
	needLevel = min(max(needLevel, b.min), b.max)
	if bursty {
		return steadyBurstyStep(cfg, need, needLevel, c, lv[0], b, s, h, cost, used, e)
	}
	pl := steadyPlan(&lv, f.n, blkHours, tail, c, needLevel, cost)
	if pl.keep && cost > base {
		if free := steadyPlan(&lv, f.n, blkHours, tail, c, needLevel, base); !free.keep {
			e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
				str(" changes used in the last 24 h: a change costs ").num(roundTo(cost, 2)).str(" replica-hours instead of ").
				num(roundTo(base, 2)).str(", so the scale-down to ").int(free.level).str(" waits").hold(c).end()
			return c
		}
	}
	if pl.keep {
		steadyHold(cfg, &f, &lv, &pl, need, c, cost, s.Now, e)
		return c
	}
	e.begin(ReasonSteadyScaleUp)
	if pl.level < c {
		e.reasons[len(e.reasons)-1].Code = ReasonSteadyScaleDown
	}
	e.str("forecast: need ").int(need).str(" now, ≤ ").int(pl.level).str(" for the next ").dur(time.Duration(pl.until) * f.blk)
	f.source(e, s.Now)
	if pl.next > 0 {
		e.str(", then ").int(pl.next)
	}
	if pl.level < c {
		e.str(": ").int(c - pl.level).str(" fewer save ").num(roundTo(float64(c-pl.level)*float64(pl.until)*blkHours, 1)).
			str(" replica-hours, more than a change costs (").num(roundTo(cost, 2)).str(")")
	}
	e.to(pl.level).end()
	if used >= cfg.maxChanges && cfg.maxChanges > 0 {
		e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
			str(" changes used in the last 24 h; ")
		if pl.level > c {
			e.str("a scale-up the need requires goes ahead").end()
		} else {
			e.str("the excess costs more than a commit is worth, so the scale-down goes ahead").end()
		}
	}
	return pl.level
}

// steadyBurstyStep is Steady on a bursty series (steadyBursty): a ski-rental rule on the needs
// Steady has seen instead of a plan on a forecast (docs/steady.md, "A bursty series").
//
//   - Up: a need above c is covered at once, to the need (never below the band's first block,
//     lv0): a bursty need above the count is no forecast of a higher level. Except a lone
//     burst (steadyLoneBurst): the first evaluation above c after a covered one stays
//     uncovered while the day's short budget allows, so a burst that lasts one evaluation costs
//     no change up and none down; a second one running is covered at once.
//   - Down: the count comes down only once the excess it held since its last change (within
//     the look-back) has cost as many replica-hours as a change: to the highest need of the
//     longest such stretch, never below lv0 nor the need. The excess already paid is the
//     measure of how long a low stretch lasts. With the day's budget spent, a level is taken
//     to last until the budget frees a change, as in the plan.
//   - Otherwise the count stays.
//
// needLevel is now's need with headroom, inside the bounds; cost is what a change costs now
// (the budget included) and used the changes of the last 24 h.
func steadyBurstyStep(cfg *steadyConfig, need, needLevel, c, lv0 int, b bounds, s *Snapshot, h *history, cost float64, used int, e *explainer) int {
	level := func(r int) int {
		if cfg.headroom > 0 {
			r = ceilInt(float64(r) * (1 + float64(cfg.headroom)/100))
		}
		return min(max(r, b.min), b.max)
	}
	spent := cfg.maxChanges > 0 && used >= cfg.maxChanges
	if need > c && c > 0 && len(s.Recommendations) > 0 && s.Recommendations[len(s.Recommendations)-1].Replicas <= c {
		if ok, short, evals := steadyLoneBurst(cfg, need, c, b, s); ok {
			e.begin(ReasonSteadyConfirm).str("bursty: holding ").int(c).str(": need ").int(need).
				str(" is one evaluation above the count; ").int(short).str(" of the last ").int(evals).
				str(" evaluations short (").num(roundTo(100*float64(short)/float64(evals), 1)).
				str(" %), budget ").num(100 * steadyShortBudget).str(" %: a lone burst is not chased, a second one is").hold(c).end()
			return c
		}
	}
	if need > c {
		to := max(needLevel, lv0)
		e.begin(ReasonSteadyScaleUp).str("bursty: need ").int(need).str(" > ").int(c).
			str(": up to it; the count comes down once the excess has paid for a change").to(to).end()
		if spent {
			e.begin(ReasonSteadyBudget).str("budget: ").int(used).str(" of ").int(cfg.maxChanges).
				str(" changes used in the last 24 h; a scale-up the need requires goes ahead").end()
		}
		return to
	}
	// The stretches since the last change (within the look-back), newest first: the highest
	// level m over the last d, and the excess (c − m) × d it held.
	since := s.Now.Add(-cfg.delay)
	if h.last != nil && h.last.At.After(since) {
		since = h.last.At
	}
	ahead := 0.0
	if spent {
		ahead = max(0, freesAt(s.History, s.Now).Sub(s.Now).Hours())
	}
	recs := s.Recommendations
	m, to := needLevel, -1
	var paid, most float64
	var mostFor time.Duration
	mostLevel := needLevel
	for i := len(recs) - 1; i >= 0 && recs[i].At.After(since); i-- {
		if m = max(m, level(recs[i].Replicas)); m >= c {
			break
		}
		d := s.Now.Sub(recs[i].At) + cfg.step
		x := float64(c-m) * (d.Hours() + ahead)
		if x >= cost {
			to, paid = m, x
		}
		if x > most {
			most, mostFor, mostLevel = x, d, m
		}
	}
	if to >= 0 {
		if to = max(to, lv0, needLevel); to < c {
			e.begin(ReasonSteadyScaleDown).str("bursty: need ≤ ").int(to).str(" while holding ").int(c).
				str(": the excess (").num(roundTo(paid, 1)).str(" replica-hours")
			if spent {
				e.str(", until the budget frees a change")
			}
			e.str(") has paid for a change (").num(roundTo(cost, 2)).str(")").to(to).end()
			return to
		}
	}
	if most > 0 {
		e.begin(ReasonSteadyWaits).str("bursty: holding ").int(c).str(": need ≤ ").int(mostLevel).str(" for ").dur(mostFor).
			str(", an excess of ").num(roundTo(most, 1)).str(" replica-hours, less than a change costs (").
			num(roundTo(cost, 2)).str(")").hold(c).end()
		return c
	}
	e.begin(ReasonSteadyWaits).str("bursty: holding ").int(c).str(": need ").int(need).
		str(" now, no lower stretch since the last change").hold(c).end()
	return c
}

// hold completes the band with what the needs alone do not show: after a jump, half the
// rise of the last minutes again; where the needs observed do not reach, the count (without a
// window of needs nothing justifies a drop); and for steadyDwell after a scale-up, the level it
// chose.
func (f *forecast) hold(cfg *steadyConfig, need, c int, s *Snapshot, h *history) {
	recs := s.Recommendations
	if need > c && len(recs) > 0 && cfg.step <= steadyConfirmStep {
		low := need
		for i := len(recs) - 1; i >= 0 && s.Now.Sub(recs[i].At) <= steadyFallWindow; i-- {
			low = min(low, recs[i].Replicas)
		}
		f.band[0] = max(f.band[0], float64(need)+steadyCarry*float64(need-low))
	}
	seen := time.Duration(0)
	if len(recs) > 0 {
		seen = s.Now.Sub(recs[0].At) + cfg.step
	}
	dwell := false
	// The dwell follows our own scale-ups only: a revert or a person's edit is not a forecast.
	if ev := h.last; ev != nil && ev.Kind == EventDecision && ev.To > ev.From && ev.To == c && s.Now.Sub(ev.At) < cfg.dwell {
		dwell = true
	}
	for j := range f.n {
		if dwell || f.lookback(cfg, j) > seen {
			f.band[j] = max(f.band[j], float64(c))
		}
	}
}

// expects reports whether the memory foresaw a need this high: a season that counts (at least
// half) put the next block at it. A rise it foresaw needs no confirmation.
func (f *forecast) expects(need int) bool {
	return f.ref != nil && f.weight >= 0.5 && f.next+steadyRound >= float64(need)
}

// steadyHold writes why the count stays.
func steadyHold(cfg *steadyConfig, f *forecast, lv *[steadyArray]int, pl *plan, need, c int, cost float64, now time.Time, e *explainer) {
	_ = cfg
	e.begin(ReasonSteadyWaits)
	if lv[0] >= c {
		e.str("steady at ").int(c).str(": need ").int(need).str(" now, ").int(lv[0]).str(" at most for the next ").dur(f.blk)
		f.source(e, now)
		e.str(": nothing lower fits").hold(c).end()
		return
	}
	// The scale-down in view: to the band of the next minutes, for as long as the band stays
	// there, and what it forecasts after that.
	low := plan1{level: lv[0]}
	for low.until < f.n && lv[low.until] <= low.level {
		low.until++
	}
	if low.until < f.n {
		low.next = lv[low.until]
		for k := low.until; k < f.n; k++ {
			low.next = max(low.next, lv[k])
		}
	}
	e.str("holding ").int(c).str(": need ≤ ").int(low.level).str(" for ").dur(time.Duration(low.until) * f.blk)
	if low.next > low.level {
		e.str(", but ")
		if f.ref != nil && f.weight >= 0.5 && f.refPeak > float64(low.level) && f.refPeakAt.After(now) {
			f.seasonName(e)
			e.str("'s ").clock(f.refPeakAt).str(" peak (").int(ceilInt(f.refPeak)).str(") is ").
				dur(f.refPeakAt.Sub(now)).str(" away")
		} else {
			e.str("the forecast goes back to ").int(low.next).str(" after it")
			f.source(e, now)
		}
		e.str(": a scale-down and back up saves less than two changes cost (").num(roundTo(cost, 2)).
			str(" replica-hours each)").hold(c).end()
		return
	}
	f.source(e, now)
	e.str(": a scale-down to ").int(low.level).str(" saves less than it costs (").num(roundTo(cost, 2)).
		str(" replica-hours a change)").hold(c).end()
}

func (f *forecast) seasonName(e *explainer) {
	if f.which == modelWeek {
		e.str("last week")
	} else {
		e.str("yesterday")
	}
}

// source writes what the forecast rests on: " (yesterday × 1.08)", " (trend +4/h)".
func (f *forecast) source(e *explainer, now time.Time) {
	_ = now
	s := roundTo(f.slope, 1)
	if f.ref == nil && s == 0 {
		return
	}
	e.str(" (")
	if f.ref != nil {
		f.seasonName(e)
		e.str(" × ").num(roundTo(f.scale, 2))
		if s != 0 {
			e.str(", ")
		}
	}
	if s != 0 {
		e.str("trend ")
		if s > 0 {
			e.str("+")
		}
		e.num(s).str("/h")
	}
	e.str(")")
}

// dur writes a duration as a person reads it: "2 h", "1 h 30 min", "40 min", "90 s".
func (e *explainer) dur(d time.Duration) *explainer {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return e.int(int(d / time.Hour)).str(" h")
	case d >= time.Hour && d%time.Minute == 0:
		return e.int(int(d / time.Hour)).str(" h ").int(int(d % time.Hour / time.Minute)).str(" min")
	case d >= time.Minute && d%time.Minute == 0:
		return e.int(int(d / time.Minute)).str(" min")
	}
	return e.secs(d)
}

// clock writes a time of day in UTC: "11:00".
func (e *explainer) clock(t time.Time) *explainer {
	t = t.UTC()
	h, m := t.Hour(), t.Minute()
	if h < 10 {
		e.str("0")
	}
	e.int(h).str(":")
	if m < 10 {
		e.str("0")
	}
	return e.int(m)
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

// freesAt is when the oldest change of the last day leaves the budget's window.
func freesAt(history []Event, now time.Time) time.Time {
	cut, oldest := now.Add(-steadyDay), now
	for i := range history {
		if at := history[i].At; at.After(cut) && at.Before(oldest) {
			oldest = at
		}
	}
	return oldest.Add(steadyDay)
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

// steadyLoneBurst reports whether a bursty series may leave the need of now uncovered for this
// one evaluation (docs/steady.md, "A lone burst"): the evaluation before was covered, now's need
// is at most steadyLoneRatio times the count, and with now counted short the evaluations short
// over the last day stay within steadyShortBudget of a day's evaluations. short is that count
// (now included) and evals a day's evaluations.
func steadyLoneBurst(cfg *steadyConfig, need, c int, b bounds, s *Snapshot) (ok bool, short, evals int) {
	evals = max(int(steadyDay/cfg.step), 1)
	if float64(min(need, b.max)) > steadyLoneRatio*float64(c) {
		return false, 0, evals
	}
	short = 1 + shortWithin(s, b, c)
	return float64(short) <= steadyShortBudget*float64(evals), short, evals
}

// shortWithin counts the evaluations of the last day before now (s.Recommendations) whose need,
// within the bounds' maximum, was above the count Git held then — what CountAt says, with
// current the count when there is no history — in one walk of the needs and the history
// together, newest first, instead of a search of the history for each need.
func shortWithin(s *Snapshot, b bounds, current int) (short int) {
	cut := s.Now.Add(-steadyDay)
	recs, hist := s.Recommendations, s.History
	j := len(hist) - 1
	for i := len(recs) - 1; i >= 0 && recs[i].At.After(cut); i-- {
		at := recs[i].At
		for j >= 0 && hist[j].At.After(at) {
			j--
		}
		count := current
		switch {
		case j >= 0:
			count = hist[j].To
		case len(hist) > 0:
			count = hist[0].From
		}
		if min(recs[i].Replicas, b.max) > count {
			short++
		}
	}
	return short
}
