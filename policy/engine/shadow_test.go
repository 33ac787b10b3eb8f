package engine

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func TestReplicaCount(t *testing.T) {
	for _, tt := range []struct {
		name  string
		v     MetricValue
		want  int
		cause string
		ok    bool
	}{
		{"a count", MetricValue{Value: 7}, 7, "", true},
		{"an average rounds down below the half", MetricValue{Value: 2.4}, 2, "", true},
		{"an average rounds up from the half", MetricValue{Value: 2.5}, 3, "", true},
		{"zero", MetricValue{Value: 0}, 0, "", true},
		{"negative counts as 0", MetricValue{Value: -1}, 0, "", true},
		{"missing keeps its cause", MetricValue{Missing: true, Cause: "empty result"}, 0, "empty result", false},
		{"beyond any count", MetricValue{Value: 3e10}, 0, "value 3e+10 is not a replica count", false},
		{"NaN", MetricValue{Value: math.NaN()}, 0, "value NaN is not a replica count", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, cause, ok := ReplicaCount(tt.v)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.cause, cause)
		})
	}
}

// shadowSeries builds a series at one-minute steps from btT0: live counts (-1 is missing) and
// one value of metric q per step (nil metrics: unavailable).
func shadowSeries(live []int, q []float64) ShadowSeries {
	s := ShadowSeries{Start: btT0, Step: time.Minute}
	for _, n := range live {
		if n < 0 {
			s.Live = append(s.Live, MetricValue{Name: "shadow", Missing: true, Cause: "no samples"})
			continue
		}
		s.Live = append(s.Live, MetricValue{Name: "shadow", Value: float64(n)})
	}
	if q == nil {
		s.MetricsCause = "range query of demo/web metric q: connection refused"
		return s
	}
	for _, v := range q {
		s.Metrics = append(s.Metrics, []MetricValue{{Name: "q", Value: v}})
	}
	return s
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestCompareShadow(t *testing.T) {
	at := func(min int) time.Time { return btT0.Add(time.Duration(min) * time.Minute) }
	for _, tt := range []struct {
		name string
		s    ShadowSeries
		want ShadowComparison
	}{
		{
			name: "the live side flaps where ours holds",
			// 450 asks for 5; the live autoscaler wavers between 5 and 6.
			s: shadowSeries([]int{5, 6, 5, 6, 5}, repeat(450, 5)),
			want: ShadowComparison{
				Start: at(0), End: at(4), Step: time.Minute, Live: ptr(5), Ours: ptr(5),
				LiveChanges: 4, OurChanges: 0,
				LiveReplicaHours: 27.0 / 60, OurReplicaHours: 25.0 / 60,
				LivePoints: []ReplicaPoint{{at(0), 5}, {at(1), 6}, {at(2), 5}, {at(3), 6}, {at(4), 5}},
				OurPoints:  []ReplicaPoint{{at(0), 5}},
			},
		},
		{
			name: "the replay starts from the first known live count",
			s:    shadowSeries([]int{-1, -1, 3, 3}, repeat(450, 4)),
			want: ShadowComparison{
				Start: at(2), End: at(3), Step: time.Minute, Live: ptr(3), Ours: ptr(5),
				LiveChanges: 0, OurChanges: 1,
				LiveReplicaHours: 6.0 / 60, OurReplicaHours: 10.0 / 60,
				LiveShortSeconds: 120, OurShortSeconds: 0,
				LivePoints: []ReplicaPoint{{at(2), 3}},
				OurPoints:  []ReplicaPoint{{at(2), 3}, {at(2), 5}},
			},
		},
		{
			name: "a change across a gap counts once, and the count holds through it",
			s:    shadowSeries([]int{3, -1, -1, 4}, repeat(350, 4)),
			want: ShadowComparison{
				Start: at(0), End: at(3), Step: time.Minute, Live: ptr(4), Ours: ptr(4),
				LiveChanges: 1, OurChanges: 1,
				LiveReplicaHours: 13.0 / 60, OurReplicaHours: 16.0 / 60,
				LiveShortSeconds: 180,
				LivePoints:       []ReplicaPoint{{at(0), 3}, {at(3), 4}},
				OurPoints:        []ReplicaPoint{{at(0), 3}, {at(0), 4}},
			},
		},
		{
			name: "the live count missing now says why, and the window still counts",
			s:    shadowSeries([]int{4, 5, -1}, repeat(450, 3)),
			want: ShadowComparison{
				Start: at(0), End: at(2), Step: time.Minute, LiveCause: "no samples", Ours: ptr(5),
				LiveChanges: 1, OurChanges: 1,
				LiveReplicaHours: 14.0 / 60, OurReplicaHours: 15.0 / 60,
				LiveShortSeconds: 60,
				LivePoints:       []ReplicaPoint{{at(0), 4}, {at(1), 5}},
				OurPoints:        []ReplicaPoint{{at(0), 4}, {at(0), 5}},
			},
		},
		{
			name: "no live value at all: nothing to start from",
			s:    shadowSeries([]int{-1, -1}, repeat(450, 2)),
			want: ShadowComparison{
				Start: at(1), End: at(1), Step: time.Minute,
				LiveCause: "no samples", OursCause: "no live count to start from",
			},
		},
		{
			name: "metrics unavailable: the live side only, and why ours is not there",
			s:    shadowSeries([]int{2, 3}, nil),
			want: ShadowComparison{
				Start: at(0), End: at(1), Step: time.Minute, Live: ptr(3),
				OursCause:   "range query of demo/web metric q: connection refused",
				LiveChanges: 1, LiveReplicaHours: 5.0 / 60,
				LivePoints: []ReplicaPoint{{at(0), 2}, {at(1), 3}},
			},
		},
		{
			name: "an empty series",
			s:    ShadowSeries{Start: btT0, Step: time.Minute},
			want: ShadowComparison{Step: time.Minute, LiveCause: "no live values", OursCause: "no live count to start from"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(1, 10, avgMetric("q", 100))
			got := CompareShadow(p, tt.s)
			assert.InDelta(t, tt.want.LiveReplicaHours, got.LiveReplicaHours, 1e-9)
			assert.InDelta(t, tt.want.OurReplicaHours, got.OurReplicaHours, 1e-9)
			got.LiveReplicaHours, got.OurReplicaHours = tt.want.LiveReplicaHours, tt.want.OurReplicaHours
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCompareShadowReplaysThroughDecide(t *testing.T) {
	// The HPA form's scale-down window keeps ours up through a dip the live side followed, a
	// step late on the way back: the replay carries its own stabilization, as a live run would.
	p := testPolicy(1, 10, avgMetric("q", 100))
	p.Spec.Behavior = &policy.Behavior{ScaleDown: &policy.ScalingRules{StabilizationWindowSeconds: ptr(300)}}
	p.SetDefaults()
	q := append(repeat(450, 3), repeat(150, 3)...)
	q = append(q, repeat(450, 3)...)
	c := CompareShadow(p, shadowSeries([]int{5, 5, 5, 2, 2, 2, 2, 5, 5}, q))
	require.NotNil(t, c.Ours)
	assert.Equal(t, 5, *c.Ours)
	assert.Equal(t, 0, c.OurChanges, "the dip is shorter than the window")
	assert.Equal(t, 2, c.LiveChanges)
	assert.Equal(t, 60.0, c.LiveShortSeconds, "short for the step the need is back at 5 and the live count still 2")
}

func TestShadowSummary(t *testing.T) {
	day := ShadowComparison{Start: btT0, End: btT0.Add(24*time.Hour - 30*time.Second), Step: 30 * time.Second}
	full := day
	full.Live, full.Ours, full.LiveChanges, full.OurChanges, full.LiveReplicaHours, full.OurReplicaHours = ptr(8), ptr(6), 17, 3, 190.46, 150.2
	noReplay := day
	noReplay.Live, noReplay.OursCause, noReplay.LiveChanges, noReplay.LiveReplicaHours = ptr(3), "metrics unavailable", 2, 70
	for _, tt := range []struct {
		name string
		c    ShadowComparison
		want string
	}{
		{"both sides over a day", full, "shadow: live 8, ours 6; changes in 24h: live 17, ours 3; replica-hours: live 190.5, ours 150.2"},
		{"no replay", noReplay, "shadow: live 3, ours unknown (metrics unavailable); changes in 24h: live 2; replica-hours: live 70.0"},
		{"nothing known", ShadowComparison{LiveCause: "no live values", OursCause: "no live count to start from"},
			"shadow: live unknown (no live values), ours unknown (no live count to start from)"},
		{"a shorter span", ShadowComparison{Start: btT0, End: btT0.Add(89 * time.Minute), Step: time.Minute, Live: ptr(2), Ours: ptr(2)},
			"shadow: live 2, ours 2; changes in 1h30m0s: live 0, ours 0; replica-hours: live 0.0, ours 0.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.c.Summary())
		})
	}
}

// BenchmarkCompareShadowDay is the comparison one evaluation of a shadow policy makes: a day at
// 30 s steps (2 880 Decide calls in the replay, the live side counted and assessed), with the
// HPA form's stabilization windows and rate limits.
func BenchmarkCompareShadowDay(b *testing.B) {
	p := btHPAPolicy()
	p.Spec.Schedule = "@every 30s"
	src := btSyntheticSource(p)
	s := ShadowSeries{Start: btT0, Step: 30 * time.Second}
	for i := range int(ShadowWindow / s.Step) {
		at := btT0.Add(time.Duration(i) * s.Step)
		m := src(at)
		s.Metrics = append(s.Metrics, m)
		s.Live = append(s.Live, MetricValue{Name: "shadow", Value: float64(Need(p, 2, m))})
	}
	var c ShadowComparison
	for b.Loop() {
		c = CompareShadow(p, s)
	}
	require.NotNil(b, c.Ours)
	require.Positive(b, c.LiveChanges)
	b.ReportMetric(float64(c.OurChanges), "ours-changes")
	b.ReportMetric(float64(c.LiveChanges), "live-changes")
}
