package optimum_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// weekNeed is a week of needs at 60 s (10 080 steps) between 20 and 200 replicas: a daily
// swing of ten to one, weekends at half, 7 % noise that wanders over minutes and 1 % that
// does not — the shape of a real web week at maxReplicas 200.
func weekNeed() *optimum.Problem {
	const n = 7 * 24 * 60
	rng := rand.New(rand.NewPCG(1, 2))
	p := &optimum.Problem{Need: make([]int, n), Min: constant(n, 1), Max: constant(n, 200), Initial: 1}
	x := 0.0
	for t := range n {
		day := 0.5 - 0.5*math.Cos(2*math.Pi*float64(t%1440)/1440)
		peak := 180.0
		if t/1440 >= 5 {
			peak = 90
		}
		x = 0.8*x + 0.6*0.07*rng.NormFloat64()
		v := (20 + peak*day) * (1 + x + 0.01*rng.NormFloat64())
		p.Need[t] = min(200, max(1, int(math.Ceil(v))))
	}
	return p
}

// BenchmarkOptimumWeek is `backtest --optimum` on a week at 60 s with maxReplicas 200
// (Measure: the exact fewest changes, the hull there and the frontier's summary) at a budget
// of 1.1×, 1.3× and 1.5× the need's replica-hours — what a good policy spends. Target: under
// a second each.
func BenchmarkOptimumWeek(b *testing.B) {
	p := weekNeed()
	floor, err := optimum.Floor(p)
	require.NoError(b, err)
	for _, f := range []float64{1.1, 1.3, 1.5} {
		budget := int64(f * float64(floor.Cost))
		b.Run(fmt.Sprintf("budget=%.1fx", f), func(b *testing.B) {
			var res optimum.Result
			for b.Loop() {
				res, err = optimum.Measure(p, budget, optimum.Limits{})
				require.NoError(b, err)
			}
			require.NotNil(b, res.Exact, res.Limit)
			b.ReportMetric(float64(res.Exact.Changes), "changes")
			b.ReportMetric(float64(res.Hull.Vertex.Changes), "hull-changes")
		})
	}
}
