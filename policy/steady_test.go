package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// steadyLoad is loadPolicy with the Steady strategy and its defaults: no headroom, a budget of
// 24 changes a day, a look-back of two hours; bounds [1, 100].
func steadyLoad(st *Strategy) *Policy {
	p := loadPolicy(nil)
	if st == nil {
		st = &Strategy{}
	}
	st.Type = StrategySteady
	p.Spec.Strategy = st
	p.SetDefaults()
	return p
}

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

// drop3h is a scale-down from 40 to 30 three hours before t0: the last change is older than
// the look-back, and the count a day ago was 40.
var drop3h = change(3*3600, 40, 30)

func TestSteadyScaleUp(t *testing.T) {
	// Ten needs six minutes apart rising from 11 to 19 (10 an hour), then 20 now.
	var rising []Recommendation
	for m := 54; m >= 6; m -= 6 {
		rising = append(rising, recAt(float64(60*m), 20-m/6))
	}
	runDecideCases(t, []decideCase{
		{
			name:     "confirm: a need that first exceeds the count waits one evaluation",
			policy:   steadyLoad(nil),
			snap:     snap(10, 14).withRecs(flat(10, 9)...),
			want:     10,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyConfirm},
			messages: []string{"load = 14 / averageValue 1 → 14", "need 14 > 10, up from 9 60s before: the next evaluation confirms it before a commit → hold at 10"},
		},
		{
			name:     "confirmed: up to the need at once",
			policy:   steadyLoad(nil),
			snap:     snap(10, 12).withRecs(flat(60, 12)...),
			want:     12,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			messages: []string{"load = 12 / averageValue 1 → 12", "need 12 > 10 → 12"},
		},
		{
			name:     "without a window of needs there is nothing to confirm: up at once",
			policy:   steadyLoad(nil),
			snap:     snap(10, 12),
			want:     12,
			messages: []string{"load = 12 / averageValue 1 → 12", "need 12 > 10 → 12"},
		},
		{
			name:     "a rising need: its trend projected an hour ahead",
			policy:   steadyLoad(nil),
			snap:     snap(18, 20).withRecs(rising...),
			want:     30,
			messages: []string{"load = 20 / averageValue 1 → 20", "need 20 > 18, rising 10/h over the last 3600s: 30 in 3600s → 30"},
		},
		{
			name:   "a jump: plan for half the last rise again",
			policy: steadyLoad(nil),
			// A spike: 6 for the hour, 12 a minute ago (confirmed above the count), 35 now.
			snap:     snap(6, 35).withRecs(then(older(59, 6, 1), recAt(60, 12))...),
			want:     47,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp},
			contains: "jumped 12 → 35 in 60s: plan for 46.5 → 47",
		},
		{
			name:     "headroom: past the need by headroomPercent",
			policy:   steadyLoad(&Strategy{HeadroomPercent: ptr(20)}),
			snap:     snap(10, 12).withRecs(flat(60, 12)...),
			want:     15,
			messages: []string{"load = 12 / averageValue 1 → 12", "need 12 > 10; headroom 20 % → 14.4 → 15"},
		},
		{
			name:     "the budget never holds back a scale-up the need requires",
			policy:   steadyLoad(&Strategy{MaxChangesPerDay: ptr(12)}),
			snap:     snap(10, 12).withHistory(changes(12)...).withRecs(flat(60, 12)...),
			want:     12,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp, ReasonSteadyBudget},
			contains: "budget: 12 of 12 changes used in the last 24 h; a scale-up the need requires goes ahead",
		},
		{
			name:   "bounded by maxReplicas",
			policy: func() *Policy { p := steadyLoad(nil); p.Spec.MaxReplicas = 20; return p }(),
			snap:   snap(16, 25).withRecs(flat(60, 25)...),
			want:   20,
			codes:  []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp, ReasonBounded},
		},
		{
			name:   "no tolerance: 5 % over the count is short, and Steady moves",
			policy: func() *Policy { p := steadyLoad(nil); p.Spec.Tolerance = ptr(0.1); return p }(),
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
			snap: snap(40, 6).withHistory(change(1800, 6, 40)).
				withRecs(recAt(240, 30), recAt(180, 24), recAt(120, 18), recAt(60, 12)),
			want:     40,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyWaits},
			contains: "steady at 40: need 6 still falling 6 a minute over the last 300s; the scale-down lands where it ends → hold at 40",
		},
		{
			name:   "a spike that ended comes down in one step after 3 minutes",
			policy: steadyLoad(nil),
			snap: snap(40, 6).withHistory(change(1800, 6, 40)).
				withRecs(then(older(20, 38, 4), flat(4, 6)...)...),
			want:     6,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
			messages: []string{"load = 6 / averageValue 1 → 6", "scale-down: need at most 6 for the last 180s (a drop of 85 % waits 180s) → 6"},
		},
		{
			name:   "after a climb within the look-back, no lower than where it started",
			policy: steadyLoad(nil),
			snap: snap(40, 6).withHistory(change(2400, 30, 8), change(1800, 8, 20), change(1740, 20, 40)).
				withRecs(then(older(20, 38, 4), flat(4, 6)...)...),
			want:     8,
			contains: "scale-down: need at most 6 for the last 180s (a drop of 80 % waits 180s); not below 8, where the climb 1800s ago started → 8",
		},
		{
			name:     "half the count waits 8 minutes",
			policy:   steadyLoad(nil),
			snap:     snap(20, 10).withHistory(drop3h).withRecs(then(older(60, 20, 6), flat(6, 10)...)...),
			want:     20,
			messages: []string{"load = 10 / averageValue 1 → 10", "steady at 20: need 10; a scale-down to 10 (50 % fewer) waits: demand has been lower for 420s of the 480s it needs → hold at 20"},
		},
		{
			name:     "half the count, 8 minutes on: down in one step",
			policy:   steadyLoad(nil),
			snap:     snap(20, 10).withHistory(drop3h).withRecs(then(older(60, 20, 8), flat(8, 10)...)...),
			want:     10,
			messages: []string{"load = 10 / averageValue 1 → 10", "scale-down: need at most 10 for the last 480s (a drop of 50 % waits 480s) → 10"},
		},
		{
			name:     "a peak inside the window sets the level",
			policy:   steadyLoad(nil),
			snap:     snap(40, 6).withHistory(drop3h).withRecs(then(older(57, 6, 3), recAt(180, 6), recAt(120, 12), recAt(60, 6))...),
			want:     12,
			contains: "scale-down: need at most 12 for the last 180s (a drop of 70 % waits 180s) → 12",
		},
		{
			name:     "a shallow drift waits for the whole look-back",
			policy:   steadyLoad(nil),
			snap:     snap(30, 26).withHistory(drop3h).withRecs(flat(100, 26)...),
			want:     30,
			contains: "steady at 30: need 26; a scale-down to 26 (13 % fewer) waits: demand has been lower for 6060s of the 7200s it needs",
		},
		{
			name:     "a shallow drift comes down after the whole look-back",
			policy:   steadyLoad(nil),
			snap:     snap(30, 26).withHistory(drop3h).withRecs(flat(120, 26)...),
			want:     26,
			messages: []string{"load = 26 / averageValue 1 → 26", "scale-down: need at most 26 for the last 7200s, the whole look-back → 26"},
		},
		{
			name:     "a shallow drift waits while the count a day ago was lower",
			policy:   steadyLoad(nil),
			snap:     snap(30, 26).withHistory(change(3*3600, 20, 30)).withRecs(flat(120, 26)...),
			want:     30,
			contains: "steady at 30: need 26; a scale-down to 26 (13 % fewer) waits while demand grows: the count a day ago was 20",
		},
		{
			name:   "a shallow drift waits while the need's trend rises",
			policy: steadyLoad(nil),
			snap: snap(30, 26).withHistory(drop3h).
				withRecs(then(older(60, 24, 60), flat(60, 26)...)...),
			want:     30,
			contains: "waits while demand grows: the need's trend over the last 7200s rises",
		},
		{
			name:     "the count fits no lower level",
			policy:   steadyLoad(nil),
			snap:     snap(24, 24).withHistory(drop3h).withRecs(flat(120, 24)...),
			want:     24,
			messages: []string{"load = 24 within tolerance 0 of averageValue 1 × 24 → 24", "steady at 24: need 24 fits no lower count → hold at 24", "unchanged at 24"},
		},
		{
			name:     "the wait counts from the last change",
			policy:   steadyLoad(nil),
			snap:     snap(30, 15).withHistory(change(300, 10, 30)).withRecs(flat(60, 15)...),
			want:     30,
			contains: "demand has been lower for 300s of the 480s it needs",
		},
		{
			name:     "without a window of needs nothing justifies a drop",
			policy:   steadyLoad(nil),
			snap:     snap(30, 6).withHistory(drop3h),
			want:     30,
			contains: "demand has been lower for 0s of the 180s it needs",
		},
		{
			name:   "lands on minReplicas, not below",
			policy: func() *Policy { p := steadyLoad(nil); p.Spec.MinReplicas = ptr(8); return p }(),
			snap:   snap(30, 2).withHistory(drop3h).withRecs(flat(60, 2)...),
			want:   8,
			codes:  []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
		},
		{
			name:     "a spent budget holds a scale-down",
			policy:   steadyLoad(&Strategy{MaxChangesPerDay: ptr(12)}),
			snap:     snap(30, 6).withHistory(changes(12)...).withRecs(flat(60, 6)...),
			want:     30,
			messages: []string{"load = 6 / averageValue 1 → 6", "budget: 12 of 12 changes used in the last 24 h: the scale-down to 6 waits → hold at 30"},
		},
		{
			name:   "maxChangesPerDay 0 is no budget",
			policy: steadyLoad(&Strategy{MaxChangesPerDay: ptr(0)}),
			snap:   snap(30, 6).withHistory(changes(40)...).withRecs(flat(60, 6)...),
			want:   6,
		},
		{
			name: "no scale-down while a metric is missing",
			policy: func() *Policy {
				p := steadyLoad(nil)
				p.Spec.Metrics = append(p.Spec.Metrics, avgMetric("queue", 10))
				return p
			}(),
			snap: &Snapshot{Now: t0, Current: 30, Metrics: []MetricValue{{Value: 6}, missing("timeout")},
				History: []Event{drop3h}, Recommendations: flat(60, 6)},
			want: 30,
			has:  ReasonScaleDownBlocked,
		},
	})
}

