package optimum_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

var start = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday

// replayPolicy is an AverageValue target of 10 per replica in [1, 40], evaluated every 60 s,
// with the given strategy or behavior, and a schedule that raises the floor to 8 from 12:00
// for two hours.
func replayPolicy(strategy *policy.Strategy, behavior *policy.Behavior, tolerance float64) *policy.Policy {
	f := func(v float64) *float64 { return &v }
	i := func(v int) *int { return &v }
	p := &policy.Policy{
		APIVersion: policy.APIVersion, Kind: policy.KindPolicy,
		Metadata: policy.Metadata{Name: "web", Namespace: "demo"},
		Spec: policy.Spec{
			TargetRef:   policy.TargetRef{Kind: "Deployment", Name: "web"},
			MinReplicas: i(1), MaxReplicas: 40, Schedule: "@every 60s", Tolerance: f(tolerance),
			Metrics:   []policy.Metric{{Name: "rps", PromQL: "x", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: f(10)}}},
			Schedules: []policy.ScheduleWindow{{Name: "lunch", Cron: "0 12 * * *", Duration: policy.Duration{Duration: 2 * time.Hour}, MinReplicas: i(8)}},
			Strategy:  strategy,
			Behavior:  behavior,
		},
	}
	p.SetDefaults()
	if err := p.Compile(); err != nil {
		panic(err)
	}
	return p
}

// day is a day of request rates at 60 s: a daily curve from 20 to 300, noise, and spikes
// over the maximum's capacity.
func day() []float64 {
	rng := rand.New(rand.NewPCG(5, 6))
	out := make([]float64, 1440)
	for i := range out {
		v := 20 + 280*(0.5-0.5*math.Cos(2*math.Pi*float64(i)/1440))
		v *= 1 + 0.1*rng.NormFloat64()
		if i%300 < 5 {
			v += 250
		}
		out[i] = max(v, 0)
	}
	return out
}

func replay(p *policy.Policy, values []float64) policy.BacktestResult {
	src := func(at time.Time) []policy.MetricValue {
		return []policy.MetricValue{{Name: "rps", Value: values[int(at.Sub(start)/time.Minute)]}}
	}
	return policy.Backtest(p, src, policy.BacktestOptions{Start: start, End: start.Add(time.Duration(len(values)-1) * time.Minute)})
}

// TestProblemOfIsThePolicysNeed: the problem of a replay is the policy's own need at every
// step (policy.Need, here ceil(rate / 10)) and its bounds with the schedule, and its budget is
// the replay's replica-hours.
func TestProblemOfIsThePolicysNeed(t *testing.T) {
	values := day()
	p := replayPolicy(&policy.Strategy{Type: policy.StrategySteady}, nil, 0.1)
	r := replay(p, values)
	pr := optimum.ProblemOf(p, &r)
	require.Len(t, pr.Need, len(values))
	for i, v := range values {
		assert.Equal(t, int(math.Ceil(v/10)), pr.Need[i], "step %d", i)
		lo := 1
		if i >= 12*60 && i < 14*60 {
			lo = 8
		}
		assert.Equal(t, [2]int{lo, 40}, [2]int{pr.Min[i], pr.Max[i]}, "step %d", i)
	}
	assert.Equal(t, r.Initial, pr.Initial)
	assert.InDelta(t, r.Summary.ReplicaSeconds/60, float64(optimum.Spent(&r)), 1e-6)
}

