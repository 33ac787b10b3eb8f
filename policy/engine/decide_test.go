package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func TestDecideOutOfBounds(t *testing.T) {
	slow := &policy.Behavior{
		ScaleUp:                  rules(ptr(600), "", pods(1, 600)),
		ScaleDown:                rules(ptr(600), "", pods(1, 600)),
		ScaleUpCooldownSeconds:   ptr(600),
		ScaleDownCooldownSeconds: ptr(600),
	}
	runDecideCases(t, []decideCase{
		{
			name:     "below minReplicas goes straight to it, before metrics and limits",
			policy:   func() *policy.Policy { p := loadPolicy(slow); p.Spec.MinReplicas = ptr(3); return p }(),
			snap:     snap(1, 1).withHistory(change(5, 2, 1)).withRecs(recAt(10, 1)),
			want:     3,
			messages: []string{"current 1 outside bounds [3, 100] → 3"},
		},
		{
			name:   "above maxReplicas goes straight to it",
			policy: func() *policy.Policy { p := loadPolicy(slow); p.Spec.MaxReplicas = 30; return p }(),
			snap:   snap(45, 80).withHistory(change(5, 44, 45)),
			want:   30,
			codes:  []ReasonCode{ReasonOutOfBounds},
		},
		{
			name:   "out of bounds with every metric missing still goes to the bound",
			policy: func() *policy.Policy { p := loadPolicy(nil); p.Spec.MinReplicas = ptr(3); return p }(),
			// Not 0: a count of 0 with minReplicas above 0 is "switched off" (TestZeroReplicas).
			snap: &Snapshot{Now: t0, Current: 1, Metrics: []MetricValue{missing("timeout")}},
			want: 3,
		},
		{
			name: "holds still apply to an out-of-bounds move",
			policy: func() *policy.Policy {
				p := loadPolicy(nil)
				p.Spec.MinReplicas = ptr(3)
				p.Spec.Suspend = true
				return p
			}(),
			snap: snap(1, 1),
			want: 1, held: true,
			codes: []ReasonCode{ReasonOutOfBounds, ReasonSuspended},
		},
	})
}

func TestDecideRecommendationIsRaw(t *testing.T) {
	p := loadPolicy(&policy.Behavior{ScaleDown: &policy.ScalingRules{}})
	d := Decide(p, snap(10, 4).withRecs(recAt(60, 9)))
	assert.Equal(t, 4, d.Recommendation, "the remembered recommendation is the raw one")
	assert.Equal(t, 9, d.Desired)

	p.Spec.MinReplicas = ptr(12)
	d = Decide(p, snap(10, 4))
	assert.Equal(t, 4, d.Recommendation, "out of bounds still returns the recommendation to remember")
	assert.Equal(t, 12, d.Desired)
}

// TestDecideFullOrder walks one decision through every step and pins the reason lines, the
// text that becomes the commit message.
func TestDecideFullOrder(t *testing.T) {
	p := testPolicy(3, 30,
		stepMetric("http_rps", 80, 250, 3),
		avgMetric("queue_backlog", 100),
		valueMetric("latency", 0.3),
	)
	p.Spec.Behavior = &policy.Behavior{
		MaxScaleUpStepPercent: ptr(100),
		ScaleUp:               rules(ptr(60), policy.SelectMax, percent(100, 60), pods(4, 60)),
	}
	s := &Snapshot{
		Now:             t0,
		Current:         6,
		Metrics:         []MetricValue{{Value: 312.4}, {Value: 1800}, {Value: 0.21}},
		History:         []Event{change(3600, 3, 6)},
		Recommendations: []Recommendation{recAt(45, 16), recAt(30, 20)},
	}
	d := Decide(p, s)
	assert.Equal(t, Decision{
		Current: 6, Recommendation: 18, Desired: 12,
		Reasons: []Reason{
			{Code: ReasonMetricValue, Message: "http_rps = 312.4 > scaleUp.threshold 250 → 9",
				Metric: "http_rps", Value: 312.4, Rule: "> scaleUp.threshold 250", To: 9},
			{Code: ReasonMetricValue, Message: "queue_backlog = 1800 / averageValue 100 → 18",
				Metric: "queue_backlog", Value: 1800, Rule: "/ averageValue 100", To: 18},
			{Code: ReasonMetricValue, Message: "latency = 0.21 / value 0.3 × 6 → 5",
				Metric: "latency", Value: 0.21, Rule: "/ value 0.3 × 6", To: 5},
			{Code: ReasonAggregated, Message: "aggregation max → 18"},
			{Code: ReasonStabilized, Message: "stabilization: lowest recommendation in the last 60s (scale-up window) is 16 → 16"},
			{Code: ReasonScaleUpLimited, Message: "scale-up limited: Percent 100/60s from 6 allows 12, Pods 4/60s from 6 allows 10; selectPolicy Max → 12"},
		},
	}, d)
}

