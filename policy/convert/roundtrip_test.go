package convert

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

var roundTripStart = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

// imported imports a golden case and loads the written policy the way `validate` does.
func imported(t *testing.T, dir, name string) *policy.Policy {
	t.Helper()
	res, _ := importCase(t, filepath.Join("testdata", dir))
	for _, imp := range res.Policies {
		if imp.Policy.Metadata.Name != name {
			continue
		}
		p, err := imp.Load()
		require.NoError(t, err, "validate accepts the imported policy")
		return p
	}
	t.Fatalf("%s: no policy %s imported", dir, name)
	return nil
}

// roundTrip replays p over src with Backtest and the reference over the same values, and
// returns both replica sequences.
func roundTrip(p *policy.Policy, ref *hpaSim, src func(time.Time) []engine.MetricValue, steps, initial int) (ours, theirs []int) {
	step := engine.BacktestInterval(p)
	res := engine.Backtest(p, src, engine.BacktestOptions{Start: roundTripStart, End: roundTripStart.Add(time.Duration(steps-1) * step), Initial: &initial})
	current := int32(initial)
	for i, s := range res.Steps {
		mv := src(s.Time)
		values := make([]float64, len(mv))
		for j, v := range mv {
			values[j] = v.Value
			if v.Missing {
				values[j] = math.NaN()
			}
		}
		current = ref.step(s.Time, current, values)
		ours = append(ours, res.Steps[i].Replicas)
		theirs = append(theirs, int(current))
	}
	return ours, theirs
}

// series is a metric value per step: a daily-shaped rise and fall with a deterministic ripple
// (so tolerance matters), from lo to hi and back.
func series(lo, hi, peak float64, steps int) []float64 {
	out := make([]float64, steps)
	for i := range out {
		x := float64(i) / float64(steps-1)
		shape := (1 - math.Cos(2*math.Pi*x)) / 2
		ripple := 1 + 0.04*math.Sin(float64(i)*1.7)
		out[i] = math.Round((lo+(hi-lo)*shape)*ripple*1000) / 1000
		if peak > 0 && i == steps/2 {
			out[i] = peak
		}
	}
	return out
}

// assertSameButWindowEdge checks the two replica sequences are equal, except where the HPA
// without behavior still counts the recommendation exactly one downscale window old (its
// built-in path keeps a sample at the window's edge; the behavior path, which the policy
// follows, does not): there the HPA scales down one sync later, to the count the policy
// reached one sync before. The import's warning on an absent behavior says so.
func assertSameButWindowEdge(t *testing.T, ours, theirs []int) {
	t.Helper()
	require.Equal(t, len(theirs), len(ours))
	edges := 0
	for i := range ours {
		if ours[i] == theirs[i] {
			continue
		}
		edges++
		ok := ours[i] < theirs[i] && i+1 < len(theirs) && theirs[i+1] == ours[i] && i > 0 && theirs[i] == ours[i-1]
		if !assert.True(t, ok, "step %d: policy %d, HPA %d (before: policy %d, HPA %d)", i, ours[i], theirs[i], ours[max(i-1, 0)], theirs[max(i-1, 0)]) {
			return
		}
	}
	assert.Less(t, edges, changes(theirs), "most changes agree to the step")
}

func fromSeries(p *policy.Policy, vals ...[]float64) func(time.Time) []engine.MetricValue {
	step := engine.BacktestInterval(p)
	return func(at time.Time) []engine.MetricValue {
		i := int(at.Sub(roundTripStart) / step)
		out := make([]engine.MetricValue, len(vals))
		for j, v := range vals {
			out[j] = engine.MetricValue{Name: p.Spec.Metrics[j].Name, Value: v[i]}
		}
		return out
	}
}

func changes(xs []int) int {
	n := 0
	for i := 1; i < len(xs); i++ {
		if xs[i] != xs[i-1] {
			n++
		}
	}
	return n
}

// TestRoundTripKEDA: the walkthrough's ScaledObject (threshold 3 per replica, 1–10 replicas)
// against the HPA KEDA creates for it (one External AverageValue metric, no behavior), over
// four hours of load rising to 28 requests/s and falling back.
func TestRoundTripKEDA(t *testing.T) {
	p := imported(t, "keda-example", "prometheus-scaledobject")
	const steps = 4 * 60 * 4 // 15 s polls
	ref := &hpaSim{min: 1, max: 10, tolerance: 0.1, metrics: []simMetric{{averageValue: true, target: 3}}}
	ours, theirs := roundTrip(p, ref, fromSeries(p, series(2, 28, 30, steps)), steps, 1)
	assertSameButWindowEdge(t, ours, theirs)
	assert.Greater(t, changes(theirs), 10, "the trace must make the HPA work")
	assert.Equal(t, 10, slicesMax(theirs), "and reach the bound")
}

