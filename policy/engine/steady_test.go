package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// flat is a recommendation (need) of n every minute for the last `minutes` minutes.
func flat(minutes, n int) []Recommendation {
	var out []Recommendation
	for m := minutes; m >= 1; m-- {
		out = append(out, recAt(float64(60*m), n))
	}
	return out
}

// changes is n of our decisions spread over the last 23 hours.
func changes(n int) []Event {
	var out []Event
	for i := range n {
		out = append(out, change(float64(3600*23*(n-i))/float64(n), 10, 10))
	}
	return out
}

// recentChanges is n of our decisions spread over the three hours before the last two.
func recentChanges(n int) []Event {
	var out []Event
	for i := range n {
		out = append(out, change(float64(7200+3*3600*(n-i)/n), 10, 10))
	}
	return out
}

// then appends b's recommendations (newer) after a's.
func then(a []Recommendation, b ...Recommendation) []Recommendation {
	return append(append([]Recommendation(nil), a...), b...)
}

// older is flat(minutes, n) moved `by` minutes further back.
func older(minutes, n, by int) []Recommendation {
	out := flat(minutes, n)
	for i := range out {
		out[i].At = out[i].At.Add(-time.Duration(by) * time.Minute)
	}
	return out
}

// season is the needs a season ago (offset before t0) from `back` minutes before to `ahead`
// minutes after that instant, one a minute: need(m) for m minutes after it (negative: before).
func season(offset time.Duration, back, ahead int, need func(m int) int) []Recommendation {
	var out []Recommendation
	for m := -back + 1; m < ahead; m++ {
		out = append(out, Recommendation{At: t0.Add(-offset + time.Duration(m)*time.Minute), Replicas: need(m)})
	}
	return out
}

// drop3h is a scale-down from 40 to 30 three hours before t0: the last change is older than
// the look-back and the dwell.
var drop3h = change(3*3600, 40, 30)

func TestSteadyScaleUp(t *testing.T) {
	// Needs two minutes apart rising from 10 to 19 over the last hour (10 an hour), then 20.
	var rising []Recommendation
	for m := 118; m >= 2; m -= 2 {
		rising = append(rising, recAt(float64(60*m), max(10, 20-m/6)))
	}
	runDecideCases(t, []decideCase{
		{
			name:     "confirm: a need that first exceeds the count waits one evaluation",
			policy:   steadyLoad(nil),
			snap:     snap(10, 14).withRecs(flat(120, 9)...),
			want:     10,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyConfirm},
			messages: []string{"load = 14 / averageValue 1 → 14", "need 14 > 10, up from 9 60s before: the next evaluation confirms it before a commit → hold at 10"},
		},
		{
			name:     "confirmed: up to the need, and the band's last minutes",
			policy:   steadyLoad(nil),
			snap:     snap(10, 12).withRecs(flat(120, 12)...),
			want:     12,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			messages: []string{"load = 12 / averageValue 1 → 12", "forecast: need 12 now, ≤ 12 for the next 2 h → 12"},
		},
		{
			name:     "a rising need: its trend carried ahead",
			policy:   steadyLoad(nil),
			snap:     snap(18, 20).withRecs(rising...),
			want:     31,
			contains: "forecast: need 20 now, ≤ 31 for the next 2 h (trend +9.9/h) → 31",
		},
		{
			name:   "a jump: the band allows for half the rise of the last minutes again",
			policy: steadyLoad(nil),
			// A spike: 6 for two hours, 12 a minute ago (confirmed above the count), 35 now.
			snap:     snap(6, 35).withRecs(then(older(119, 6, 1), recAt(60, 12))...),
			want:     50,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "forecast: need 35 now, ≤ 50 for the next 5 min, then 35 → 50",
		},
		{
			name:     "headroom: past the band by headroomPercent",
			policy:   steadyLoad(&policy.Strategy{HeadroomPercent: ptr(20)}),
			snap:     snap(10, 12).withRecs(flat(120, 12)...),
			want:     15,
			contains: "≤ 15 for the next 2 h → 15",
		},
		{
			name:     "the budget never holds back a scale-up the need requires",
			policy:   steadyLoad(&policy.Strategy{MaxChangesPerDay: ptr(12)}),
			snap:     snap(10, 12).withHistory(changes(12)...).withRecs(flat(120, 12)...),
			want:     12,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp, ReasonSteadyBudget},
			contains: "budget: 12 of 12 changes used in the last 24 h; a scale-up the need requires goes ahead",
		},
		{
			name:   "bounded by maxReplicas",
			policy: func() *policy.Policy { p := steadyLoad(nil); p.Spec.MaxReplicas = 20; return p }(),
			snap:   snap(16, 25).withRecs(flat(120, 25)...),
			want:   20,
			codes:  []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
		},
		{
			name:   "no tolerance: 5 % over the count is short, and Steady moves",
			policy: func() *policy.Policy { p := steadyLoad(nil); p.Spec.Tolerance = ptr(0.1); return p }(),
			snap:   &Snapshot{Now: t0, Current: 20, Metrics: vals(21), Recommendations: flat(5, 21)},
			want:   21,
		},
		{
			name:   "a revert hold still keeps the count",
			policy: steadyLoad(nil),
			snap:   snap(10, 14).withHistory(revertEvent(10 * time.Minute)),
			want:   10, held: true,
			has: ReasonRevertHold,
		},
	})
}

