package engine

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

var btT0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// btPiecewise is a metric source for one metric: the value of the last btSegment that started at
// or before the instant (offsets from btT0); NaN means missing.
type btSegment struct {
	from time.Duration
	v    float64
}

func btPiecewise(name string, segs ...btSegment) func(time.Time) []MetricValue {
	return func(at time.Time) []MetricValue {
		v := math.NaN()
		for _, s := range segs {
			if !at.Before(btT0.Add(s.from)) {
				v = s.v
			}
		}
		if math.IsNaN(v) {
			return []MetricValue{{Name: name, Missing: true, Cause: "no samples"}}
		}
		return []MetricValue{{Name: name, Value: v}}
	}
}

type btChange struct {
	at       time.Duration
	from, to int
}

func btChanges(r BacktestResult) []btChange {
	var out []btChange
	for _, d := range r.Decisions {
		out = append(out, btChange{at: d.Time.Sub(btT0), from: d.From, to: d.To})
	}
	return out
}

// btStepRulePolicy is the original controller's form: ±step past thresholds, cooldowns, and a
// scale-down stabilization window.
func btStepRulePolicy() *policy.Policy {
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "laravel-web", Namespace: "laravel-demo"},
		Spec: policy.Spec{
			MinReplicas: ptr(2),
			MaxReplicas: 10,
			Schedule:    "@every 30s",
			Metrics: []policy.Metric{{
				Name:      "http_rps",
				ScaleUp:   &policy.StepRule{Threshold: ptr(100.0), Step: 2},
				ScaleDown: &policy.StepRule{Threshold: ptr(50.0), Step: 1},
			}},
			Behavior: &policy.Behavior{
				StabilizationWindowSeconds: ptr(120),
				ScaleUpCooldownSeconds:     ptr(60),
				ScaleDownCooldownSeconds:   ptr(60),
			},
		},
	}
	p.SetDefaults()
	return p
}

func TestBacktestSpikeAndDrop(t *testing.T) {
	p := btStepRulePolicy()
	// Calm (70 is between the thresholds), a spike from 1m30s to 4m, then a drop.
	src := btPiecewise("http_rps", btSegment{0, 70}, btSegment{90 * time.Second, 300}, btSegment{270 * time.Second, 20})
	r := Backtest(p, src, BacktestOptions{Start: btT0, End: btT0.Add(17 * time.Minute)})

	// By hand, at 30 s steps:
	//   spike: +2 at once, then every 60 s (scaleUpCooldownSeconds) — 2→4 at 1m30s, 4→6 at
	//   2m30s, 6→8 at 3m30s; at 4m the rule wants 10 but the cooldown holds.
	//   drop at 4m30s: each evaluation recommends c−1, but the 120 s window remembers the
	//   spike's recommendations (10 at 4m) until 6m; from then on each −1 waits until the
	//   window has forgotten the previous, higher count: one step per 120 s, down to min 2.
	want := []btChange{
		{90 * time.Second, 2, 4},
		{150 * time.Second, 4, 6},
		{210 * time.Second, 6, 8},
		{6 * time.Minute, 8, 7},
		{8 * time.Minute, 7, 6},
		{10 * time.Minute, 6, 5},
		{12 * time.Minute, 5, 4},
		{14 * time.Minute, 4, 3},
		{16 * time.Minute, 3, 2},
	}
	assert.Equal(t, want, btChanges(r))

	assert.Equal(t, "laravel-demo/laravel-web", r.Policy)
	assert.Equal(t, 30*time.Second, r.Step, "the policy's @every interval")
	assert.Equal(t, 2, r.Initial, "minReplicas")
	require.Len(t, r.Steps, 35)
	// replicas after each of the 35 steps: 3×2, 2×4, 2×6, 5×8, 4×7, 4×6, 4×5, 4×4, 4×3, 3×2 = 172.
	// Short while the cooldown holds the spike's step (the rule asks for 2 more): at 2m, 3m, 4m.
	assert.Equal(t, BacktestSummary{
		Evaluations:                    35,
		Changes:                        9,
		ScaleUps:                       3,
		ScaleDowns:                     6,
		ReplicaSeconds:                 172 * 30,
		UnderProvisionedSeconds:        3 * 30,
		UnderProvisionedReplicaSeconds: 3 * 2 * 30,
	}, r.Summary)

	// The reasons are Decide's own.
	first := r.Decisions[0]
	assert.Equal(t, map[string]float64{"http_rps": 300}, first.Metrics)
	require.NotEmpty(t, first.Reasons)
	assert.Equal(t, ReasonMetricValue, first.Reasons[0].Code)
	assert.Contains(t, first.Reasons[0].Message, "http_rps = 300 > scaleUp.threshold 100")
	held := Decide(p, &Snapshot{Now: btT0.Add(4 * time.Minute), Current: 8, Metrics: src(btT0),
		History: []Event{{At: btT0.Add(210 * time.Second), Kind: EventDecision, From: 6, To: 8}}})
	assert.Equal(t, 8, held.Desired, "sanity: the same engine holds at 4m")
}

