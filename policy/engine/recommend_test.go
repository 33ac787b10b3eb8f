package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Metric builders for engine tests.

func stepMetric(name string, down, up float64, step int) policy.Metric {
	return policy.Metric{
		Name: name, PromQL: "x",
		ScaleUp:   &policy.StepRule{Threshold: ptr(up), Step: step},
		ScaleDown: &policy.StepRule{Threshold: ptr(down), Step: step},
	}
}

func avgMetric(name string, avg float64) policy.Metric {
	return policy.Metric{Name: name, PromQL: "x", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: ptr(avg)}}
}

func valueMetric(name string, value float64) policy.Metric {
	return policy.Metric{Name: name, PromQL: "x", Target: &policy.Target{Type: policy.TargetValue, Value: ptr(value)}}
}

func withActivation(m policy.Metric, threshold float64) policy.Metric {
	m.ActivationThreshold = ptr(threshold)
	return m
}

func withWeight(m policy.Metric, w float64) policy.Metric {
	m.Weight = ptr(w)
	return m
}

// testPolicy builds a defaulted policy with bounds [min, max] and the given metrics.
func testPolicy(min, max int, metrics ...policy.Metric) *policy.Policy {
	p := &policy.Policy{
		APIVersion: policy.APIVersion, Kind: policy.KindPolicy,
		Metadata: policy.Metadata{Name: "web", Namespace: "demo"},
		Spec:     policy.Spec{MinReplicas: ptr(min), MaxReplicas: max, Metrics: metrics},
	}
	p.SetDefaults()
	return p
}

func vals(vs ...float64) []MetricValue {
	out := make([]MetricValue, len(vs))
	for i, v := range vs {
		out[i] = MetricValue{Value: v}
	}
	return out
}

func missing(cause string) MetricValue { return MetricValue{Missing: true, Cause: cause} }

