package promclient

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

func TestSteps(t *testing.T) {
	base := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		now    time.Time
		window time.Duration
		step   time.Duration
		want   []string
	}{
		{
			name: "now between steps", now: base.Add(10 * time.Second), window: 2 * time.Minute, step: 30 * time.Second,
			want: []string{"10:58:30", "10:59:00", "10:59:30", "11:00:00"},
		},
		{
			name: "now on a step is excluded, and so is the window's start", now: base, window: 2 * time.Minute, step: 30 * time.Second,
			want: []string{"10:58:30", "10:59:00", "10:59:30"},
		},
		{name: "window shorter than a step", now: base.Add(10 * time.Second), window: 5 * time.Second, step: 30 * time.Second, want: nil},
		{name: "no window", now: base, window: 0, step: 30 * time.Second, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range Steps(tt.now, tt.window, tt.step) {
				got = append(got, s.Format("15:04:05"))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestStepsAreTheSameForEveryCaller(t *testing.T) {
	// A service evaluating at 11:00:07 and a one-shot run at 11:00:21 share the instants in
	// the overlap of their windows.
	base := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	a := Steps(base.Add(7*time.Second), 5*time.Minute, 30*time.Second)
	b := Steps(base.Add(21*time.Second), 5*time.Minute, 30*time.Second)
	assert.Equal(t, a, b)
}

// rangeStub answers QueryRange from a table of matrices by query text and records the ranges.
type rangeStub struct {
	answers map[string]model.Value
	errs    map[string]error
	ranges  []v1.Range
}

func (s *rangeStub) QueryRange(_ context.Context, q string, r v1.Range) (model.Value, error) {
	s.ranges = append(s.ranges, r)
	return s.answers[q], s.errs[q]
}

func TestRecommendations(t *testing.T) {
	now := time.Date(2026, 11, 22, 11, 0, 10, 0, time.UTC)
	steps := Steps(now, 2*time.Minute, 30*time.Second) // 10:58:30 … 11:00:00
	require.Len(t, steps, 4)
	matrix := func(vals ...float64) model.Matrix {
		s := &model.SampleStream{Metric: model.Metric{}}
		for i, v := range vals {
			if !isGap(v) {
				s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(steps[i].UnixNano()), Value: model.SampleValue(v)})
			}
		}
		return model.Matrix{s}
	}
	avg := 100.0
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "web", Namespace: "ns"},
		Spec: policy.Spec{
			MaxReplicas: 50,
			Metrics: []policy.Metric{
				{Name: "backlog", PromQL: "backlog", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg}},
			},
		},
	}
	p.SetDefaults()
	q := &rangeStub{answers: map[string]model.Value{"backlog": matrix(900, 1000, gap, 250)}}
	replicas := map[time.Time]int{steps[0]: 9, steps[1]: 9, steps[2]: 10, steps[3]: 10}

	got, err := Recommendations(context.Background(), q, p, now, 2*time.Minute, 30*time.Second, func(t time.Time) int { return replicas[t] })
	require.NoError(t, err)

	assert.Equal(t, []engine.Recommendation{
		{At: steps[0], Replicas: 9},  // 900/100 = 9: within tolerance of 9 replicas
		{At: steps[1], Replicas: 10}, // ceil(1000/100)
		{At: steps[2], Replicas: 10}, // no sample: missing, so the count of that time
		{At: steps[3], Replicas: 3},  // ceil(250/100)
	}, got)
	require.Len(t, q.ranges, 1)
	assert.Equal(t, v1.Range{Start: steps[0], End: steps[3], Step: 30 * time.Second}, q.ranges[0])
}

func TestRecommendationsQueryErrorIsAnError(t *testing.T) {
	p := &policy.Policy{Metadata: policy.Metadata{Name: "web"}, Spec: policy.Spec{
		MaxReplicas: 5,
		Metrics:     []policy.Metric{{Name: "rps", PromQL: "rps"}},
	}}
	p.SetDefaults()
	q := &rangeStub{errs: map[string]error{"rps": errors.New("server error: 503")}}
	now := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	_, err := Recommendations(context.Background(), q, p, now, time.Minute, 15*time.Second, func(time.Time) int { return 1 })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "metric rps")
	assert.Contains(t, err.Error(), "503")
}

const gap = -1e300

func isGap(v float64) bool { return v == gap }