func TestSteadyScaleDown(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:   "a need still falling fast waits: the step lands where the fall ends",
			policy: steadyLoad(nil),
			snap: snap(40, 6).withHistory(drop3h).
				withRecs(then(older(115, 30, 5), recAt(240, 30), recAt(180, 24), recAt(120, 18), recAt(60, 12))...),
			want:     40,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyWaits},
			contains: "steady at 40: need 6 still falling 6 a minute over the last 5 min; the scale-down lands where it ends → hold at 40",
		},
		{
			name:   "a spike that ended comes down in one step once the savings pay for the way back",
			policy: steadyLoad(nil),
			// 38 for five minutes two hours ago, 6 since: the band says 6 for the next two hours
			// (as far back as it looks), and 34 fewer for that long pay for the change.
			snap:     snap(40, 6).withHistory(drop3h).withRecs(then(older(5, 38, 115), flat(115, 6)...)...),
			want:     6,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
			contains: "forecast: need 6 now, ≤ 6 for the next 2 h: 34 fewer save",
		},
		{
			name:     "a spike that ended minutes ago waits: two changes for minutes of savings do not pay",
			policy:   steadyLoad(nil),
			snap:     snap(40, 6).withHistory(drop3h).withRecs(then(older(100, 6, 20), then(older(15, 38, 5), flat(5, 6)...)...)...),
			want:     40,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyWaits},
			contains: "holding 40: need ≤ 6 for 15 min, but the forecast goes back to 38 after it (trend +0.1/h): a scale-down and back up saves less than two changes cost (33.23 replica-hours each) → hold at 40",
		},
		{
			name:     "a shallow excess waits: the change costs more than it saves",
			policy:   steadyLoad(nil),
			snap:     snap(30, 26).withHistory(drop3h).withRecs(flat(120, 26)...),
			want:     30,
			contains: "a scale-down to 26 saves less than it costs (22.5 replica-hours a change) → hold at 30",
		},
		{
			name:     "a deep excess for the whole horizon comes down",
			policy:   steadyLoad(nil),
			snap:     snap(30, 12).withHistory(drop3h).withRecs(flat(120, 12)...),
			want:     12,
			contains: "forecast: need 12 now, ≤ 12 for the next 2 h: 18 fewer save",
		},
		{
			name:     "the count fits no lower level",
			policy:   steadyLoad(nil),
			snap:     snap(24, 24).withHistory(drop3h).withRecs(flat(120, 24)...),
			want:     24,
			messages: []string{"load = 24, exactly averageValue 1 × 24 → 24", "steady at 24: need 24 now, 24 at most for the next 5 min: nothing lower fits → hold at 24", "unchanged at 24"},
		},
		{
			name:     "the dwell: half an hour after a scale-up, its level stands",
			policy:   steadyLoad(nil),
			snap:     snap(30, 6).withHistory(change(1200, 10, 30)).withRecs(flat(120, 6)...),
			want:     30,
			contains: "steady at 30: need 6 now, 30 at most",
		},
		{
			// A revert put the count back up 5 minutes ago: that is no scale-up of ours, so no
			// dwell holds it — the rules want the drop again, and the revert hold keeps it.
			name:   "a revert is no forecast of ours: the dwell does not follow it, the revert hold does",
			policy: steadyLoad(nil),
			snap: snap(30, 6).withHistory(change(3600, 30, 6), Event{At: t0.Add(-5 * time.Minute), Kind: EventRevert, From: 6, To: 30,
				Commit: "fedcba9876543210fedc", Reverts: "0123456789abcdef0123", Author: "Alice"}).withRecs(flat(120, 6)...),
			want: 30, held: true,
			has: ReasonRevertHold,
		},
		{
			name:     "without a window of needs nothing justifies a drop",
			policy:   steadyLoad(nil),
			snap:     snap(30, 6).withHistory(drop3h),
			want:     30,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyWaits},
			contains: "nothing lower fits",
		},
		{
			name:   "lands on minReplicas, not below",
			policy: func() *policy.Policy { p := steadyLoad(nil); p.Spec.MinReplicas = ptr(8); return p }(),
			snap:   snap(30, 2).withHistory(drop3h).withRecs(flat(120, 2)...),
			want:   8,
			codes:  []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
		},
		{
			name:   "a spent budget raises the cost of a change: a modest drop waits",
			policy: steadyLoad(&policy.Strategy{MaxChangesPerDay: ptr(12)}),
			snap:   snap(30, 18).withHistory(changes(12)...).withRecs(flat(120, 18)...),
			want:   30,
			messages: []string{"load = 18 / averageValue 1 → 18",
				"budget: 12 of 12 changes used in the last 24 h: a change costs 90 replica-hours instead of 22.5, so the scale-down to 18 waits → hold at 30"},
		},
		{
			name:   "a spent budget never freezes a high level: an excess that lasts until the budget frees a change comes down",
			policy: steadyLoad(&policy.Strategy{MaxChangesPerDay: ptr(12)}),
			// Twelve changes in the last three hours: the budget frees one in 21 hours.
			snap:     snap(30, 2).withHistory(recentChanges(12)...).withRecs(flat(120, 2)...),
			want:     2,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown, ReasonSteadyBudget},
			contains: "budget: 12 of 12 changes used in the last 24 h; the excess costs more than a commit is worth, so the scale-down goes ahead",
		},
		{
			name:   "maxChangesPerDay 0 is no budget",
			policy: steadyLoad(&policy.Strategy{MaxChangesPerDay: ptr(0)}),
			snap:   snap(30, 18).withHistory(changes(40)...).withRecs(flat(120, 18)...),
			want:   18,
		},
		{
			name:   "changeCost sets what a change is worth",
			policy: steadyLoad(&policy.Strategy{ChangeCost: ptr(1.0)}),
			snap:   snap(30, 26).withHistory(drop3h).withRecs(flat(120, 26)...),
			want:   26,
		},
		{
			name: "no scale-down while a metric is missing",
			policy: func() *policy.Policy {
				p := steadyLoad(nil)
				p.Spec.Metrics = append(p.Spec.Metrics, avgMetric("queue", 10))
				return p
			}(),
			snap: &Snapshot{Now: t0, Current: 30, Metrics: []MetricValue{{Value: 6}, missing("timeout")},
				History: []Event{drop3h}, Recommendations: flat(120, 6)},
			want: 30,
			has:  ReasonScaleDownBlocked,
		},
	})
}