func codes(rs []Reason) []ReasonCode {
	out := make([]ReasonCode, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

func messages(rs []Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Message
	}
	return out
}

func TestRecommend(t *testing.T) {
	tests := []struct {
		name     string
		policy   *policy.Policy
		current  int
		metrics  []MetricValue
		want     int
		messages []string // when set, the exact reason lines
		codes    []ReasonCode
	}{
		// Step rule.
		{
			name:    "step rule above scaleUp threshold adds step",
			policy:  testPolicy(1, 30, stepMetric("http_rps", 80, 250, 3)),
			current: 3, metrics: vals(312.4), want: 6,
			messages: []string{"http_rps = 312.4 > scaleUp.threshold 250 → 6"},
		},
		{
			name:    "step rule at scaleUp threshold is not above it",
			policy:  testPolicy(1, 30, stepMetric("http_rps", 80, 250, 3)),
			current: 3, metrics: vals(250), want: 3,
			messages: []string{"http_rps = 250 within [80, 250] → 3"},
		},
		{
			name:    "step rule below scaleDown threshold removes step",
			policy:  testPolicy(1, 30, stepMetric("http_rps", 80, 250, 1)),
			current: 3, metrics: vals(79.5), want: 2,
			messages: []string{"http_rps = 79.5 < scaleDown.threshold 80 → 2"},
		},
		{
			name:    "step rule at scaleDown threshold is not below it",
			policy:  testPolicy(1, 30, stepMetric("http_rps", 80, 250, 1)),
			current: 3, metrics: vals(80), want: 3,
		},
		{
			name:    "step rule never recommends below zero",
			policy:  testPolicy(1, 30, stepMetric("http_rps", 80, 250, 5)),
			current: 3, metrics: vals(1), want: 0,
		},
		// AverageValue.
		{
			name:    "AverageValue rounds up",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 3, metrics: vals(950), want: 10,
			messages: []string{"queue_backlog = 950 / averageValue 100 → 10"},
		},
		{
			name:    "AverageValue ceil is exact on decimals: 1.1 / 0.1 is 11",
			policy:  testPolicy(1, 30, avgMetric("q", 0.1)),
			current: 20, metrics: vals(1.1), want: 11,
		},
		{
			name:    "AverageValue at tolerance bound 1.1 is within (inclusive)",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 3, metrics: vals(330), want: 3,
			codes:    []ReasonCode{ReasonWithinTolerance},
			messages: []string{"queue_backlog = 330 within tolerance 0.1 of averageValue 100 × 3 → 3"},
		},
		{
			name:    "item 9: AverageValue exactly on target says so, not 'within tolerance 0 of'",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 3, metrics: vals(300), want: 3,
			codes:    []ReasonCode{ReasonWithinTolerance},
			messages: []string{"queue_backlog = 300, exactly averageValue 100 × 3 → 3"},
		},
		{
			name:    "item 9: Value exactly on target says so",
			policy:  testPolicy(1, 30, valueMetric("latency", 60)),
			current: 4, metrics: vals(60), want: 4,
			codes:    []ReasonCode{ReasonWithinTolerance},
			messages: []string{"latency = 60, exactly the target value → 4"},
		},
		{
			name:    "AverageValue just past tolerance bound 1.1000001 scales",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 1, metrics: vals(110.00001), want: 2,
			codes: []ReasonCode{ReasonMetricValue},
		},
		{
			name:    "AverageValue at lower tolerance bound 0.9 is within",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 10, metrics: vals(900), want: 10,
		},
		{
			name:    "AverageValue just below lower tolerance bound scales down",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 10, metrics: vals(899.99), want: 9,
		},
		{
			name:    "AverageValue from zero ignores tolerance",
			policy:  testPolicy(0, 30, avgMetric("queue_backlog", 100)),
			current: 0, metrics: vals(250), want: 3,
		},
		// Value.
		{
			name:    "Value is ratio times current, rounded up",
			policy:  testPolicy(1, 30, valueMetric("latency", 0.3)),
			current: 3, metrics: vals(0.45), want: 5,
			messages: []string{"latency = 0.45 / value 0.3 × 3 → 5"},
		},
		{
			name:    "Value at tolerance bound 1.1 is within (inclusive)",
			policy:  testPolicy(1, 30, valueMetric("latency", 1)),
			current: 4, metrics: vals(1.1), want: 4,
			codes: []ReasonCode{ReasonWithinTolerance},
		},
		{
			name:    "Value just past tolerance bound 1.1000001 scales",
			policy:  testPolicy(1, 30, valueMetric("latency", 1)),
			current: 4, metrics: vals(1.1000001), want: 5,
			codes: []ReasonCode{ReasonMetricValue},
		},
		{
			name: "Value honours a policy tolerance",
			policy: func() *policy.Policy {
				p := testPolicy(1, 30, valueMetric("latency", 1))
				p.Spec.Tolerance = ptr(0.25)
				return p
			}(),
			current: 4, metrics: vals(1.25), want: 4,
		},
		{
			name:    "Value from zero scales as if one replica ran",
			policy:  testPolicy(0, 30, valueMetric("latency", 0.3)),
			current: 0, metrics: vals(0.9), want: 3,
		},
		// Robustness.
		{
			name:    "negative value counts as zero",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100)),
			current: 3, metrics: vals(-50), want: 0,
			messages: []string{"queue_backlog = 0 / averageValue 100 → 0"},
		},
		{
			name:    "NaN counts as missing",
			policy:  testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100)),
			current: 3, metrics: vals(math.NaN(), 900), want: 9,
			codes: []ReasonCode{ReasonMetricMissing, ReasonMetricValue},
		},
		{
			name:    "absent value counts as missing",
			policy:  testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100)),
			current: 3, metrics: vals(900), want: 9,
			messages: []string{"a = 900 / averageValue 100 → 9", "b missing: no value"},
		},
		// Missing metrics (docs/design.md §5, §9 invariant 2).
		{
			name:    "missing metric: another metric may still scale up",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100), stepMetric("http_rps", 80, 250, 3)),
			current: 3, metrics: []MetricValue{missing("query error: timeout"), {Value: 300}}, want: 6,
			messages: []string{"queue_backlog missing: query error: timeout", "http_rps = 300 > scaleUp.threshold 250 → 6"},
		},
		{
			name:    "missing metric: scale-down blocked and named",
			policy:  testPolicy(1, 30, avgMetric("queue_backlog", 100), stepMetric("http_rps", 80, 250, 1)),
			current: 6, metrics: []MetricValue{missing("empty result"), {Value: 10}}, want: 6,
			codes: []ReasonCode{ReasonMetricMissing, ReasonMetricValue, ReasonScaleDownBlocked},
			messages: []string{
				"queue_backlog missing: empty result",
				"http_rps = 10 < scaleDown.threshold 80 → 5",
				"scale-down blocked: queue_backlog missing → hold at 6",
			},
		},
		{
			name:    "all metrics missing holds, never goes to minReplicas",
			policy:  testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100)),
			current: 7, metrics: []MetricValue{missing("empty result"), missing("")}, want: 7,
			codes: []ReasonCode{ReasonMetricMissing, ReasonMetricMissing, ReasonAllMetricsMissing},
		},
		{
			name:    "missing metric blocks scale to zero",
			policy:  testPolicy(0, 30, withActivation(avgMetric("a", 100), 5), avgMetric("b", 100)),
			current: 2, metrics: []MetricValue{{Value: 3}, missing("timeout")}, want: 2,
			codes: []ReasonCode{ReasonMetricValue, ReasonMetricMissing, ReasonActivation, ReasonScaleDownBlocked},
		},
		// Aggregation.
		{
			name:    "aggregation max (default)",
			policy:  testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100)),
			current: 3, metrics: vals(200, 700), want: 7,
			messages: []string{"a = 200 / averageValue 100 → 2", "b = 700 / averageValue 100 → 7", "aggregation max → 7"},
		},
		{
			name: "aggregation min",
			policy: func() *policy.Policy {
				p := testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100))
				p.Spec.Aggregation = policy.AggregateMin
				return p
			}(),
			current: 3, metrics: vals(200, 700), want: 2,
		},
		{
			name: "aggregation average is the ceil of the mean",
			policy: func() *policy.Policy {
				p := testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100))
				p.Spec.Aggregation = policy.AggregateAverage
				return p
			}(),
			current: 3, metrics: vals(200, 700), want: 5, // (2+7)/2 = 4.5
		},
		{
			name: "aggregation weighted is the ceil of the weighted mean",
			policy: func() *policy.Policy {
				p := testPolicy(1, 30, withWeight(avgMetric("a", 100), 1), withWeight(avgMetric("b", 100), 2))
				p.Spec.Aggregation = policy.AggregateWeighted
				return p
			}(),
			current: 3, metrics: vals(200, 700), want: 6, // (2 + 14) / 3 = 5.33
		},
		{
			name: "aggregation weighted is exact on whole results",
			policy: func() *policy.Policy {
				p := testPolicy(1, 30, withWeight(avgMetric("a", 100), 0.1), withWeight(avgMetric("b", 100), 0.2))
				p.Spec.Aggregation = policy.AggregateWeighted
				return p
			}(),
			current: 3, metrics: vals(300, 300), want: 3, // 0.9 / 0.3 in floating point is 3.0000000000000004
		},
		{
			name: "aggregation ignores missing metrics",
			policy: func() *policy.Policy {
				p := testPolicy(1, 30, avgMetric("a", 100), avgMetric("b", 100), avgMetric("c", 100))
				p.Spec.Aggregation = policy.AggregateAverage
				return p
			}(),
			current: 3, metrics: []MetricValue{{Value: 400}, missing("x"), {Value: 600}}, want: 5,
		},
		// Activation (scale to and from zero).
		{
			name:    "activation: no metric above its threshold recommends zero",
			policy:  testPolicy(0, 30, withActivation(avgMetric("queue_backlog", 100), 5), withActivation(avgMetric("age", 60), 10)),
			current: 2, metrics: vals(5, 10), want: 0,
			messages: []string{
				"queue_backlog = 5 / averageValue 100 → 1",
				"age = 10 / averageValue 60 → 1",
				"aggregation max → 1",
				"activation: no metric above its activation threshold → 0",
			},
		},
		{
			name:    "activation: one active metric from zero gives at least 1",
			policy:  testPolicy(0, 30, withActivation(stepMetric("queue_backlog", 1, 50, 2), 0.5)),
			current: 0, metrics: vals(1), want: 1,
			messages: []string{
				"queue_backlog = 1 within [1, 50] → 0",
				"activation: queue_backlog = 1 > activationThreshold 0.5 → 1",
			},
		},
		{
			name:    "activation: a metric without threshold is active above 0",
			policy:  testPolicy(0, 30, avgMetric("queue_backlog", 100)),
			current: 0, metrics: vals(0), want: 0,
		},
		{
			name:    "activation: from zero an active metric scales by its rule",
			policy:  testPolicy(0, 30, withActivation(avgMetric("queue_backlog", 100), 0)),
			current: 0, metrics: vals(1234), want: 13,
		},
		{
			name:    "activation: not applied when minReplicas is above zero",
			policy:  testPolicy(1, 30, withActivation(avgMetric("queue_backlog", 100), 50)),
			current: 3, metrics: vals(40), want: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reasons := Recommend(tt.policy, tt.current, tt.metrics)
			assert.Equal(t, tt.want, got)
			if tt.messages != nil {
				assert.Equal(t, tt.messages, messages(reasons))
			}
			if tt.codes != nil {
				assert.Equal(t, tt.codes, codes(reasons))
			}
		})
	}
}

