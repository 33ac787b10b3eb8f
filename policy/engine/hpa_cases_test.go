package engine

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// The tests of this file are named after the Kubernetes HPA test cases they reproduce
// (pkg/controller/podautoscaler: replica_calculator_test.go and horizontal_test.go), with the
// upstream inputs translated to our metric forms: a utilization or an object metric against
// its target is the Value form (replicas × value / target), a per-pod or external per-pod
// metric is the AverageValue form (value / averageValue).

// TestReplicaCalcScaleUpOverflow: a metric value of MaxInt64 against a target of 1 must not
// overflow the ceiling conversion. The HPA recommends MaxInt32; the decision goes to
// maxReplicas, never down to minReplicas.
func TestReplicaCalcScaleUpOverflow(t *testing.T) {
	huge := float64(math.MaxInt64) // 2^63 as a float64: one past the largest int64
	for _, tt := range []struct {
		name    string
		metric  policy.Metric
		current int
		value   float64
	}{
		{"object metric (Value form)", valueMetric("qps", 1), 3, huge},
		{"external per-pod metric (AverageValue form): TestExternalPerPodMetricReplicaOverflow", avgMetric("qps", 1), 1, huge},
		{"Value form beyond float64's range (c × ratio is +Inf)", valueMetric("qps", 0.5), 3, math.MaxFloat64},
		{"AverageValue form of the largest float64", avgMetric("qps", 1e-3), 3, math.MaxFloat64},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(1, 10, tt.metric)
			rec, _ := Recommend(p, tt.current, vals(tt.value))
			assert.Equal(t, MaxReplicaCount, rec, "the HPA caps the recommendation at MaxInt32")

			d := Decide(p, &Snapshot{Now: t0, Current: tt.current, Metrics: vals(tt.value)})
			assert.Equal(t, 10, d.Desired, "a huge value scales up to maxReplicas: %q", messages(d.Reasons))
			assert.Contains(t, codes(d.Reasons), ReasonBounded)
		})
	}
}

// TestZeroReplicas: a workload whose count is 0 while minReplicas is above 0 has had
// autoscaling switched off (the HPA's ScalingDisabled condition); the count stays 0, with a
// reason, until a person writes a count above 0. minReplicas 0 with activation is unchanged.
func TestZeroReplicas(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:     "upstream: minReplicas 3, count 0, no metrics → hold at 0",
			policy:   testPolicy(3, 5, avgMetric("cpu", 90)),
			snap:     &Snapshot{Now: t0, Current: 0, Metrics: []MetricValue{missing("no samples")}},
			want:     0,
			held:     true,
			messages: []string{"switched off: the count in Git is 0 while minReplicas is 3; write a count above 0 to resume → hold at 0"},
		},
		{
			name:   "a metric that wants capacity does not switch it back on",
			policy: testPolicy(3, 5, avgMetric("cpu", 90)),
			snap:   &Snapshot{Now: t0, Current: 0, Metrics: vals(900)},
			want:   0, held: true,
			codes: []ReasonCode{ReasonSwitchedOff},
		},
		{
			name: "an active schedule floor does not switch it back on either",
			policy: func() *policy.Policy {
				p := testPolicy(3, 5, avgMetric("cpu", 90))
				p.Spec.Schedules = []policy.ScheduleWindow{window("always", "* * * * *", 2*60e9, ptr(4), nil, "")}
				return p
			}(),
			snap: &Snapshot{Now: t0, Current: 0, Metrics: vals(900)},
			want: 0, held: true,
			has: ReasonSwitchedOff,
		},
		{
			name:   "resumes once a person writes a count above 0: upstream TestTooFewReplicas",
			policy: testPolicy(3, 5, avgMetric("cpu", 90)),
			snap:   &Snapshot{Now: t0, Current: 2, Metrics: []MetricValue{missing("no samples")}},
			want:   3,
			codes:  []ReasonCode{ReasonOutOfBounds},
		},
		{
			name:   "minReplicas 0: activation brings 0 to 1 as before",
			policy: testPolicy(0, 5, withActivation(avgMetric("queue", 100), 5)),
			snap:   &Snapshot{Now: t0, Current: 0, Metrics: vals(40)},
			want:   1,
			codes:  []ReasonCode{ReasonMetricValue},
		},
		{
			name:   "minReplicas 0: an idle queue stays at 0 as before",
			policy: testPolicy(0, 5, withActivation(avgMetric("queue", 100), 5)),
			snap:   &Snapshot{Now: t0, Current: 0, Metrics: vals(3)},
			want:   0,
			hasNot: ReasonSwitchedOff,
		},
	})

	d := Decide(testPolicy(3, 5, avgMetric("cpu", 90)), &Snapshot{Now: t0, Current: 0, Metrics: vals(900)})
	assert.Equal(t, 10, d.Recommendation, "the raw recommendation is still returned for the stabilization memory")
}