func TestBacktestSummaryUnderProvisioned(t *testing.T) {
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "emails-worker"},
		Spec: policy.Spec{
			MinReplicas: ptr(1),
			MaxReplicas: 4,
			Metrics: []policy.Metric{{
				Name:   "queue_backlog",
				Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: ptr(100.0)},
			}},
			Behavior: &policy.Behavior{ScaleUpCooldownSeconds: ptr(60)},
		},
	}
	p.SetDefaults()
	src := btPiecewise("queue_backlog",
		btSegment{0, 50},                    // need 1
		btSegment{15 * time.Second, 250},    // need 3: 1→3
		btSegment{30 * time.Second, 380},    // need 4, cooldown holds at 3 until 75s: under ×3
		btSegment{90 * time.Second, 900},    // need 9 > maxReplicas 4: under
		btSegment{105 * time.Second, btNaN}, // missing: not counted
		btSegment{120 * time.Second, 0},     // need 0: down to minReplicas
	)
	r := Backtest(p, src, BacktestOptions{Start: btT0, End: btT0.Add(2 * time.Minute), Step: 15 * time.Second})

	assert.Equal(t, []btChange{{15 * time.Second, 1, 3}, {75 * time.Second, 3, 4}, {120 * time.Second, 4, 1}}, btChanges(r))
	var replicas []int
	for _, s := range r.Steps {
		replicas = append(replicas, s.Replicas)
	}
	assert.Equal(t, []int{1, 3, 3, 3, 3, 4, 4, 4, 1}, replicas)
	assert.Equal(t, BacktestSummary{
		Evaluations:             9,
		Changes:                 3,
		ScaleUps:                2,
		ScaleDowns:              1,
		ReplicaSeconds:          26 * 15,
		UnderProvisionedSeconds: 4 * 15, // at 30s, 45s, 60s and 90s
		// 1 short at 30s, 45s and 60s; 5 at 90s
		UnderProvisionedReplicaSeconds: (3*1 + 5) * 15,
	}, r.Summary)
}

var btNaN = math.NaN()

func TestBacktestOptions(t *testing.T) {
	calm := btPiecewise("http_rps", btSegment{0, 70})
	tests := []struct {
		name      string
		opts      BacktestOptions
		mutate    func(p *policy.Policy)
		wantEval  int
		wantStep  time.Duration
		want      []btChange
		wantFirst ReasonCode
	}{
		{name: "initial outside bounds goes to the bound at once", opts: BacktestOptions{Start: btT0, End: btT0.Add(time.Minute), Initial: ptr(15)},
			wantEval: 3, wantStep: 30 * time.Second, want: []btChange{{0, 15, 10}}, wantFirst: ReasonOutOfBounds},
		{name: "initial within bounds", opts: BacktestOptions{Start: btT0, End: btT0.Add(time.Minute), Initial: ptr(5)},
			wantEval: 3, wantStep: 30 * time.Second},
		{name: "explicit step", opts: BacktestOptions{Start: btT0, End: btT0.Add(time.Minute), Step: 10 * time.Second},
			wantEval: 7, wantStep: 10 * time.Second},
		{name: "end not on a step", opts: BacktestOptions{Start: btT0, End: btT0.Add(59 * time.Second)},
			wantEval: 2, wantStep: 30 * time.Second},
		{name: "start equals end", opts: BacktestOptions{Start: btT0, End: btT0},
			wantEval: 1, wantStep: 30 * time.Second},
		{name: "end before start", opts: BacktestOptions{Start: btT0, End: btT0.Add(-time.Second)},
			wantEval: 0, wantStep: 30 * time.Second},
		{name: "cron schedule steps 30s", opts: BacktestOptions{Start: btT0, End: btT0.Add(time.Minute)},
			mutate: func(p *policy.Policy) { p.Spec.Schedule = "*/5 * * * *" }, wantEval: 3, wantStep: 30 * time.Second},
		{name: "@every interval", opts: BacktestOptions{Start: btT0, End: btT0.Add(time.Minute)},
			mutate: func(p *policy.Policy) { p.Spec.Schedule = "@every 15s" }, wantEval: 5, wantStep: 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := btStepRulePolicy()
			if tt.mutate != nil {
				tt.mutate(p)
			}
			r := Backtest(p, calm, tt.opts)
			assert.Equal(t, tt.wantEval, r.Summary.Evaluations)
			assert.Len(t, r.Steps, tt.wantEval)
			assert.Equal(t, tt.wantStep, r.Step)
			assert.Equal(t, tt.want, btChanges(r))
			assert.NotNil(t, r.Decisions, "an empty list, not null, in JSON")
			if tt.wantFirst != "" {
				require.NotEmpty(t, r.Decisions)
				assert.Equal(t, tt.wantFirst, r.Decisions[0].Reasons[0].Code)
			}
		})
	}
}