func TestDecideIsDeterministicAndPure(t *testing.T) {
	p, s := benchPolicyAndSnapshot()
	before := *s
	first := Decide(p, s)
	second := Decide(p, s)
	assert.Equal(t, first, second, "equal snapshots give equal decisions")
	assert.Equal(t, before, *s, "Decide must not write to the snapshot")
	require.NotEmpty(t, first.Reasons)
	for _, r := range first.Reasons {
		assert.NotEmpty(t, r.Message, "every reason has its message when Decide returns (%s)", r.Code)
	}
}

// benchPolicyAndSnapshot is the benchmark's realistic case: 5 metrics, the HPA behavior form
// with a schedule, 100 past History events and a full 300s window of recommendations (one per
// 15s).
func benchPolicyAndSnapshot() (*policy.Policy, *Snapshot) {
	p := testPolicy(3, 60,
		stepMetric("http_rps", 80, 250, 3),
		avgMetric("queue_backlog", 100),
		valueMetric("latency_p95", 0.3),
		avgMetric("mysql_threads", 20),
		valueMetric("redis_memory_ratio", 0.7),
	)
	p.Spec.Schedules = []policy.ScheduleWindow{
		window("business-hours", "0 8 * * 1-5", 10*time.Hour, ptr(5), nil, "Europe/Berlin"),
	}
	p.Spec.Behavior = &policy.Behavior{
		ScaleUpCooldownSeconds: ptr(30),
		ScaleUp:                rules(ptr(60), policy.SelectMax, percent(100, 60), pods(4, 60)),
		ScaleDown:              rules(ptr(300), policy.SelectMax, percent(10, 60), pods(2, 60)),
	}
	if err := p.Compile(); err != nil {
		panic(err)
	}
	s := &Snapshot{
		Now:     t0,
		Current: 8,
		Metrics: []MetricValue{{Value: 312.4}, {Value: 2210}, {Value: 0.45}, {Value: 130}, {Value: 0.66}},
	}
	for i := range 100 {
		from := 8 + i%3
		s.History = append(s.History, change(float64(120*(100-i)), from, from+1-2*(i%2)))
	}
	for i := range 20 {
		s.Recommendations = append(s.Recommendations, recAt(float64(300-15*i), 20+i%4))
	}
	return p, s
}

func BenchmarkDecide(b *testing.B) {
	p, s := benchPolicyAndSnapshot()
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		d = Decide(p, s)
	}
	if d.Desired == d.Current || len(d.Reasons) < 6 {
		b.Fatalf("the benchmark case should scale up through every step: %+v", d)
	}
}