func TestSteadyTargetForms(t *testing.T) {
	steady := func(m Metric) *Policy {
		p := testPolicy(1, 100, m)
		p.Spec.Strategy = &Strategy{Type: StrategySteady}
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
		// Quiet for the last 10 minutes (needs of 0), busier before: down to minReplicas at once.
		s := &Snapshot{Now: t0, Current: 6, Metrics: vals(10), History: []Event{change(3*3600, 3, 6)},
			Recommendations: then(older(50, 6, 10), flat(10, 0)...)}
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), s)
		assert.Equal(t, 1, d.Desired, "%q", messages(d.Reasons))
		assert.Equal(t, "rps = 10 < scaleDown.threshold 50: asks for nothing → 0", d.Reasons[0].Message)
		assert.Equal(t, 0, d.Recommendation, "what the window remembers, and promclient recomputes")
	})
	t.Run("step rule between its thresholds keeps the count", func(t *testing.T) {
		s := &Snapshot{Now: t0, Current: 6, Metrics: vals(70), History: []Event{change(7200, 3, 6)}, Recommendations: flat(60, 6)}
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), s)
		assert.Equal(t, 6, d.Desired, "%q", messages(d.Reasons))
	})
}

func TestSteadyWindowsAndDefaults(t *testing.T) {
	p := steadyLoad(nil)
	require.NoError(t, func() error { p.Spec.TargetRef = TargetRef{Kind: "Deployment", Name: "web"}; return p.Validate() }())
	assert.Equal(t, 0, *p.Spec.Strategy.HeadroomPercent)
	assert.Equal(t, 24, *p.Spec.Strategy.MaxChangesPerDay)
	assert.Equal(t, 7200, *p.Spec.Strategy.ScaleDownDelaySeconds)
	h, s := p.Windows()
	assert.Equal(t, 24*time.Hour, h, "the budget and the growth check read a day of Git history")
	assert.Equal(t, 2*time.Hour, s, "the look-back's needs")

	p = steadyLoad(&Strategy{MaxChangesPerDay: ptr(0), ScaleDownDelaySeconds: ptr(600)})
	h, s = p.Windows()
	assert.Equal(t, 24*time.Hour, h, "a day ago is a day ago, with or without a budget")
	assert.Equal(t, time.Hour, s, "the trend reads an hour of needs, whatever the delay")

	rules := loadPolicy(nil)
	rules.Spec.Strategy = &Strategy{Type: StrategyRules}
	rules.SetDefaults()
	assert.Nil(t, rules.Spec.Strategy.HeadroomPercent, "Rules takes no Steady defaults")
	assert.False(t, rules.IsSteady())
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

func TestNeedTrend(t *testing.T) {
	line := []Recommendation{recAt(180, 4), recAt(120, 6), recAt(60, 8)}
	assert.InDelta(t, 2.0/60, needTrend(line, t0, time.Hour, 10), 1e-12, "exactly linear: 2 a minute")
	assert.InDelta(t, 2.0/60, needTrend(append([]Recommendation{recAt(7200, 90)}, line...), t0, time.Hour, 10), 1e-12,
		"a need older than the window is not fitted")
	assert.Zero(t, needTrend(line[2:], t0, time.Hour, 10), "two points are no trend")
	assert.Less(t, needTrend(line, t0, time.Hour, 2), 0.0, "a fall is a negative slope")
}

func TestCountAt(t *testing.T) {
	h := []Event{change(7200, 4, 6), change(3600, 6, 9)}
	assert.Equal(t, 4, CountAt(h, t0.Add(-3*time.Hour), 9), "before the oldest event: its From")
	assert.Equal(t, 6, CountAt(h, t0.Add(-7200*time.Second), 9), "an event at the instant has set it")
	assert.Equal(t, 9, CountAt(h, t0, 9))
	assert.Equal(t, 5, CountAt(nil, t0, 5), "no events: the current count")
}