// diurnalSeason is a day's need around t0 (11:00): 15 until 11:30, then a peak of 22 from
// 11:40 — yesterday's shape, for the memory.
func diurnalSeason(m int) int {
	switch {
	case m < 30:
		return 15
	case m < 40:
		return 18
	}
	return 22
}

func TestSteadyMemory(t *testing.T) {
	yesterday := season(SeasonDay, 120, 120, diurnalSeason)
	t.Run("holding for yesterday's peak: a scale-down that would have to come back up waits", func(t *testing.T) {
		s := snap(24, 15).withHistory(drop3h).withRecs(flat(120, 15)...)
		s.Seasons.Day = yesterday
		d := Decide(steadyLoad(nil), s)
		assert.Equal(t, 24, d.Desired, "%q", messages(d.Reasons))
		require.Len(t, d.Reasons, 2)
		assert.Equal(t, ReasonSteadyWaits, d.Reasons[1].Code)
		assert.Contains(t, d.Reasons[1].Message, "holding 24: need ≤ 15 for ")
		assert.Contains(t, d.Reasons[1].Message, "but yesterday's 11:45 peak (22) is 45 min away")
	})
	t.Run("without the memory the same needs come down", func(t *testing.T) {
		d := Decide(steadyLoad(nil), snap(24, 15).withHistory(drop3h).withRecs(flat(120, 15)...))
		assert.Equal(t, 15, d.Desired, "%q", messages(d.Reasons))
	})
	t.Run("a ramp the memory foresaw needs no confirmation, and goes up to where yesterday went", func(t *testing.T) {
		ramp := func(m int) int { return max(10, min(10+m/3, 40)) } // 10 until now, +1 every 3 minutes to 40
		s := &Snapshot{Now: t0, Current: 10, Metrics: vals(11), History: []Event{drop3h}}
		for m := 120; m >= 1; m-- {
			s.Recommendations = append(s.Recommendations, recAt(float64(60*m), ramp(-m)))
		}
		s.Seasons.Day = season(SeasonDay, 120, 120, ramp)
		d := Decide(steadyLoad(nil), s)
		assert.Greater(t, d.Desired, 11, "%q", messages(d.Reasons))
		assert.NotContains(t, codes(d.Reasons), ReasonSteadyConfirm)
		assert.Contains(t, messages(d.Reasons)[1], "(yesterday × 1")
	})
	t.Run("a memory that does not fit today's level is not used", func(t *testing.T) {
		s := snap(24, 15).withHistory(drop3h).withRecs(flat(120, 15)...)
		s.Seasons.Day = season(SeasonDay, 120, 120, func(m int) int { return 10 * diurnalSeason(m) })
		d := Decide(steadyLoad(nil), s)
		assert.Equal(t, 15, d.Desired, "ten times today's level: %q", messages(d.Reasons))
	})
	t.Run("the week's memory serves when yesterday's does not fit", func(t *testing.T) {
		s := snap(24, 15).withHistory(drop3h).withRecs(flat(120, 15)...)
		s.Seasons.Day = season(SeasonDay, 120, 120, func(int) int { return 60 })
		s.Seasons.Week = yesterday
		for i := range s.Seasons.Week {
			s.Seasons.Week[i].At = s.Seasons.Week[i].At.Add(-6 * SeasonDay)
		}
		d := Decide(steadyLoad(nil), s)
		assert.Equal(t, 24, d.Desired, "%q", messages(d.Reasons))
		assert.Contains(t, messages(d.Reasons)[1], "last week's 11:45 peak (22)")
	})
}