func TestBacktestScaleToZeroInitial(t *testing.T) {
	p := &policy.Policy{Metadata: policy.Metadata{Name: "w"}, Spec: policy.Spec{
		MinReplicas: ptr(0), MaxReplicas: 5,
		Metrics: []policy.Metric{{Name: "backlog", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: ptr(10.0)}}},
	}}
	p.SetDefaults()
	src := btPiecewise("backlog", btSegment{0, 0}, btSegment{time.Minute, 25})
	r := Backtest(p, src, BacktestOptions{Start: btT0, End: btT0.Add(time.Minute), Initial: ptr(0)})
	assert.Equal(t, 0, r.Initial, "0 is a count, not 'unset'")
	assert.Equal(t, []btChange{{time.Minute, 0, 3}}, btChanges(r))
}

// TestBacktestTrimmingChangesNothing replays a long, noisy trace with and without trimming the
// history: the decisions must be identical, so the trimming only saves work.
func TestBacktestTrimmingChangesNothing(t *testing.T) {
	policies := map[string]*policy.Policy{
		"HPA form": btHPAPolicy(),
		"original form": func() *policy.Policy {
			p := btStepRulePolicy()
			p.Spec.Behavior.MaxScaleUpStepPercent = ptr(50)
			p.Spec.Behavior.MaxScaleDownStepPercent = ptr(20)
			return p
		}(),
	}
	for name, p := range policies {
		t.Run(name, func(t *testing.T) {
			src := btSyntheticSource(p)
			opts := BacktestOptions{Start: btT0, End: btT0.Add(6 * time.Hour), Step: 15 * time.Second}
			trimmed := backtest(p, src, opts, true)
			full := backtest(p, src, opts, false)
			require.Greater(t, trimmed.Summary.Changes, 20, "the trace must exercise the limits")
			assert.Equal(t, full.Summary, trimmed.Summary)
			assert.Equal(t, full.Decisions, trimmed.Decisions)
		})
	}
}

// btHPAPolicy uses the HPA form, with three metrics of the three kinds.
func btHPAPolicy() *policy.Policy {
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "laravel-web", Namespace: "laravel-demo"},
		Spec: policy.Spec{
			MinReplicas: ptr(2),
			MaxReplicas: 40,
			Schedule:    "@every 15s",
			Metrics: []policy.Metric{
				{Name: "http_rps", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: ptr(50.0)}},
				{Name: "queue_backlog", ScaleUp: &policy.StepRule{Threshold: ptr(500.0), Step: 2}, ScaleDown: &policy.StepRule{Threshold: ptr(100.0), Step: 1}},
				{Name: "latency", Target: &policy.Target{Type: policy.TargetValue, Value: ptr(0.3)}},
			},
			Behavior: &policy.Behavior{
				ScaleUp: &policy.ScalingRules{StabilizationWindowSeconds: ptr(30), Policies: []policy.HPAPolicy{
					{Type: policy.PolicyPercent, Value: 100, PeriodSeconds: 60}, {Type: policy.PolicyPods, Value: 4, PeriodSeconds: 60}}},
				ScaleDown: &policy.ScalingRules{StabilizationWindowSeconds: ptr(300), Policies: []policy.HPAPolicy{
					{Type: policy.PolicyPods, Value: 1, PeriodSeconds: 120}}},
			},
		},
	}
	p.SetDefaults()
	return p
}

