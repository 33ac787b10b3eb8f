package engine

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// TestMetricReasonFields: a metric's line carries its metric, value, rule and count as fields,
// and they agree with its message, which is written from the same parts; lines of other
// kinds carry none of them.
func TestMetricReasonFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metric  policy.Metric
		current int
		value   float64
		want    Reason
	}{
		{name: "step up", metric: stepMetric("rps", 50, 250, 3), current: 3, value: 312.4,
			want: Reason{Code: ReasonMetricValue, Metric: "rps", Value: 312.4, Rule: "> scaleUp.threshold 250", To: 6}},
		{name: "step down", metric: stepMetric("rps", 50, 250, 1), current: 3, value: 10,
			want: Reason{Code: ReasonMetricValue, Metric: "rps", Value: 10, Rule: "< scaleDown.threshold 50", To: 2}},
		{name: "step within", metric: stepMetric("queue|depth", 1, 5, 1), current: 3, value: 2,
			want: Reason{Code: ReasonMetricValue, Metric: "queue|depth", Value: 2, Rule: "within [1, 5]", To: 3}},
		{name: "average value", metric: avgMetric("backlog", 100), current: 6, value: 1800,
			want: Reason{Code: ReasonMetricValue, Metric: "backlog", Value: 1800, Rule: "/ averageValue 100", To: 18}},
		{name: "value", metric: valueMetric("latency", 0.3), current: 6, value: 0.21,
			want: Reason{Code: ReasonMetricValue, Metric: "latency", Value: 0.21, Rule: "/ value 0.3 × 6", To: 5}},
		{name: "exactly the target: no leading comma", metric: valueMetric("latency", 0.3), current: 6, value: 0.3,
			want: Reason{Code: ReasonWithinTolerance, Metric: "latency", Value: 0.3, Rule: "exactly the target value", To: 6}},
		{name: "within tolerance", metric: avgMetric("backlog", 100), current: 6, value: 610,
			want: Reason{Code: ReasonWithinTolerance, Metric: "backlog", Value: 610, Rule: "within tolerance 0.1 of averageValue 100 × 6", To: 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, reasons := Recommend(testPolicy(0, 100, tc.metric), tc.current, vals(tc.value))
			require.NotEmpty(t, reasons)
			got := reasons[0]
			assert.True(t, strings.HasPrefix(got.Message, got.Metric+" = "+got.ValueText()), "%q starts with the metric and its value", got.Message)
			assert.True(t, strings.HasSuffix(got.Message, got.Rule+" → "+strconv.Itoa(got.To)), "%q ends with the rule and the count", got.Message)
			got.Message = ""
			assert.Equal(t, tc.want, got)
			assert.True(t, got.IsMetric())
			for _, r := range reasons[1:] {
				assert.False(t, r.IsMetric(), "%s: only metric lines carry a metric", r.Code)
			}
		})
	}
}