func TestSteadyTargetForms(t *testing.T) {
	steady := func(m policy.Metric) *policy.Policy {
		p := testPolicy(1, 100, m)
		p.Spec.Strategy = &policy.Strategy{Type: policy.StrategySteady}
		p.SetDefaults()
		return p
	}
	t.Run("Value: the ratio form's need", func(t *testing.T) {
		d := Decide(steady(valueMetric("latency", 0.3)), &Snapshot{Now: t0, Current: 6, Metrics: vals(0.33)})
		assert.Equal(t, 7, d.Desired, "need ceil(6 × 1.1) = 7: %q", messages(d.Reasons))
	})
	t.Run("step rule: the rule's step is the need", func(t *testing.T) {
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), &Snapshot{Now: t0, Current: 6, Metrics: vals(300)})
		assert.Equal(t, 8, d.Desired, "%q", messages(d.Reasons))
	})
	t.Run("step rule below its scale-down threshold asks for nothing: down in one step", func(t *testing.T) {
		// Quiet for the last two hours but ten minutes long ago (needs of 0): down to minReplicas.
		s := &Snapshot{Now: t0, Current: 6, Metrics: vals(10), History: []Event{change(3*3600, 3, 6)},
			Recommendations: then(older(10, 6, 110), flat(110, 0)...)}
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), s)
		assert.Equal(t, 1, d.Desired, "%q", messages(d.Reasons))
		assert.Equal(t, "rps = 10 < scaleDown.threshold 50: asks for nothing → 0", d.Reasons[0].Message)
		assert.Equal(t, 0, d.Recommendation, "what the window remembers, and promclient recomputes")
	})
	t.Run("step rule between its thresholds keeps the count", func(t *testing.T) {
		s := &Snapshot{Now: t0, Current: 6, Metrics: vals(70), History: []Event{change(7200, 3, 6)}, Recommendations: flat(120, 6)}
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), s)
		assert.Equal(t, 6, d.Desired, "%q", messages(d.Reasons))
	})
}

func TestSteadyWindowsAndDefaults(t *testing.T) {
	p := steadyLoad(nil)
	require.NoError(t, func() error {
		p.Spec.TargetRef = policy.TargetRef{Kind: "Deployment", Name: "web"}
		return p.Validate()
	}())
	assert.Equal(t, 0, *p.Spec.Strategy.HeadroomPercent)
	assert.Equal(t, 24, *p.Spec.Strategy.MaxChangesPerDay)
	assert.Equal(t, 7200, *p.Spec.Strategy.ScaleDownDelaySeconds)
	assert.Equal(t, 7200, *p.Spec.Strategy.HorizonSeconds)
	assert.Nil(t, p.Spec.Strategy.ChangeCost, "by default a change is worth 45 minutes of the count")
	back, ahead, ok := MemoryWindow(p)
	require.True(t, ok)
	assert.Equal(t, 2*time.Hour, back, "the look-back")
	assert.Equal(t, 2*time.Hour, ahead, "the horizon")
	h, s := Windows(p)
	assert.Equal(t, SeasonWeek+2*time.Hour, h, "the counts of a week ago, for the memory's needs")
	assert.Equal(t, 2*time.Hour, s, "the look-back's needs")

	p = steadyLoad(&policy.Strategy{ScaleDownDelaySeconds: ptr(600), HorizonSeconds: ptr(3600)})
	back, ahead, _ = MemoryWindow(p)
	assert.Equal(t, time.Hour, back, "the fit window, when the look-back is shorter")
	assert.Equal(t, time.Hour, ahead)
	_, s = Windows(p)
	assert.Equal(t, time.Hour, s, "the trend reads an hour of needs, whatever the look-back")

	p = steadyLoad(nil)
	p.Spec.Schedule = "@every 30m"
	back, ahead, _ = MemoryWindow(p)
	assert.Equal(t, 6*time.Hour, back, "a policy evaluated every 30 minutes looks back 12 evaluations")
	assert.Equal(t, 6*time.Hour, ahead, "and plans 12 ahead")
	_, s = Windows(p)
	assert.Equal(t, 24*time.Hour, s, "a policy evaluated less often than every 2 minutes reads a day of needs: the lone burst's short budget")

	rules := loadPolicy(nil)
	rules.Spec.Strategy = &policy.Strategy{Type: policy.StrategyRules}
	rules.SetDefaults()
	assert.Nil(t, rules.Spec.Strategy.HeadroomPercent, "Rules takes no Steady defaults")
	assert.False(t, IsSteady(rules))
	_, _, ok = MemoryWindow(rules)
	assert.False(t, ok, "only Steady remembers")
}