// btSyntheticSource is a deterministic load with a daily shape, noise and a 10-minute spike every
// 90 minutes, one value per policy metric, scaled to each metric's rule so that all of them
// take part: AverageValue metrics ask for 2 to ~25 replicas; step-rule and Value metrics stay
// below their scale-down side and exceed their target in spikes (a trace has no feedback from
// the replica count, so a metric that sat inside its band would hold the count wherever it got
// to). The first metric goes missing for a minute every two hours.
func btSyntheticSource(p *policy.Policy) func(time.Time) []MetricValue {
	return func(at time.Time) []MetricValue {
		sec := float64(at.Sub(btT0) / time.Second)
		day := 0.5 + 0.5*math.Sin(2*math.Pi*sec/86400)
		noise := math.Sin(sec*0.0137) * math.Cos(sec*0.00091)
		spike := 0.0
		if int(sec)%5400 < 600 {
			spike = 1
		}
		out := make([]MetricValue, len(p.Spec.Metrics))
		for i, m := range p.Spec.Metrics {
			var v float64
			switch {
			case m.Target != nil && m.Target.AverageValue != nil:
				v = *m.Target.AverageValue * (2 + 10*day + 4*noise + 8*spike)
			case m.Target != nil && m.Target.Value != nil:
				v = *m.Target.Value * (0.55 + 0.2*noise + 0.5*spike)
			case m.ScaleUp != nil && m.ScaleDown != nil:
				up, down := *m.ScaleUp.Threshold, *m.ScaleDown.Threshold
				v = down*(0.5+0.4*noise) + up*(1.3+0.3*noise)*spike
			}
			out[i] = MetricValue{Name: m.Name, Value: math.Max(v, 0)}
			if i == 0 && int(sec)%7200 < 60 {
				out[i] = MetricValue{Name: m.Name, Missing: true, Cause: "no samples"}
			}
		}
		return out
	}
}

func TestBacktestJSON(t *testing.T) {
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "w", Namespace: "ns"},
		Spec: policy.Spec{
			MinReplicas: ptr(1),
			MaxReplicas: 10,
			Metrics:     []policy.Metric{{Name: "http_rps", ScaleUp: &policy.StepRule{Threshold: ptr(250.0), Step: 3}, ScaleDown: &policy.StepRule{Threshold: ptr(80.0), Step: 1}}},
		},
	}
	p.SetDefaults()
	src := btPiecewise("http_rps", btSegment{0, 100}, btSegment{30 * time.Second, 312.4})
	r := Backtest(p, src, BacktestOptions{Start: btT0, End: btT0.Add(30 * time.Second), Initial: ptr(3)})
	out, err := json.Marshal(r)
	require.NoError(t, err)

	var got map[string]any
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, []string{"decisions", "policy", "summary"}, slices.Sorted(maps.Keys(got)))
	assert.Equal(t, "ns/w", got["policy"])
	decisions := got["decisions"].([]any)
	require.Len(t, decisions, 1)
	d := decisions[0].(map[string]any)
	assert.Equal(t, "2026-11-22T11:00:30Z", d["time"])
	assert.Equal(t, 3.0, d["from"])
	assert.Equal(t, 6.0, d["to"])
	assert.Equal(t, map[string]any{"http_rps": 312.4}, d["metrics"])
	reasons := d["reasons"].([]any)
	require.NotEmpty(t, reasons)
	assert.Equal(t, map[string]any{"reason": "MetricValue", "message": "http_rps = 312.4 > scaleUp.threshold 250 → 6"}, reasons[0])
	assert.Equal(t, map[string]any{
		"evaluations": 2.0, "changes": 1.0, "scaleUps": 1.0, "scaleDowns": 0.0,
		"replicaSeconds": 270.0, "underProvisionedSeconds": 0.0, "underProvisionedReplicaSeconds": 0.0,
	}, got["summary"])
}

func TestWindowCompacts(t *testing.T) {
	var w replayWindow[Recommendation]
	for i := range 10000 {
		at := btT0.Add(time.Duration(i) * time.Second)
		w.dropBefore(at.Add(-100*time.Second), func(r Recommendation) time.Time { return r.At })
		w.push(Recommendation{At: at, Replicas: i})
	}
	items := w.items()
	require.Len(t, items, 101)
	assert.Equal(t, 9899, items[0].Replicas)
	assert.Equal(t, 9999, items[100].Replicas)
	assert.Less(t, cap(w.buf), 1024, "memory bounded by the window")
}