// FuzzDecide pins the invariants every decision keeps, whatever the inputs: the count ends inside
// the bounds unless a hold kept it, a hold keeps exactly the current count, and no scale-down
// happens while a metric is missing (docs/design.md §9 invariant 2) unless the count is above the
// ceiling. With behaviorSel's bit 16 the policy uses the Steady strategy (bit 32 with a budget of
// 3 changes a day, bit 64 with 20 % headroom, bit 128 with a memory of yesterday), and Steady's
// own hold:
//   - never short right after a scale-up step: a scale-up reaches the need or the upper bound;
//   - the budget never blocks a needed scale-up: a need above the count is left uncovered only
//     by the confirmation of a jump (SteadyConfirm, when the evaluation before was covered),
//     never by the budget;
//   - evaluated every 5 minutes, a lone burst waits only within the day's short budget: with
//     it spent, no need above the count is left uncovered;
//   - never below the forecast's upper band right after a change: a change goes to at least the
//     band of the next minutes (inside the bounds);
//   - a scale-down never lands below the need, never happens while the need still falls fast,
//     nor without a window of needs.
func FuzzDecide(f *testing.F) {
	f.Add(6, 3, 30, 312.4, 1800.0, 0.21, uint8(0), uint8(0), uint16(41))
	f.Add(0, 0, 10, 0.0, 0.0, 0.0, uint8(2), uint8(7), uint16(0))
	f.Add(40, 1, 30, 10.0, 5.0, 0.1, uint8(1), uint8(3), uint16(600))
	f.Add(12, 2, 40, 300.0, 1800.0, 0.4, uint8(0), uint8(16), uint16(4000))
	f.Add(30, 1, 60, 10.0, 500.0, 0.1, uint8(0), uint8(48), uint16(65000))
	f.Add(30, 1, 60, 900.0, 500.0, 0.1, uint8(4), uint8(48), uint16(3))
	f.Add(20, 1, 60, 10.0, 700.0, 0.1, uint8(0), uint8(144), uint16(5000))
	f.Add(5, 1, 60, 300.0, 3000.0, 0.6, uint8(0), uint8(208), uint16(777))
	f.Fuzz(func(t *testing.T, current, minR, maxR int, v1, v2, v3 float64, missingMask, behaviorSel uint8, ago uint16) {
		current, minR, maxR = current%200, minR%50, maxR%200
		if current < 0 || minR < 0 || maxR < minR || maxR == 0 {
			t.Skip()
		}
		p := testPolicy(minR, maxR,
			withActivation(stepMetric("a", 80, 250, 3), 1),
			avgMetric("b", 100),
			valueMetric("c", 0.3),
		)
		switch behaviorSel % 4 {
		case 1:
			p.Spec.Behavior = &policy.Behavior{ScaleUp: &policy.ScalingRules{}, ScaleDown: &policy.ScalingRules{}}
		case 2:
			p.Spec.Behavior = &policy.Behavior{StabilizationWindowSeconds: ptr(120), ScaleDownCooldownSeconds: ptr(60), MaxScaleUpStepPercent: ptr(50)}
		case 3:
			p.Spec.Behavior = &policy.Behavior{ScaleDown: rules(ptr(0), policy.SelectMin, percent(10, 60), pods(1, 60))}
		}
		p.Spec.Suspend = behaviorSel&8 != 0
		steady := behaviorSel&16 != 0
		if steady {
			p.Spec.Behavior = nil
			p.Spec.Strategy = &policy.Strategy{Type: policy.StrategySteady}
			if behaviorSel&32 != 0 {
				p.Spec.Strategy.MaxChangesPerDay = ptr(3)
			}
			if behaviorSel&64 != 0 {
				p.Spec.Strategy.HeadroomPercent = ptr(20)
			}
			if ago%3 == 0 {
				// Every 5 minutes: the needs below jump enough for the bursty rule.
				p.Spec.Schedule = "@every 5m"
			}
			p.SetDefaults()
		}
		metrics := vals(v1, v2, v3)
		anyMissing := false
		for i := range metrics {
			if missingMask&(1<<i) != 0 {
				metrics[i] = missing("test")
				anyMissing = true
			}
		}
		s := &Snapshot{
			Now: t0, Current: current, Metrics: metrics,
			History:         []Event{change(float64(ago), max(current-1, 0), current)},
			Recommendations: []Recommendation{recAt(float64(ago%300), int(ago%40))},
		}
		if steady {
			// A day's history that may spend the budget, and a window of needs.
			for i := range int(ago % 7) {
				s.History = append([]Event{change(float64(3600*(i+2)), current, current)}, s.History...)
			}
			for i := range int(ago%90) + 1 {
				s.Recommendations = append(s.Recommendations, recAt(float64(60*(90-i)), int(ago>>uint(i%8))%60))
			}
			if behaviorSel&128 != 0 {
				for m := -120; m < 120; m += 2 {
					s.Seasons.Day = append(s.Seasons.Day, Recommendation{At: t0.Add(-SeasonDay + time.Duration(m)*time.Minute),
						Replicas: int(ago>>uint((m+120)%9)) % 60})
				}
			}
			slices.SortFunc(s.History, func(a, b Event) int { return a.At.Compare(b.At) })
			slices.SortFunc(s.Recommendations, func(a, b Recommendation) int { return a.At.Compare(b.At) })
		}
		d := Decide(p, s)
		require.NotEmpty(t, d.Reasons)
		if d.Held {
			assert.Equal(t, current, d.Desired)
			return
		}
		if d.Desired != current {
			assert.GreaterOrEqual(t, d.Desired, minR)
			assert.LessOrEqual(t, d.Desired, maxR)
		}
		if anyMissing && current <= maxR {
			assert.GreaterOrEqual(t, d.Desired, current, "no scale-down while a metric is missing: %q", messages(d.Reasons))
		}
		inBounds := current >= minR && current <= maxR && !(current == 0 && minR > 0)
		if steady && inBounds {
			need, cs := d.Recommendation, codes(d.Reasons)
			last := s.Recommendations[len(s.Recommendations)-1]
			if d.Desired > current {
				assert.GreaterOrEqual(t, d.Desired, min(need, maxR), "never short right after a scale-up: %q", messages(d.Reasons))
			}
			if need > current && d.Desired == current && current < maxR {
				assert.Contains(t, cs, ReasonSteadyConfirm, "only a confirmation (or a lone burst, evaluated every 5 minutes) leaves a need uncovered: %q", messages(d.Reasons))
				assert.LessOrEqual(t, last.Replicas, current, "a confirmation follows a covered evaluation: %q", messages(d.Reasons))
				if cfg, _ := steadyOf(&p.Spec); cfg.step > steadyConfirmStep {
					// Evaluated every 5 minutes, the confirmation is the lone burst's: within 1 %
					// of a day's evaluations short, now included, and at most half again the count.
					short := 1
					for _, r := range s.Recommendations {
						if r.At.After(t0.Add(-steadyDay)) && min(r.Replicas, maxR) > CountAt(s.History, r.At, current) {
							short++
						}
					}
					assert.LessOrEqual(t, float64(short), 0.01*float64(steadyDay/cfg.step), "a lone burst spends at most the short budget: %q", messages(d.Reasons))
					assert.LessOrEqual(t, float64(min(need, maxR)), 1.5*float64(current), "a lone burst is at most half again the count: %q", messages(d.Reasons))
				}
			}
			if cfg, _ := steadyOf(&p.Spec); cfg.step > steadyConfirmStep && need > current && current < maxR {
				// With the day's short budget spent, no need is left uncovered: a lone burst
				// waits only within it (docs/steady.md, "A lone burst").
				short := 1
				for _, r := range s.Recommendations {
					if r.At.After(t0.Add(-steadyDay)) && min(r.Replicas, maxR) > CountAt(s.History, r.At, current) {
						short++
					}
				}
				if float64(short) > steadyShortBudget*float64(steadyDay/cfg.step) {
					assert.GreaterOrEqual(t, d.Desired, min(need, maxR), "with the short budget spent no need is left uncovered: %q", messages(d.Reasons))
				}
			}
			if need > current && last.Replicas > current {
				assert.GreaterOrEqual(t, d.Desired, min(need, maxR), "the budget never blocks a needed scale-up: %q", messages(d.Reasons))
			}
			if d.Desired != current {
				cfg, _ := steadyOf(&p.Spec)
				h := summarize(s.History)
				f := steadyForecast(&cfg, need, s.Recommendations, &s.Seasons, t0)
				f.hold(&cfg, need, current, s, &h)
				var lv [steadyArray]int
				f.levels(&cfg, effectiveBounds(p, t0, newExplainer(0)), &lv)
				assert.GreaterOrEqual(t, d.Desired, lv[0], "never below the forecast's upper band right after a change: %q", messages(d.Reasons))
			}
			if d.Desired < current {
				assert.GreaterOrEqual(t, d.Desired, need, "a scale-down never lands below the need: %q", messages(d.Reasons))
				assert.Less(t, -needTrend(s.Recommendations, t0, steadyFallWindow, need)*60, steadyFallRate*float64(max(need, 1)),
					"no scale-down while the need still falls fast: %q", messages(d.Reasons))
			}
		}
	})
}