// TestSteadyRecommendationIsTheNeed: what a Steady decision remembers, and what promclient
// recomputes for its window, is the need without tolerance.
func TestSteadyRecommendationIsTheNeed(t *testing.T) {
	p := steadyLoad(nil)
	p.Spec.Tolerance = ptr(0.5)
	rec, _ := Recommend(p, 10, vals(12))
	assert.Equal(t, 12, rec)
	d := Decide(p, snap(10, 12))
	assert.Equal(t, 12, d.Recommendation)
}

func TestRemembered(t *testing.T) {
	p := steadyLoad(nil)
	p.Spec.Metrics = append(p.Spec.Metrics, avgMetric("queue", 10))
	need, ok := Remembered(p, 5, []MetricValue{{Value: 12}, {Value: 30}})
	assert.True(t, ok)
	assert.Equal(t, 12, need)
	need, ok = Remembered(p, 5, []MetricValue{missing("gone"), {Value: 30}})
	assert.True(t, ok, "one metric is enough")
	assert.Equal(t, 5, need, "no scale-down while one is missing: the count then")
	_, ok = Remembered(p, 5, []MetricValue{missing("gone"), missing("gone")})
	assert.False(t, ok, "a gap in the data is not a need")
}

func TestSteadyPlan(t *testing.T) {
	levels := func(ls ...int) *[steadyArray]int {
		var out [steadyArray]int
		copy(out[:], ls)
		return &out
	}
	tests := []struct {
		name        string
		lv          *[steadyArray]int
		n, c, now   int
		cost        float64
		keep        bool
		level, next int
	}{
		{"keep what covers the horizon", levels(5, 5, 5, 5), 4, 6, 5, 10, true, 6, 0},
		{"come down when it pays", levels(2, 2, 2, 2), 4, 10, 2, 1, false, 2, 0},
		{"not when it does not", levels(2, 2, 2, 2), 4, 10, 2, 100, true, 10, 0},
		{"not for a dip that ends", levels(2, 9, 9, 9), 4, 10, 2, 5, true, 10, 0},
		{"up when the band is above now", levels(12, 12, 12, 12), 4, 10, 12, 1, false, 12, 0},
		{"up to cover a climb in one step when changes cost", levels(11, 12, 13, 14), 4, 10, 11, 100, false, 14, 0},
		{"in steps when they are cheap", levels(11, 12, 13, 14), 4, 10, 11, 0.1, false, 11, 12},
		{"the first block by now's need: a forecast of later goes when it comes", levels(12, 12, 12, 12), 4, 10, 10, 1, true, 10, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := steadyPlan(tt.lv, tt.n, 0.5, 0, tt.c, tt.now, tt.cost)
			assert.Equal(t, tt.keep, pl.keep)
			assert.Equal(t, tt.level, pl.level)
			assert.Equal(t, tt.next, pl.next)
		})
	}
}

func TestNeedTrend(t *testing.T) {
	line := []Recommendation{recAt(180, 4), recAt(120, 6), recAt(60, 8)}
	assert.InDelta(t, 2.0/60, needTrend(line, t0, time.Hour, 10), 1e-12, "exactly linear: 2 a minute")
	assert.InDelta(t, 2.0/60, needTrend(append([]Recommendation{recAt(7200, 90)}, line...), t0, time.Hour, 10), 1e-12,
		"a need older than the window is not fitted")
	assert.Zero(t, needTrend(line[2:], t0, time.Hour, 10), "two points are no trend")
	assert.Less(t, needTrend(line, t0, time.Hour, 2), 0.0, "a fall is a negative slope")
}

// TestSteadyJitter pins what jitter adds to a change's cost: nothing on a smooth series,
// 2 × the mean step ÷ the mean on a jittery one, at most steadyJitterMax, and only over the
// look-back.
func TestSteadyJitter(t *testing.T) {
	cut := t0.Add(-2 * time.Hour)
	for _, tc := range []struct {
		name string
		recs []Recommendation
		need int
		want float64
	}{
		{"a flat series adds nothing", flat(120, 10), 10, 0},
		{"a steady ramp: steps of 1 around a mean of 4", []Recommendation{recAt(240, 2), recAt(180, 3), recAt(120, 4), recAt(60, 5)}, 6, 2 * 1.0 / 4},
		{"one step of 5 in 4 steps, mean 8", []Recommendation{recAt(240, 5), recAt(180, 5), recAt(120, 10), recAt(60, 10)}, 10, 2 * (5.0 / 4) / 8},
		{"a series that jumps by its mean: at most steadyJitterMax", []Recommendation{recAt(240, 0), recAt(180, 4), recAt(120, 0), recAt(60, 4)}, 0, steadyJitterMax},
		{"two points are no jitter", []Recommendation{recAt(60, 1)}, 9, 0},
		{"needs older than the look-back do not count", then(older(120, 50, 120), flat(60, 10)...), 10, 0},
		{"nothing needed: no jitter", flat(60, 0), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.InDelta(t, tc.want, steadyJitterOf(tc.recs, tc.need, cut), 1e-9)
		})
	}
}