// TestOptimumOfAReplayThatFollowsTheNeed: a policy with no tolerance and no behavior follows
// the need exactly (clamped into its bounds), so its schedule is the floor: at its own
// replica-hours the optimum is that very schedule, with as many changes.
func TestOptimumOfAReplayThatFollowsTheNeed(t *testing.T) {
	p := replayPolicy(nil, nil, 0)
	r := replay(p, day())
	pr := optimum.ProblemOf(p, &r)
	res, err := optimum.Measure(pr, optimum.Spent(&r), optimum.Limits{})
	require.NoError(t, err)
	require.True(t, res.Fits)
	require.NotNil(t, res.Exact, res.Limit)
	assert.Equal(t, res.Floor, res.Exact.Point)
	assert.Equal(t, optimum.Point{Changes: r.Summary.Changes, Cost: optimum.Spent(&r)}, res.Exact.Point)
	for i, st := range r.Steps {
		assert.Equal(t, st.Replicas, res.Exact.Levels[i], "step %d", i)
	}
}

// TestOptimumIsALowerBoundOfEveryNeverShortReplay: a replay that is never short (beyond what
// its bounds allow) is itself a never-short schedule within its own replica-hours, so it can
// not make fewer changes than the optimum there. The replays here scale up at once to the need
// (no tolerance) and down only to the largest need of a stabilization window, so they are
// never short; the check that they are not is part of the test.
func TestOptimumIsALowerBoundOfEveryNeverShortReplay(t *testing.T) {
	values := day()
	for _, window := range []int{300, 900, 3600} {
		p := replayPolicy(nil, &policy.Behavior{StabilizationWindowSeconds: &window}, 0)
		r := replay(p, values)
		pr := optimum.ProblemOf(p, &r)
		res, err := optimum.Measure(pr, optimum.Spent(&r), optimum.Limits{})
		require.NoError(t, err)
		require.NotNil(t, res.Hull)
		require.NotNil(t, res.Exact, res.Limit)
		checkSchedule(t, pr, *res.Exact, "exact")
		short := false
		for i, st := range r.Steps {
			if st.Replicas < min(max(pr.Need[i], pr.Min[i]), pr.Max[i]) {
				short = true
			}
		}
		require.False(t, short, "window %d: the replay is never short", window)
		assert.LessOrEqual(t, res.Exact.Changes, r.Summary.Changes, "window %d", window)
		assert.Less(t, res.Exact.Changes, r.Summary.Changes/2, "window %d: a stabilization window is far from the optimum", window)
		assert.LessOrEqual(t, res.Exact.Cost, optimum.Spent(&r))
	}
}

// TestMeasureFrontierSummary: the frontier's summary runs from the fewest changes possible to
// the floor, each point a Pareto point (fewer changes, more cost), and the exact answer at
// every one of its costs is that point.
func TestMeasureFrontierSummary(t *testing.T) {
	p := replayPolicy(&policy.Strategy{Type: policy.StrategySteady}, nil, 0.1)
	r := replay(p, day())
	pr := optimum.ProblemOf(p, &r)
	res, err := optimum.Measure(pr, optimum.Spent(&r), optimum.Limits{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(res.Frontier), 3)
	assert.Equal(t, res.Floor, res.Frontier[len(res.Frontier)-1])
	for i, pt := range res.Frontier {
		if i > 0 {
			assert.Greater(t, pt.Changes, res.Frontier[i-1].Changes)
			assert.Less(t, pt.Cost, res.Frontier[i-1].Cost)
		}
		s, err := optimum.Fewest(pr, pt.Cost, optimum.Limits{})
		require.NoError(t, err)
		assert.Equal(t, pt, s.Point, "frontier point %d", i)
	}
}

// TestMeasureBelowTheFloor: a budget below the need's own cost has no optimum, and says so.
func TestMeasureBelowTheFloor(t *testing.T) {
	p := replayPolicy(&policy.Strategy{Type: policy.StrategySteady}, nil, 0.1)
	r := replay(p, day())
	pr := optimum.ProblemOf(p, &r)
	floor, err := optimum.Floor(pr)
	require.NoError(t, err)
	res, err := optimum.Measure(pr, floor.Cost-1, optimum.Limits{})
	require.NoError(t, err)
	assert.False(t, res.Fits)
	assert.Nil(t, res.Exact)
	assert.Nil(t, res.Hull)
	assert.NotEmpty(t, res.Frontier)
}