// TestReplicaCalcConfigurableTolerance: behavior.scaleUp.tolerance and
// behavior.scaleDown.tolerance (Kubernetes 1.33) override spec.tolerance per direction. The
// upstream cases use spec-wide 0.1 (defaultTestingTolerance) where they leave a direction out.
func TestReplicaCalcConfigurableTolerance(t *testing.T) {
	for _, tt := range []struct {
		name     string
		metric   policy.Metric
		down, up *float64
		current  int
		value    float64
		want     int
	}{
		// TestReplicaCalcConfigurableTolerance: CPU utilization against 100 %.
		{"Outside of a 0% tolerance", valueMetric("cpu", 100), ptr(0.0), ptr(0.0), 3, 101, 4},
		{"Within a 200% scale-up tolerance", valueMetric("cpu", 100), nil, ptr(2.0), 3, 190, 3},
		{"Outside 8% scale-up tolerance (and superfluous scale-down tolerance)", valueMetric("cpu", 100), ptr(2.0), ptr(0.08), 3, 109, 4},
		{"Within a 36% scale-down tolerance", valueMetric("cpu", 100), ptr(0.36), nil, 3, 65, 3},
		{"Outside a 34% scale-down tolerance", valueMetric("cpu", 100), ptr(0.34), nil, 3, 65, 2},
		// TestReplicaCalcConfigurableToleranceCM: a pod metric, 20000 20000 21000 → sum 62000.
		{"CM: pod metric", avgMetric("qps", 20000), nil, ptr(0.01), 3, 62000, 4},
		// …CMObject: an object metric against its value.
		{"CMObject", valueMetric("qps", 20000), nil, ptr(0.01), 3, 20666, 4},
		// …PerPodCMObject: an object metric against a per-pod target.
		{"PerPodCMObject", avgMetric("qps", 5000), nil, ptr(0.01), 4, 20208, 5},
		// …CMExternal and …PerPodCMExternal.
		{"CMExternal", valueMetric("qps", 8800), nil, ptr(0.01), 3, 8900, 4},
		{"PerPodCMExternal", avgMetric("qps", 2800), nil, ptr(0.01), 3, 8600, 4},
		// Without the overrides the same inputs are within spec.tolerance 0.1.
		{"CMExternal without the override: within 0.1", valueMetric("qps", 8800), nil, nil, 3, 8900, 3},
		{"a scale-down tolerance of 1 never scales down", valueMetric("cpu", 100), ptr(1.0), nil, 3, 1, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(1, 100, tt.metric)
			p.Spec.Tolerance = ptr(0.1)
			p.Spec.Behavior = &policy.Behavior{
				ScaleUp:   &policy.ScalingRules{Tolerance: tt.up},
				ScaleDown: &policy.ScalingRules{Tolerance: tt.down},
			}
			p.Spec.TargetRef = policy.TargetRef{Kind: "Deployment", Name: "web"}
			require.NoError(t, p.Validate(), "any tolerance ≥ 0 is valid")
			rec, reasons := Recommend(p, tt.current, vals(tt.value))
			assert.Equal(t, tt.want, rec, "reasons: %q", messages(reasons))

			d := Decide(p, &Snapshot{Now: t0, Current: tt.current, Metrics: vals(tt.value)})
			assert.Equal(t, tt.want, d.Desired, "the decision follows: %q", messages(d.Reasons))
		})
	}

	t.Run("the reason line names the tolerance of the ratio's direction", func(t *testing.T) {
		p := testPolicy(1, 100, valueMetric("cpu", 100))
		p.Spec.Behavior = &policy.Behavior{ScaleUp: &policy.ScalingRules{Tolerance: ptr(2.0)}, ScaleDown: &policy.ScalingRules{Tolerance: ptr(0.36)}}
		_, up := Recommend(p, 3, vals(190))
		assert.Equal(t, []string{"cpu = 190 within tolerance 2 of value 100 → 3"}, messages(up))
		_, down := Recommend(p, 3, vals(65))
		assert.Equal(t, []string{"cpu = 65 within tolerance 0.36 of value 100 → 3"}, messages(down))
	})
}