func TestCountAt(t *testing.T) {
	h := []Event{change(7200, 4, 6), change(3600, 6, 9)}
	assert.Equal(t, 4, CountAt(h, t0.Add(-3*time.Hour), 9), "before the oldest event: its From")
	assert.Equal(t, 6, CountAt(h, t0.Add(-7200*time.Second), 9), "an event at the instant has set it")
	assert.Equal(t, 9, CountAt(h, t0, 9))
	assert.Equal(t, 5, CountAt(nil, t0, 5), "no events: the current count")
}

func TestExplainerDurationAndClock(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{2 * time.Hour, "2 h"}, {90 * time.Minute, "1 h 30 min"}, {40 * time.Minute, "40 min"}, {90 * time.Second, "90s"}} {
		e := newExplainer(0)
		e.begin(ReasonSteadyWaits).dur(tt.d).str(" ").clock(t0.Add(-2 * time.Hour)).end()
		assert.Equal(t, tt.want+" 09:00", e.finish()[0].Message)
	}
	assert.True(t, strings.HasPrefix(t0.Format(time.TimeOnly), "11:00"))
}

// every5 is a policy of the Steady defaults evaluated every 5 minutes, with st's knobs.
func every5(st *policy.Strategy) *policy.Policy {
	p := steadyLoad(st)
	p.Spec.Schedule = "@every 5m"
	return p
}

// burst5 is a need every 5 minutes, the oldest `len(needs) × 5` minutes before t0 and the
// newest 5 minutes before it.
func burst5(needs ...int) []Recommendation {
	out := make([]Recommendation, len(needs))
	for i, n := range needs {
		out[i] = recAt(float64(300*(len(needs)-i)), n)
	}
	return out
}

// jumpy is n needs every 5 minutes alternating lo and hi (a jitter of 1: successive needs
// differ by their mean).
func jumpy(n, lo, hi int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = lo
		if i%2 == 1 {
			out[i] = hi
		}
	}
	return out
}

// TestSteadyBursty pins the rule for a bursty series evaluated less often than every 2 minutes
// (docs/steady.md, "A bursty series"): up to the need at once, and down only once the excess
// held since the last change has paid for a change — to the highest need of the longest such
// stretch.
func TestSteadyBursty(t *testing.T) {
	upAgo := func(minutes int) Event { return change(float64(60*minutes), 3, 8) }
	runDecideCases(t, []decideCase{
		{
			name:     "up: a need above the count is covered at once, to the need",
			policy:   every5(nil),
			snap:     snap(3, 8).withHistory(drop3h).withRecs(burst5(jumpy(24, 1, 3)...)...),
			want:     8,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "bursty: need 8 > 3: up to it; the count comes down once the excess has paid for a change",
		},
		{
			// 8 held for 75 minutes over needs of at most 3: 5 × 1.25 h = 6.25 replica-hours,
			// more than a change of 8 replicas costs (45 minutes of the count: 6).
			name:     "down: the excess held since the last change has paid for a change",
			policy:   every5(nil),
			snap:     snap(8, 2).withHistory(upAgo(75)).withRecs(burst5(append(jumpy(9, 2, 8), jumpy(14, 1, 3)...)...)...),
			want:     3,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
			contains: "bursty: need ≤ 3 while holding 8: the excess (6.3 replica-hours) has paid for a change (6)",
		},
		{
			name:     "hold: an excess of an hour has not paid for a change yet",
			policy:   every5(nil),
			snap:     snap(8, 2).withHistory(upAgo(60)).withRecs(burst5(append(jumpy(12, 2, 8), jumpy(11, 1, 3)...)...)...),
			want:     8,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyWaits},
			contains: "bursty: holding 8: need ≤ 3 for 1 h, an excess of 5 replica-hours, less than a change costs (6)",
		},
		{
			// With a change worth 3 replica-hours, 2 for the last 40 minutes has paid (4), and
			// so has 6 for the 100 minutes since the change (3.3): the longer stretch says how
			// high a burst comes back, so the count comes down to 6, not 2.
			name:   "down to the highest need of the longest stretch that paid",
			policy: every5(&policy.Strategy{ChangeCost: ptr(3.0)}),
			snap: snap(8, 2).withHistory(change(6000, 3, 8)).
				withRecs(burst5(append(append(jumpy(4, 1, 8), jumpy(11, 1, 3)...), append([]int{6}, jumpy(7, 1, 2)...)...)...)...),
			want:     6,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
			contains: "bursty: need ≤ 6 while holding 8: the excess (3.3 replica-hours) has paid for a change (3)",
		},
		{
			// Two changes of a budget of 2 in the last 24 h, the older 4 h ago: a change costs
			// 4 × 6 = 24, and 8 is taken to last 20 h more, so 40 minutes of 5 fewer already
			// weigh 5 × 20.7 h.
			name:   "budget spent: a level is taken to last until the budget frees a change",
			policy: every5(&policy.Strategy{MaxChangesPerDay: ptr(2)}),
			snap: snap(8, 2).withHistory(change(4*3600, 8, 3), upAgo(40)).
				withRecs(burst5(append(jumpy(16, 2, 8), jumpy(7, 1, 3)...)...)...),
			want:     3,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
			contains: "the excess (103.3 replica-hours, until the budget frees a change) has paid for a change (24)",
		},
	})

	// The rule is for bursty series sampled coarsely: a smooth one, or one evaluated every
	// minute (whose forecast sees 120 needs, and whose jumps the confirmation filters), keeps
	// the plan on the forecast.
	for _, tc := range []struct {
		name string
		p    *policy.Policy
		recs []Recommendation
	}{
		{"a smooth series every 5 minutes", every5(nil), burst5(append(make([]int, 9), 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3)...)},
		{"a bursty series every minute", steadyLoad(nil), flatJumpy(120)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.recs[:9*len(tc.recs)/23] {
				tc.recs[i].Replicas = 8
			}
			d := Decide(tc.p, snap(8, 2).withHistory(upAgo(75)).withRecs(tc.recs...))
			for _, r := range d.Reasons {
				assert.NotContains(t, r.Message, "bursty", "reasons: %q", messages(d.Reasons))
			}
			assert.Contains(t, codes(d.Reasons), ReasonSteadyScaleDown, "the plan comes down too: %q", messages(d.Reasons))
		})
	}
}

