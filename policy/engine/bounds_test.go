package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func schedPolicy(t *testing.T, b *policy.Behavior, ws ...policy.ScheduleWindow) *policy.Policy {
	p := loadPolicy(b)
	p.Spec.MinReplicas = ptr(3)
	p.Spec.MaxReplicas = 30
	p.Spec.Schedules = ws
	require.NoError(t, p.Compile())
	return p
}
func TestDecideSchedules(t *testing.T) {
	// t0 is Monday 2026-11-23 11:00 UTC, 12:00 in Berlin.
	business := window("business-hours", "0 8 * * 1-5", 10*time.Hour, ptr(10), nil, "Europe/Berlin")
	evening := window("evening", "0 18 * * *", 4*time.Hour, ptr(10), nil, "Europe/Berlin")
	night := window("night", "0 9 * * *", 4*time.Hour, nil, ptr(5), "")
	peak := window("peak", "0 10 * * *", 2*time.Hour, ptr(12), ptr(40), "")
	runDecideCases(t, []decideCase{
		{
			name:   "an active window raises the floor: current below it goes straight there",
			policy: schedPolicy(t, &policy.Behavior{ScaleUp: rules(nil, "", pods(1, 60))}, business),
			snap:   snap(4, 4), want: 10,
			messages: []string{"current 4 outside bounds [10, 30] (schedule business-hours) → 10"},
		},
		{
			name:   "bounds last: a scale-down limited by step percent still stops at the scheduled floor",
			policy: schedPolicy(t, &policy.Behavior{MaxScaleDownStepPercent: ptr(50)}, business),
			snap:   snap(12, 2), want: 10,
			messages: []string{
				"load = 2 / averageValue 1 → 2",
				"maxScaleDownStepPercent 50 allows ≥ 6 → 6",
				"bounds [10, 30] (schedule business-hours) → 10",
			},
			codes: []ReasonCode{ReasonMetricValue, ReasonScaleDownLimited, ReasonScheduleActive},
		},
		{
			name:   "an inactive window changes nothing",
			policy: schedPolicy(t, nil, evening),
			snap:   snap(4, 3), want: 3,
		},
		{
			name:   "a window's maxReplicas caps the count",
			policy: schedPolicy(t, nil, night),
			snap:   snap(4, 9), want: 5,
			messages: []string{"load = 9 / averageValue 1 → 9", "bounds [3, 5] (schedule night) → 5"},
		},
		{
			name:   "several active windows: the highest floor and the highest ceiling",
			policy: schedPolicy(t, nil, business, night, peak),
			snap:   snap(20, 50), want: 40,
			contains: "bounds [12, 40] (schedule peak) → 40",
		},
		{
			name:   "a floor above the ceiling wins",
			policy: schedPolicy(t, nil, business, night),
			snap:   snap(10, 1), want: 10,
			contains: "bounds [10, 10] (schedule business-hours) → 10",
		},
		{
			name:   "without a schedule the spec bounds clamp last",
			policy: schedPolicy(t, &policy.Behavior{ScaleUp: &policy.ScalingRules{}}),
			snap:   snap(20, 100), want: 30,
			codes: []ReasonCode{ReasonMetricValue, ReasonScaleUpLimited, ReasonBounded},
		},
		{
			name: "an uncompiled invalid window is ignored with a reason",
			policy: func() *policy.Policy {
				p := loadPolicy(nil)
				p.Spec.Schedules = []policy.ScheduleWindow{window("broken", "not a cron", time.Hour, ptr(50), nil, "")}
				return p
			}(),
			snap: snap(4, 6), want: 6,
			has: ReasonScheduleInvalid,
		},
	})
}

func TestDecideCompilesOnTheFlyWithoutWriting(t *testing.T) {
	p := loadPolicy(nil)
	p.Spec.Schedules = []policy.ScheduleWindow{window("business-hours", "0 8 * * 1-5", 10*time.Hour, ptr(10), nil, "Europe/Berlin")}
	before := p.Spec.Schedules[0]
	d := Decide(p, snap(12, 4))
	assert.Equal(t, 10, d.Desired)
	assert.Equal(t, before, p.Spec.Schedules[0], "Decide must not write to the policy (not even the compiled schedule)")
}

// TestBoundsAtIsWhatDecideApplies: BoundsAt gives the bounds Decide clamps to, with and
// without active windows, so a replay's optimum keeps to the same bounds as the policy.
func TestBoundsAtIsWhatDecideApplies(t *testing.T) {
	business := window("business-hours", "0 8 * * 1-5", 10*time.Hour, ptr(10), nil, "Europe/Berlin")
	night := window("night", "0 9 * * *", 4*time.Hour, nil, ptr(5), "")
	p := schedPolicy(t, nil, business, night)
	for _, tc := range []struct {
		at     string
		lo, hi int
	}{
		{"2026-11-23T11:00:00Z", 10, 10}, // both active: the floor wins
		{"2026-11-23T14:00:00Z", 10, 30}, // business hours only
		{"2026-11-23T06:00:00Z", 3, 30},  // neither
		{"2026-11-28T10:00:00Z", 3, 5},   // Saturday: night only
	} {
		lo, hi := BoundsAt(p, utc(tc.at))
		assert.Equal(t, [2]int{tc.lo, tc.hi}, [2]int{lo, hi}, tc.at)
		// Decide clamps a huge and a zero need to exactly these bounds.
		up, down := snap(tc.hi, 1000), snap(tc.lo, 0)
		up.Now, down.Now = utc(tc.at), utc(tc.at)
		assert.Equal(t, tc.hi, Decide(p, up).Desired, tc.at)
		assert.Equal(t, tc.lo, Decide(p, down).Desired, tc.at)
	}
	plain := testPolicy(2, 30, avgMetric("a", 1))
	lo, hi := BoundsAt(plain, utc("2026-11-23T11:00:00Z"))
	assert.Equal(t, [2]int{2, 30}, [2]int{lo, hi})
}
