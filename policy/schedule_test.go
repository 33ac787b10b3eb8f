package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func window(name, cron string, d time.Duration, min, max *int, tz string) ScheduleWindow {
	return ScheduleWindow{Name: name, Cron: cron, Duration: Duration{d}, MinReplicas: min, MaxReplicas: max, Timezone: tz}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestScheduleWindowActive(t *testing.T) {
	business := window("business-hours", "0 8 * * 1-5", 10*time.Hour, ptr(10), nil, "Europe/Berlin")
	tests := []struct {
		name   string
		window ScheduleWindow
		now    string
		want   bool
	}{
		// Winter: 08:00 in Berlin is 07:00 UTC; the window covers [07:00, 17:00) UTC.
		{"Berlin winter: a second before 08:00", business, "2026-11-23T06:59:59Z", false},
		{"Berlin winter: exactly at the activation", business, "2026-11-23T07:00:00Z", true},
		{"Berlin winter: in the window", business, "2026-11-23T12:30:00+01:00", true},
		{"Berlin winter: last instant of the window", business, "2026-11-23T16:59:59.999Z", true},
		{"Berlin winter: window end is exclusive", business, "2026-11-23T17:00:00Z", false},
		{"Berlin winter: Saturday has no activation", business, "2026-11-28T10:00:00Z", false},
		// Summer: 08:00 in Berlin is 06:00 UTC.
		{"Berlin summer: 08:00 CEST is 06:00 UTC", business, "2026-07-06T06:00:00Z", true},
		{"Berlin summer: before 08:00 CEST", business, "2026-07-06T05:59:59Z", false},
		{"Berlin summer: window ends 18:00 CEST", business, "2026-07-06T16:00:00Z", false},
		// No timezone means UTC, never the machine's zone.
		{"UTC default: 08:00 UTC active", window("w", "0 8 * * 1-5", 10*time.Hour, ptr(3), nil, ""), "2026-11-23T08:00:00Z", true},
		{"UTC default: 07:30 UTC inactive", window("w", "0 8 * * 1-5", 10*time.Hour, ptr(3), nil, ""), "2026-11-23T07:30:00Z", false},
		{"CRON_TZ prefix in the spec", window("w", "CRON_TZ=America/New_York 0 8 * * *", time.Hour, ptr(3), nil, ""), "2026-11-23T13:30:00Z", true},
		// Windows crossing midnight and descriptors.
		{"window crossing midnight", window("night", "0 22 * * *", 8*time.Hour, nil, ptr(5), ""), "2026-11-24T03:00:00Z", true},
		{"window crossing midnight ended", window("night", "0 22 * * *", 8*time.Hour, nil, ptr(5), ""), "2026-11-24T06:00:00Z", false},
		{"descriptor @daily", window("d", "@daily", time.Hour, ptr(2), nil, ""), "2026-11-23T00:59:00Z", true},
		{"descriptor @daily after its hour", window("d", "@daily", time.Hour, ptr(2), nil, ""), "2026-11-23T01:00:00Z", false},
		{"zero duration is never active", window("z", "* * * * *", 0, ptr(2), nil, ""), "2026-11-23T01:00:00Z", false},
		{"a spec that never fires is never active", window("feb30", "0 0 30 2 *", time.Hour, ptr(2), nil, ""), "2026-11-23T01:00:00Z", false},
		{"frequent cron with a long duration", window("m", "*/5 * * * *", 24*time.Hour, ptr(2), nil, ""), "2026-11-23T01:02:03Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.window.Active(utc(tt.now))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name    string
		window  ScheduleWindow
		wantErr string
	}{
		{"valid", window("business-hours", "0 8 * * 1-5", time.Hour, ptr(3), nil, "Europe/Berlin"), ""},
		{"bad cron", window("w", "0 25 * * *", time.Hour, ptr(3), nil, ""), `schedule w: cron "0 25 * * *": `},
		{"bad timezone", window("w", "0 8 * * *", time.Hour, ptr(3), nil, "Mars/Olympus"), `schedule w: timezone "Mars/Olympus": `},
		{"@every has no activation times", window("w", "@every 1h", time.Hour, ptr(3), nil, ""), "@every has no fixed activation times"},
		{"Local timezone depends on the machine", window("w", "0 8 * * *", time.Hour, ptr(3), nil, "Local"), "timezone Local depends on the machine"},
		{"timezone given twice", window("w", "CRON_TZ=UTC 0 8 * * *", time.Hour, ptr(3), nil, "Europe/Berlin"), "timezone given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(1, 30, avgMetric("a", 1))
			p.Spec.Schedules = []ScheduleWindow{tt.window}
			err := p.Compile()
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.NotNil(t, p.Spec.Schedules[0].compiled)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.Nil(t, p.Spec.Schedules[0].compiled)
		})
	}
}

func TestCompileJoinsErrors(t *testing.T) {
	p := testPolicy(1, 30, avgMetric("a", 1))
	p.Spec.Schedules = []ScheduleWindow{
		window("one", "bad", time.Hour, ptr(3), nil, ""),
		window("two", "0 8 * * *", time.Hour, ptr(3), nil, "Nowhere/Nothing"),
	}
	err := p.Compile()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schedule one")
	assert.Contains(t, err.Error(), "schedule two")
}

func TestScheduleRecompiledWhenEdited(t *testing.T) {
	p := testPolicy(1, 30, avgMetric("a", 1))
	p.Spec.Schedules = []ScheduleWindow{window("w", "0 8 * * *", time.Hour, ptr(3), nil, "")}
	require.NoError(t, p.Compile())
	p.Spec.Schedules[0].Cron = "0 20 * * *"
	active, err := p.Spec.Schedules[0].Active(utc("2026-11-23T20:30:00Z"))
	require.NoError(t, err)
	assert.True(t, active, "an edited window must not be decided with its stale compiled spec")
}

// schedPolicy is loadPolicy with bounds [3, 30] and the given windows, compiled.
func schedPolicy(t *testing.T, b *Behavior, ws ...ScheduleWindow) *Policy {
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
			policy: schedPolicy(t, &Behavior{ScaleUp: rules(nil, "", pods(1, 60))}, business),
			snap:   snap(4, 4), want: 10,
			messages: []string{"current 4 outside bounds [10, 30] (schedule business-hours) → 10"},
		},
		{
			name:   "bounds last: a scale-down limited by step percent still stops at the scheduled floor",
			policy: schedPolicy(t, &Behavior{MaxScaleDownStepPercent: ptr(50)}, business),
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
			policy: schedPolicy(t, &Behavior{ScaleUp: &ScalingRules{}}),
			snap:   snap(20, 100), want: 30,
			codes: []ReasonCode{ReasonMetricValue, ReasonScaleUpLimited, ReasonBounded},
		},
		{
			name: "an uncompiled invalid window is ignored with a reason",
			policy: func() *Policy {
				p := loadPolicy(nil)
				p.Spec.Schedules = []ScheduleWindow{window("broken", "not a cron", time.Hour, ptr(50), nil, "")}
				return p
			}(),
			snap: snap(4, 6), want: 6,
			has: ReasonScheduleInvalid,
		},
	})
}

func TestDecideCompilesOnTheFlyWithoutWriting(t *testing.T) {
	p := loadPolicy(nil)
	p.Spec.Schedules = []ScheduleWindow{window("business-hours", "0 8 * * 1-5", 10*time.Hour, ptr(10), nil, "Europe/Berlin")}
	d := Decide(p, snap(12, 4))
	assert.Equal(t, 10, d.Desired)
	assert.Nil(t, p.Spec.Schedules[0].compiled, "Decide must not write to the policy")
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