// TestSteadyLoneBurst pins the lone burst on a bursty series (steadyLoneBurst, docs/steady.md,
// "A lone burst"): the first evaluation above the count is left uncovered while the evaluations
// short over the last day stay within 1 % of a day's (2 of 288 at 5 minutes) and the burst is at
// most half again the count; a second one above it, a spent budget or a deeper burst is covered
// at once.
func TestSteadyLoneBurst(t *testing.T) {
	// 4 held for a day and more over needs of 1 and 3 every 5 minutes (a jitter of 1).
	held := change(30*3600, 8, 4)
	day := func(n int, shortAt ...int) []int { // n needs, 6 (short at a count of 4) at shortAt
		needs := jumpy(n, 1, 3)
		for _, i := range shortAt {
			needs[i] = 6
		}
		return needs
	}
	runDecideCases(t, []decideCase{
		{
			name:     "a lone burst within the short budget is not chased",
			policy:   every5(nil),
			snap:     snap(4, 6).withHistory(held).withRecs(burst5(day(24)...)...),
			want:     4,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyConfirm},
			contains: "bursty: holding 4: need 6 is one evaluation above the count; 1 of the last 288 evaluations short (0.3 %), budget 1 %: a lone burst is not chased, a second one is",
		},
		{
			name:     "a second evaluation above the count is covered at once",
			policy:   every5(nil),
			snap:     snap(4, 6).withHistory(held).withRecs(burst5(day(24, 23)...)...),
			want:     6,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "bursty: need 6 > 4: up to it",
		},
		{
			name:     "one evaluation short in the last day: a second lone burst is still within 1 %",
			policy:   every5(nil),
			snap:     snap(4, 6).withHistory(held).withRecs(burst5(day(288, 100)...)...),
			want:     4,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyConfirm},
			contains: "2 of the last 288 evaluations short (0.7 %), budget 1 %",
		},
		{
			name:     "two evaluations short in the last day: the budget is spent, the burst is covered",
			policy:   every5(nil),
			snap:     snap(4, 6).withHistory(held).withRecs(burst5(day(288, 100, 200)...)...),
			want:     6,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "bursty: need 6 > 4: up to it",
		},
		{
			// Evaluations 0 and 5 are 25 h and 24 h 35 min before now.
			name:     "evaluations short more than a day ago do not count",
			policy:   every5(nil),
			snap:     snap(4, 6).withHistory(held).withRecs(burst5(day(300, 0, 5)...)...),
			want:     4,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyConfirm},
			contains: "1 of the last 288 evaluations short (0.3 %)",
		},
		{
			name:     "a burst more than half again the count is covered at once",
			policy:   every5(nil),
			snap:     snap(4, 7).withHistory(held).withRecs(burst5(day(24)...)...),
			want:     7,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "bursty: need 7 > 4: up to it",
		},
		{
			// The evaluation 5 minutes ago (a need of 3) was short at the count of 2 then; the
			// count is 4 again since a minute ago.
			name:     "an evaluation short at the count then counts against the budget",
			policy:   every5(nil),
			snap:     snap(4, 6).withHistory(held, change(420, 4, 2), change(60, 2, 4)).withRecs(burst5(day(288, 100)...)...),
			want:     6,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "bursty: need 6 > 4: up to it",
		},
	})
}

// flatJumpy is a need every minute for the last n minutes alternating 1 and 3.
func flatJumpy(n int) []Recommendation {
	out := flat(n, 1)
	for i := range out {
		if i%2 == 1 {
			out[i].Replicas = 3
		}
	}
	return out
}

