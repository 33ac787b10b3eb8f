package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func window(name, cron string, d time.Duration, min, max *int, tz string) ScheduleWindow {
	return ScheduleWindow{Name: name, Cron: cron, Duration: Duration{Duration: d}, MinReplicas: min, MaxReplicas: max, Timezone: tz}
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
			p := schedulePolicy()
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
	p := schedulePolicy()
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
	p := schedulePolicy()
	p.Spec.Schedules = []ScheduleWindow{window("w", "0 8 * * *", time.Hour, ptr(3), nil, "")}
	require.NoError(t, p.Compile())
	p.Spec.Schedules[0].Cron = "0 20 * * *"
	active, err := p.Spec.Schedules[0].Active(utc("2026-11-23T20:30:00Z"))
	require.NoError(t, err)
	assert.True(t, active, "an edited window must not be decided with its stale compiled spec")
}

// schedulePolicy is a defaulted policy with one AverageValue metric, for the tests of Compile.
func schedulePolicy() *Policy {
	p := &Policy{
		APIVersion: APIVersion, Kind: KindPolicy,
		Metadata: Metadata{Name: "web", Namespace: "demo"},
		Spec: Spec{MinReplicas: ptr(1), MaxReplicas: 30, Metrics: []Metric{
			{Name: "a", PromQL: "x", Target: &Target{Type: TargetAverageValue, AverageValue: ptr(1.0)}}}},
	}
	p.SetDefaults()
	return p
}
