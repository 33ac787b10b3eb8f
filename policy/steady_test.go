package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// steadyLoad is loadPolicy with the Steady strategy and its defaults: headroom 15 %, a budget of
// 24 changes a day, a scale-down delay of an hour; bounds [1, 100].
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

func TestSteadyLadder(t *testing.T) {
	var got []int
	for x := 0.5; x <= 40; {
		r := rungUp(x)
		got = append(got, r)
		x = float64(r) + 0.5
	}
	assert.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 21, 24, 27, 30, 33, 37, 41}, got)
	assert.Equal(t, 0, rungUp(0))
	assert.Equal(t, 24, rungUp(24), "a rung is its own rung")
	assert.Equal(t, 24, rungUp(21.000001))
	assert.Equal(t, MaxReplicaCount, rungUp(1e300))
}

func TestSteadyRules(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:     "up: past the need with headroom, rounded up to a rung",
			policy:   steadyLoad(nil),
			snap:     snap(16, 19).withHistory(change(7200, 12, 16)).withRecs(flat(10, 16)...),
			want:     24,
			messages: []string{"load = 19 / averageValue 1 → 19", "need 19 > 16; headroom 15 % → 21.85 → 24 (rung)"},
		},
		{
			name:     "up: a need that climbs fast plans for 30 % of its rise over 2 minutes",
			policy:   steadyLoad(nil),
			snap:     snap(10, 19).withRecs(recAt(120, 6), recAt(60, 9)),
			want:     27, // 19 + 30 % of 10 = 22; × 1.15 = 25.3 → 27
			contains: "need 19 > 10, rising by 10 in 120s: plan for 22; headroom 15 % → 25.3 → 27 (rung)",
		},
		{
			name:   "up: a custom headroom",
			policy: steadyLoad(&Strategy{HeadroomPercent: ptr(50)}),
			snap:   snap(10, 11),
			want:   17, // 16.5 → 17
		},
		{
			name:     "up: the budget never holds back a scale-up the need requires",
			policy:   steadyLoad(&Strategy{MaxChangesPerDay: ptr(12)}),
			snap:     snap(10, 12).withHistory(changes(12)...),
			want:     15,
			codes:    []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp, ReasonSteadyBudget},
			contains: "budget: 12 of 12 changes used in the last 24 h; a scale-up the need requires goes ahead",
		},
		{
			name:   "up: bounded by maxReplicas",
			policy: func() *Policy { p := steadyLoad(nil); p.Spec.MaxReplicas = 20; return p }(),
			snap:   snap(16, 19),
			want:   20,
			codes:  []ReasonCode{ReasonMetricValue, ReasonSteadyScaleUp, ReasonBounded},
		},
		{
			name:     "down: a deep drop goes in one step once it wasted 15 minutes' worth",
			policy:   steadyLoad(nil),
			snap:     snap(30, 6).withHistory(change(7200, 10, 30)).withRecs(append(flat(60, 30)[:40], flat(20, 6)...)...),
			want:     6, // 80 % fewer: waits 15m / 0.8 = 18m45s; the need has been ≤ 6 for 19m (after the newest 30)
			messages: []string{"load = 6 / averageValue 1 → 6", "scale-down: need at most 6 for the last 1140s → 6 (rung)"},
		},
		{
			name:   "down: the same drop 15 minutes in still waits",
			policy: steadyLoad(nil),
			snap:   snap(30, 6).withHistory(change(7200, 10, 30)).withRecs(append(flat(60, 30)[:45], flat(15, 6)...)...),
			want:   30,
			messages: []string{"load = 6 / averageValue 1 → 6",
				"steady at 30: need 6; a scale-down to 6 (80 % fewer) waits: demand has been lower for 960s of the 1125s it needs → hold at 30"},
		},
		{
			name:   "down: never below the peak need of the window it stands on",
			policy: steadyLoad(nil),
			snap:   snap(30, 6).withHistory(change(7200, 10, 30)).withRecs(append(append(flat(60, 30)[:20], flat(40, 12)[:20]...), flat(20, 6)...)...),
			want:   6,
		},
		{
			name:   "down: a peak inside the window sets the level",
			policy: steadyLoad(nil),
			// 40 minutes at ≤ 13 (one minute at 13), the last 20 at 6: the 20 minutes justify 6.
			snap: snap(40, 6).withHistory(change(7200, 10, 40)).withRecs(append(flat(60, 13)[:40], flat(20, 6)...)...),
			want: 6,
		},
		{
			name:     "down: a shallow drop never pays within the delay",
			policy:   steadyLoad(nil),
			snap:     snap(30, 26).withHistory(change(7200, 10, 30)).withRecs(flat(60, 26)...),
			want:     30,
			contains: "a scale-down to 27 (10 % fewer) waits: demand has been lower for 3600s of the 9000s it needs",
		},
		{
			name:     "down: the count fits no lower rung",
			policy:   steadyLoad(nil),
			snap:     snap(24, 22).withHistory(change(7200, 10, 24)).withRecs(flat(60, 22)...),
			want:     24,
			messages: []string{"load = 22 / averageValue 1 → 22", "steady at 24: need 22 fits no lower rung → hold at 24"},
		},
		{
			name:     "down: the wait counts from the last change",
			policy:   steadyLoad(nil),
			snap:     snap(30, 6).withHistory(change(600, 10, 30)).withRecs(flat(60, 6)...),
			want:     30,
			contains: "demand has been lower for 600s of the 1125s it needs",
		},
		{
			name:   "down: lands on minReplicas, not below",
			policy: func() *Policy { p := steadyLoad(nil); p.Spec.MinReplicas = ptr(8); return p }(),
			snap:   snap(30, 2).withHistory(change(7200, 10, 30)).withRecs(flat(60, 2)...),
			want:   8,
			codes:  []ReasonCode{ReasonMetricValue, ReasonSteadyScaleDown},
		},
		{
			name:     "down: a spent budget holds a scale-down",
			policy:   steadyLoad(&Strategy{MaxChangesPerDay: ptr(12)}),
			snap:     snap(30, 6).withHistory(changes(12)...).withRecs(flat(60, 6)...),
			want:     30,
			messages: []string{"load = 6 / averageValue 1 → 6", "budget: 12 of 12 changes used in the last 24 h: the scale-down to 6 waits → hold at 30"},
		},
		{
			name:   "down: maxChangesPerDay 0 is no budget",
			policy: steadyLoad(&Strategy{MaxChangesPerDay: ptr(0)}),
			snap:   snap(30, 6).withHistory(changes(40)...).withRecs(flat(60, 6)...),
			want:   6,
		},
		{
			name: "down: no scale-down while a metric is missing",
			policy: func() *Policy {
				p := steadyLoad(nil)
				p.Spec.Metrics = append(p.Spec.Metrics, avgMetric("queue", 10))
				return p
			}(),
			snap: &Snapshot{Now: t0, Current: 30, Metrics: []MetricValue{{Value: 6}, missing("timeout")},
				History: []Event{change(7200, 10, 30)}, Recommendations: flat(60, 6)},
			want: 30,
			has:  ReasonScaleDownBlocked,
		},
		{
			name:   "no tolerance: 5 % over the count is short, and Steady moves",
			policy: func() *Policy { p := steadyLoad(nil); p.Spec.Tolerance = ptr(0.1); return p }(),
			snap:   &Snapshot{Now: t0, Current: 20, Metrics: vals(21)},
			want:   27, // 21 × 1.15 = 24.15 → 27
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

func TestSteadyTargetForms(t *testing.T) {
	steady := func(m Metric) *Policy {
		p := testPolicy(1, 100, m)
		p.Spec.Strategy = &Strategy{Type: StrategySteady}
		p.SetDefaults()
		return p
	}
	t.Run("Value: the ratio form's need, then headroom", func(t *testing.T) {
		d := Decide(steady(valueMetric("latency", 0.3)), &Snapshot{Now: t0, Current: 6, Metrics: vals(0.33)})
		assert.Equal(t, 9, d.Desired, "need ceil(6 × 1.1) = 7; × 1.15 = 8.05 → 9: %q", messages(d.Reasons))
	})
	t.Run("step rule: the rule's step is the need", func(t *testing.T) {
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), &Snapshot{Now: t0, Current: 6, Metrics: vals(300)})
		assert.Equal(t, 10, d.Desired, "need 8; × 1.15 = 9.2 → 10: %q", messages(d.Reasons))
	})
	t.Run("step rule below its scale-down threshold: down by the step once it paid", func(t *testing.T) {
		s := &Snapshot{Now: t0, Current: 6, Metrics: vals(10), History: []Event{change(7200, 3, 6)}, Recommendations: flat(60, 4)}
		d := Decide(steady(stepMetric("rps", 50, 100, 2)), s)
		assert.Equal(t, 4, d.Desired, "%q", messages(d.Reasons))
	})
}

func TestSteadyWindowsAndDefaults(t *testing.T) {
	p := steadyLoad(nil)
	require.NoError(t, func() error { p.Spec.TargetRef = TargetRef{Kind: "Deployment", Name: "web"}; return p.Validate() }())
	assert.Equal(t, 15, *p.Spec.Strategy.HeadroomPercent)
	assert.Equal(t, 24, *p.Spec.Strategy.MaxChangesPerDay)
	assert.Equal(t, 3600, *p.Spec.Strategy.ScaleDownDelaySeconds)
	h, s := p.Windows()
	assert.Equal(t, 24*time.Hour, h, "the budget counts a day of Git history")
	assert.Equal(t, time.Hour, s, "the scale-down delay's window of recommendations")

	p = steadyLoad(&Strategy{MaxChangesPerDay: ptr(0), ScaleDownDelaySeconds: ptr(7200)})
	h, s = p.Windows()
	assert.Equal(t, 2*time.Hour, h, "without a budget the delay is the longest look back")
	assert.Equal(t, 2*time.Hour, s)

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