// TestSteadyNoisyPeaks pins the season's peaks (steadyNoisyPeaks): on a noisy series the band
// over each block of the horizon is never below the highest need the remembered day had in that
// block, scaled to today; a smooth series keeps the season's means.
func TestSteadyNoisyPeaks(t *testing.T) {
	noisy := func(m int) int { // 18 and 22 in turn: a jitter of 0.4
		if m%2 == 0 {
			return 18
		}
		return 22
	}
	smooth := func(int) int { return 20 }
	// peaksAhead is base until 10 minutes after now, then a one-minute peak of 32 every 5
	// minutes.
	peaksAhead := func(base func(int) int) func(int) int {
		return func(m int) int {
			if m >= 10 && m%5 == 2 {
				return 32
			}
			return base(m)
		}
	}
	tests := []struct {
		name      string
		today     func(int) int
		yesterday func(int) int
		want      func(t *testing.T, d Decision)
	}{
		{
			name: "a noisy series holds the count for yesterday's one-minute peaks ahead", today: noisy, yesterday: peaksAhead(noisy),
			want: func(t *testing.T, d Decision) {
				assert.Equal(t, 40, d.Desired, "%q", messages(d.Reasons))
				assert.Contains(t, messages(d.Reasons)[1], "but yesterday's 11:10 peak (")
			},
		},
		{
			name: "the same noisy series comes down when yesterday had no peaks ahead", today: noisy, yesterday: noisy,
			want: func(t *testing.T, d Decision) {
				assert.Less(t, d.Desired, 30, "%q", messages(d.Reasons))
				assert.GreaterOrEqual(t, d.Desired, 22, "%q", messages(d.Reasons))
			},
		},
		{
			name: "a smooth series keeps the season's means: yesterday's peaks need not recur", today: smooth, yesterday: peaksAhead(smooth),
			want: func(t *testing.T, d Decision) {
				assert.Less(t, d.Desired, 30, "%q", messages(d.Reasons))
				assert.Equal(t, ReasonSteadyScaleDown, d.Reasons[1].Code, "%q", messages(d.Reasons))
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(40, 20).withHistory(drop3h)
			for m := 120; m >= 1; m-- {
				s.Recommendations = append(s.Recommendations, recAt(float64(60*m), tc.today(-m)))
			}
			s.Seasons.Day = season(SeasonDay, 120, 120, tc.yesterday)
			d := Decide(steadyLoad(nil), s)
			require.Len(t, d.Reasons, 2, "%q", messages(d.Reasons))
			tc.want(t, d)
		})
	}
}

// TestShortWithin pins the count of a day's evaluations short that the lone burst's budget reads
// (steadyLoneBurst): one walk of the needs and the history together must give what CountAt gives
// need by need — an event at the instant of a need already counts, a need before the oldest
// event is held to its From, one without history to the current count, and a need older than
// a day or above the bounds' maximum is not short (beyond it).
func TestShortWithin(t *testing.T) {
	hist := []Event{change(7200, 4, 6), change(3600, 6, 3)}
	for _, tc := range []struct {
		name    string
		recs    []Recommendation
		history []Event
		max     int
		want    int
	}{
		{name: "no needs", max: 20, history: hist, want: 0},
		{name: "a need above the count Git held then", max: 20, history: hist,
			recs: []Recommendation{recAt(5400, 7), recAt(1800, 4)}, want: 2},
		{name: "at or below the count then", max: 20, history: hist,
			recs: []Recommendation{recAt(5400, 6), recAt(1800, 3)}, want: 0},
		{name: "an event at the need's instant already counts", max: 20, history: hist,
			recs: []Recommendation{recAt(7200, 5), recAt(3600, 3)}, want: 0},
		{name: "before the oldest event: its From", max: 20, history: hist,
			recs: []Recommendation{recAt(9000, 5), recAt(8000, 4)}, want: 1},
		{name: "without history: the current count", max: 20,
			recs: []Recommendation{recAt(600, 5), recAt(300, 6)}, want: 1},
		{name: "older than a day", max: 20, history: hist,
			recs: []Recommendation{recAt(24*3600+300, 9), recAt(24*3600, 9), recAt(5400, 7)}, want: 1},
		{name: "above the maximum is not short", max: 6, history: hist,
			recs: []Recommendation{recAt(5400, 9), recAt(1800, 9)}, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Now: t0, Current: 5, History: tc.history, Recommendations: tc.recs}
			b := bounds{min: 1, max: tc.max}
			got := shortWithin(s, b, s.Current)
			assert.Equal(t, tc.want, got)
			oracle := 0
			for _, r := range tc.recs {
				if r.At.After(t0.Add(-steadyDay)) && min(r.Replicas, b.max) > CountAt(tc.history, r.At, s.Current) {
					oracle++
				}
			}
			assert.Equal(t, oracle, got, "the walk agrees with CountAt need by need")
		})
	}
}