// TestRoundTripHPAAdapter: the prometheus-adapter walkthrough's HPA (Object metric on the
// queue's Service, Value 1000, 3–50 replicas) over a backlog rising to 30,000 messages.
func TestRoundTripHPAAdapter(t *testing.T) {
	p := imported(t, "hpa-rabbitmq", "rabbitmq-consumer")
	const steps = 6 * 60 * 4
	ref := &hpaSim{min: 3, max: 50, tolerance: 0.1, metrics: []simMetric{{target: 1000}}}
	ours, theirs := roundTrip(p, ref, fromSeries(p, series(800, 30000, 0, steps)), steps, 3)
	assertSameButWindowEdge(t, ours, theirs)
	assert.Greater(t, changes(theirs), 10)
}

// TestRoundTripLaravelWorker: the Laravel queue workers' original document (HPA form: per
// worker backlog, oldest-job age and Redis memory, with its scaleUp/scaleDown rules) against
// the HPA algorithm with the same spec, over the example's trace.
func TestRoundTripLaravelWorker(t *testing.T) {
	p := imported(t, "laravel", "laravel-worker")
	f, err := os.Open("../../examples/laravel/trace.csv")
	require.NoError(t, err)
	defer f.Close()
	trace, err := promclient.ReadTrace("trace.csv", f)
	require.NoError(t, err)
	ref := &hpaSim{
		min: 1, max: 20, tolerance: 0.1,
		metrics: []simMetric{{averageValue: true, target: 100}, {target: 60}, {target: 1073741824}},
		behavior: &simBehavior{
			up:   simRules{window: 0, selectFn: "Max", policies: []simPolicy{{pods: true, value: 4, period: 60}, {value: 100, period: 60}}},
			down: simRules{window: 300, selectFn: "Max", policies: []simPolicy{{value: 50, period: 60}}},
		},
	}
	const steps = 240 // the trace's two hours at the policy's 30 s
	ours, theirs := roundTrip(p, ref, func(at time.Time) []engine.MetricValue { return trace.Values(p, at) }, steps, 1)
	assert.Equal(t, theirs, ours)
	assert.Greater(t, changes(theirs), 3)
}

// TestRoundTripLaravelWebUnchanged: the web tier's original document uses the original
// controller's step rules and cooldowns, which no other system computes; normalising it must
// change no decision, so the imported policy replays exactly as the document as written.
func TestRoundTripLaravelWebUnchanged(t *testing.T) {
	p := imported(t, "laravel", "laravel-web")
	data, err := os.ReadFile("testdata/laravel/input.yaml")
	require.NoError(t, err)
	originals, err := policy.LoadPolicies("input.yaml", data)
	require.NoError(t, err)
	orig := originals[0]
	require.Equal(t, "laravel-web", orig.Metadata.Name)
	f, err := os.Open("../../examples/laravel/trace.csv")
	require.NoError(t, err)
	defer f.Close()
	trace, err := promclient.ReadTrace("trace.csv", f)
	require.NoError(t, err)
	opts := engine.BacktestOptions{Start: roundTripStart, End: roundTripStart.Add(2 * time.Hour)}
	a := engine.Backtest(orig, func(at time.Time) []engine.MetricValue { return trace.Values(orig, at) }, opts)
	b := engine.Backtest(p, func(at time.Time) []engine.MetricValue { return trace.Values(p, at) }, opts)
	require.Greater(t, a.Summary.Changes, 3)
	assert.Equal(t, a.Decisions, b.Decisions)
}

// TestNoBehaviorDivergence pins what the warning on an absent behavior says: from 1 replica a
// sudden need of 10 reaches 4 under the HPA's built-in limit and 5 under the written default
// behavior; from 4 replicas on the two agree.
func TestNoBehaviorDivergence(t *testing.T) {
	p := imported(t, "keda-example", "prometheus-scaledobject")
	const steps = 8
	flat := make([]float64, steps)
	for i := range flat {
		flat[i] = 30 // ten replicas' worth
	}
	ref := &hpaSim{min: 1, max: 10, tolerance: 0.1, metrics: []simMetric{{averageValue: true, target: 3}}}
	ours, theirs := roundTrip(p, ref, fromSeries(p, flat), steps, 1)
	assert.Equal(t, []int{4, 8, 10, 10, 10, 10, 10, 10}, theirs)
	assert.Equal(t, []int{5, 10, 10, 10, 10, 10, 10, 10}, ours)
}

func slicesMax(xs []int) int {
	m := math.MinInt
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
