package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func TestNeedForEveryForm(t *testing.T) {
	for _, tt := range []struct {
		name     string
		metric   policy.Metric
		replicas int
		value    float64
		want     int
	}{
		{"AverageValue: ceil(v / averageValue)", avgMetric("q", 100), 3, 450, 5},
		{"AverageValue: decimal-exact", avgMetric("q", 0.1), 3, 1.1, 11},
		{"AverageValue: below the count", avgMetric("q", 100), 8, 450, 5},
		{"Value: ceil(replicas × v / value) above the target", valueMetric("lat", 0.3), 6, 0.33, 7},
		{"Value: under the target, the ratio's count", valueMetric("lat", 0.3), 6, 0.15, 3},
		{"Value: from 0 as if one replica ran", valueMetric("lat", 0.3), 0, 0.6, 2},
		{"step rule above scaleUp.threshold: the step", stepMetric("rps", 50, 100, 2), 4, 300, 6},
		{"step rule at the threshold: asks for nothing", stepMetric("rps", 50, 100, 2), 4, 100, 0},
		{"step rule below scaleDown.threshold: asks for nothing", stepMetric("rps", 50, 100, 2), 4, 10, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Need(testPolicy(1, 10, tt.metric), tt.replicas, vals(tt.value)))
		})
	}
	p := testPolicy(1, 10, avgMetric("a", 100), valueMetric("b", 1))
	assert.Equal(t, 9, Need(p, 3, vals(250, 3)), "the largest over the metrics, whatever the aggregation")
	assert.Equal(t, 2, Need(p, 3, []MetricValue{missing("x"), {Value: 0.5}}), "missing metrics ask for nothing")
	assert.Equal(t, 0, Need(p, 3, []MetricValue{missing("x"), missing("y")}))
}

func TestCompareAssessesOneTrace(t *testing.T) {
	// 450 for 3 minutes, then 50: need 5, then 1.
	src := btPiecewise("q", btSegment{0, 450}, btSegment{3 * time.Minute, 50})
	follow := testPolicy(1, 10, avgMetric("q", 100))
	follow.Metadata.Name = "follow"
	slow := testPolicy(1, 10, avgMetric("q", 100))
	slow.Metadata.Name = "slow"
	slow.Spec.Behavior = &policy.Behavior{MaxScaleUpStepPercent: ptr(100), ScaleUpCooldownSeconds: ptr(60)}
	slow.Spec.Schedule = "@every 30s"

	results, as := Compare([]*policy.Policy{follow, slow}, func(*policy.Policy) func(time.Time) []MetricValue { return src },
		BacktestOptions{Start: btT0, End: btT0.Add(5 * time.Minute), Step: time.Minute})
	assert.Len(t, results, 2)
	assert.Equal(t, Assessment{
		Policy: "demo/follow", Days: 6.0 / 1440, Changes: 2, ChangesPerDay: 2 / (6.0 / 1440),
		ScaleUps: 1, ScaleDowns: 1, ReplicaHours: (5*3 + 1*3) / 60.0, LargestStep: 4,
	}, as[0])
	// 1 → 2 → 4 → 5 (one step a minute, doubling at most), then 1.
	assert.Equal(t, 4, as[1].Changes)
	assert.Equal(t, 3, as[1].ScaleUps)
	assert.Equal(t, 120.0, as[1].ShortSeconds, "short at 0 and 1 minutes")
	assert.Equal(t, float64((5-2)+(5-4)), as[1].ShortReplicaMinutes)
	assert.Equal(t, 4, as[1].LargestStep)
}

func TestCompareUsesOneStep(t *testing.T) {
	a := testPolicy(1, 10, avgMetric("q", 100))
	a.Spec.Schedule = "@every 60s"
	b := testPolicy(1, 10, avgMetric("q", 100))
	b.Spec.Schedule = "@every 15s"
	src := btPiecewise("q", btSegment{0, 100})
	results, _ := Compare([]*policy.Policy{a, b}, func(*policy.Policy) func(time.Time) []MetricValue { return src },
		BacktestOptions{Start: btT0, End: btT0.Add(time.Minute)})
	assert.Equal(t, 15*time.Second, results[0].Step)
	assert.Equal(t, 15*time.Second, results[1].Step)
}
