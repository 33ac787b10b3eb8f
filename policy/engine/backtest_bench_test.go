package engine_test

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// weekTrace is a 7-day trace at 15 s steps of three metrics (40 320 samples each), in the CSV
// format, with a daily shape, noise and a spike every 90 minutes.
func weekTrace(start time.Time) string {
	const n = 7 * 24 * 60 * 4
	var b strings.Builder
	b.Grow(n * 3 * 40)
	b.WriteString("timestamp,metric,value\n")
	for i := range n {
		sec := float64(i * 15)
		day := 0.5 + 0.5*math.Sin(2*math.Pi*sec/86400)
		noise := math.Sin(sec*0.0137) * math.Cos(sec*0.00091)
		spike := 0.0
		if i%360 < 40 {
			spike = 1
		}
		ts := strconv.FormatInt(start.Unix()+int64(i*15), 10)
		for _, m := range []struct {
			name string
			v    float64
		}{
			{"http_rps", 50 * (2 + 10*day + 4*noise + 8*spike)},
			{"queue_backlog", 100 * (1 + 5*day + 2*noise + 4*spike)},
			{"latency", 0.3 * (0.55 + 0.2*noise + 0.5*spike)},
		} {
			b.WriteString(ts)
			b.WriteByte(',')
			b.WriteString(m.name)
			b.WriteByte(',')
			b.WriteString(strconv.FormatFloat(math.Max(m.v, 0), 'f', 3, 64))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func benchPolicy() *policy.Policy {
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "laravel-web", Namespace: "laravel-demo"},
		Spec: policy.Spec{
			MinReplicas: i(2),
			MaxReplicas: 40,
			Schedule:    "@every 15s",
			Metrics: []policy.Metric{
				{Name: "http_rps", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: f(50)}},
				{Name: "queue_backlog", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: f(100)}},
				{Name: "latency", Target: &policy.Target{Type: policy.TargetValue, Value: f(0.3)}},
			},
			Behavior: &policy.Behavior{
				ScaleUp: &policy.ScalingRules{StabilizationWindowSeconds: i(60), Policies: []policy.HPAPolicy{
					{Type: policy.PolicyPercent, Value: 100, PeriodSeconds: 60}, {Type: policy.PolicyPods, Value: 4, PeriodSeconds: 60}}},
				ScaleDown: &policy.ScalingRules{StabilizationWindowSeconds: i(300), Policies: []policy.HPAPolicy{
					{Type: policy.PolicyPercent, Value: 10, PeriodSeconds: 60}}},
			},
		},
	}
	p.SetDefaults()
	return p
}

// BenchmarkBacktest7Days replays a week of 15 s evaluations (40 321 Decide calls) over a trace
// read from CSV, with the HPA form's stabilization windows and rate limits.
func BenchmarkBacktest7Days(b *testing.B) {
	start := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	tr, err := promclient.ReadTrace("week.csv", strings.NewReader(weekTrace(start)))
	require.NoError(b, err)
	p := benchPolicy()
	src := func(at time.Time) []engine.MetricValue { return tr.Values(p, at) }
	opts := engine.BacktestOptions{Start: tr.Start(), End: tr.End(), Step: 15 * time.Second}

	var r engine.BacktestResult
	for b.Loop() {
		r = engine.Backtest(p, src, opts)
	}
	require.Equal(b, 40320, r.Summary.Evaluations)
	require.Greater(b, r.Summary.Changes, 100, "the trace must make the policy work")
	b.ReportMetric(float64(r.Summary.Changes), "changes")
}

// BenchmarkBacktest7DaysReadTrace is the other half of a `backtest --trace` run: parsing the
// week's CSV (120 960 rows).
func BenchmarkBacktest7DaysReadTrace(b *testing.B) {
	csv := weekTrace(time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC))
	b.SetBytes(int64(len(csv)))
	for b.Loop() {
		_, err := promclient.ReadTrace("week.csv", strings.NewReader(csv))
		require.NoError(b, err)
	}
}