func TestRecommendManyMetrics(t *testing.T) {
	// More metrics than the engine keeps on the stack.
	var ms []policy.Metric
	var vs []float64
	for i := range 12 {
		ms = append(ms, avgMetric(string(rune('a'+i)), 10))
		vs = append(vs, float64(10*(i+1)))
	}
	got, reasons := Recommend(testPolicy(1, 30, ms...), 3, vals(vs...))
	assert.Equal(t, 12, got)
	require.Len(t, reasons, 13)
	assert.Equal(t, "aggregation max → 12", reasons[12].Message)
}

func TestAppendNum(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"integer", 250, "250"},
		{"decimal", 312.4, "312.4"},
		{"floating-point noise dropped", 0.1 + 0.2, "0.3"},
		{"noise on a rate dropped", 312.40000000000003, "312.4"},
		{"digits a person writes kept", 1.1000001, "1.1000001"},
		{"long rate rounded to 9 digits", 312.43333333333334, "312.433333"},
		{"zero", 0, "0"},
		{"negative", -2.5, "-2.5"},
		{"large", 2.5e9, "2500000000"},
		{"huge uses exponent", 1e21, "1e+21"},
		{"tiny uses exponent", 0.00001234, "1.234e-05"},
		{"NaN", math.NaN(), "NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(appendNum(nil, tt.in)))
		})
	}
}