// BenchmarkDecideSteady is BenchmarkDecide's case under the Steady strategy with its defaults
// (a two-hour look-back and horizon at one evaluation a minute): the same metrics, schedule and
// 100 events of history (which spend the budget), two hours of needs rising towards a confirmed
// jump, and the memory of the same hours yesterday and a week ago (four hours each, one a
// minute); it scales up through the forecast, the jump, the budget's line and the bounds.
func BenchmarkDecideSteady(b *testing.B) {
	p, s := benchPolicyAndSnapshot()
	p.Spec.Behavior = nil
	p.Spec.Strategy = &policy.Strategy{Type: policy.StrategySteady}
	p.Spec.MaxReplicas = 50
	p.SetDefaults()
	s.Current = 30
	s.Recommendations = nil
	for i := range 120 {
		s.Recommendations = append(s.Recommendations, recAt(float64(60*(120-i)), 20+i/12))
	}
	s.Recommendations[119].Replicas = 31
	for _, off := range []time.Duration{SeasonDay, SeasonWeek} {
		var mem []Recommendation
		for m := -119; m < 120; m++ {
			mem = append(mem, Recommendation{At: t0.Add(-off + time.Duration(m)*time.Minute), Replicas: 20 + max(m, -120)/12 + 10})
		}
		if off == SeasonDay {
			s.Seasons.Day = mem
		} else {
			s.Seasons.Week = mem
		}
	}
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		d = Decide(p, s)
	}
	if d.Desired <= d.Current || len(d.Reasons) < 8 || !slices.Contains(codes(d.Reasons), ReasonSteadyBudget) || !strings.Contains(d.Reasons[6].Message, "yesterday") {
		b.Fatalf("the benchmark case should scale up through the forecast with its memory, the budget and the bounds: %+v", d)
	}
}

// BenchmarkDecideSteadyLoneBurst is the bursty path with the most to read: a Steady policy
// evaluated every 5 minutes (the default 2 h horizon) over a day of jittery needs (288) and a
// day of history (24 changes), whose need of now is a lone burst within the day's short budget —
// steadyLoneBurst walks all of it before the count holds (docs/steady.md, "A lone burst").
func BenchmarkDecideSteadyLoneBurst(b *testing.B) {
	p := every5(nil)
	s := snap(4, 6)
	for i := range 24 {
		at := float64(3600 * (24 - i))
		s.History = append(s.History, change(at, 4+i%2, 5-i%2))
	}
	needs := jumpy(288, 1, 3)
	needs[100] = 6 // one evaluation short earlier in the day
	s.Recommendations = burst5(needs...)
	var d Decision
	b.ReportAllocs()
	for b.Loop() {
		d = Decide(p, s)
	}
	if d.Desired != 4 || !strings.Contains(d.Reasons[len(d.Reasons)-1].Message, "a lone burst is not chased") {
		b.Fatalf("the benchmark case should hold a lone burst within the budget: %+v", d)
	}
}
