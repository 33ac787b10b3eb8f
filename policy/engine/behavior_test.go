package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// t0 is the fixed instant engine tests decide at (a Monday).
var t0 = time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC)

// loadPolicy has one AverageValue metric "load" with averageValue 1 and no tolerance, so a
// snapshot's metric value is its raw recommendation; bounds [1, 100].
func loadPolicy(b *policy.Behavior) *policy.Policy {
	p := testPolicy(1, 100, avgMetric("load", 1))
	p.Spec.Tolerance = ptr(0.0)
	p.Spec.Behavior = b
	return p
}

// snap is a snapshot at t0 whose raw recommendation (for loadPolicy) is rec.
func snap(current, rec int) *Snapshot {
	return &Snapshot{Now: t0, Current: current, Metrics: vals(float64(rec))}
}

func (s *Snapshot) withHistory(evs ...Event) *Snapshot {
	s.History = append(s.History, evs...)
	return s
}

func (s *Snapshot) withRecs(rs ...Recommendation) *Snapshot {
	s.Recommendations = append(s.Recommendations, rs...)
	return s
}

// change is one of our decisions `ago` seconds before t0.
func change(ago float64, from, to int) Event {
	return Event{At: t0.Add(-time.Duration(ago * float64(time.Second))), Kind: EventDecision, From: from, To: to, Commit: "0123456789abcdef0123"}
}

// recAt is a remembered raw recommendation `ago` seconds before t0.
func recAt(ago float64, replicas int) Recommendation {
	return Recommendation{At: t0.Add(-time.Duration(ago * float64(time.Second))), Replicas: replicas}
}

func rules(window *int, sel string, policies ...policy.HPAPolicy) *policy.ScalingRules {
	r := &policy.ScalingRules{StabilizationWindowSeconds: window, Policies: policies}
	if sel != "" {
		r.SelectPolicy = ptr(sel)
	}
	return r
}

func pods(v, period int) policy.HPAPolicy {
	return policy.HPAPolicy{Type: policy.PolicyPods, Value: v, PeriodSeconds: period}
}
func percent(v, period int) policy.HPAPolicy {
	return policy.HPAPolicy{Type: policy.PolicyPercent, Value: v, PeriodSeconds: period}
}

// noDownWindow is an HPA scale-down with no stabilization, so rate limits show alone.
func noDownWindow(sel string, policies ...policy.HPAPolicy) *policy.ScalingRules {
	return rules(ptr(0), sel, policies...)
}

type decideCase struct {
	name     string
	policy   *policy.Policy
	snap     *Snapshot
	want     int
	held     bool
	codes    []ReasonCode // the exact codes, when set
	has      ReasonCode   // a code that must be among the reasons, when set
	hasNot   ReasonCode   // a code that must not be, when set
	messages []string     // the exact lines, when set
	contains string       // a substring of some line, when set
}

func runDecideCases(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.policy, tt.snap)
			assert.Equal(t, tt.want, d.Desired, "reasons: %q", messages(d.Reasons))
			assert.Equal(t, tt.held, d.Held)
			assert.Equal(t, tt.snap.Current, d.Current)
			if tt.codes != nil {
				assert.Equal(t, tt.codes, codes(d.Reasons), "reasons: %q", messages(d.Reasons))
			}
			if tt.has != "" {
				assert.Contains(t, codes(d.Reasons), tt.has, "reasons: %q", messages(d.Reasons))
			}
			if tt.hasNot != "" {
				assert.NotContains(t, codes(d.Reasons), tt.hasNot, "reasons: %q", messages(d.Reasons))
			}
			if tt.messages != nil {
				assert.Equal(t, tt.messages, messages(d.Reasons))
			}
			if tt.contains != "" {
				found := false
				for _, r := range d.Reasons {
					found = found || strings.Contains(r.Message, tt.contains)
				}
				assert.True(t, found, "no reason contains %q: %q", tt.contains, messages(d.Reasons))
			}
		})
	}
}

func TestDecideStabilizationHPA(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:   "scale-down window (default 300s) takes the max; entry exactly at now-300s is out",
			policy: loadPolicy(&policy.Behavior{ScaleDown: &policy.ScalingRules{}}),
			snap:   snap(10, 4).withRecs(recAt(400, 15), recAt(300, 12), recAt(299, 9), recAt(100, 8)),
			want:   9,
			codes:  []ReasonCode{ReasonMetricValue, ReasonStabilized},
			messages: []string{
				"load = 4 / averageValue 1 → 4",
				"stabilization: highest recommendation in the last 300s (scale-down window) is 9 → 9",
			},
		},
		{
			name:   "scale-down window: only entries at or before now-window → recommendation applies",
			policy: loadPolicy(&policy.Behavior{ScaleDown: &policy.ScalingRules{}}),
			snap:   snap(10, 4).withRecs(recAt(300, 12), recAt(301, 11)),
			want:   4,
			hasNot: ReasonStabilized,
		},
		{
			name:     "scale-up window takes the min",
			policy:   loadPolicy(&policy.Behavior{ScaleUp: rules(ptr(60), "")}),
			snap:     snap(4, 10).withRecs(recAt(90, 3), recAt(50, 8), recAt(30, 6)),
			want:     6,
			contains: "stabilization: lowest recommendation in the last 60s (scale-up window) is 6 → 6",
		},
		{
			name:     "current kept inside both windows: up window min below current holds",
			policy:   loadPolicy(&policy.Behavior{ScaleUp: rules(ptr(60), ""), ScaleDown: rules(ptr(300), "")}),
			snap:     snap(5, 8).withRecs(recAt(30, 3)),
			want:     5,
			has:      ReasonStabilized,
			contains: "is 3 → hold at 5",
		},
		{
			name:   "current kept inside both windows: down window max above current holds",
			policy: loadPolicy(&policy.Behavior{ScaleDown: &policy.ScalingRules{}}),
			snap:   snap(5, 3).withRecs(recAt(100, 7)),
			want:   5,
			has:    ReasonStabilized,
		},
		{
			name:   "only scaleUp given: scaleDown takes the HPA defaults (300s window)",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, policy.SelectMax)}),
			snap:   snap(10, 2).withRecs(recAt(200, 9)),
			want:   9,
		},
		{
			name:   "remembered recommendations newer than the window also count (scale-down max)",
			policy: loadPolicy(&policy.Behavior{ScaleDown: rules(ptr(120), "")}),
			snap:   snap(10, 2).withRecs(recAt(119, 6), recAt(121, 9)),
			want:   6,
		},
	})
}

func TestDecideRateLimitsHPA(t *testing.T) {
	runDecideCases(t, []decideCase{
		// Defaults: scale-up Percent 100/15s and Pods 4/15s, selectPolicy Max.
		{
			name:   "HPA default scale-up from 1: max(2×1, 1+4) = 5",
			policy: loadPolicy(&policy.Behavior{ScaleUp: &policy.ScalingRules{}}),
			snap:   snap(1, 20), want: 5,
			messages: []string{
				"load = 20 / averageValue 1 → 20",
				"scale-up limited: Percent 100/15s from 1 allows 2, Pods 4/15s from 1 allows 5; selectPolicy Max → 5",
			},
		},
		{
			name:   "HPA default scale-up from 10: max(2×10, 10+4) = 20",
			policy: loadPolicy(&policy.Behavior{ScaleUp: &policy.ScalingRules{}}),
			snap:   snap(10, 50), want: 20, has: ReasonScaleUpLimited,
		},
		{
			name:   "HPA default scale-up: an explicit empty policies list counts as left out",
			policy: loadPolicy(&policy.Behavior{ScaleUp: &policy.ScalingRules{Policies: []policy.HPAPolicy{}}}),
			snap:   snap(10, 50), want: 20,
		},
		{
			name:   "HPA default scale-down (after its window) allows 100%",
			policy: loadPolicy(&policy.Behavior{ScaleDown: rules(ptr(0), "")}),
			snap:   snap(10, 2), want: 2, hasNot: ReasonScaleDownLimited,
		},
		{
			name:   "within the limit nothing is limited",
			policy: loadPolicy(&policy.Behavior{ScaleUp: &policy.ScalingRules{}}),
			snap:   snap(10, 12), want: 12, codes: []ReasonCode{ReasonMetricValue},
		},
		// Percent rounding.
		{
			name:   "Percent scale-up rounds up: 25 + 10% = 27.5 → 28",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", percent(10, 60))}),
			snap:   snap(25, 40), want: 28,
		},
		{
			name:   "Percent scale-up is exact: 25 + 12% = 28 (the HPA's float gives 29)",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", percent(12, 60))}),
			snap:   snap(25, 40), want: 28,
		},
		{
			name:   "Percent scale-down truncates: 10 − 15% = 8.5 → 8",
			policy: loadPolicy(&policy.Behavior{ScaleDown: noDownWindow("", percent(15, 60))}),
			snap:   snap(10, 1), want: 8, has: ReasonScaleDownLimited,
		},
		{
			name:   "Percent scale-down is exact: 10 − 80% = 2 (the HPA's float gives 1)",
			policy: loadPolicy(&policy.Behavior{ScaleDown: noDownWindow("", percent(80, 60))}),
			snap:   snap(10, 1), want: 2,
		},
		// Periods over History.
		{
			name:   "Pods: an up change within the period lowers the allowance",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", pods(4, 60))}),
			snap:   snap(8, 20).withHistory(change(30, 6, 8)), want: 10,
			contains: "Pods 4/60s from 6 allows 10",
		},
		{
			name:   "Pods: an event exactly at the period start is not counted",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", pods(4, 60))}),
			snap:   snap(8, 20).withHistory(change(60, 6, 8)), want: 12,
		},
		{
			name:   "Pods: a down change within the period is added back to the period start",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", pods(4, 60))}),
			snap:   snap(8, 20).withHistory(change(30, 10, 8)), want: 14,
		},
		{
			name: "every kind of event counts as a change: a manual edit",
			policy: func() *policy.Policy {
				p := loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", pods(4, 60))})
				p.Spec.Holds.AfterManualEditSeconds = ptr(0)
				return p
			}(),
			snap: snap(8, 20).withHistory(Event{
				At: t0.Add(-10 * time.Second), Kind: EventManualEdit, From: 5, To: 8, Commit: "abc", Author: "Jane",
			}),
			want: 9, // start 5: the manual hold is disabled here
		},
		{
			name:   "the limit never goes below current (no scale-down by a scale-up limit)",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, "", pods(2, 60))}),
			snap:   snap(8, 20).withHistory(change(10, 2, 8)), want: 8,
			contains: "Pods 2/60s from 2 allows 4; selectPolicy Max → 8",
		},
		// selectPolicy.
		{
			name:   "selectPolicy Min on scale-up takes the least: min(20, 14)",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, policy.SelectMin, percent(100, 15), pods(4, 15))}),
			snap:   snap(10, 50), want: 14,
		},
		{
			name:   "selectPolicy Disabled on scale-up holds",
			policy: loadPolicy(&policy.Behavior{ScaleUp: rules(nil, policy.SelectDisabled)}),
			snap:   snap(10, 50), want: 10,
			codes:    []ReasonCode{ReasonMetricValue, ReasonScalingDisabled},
			messages: []string{"load = 50 / averageValue 1 → 50", "scaleUp selectPolicy Disabled → hold at 10"},
		},
		{
			name:   "selectPolicy Disabled on scale-down holds; scale-up still works",
			policy: loadPolicy(&policy.Behavior{ScaleDown: noDownWindow(policy.SelectDisabled)}),
			snap:   snap(10, 2), want: 10, has: ReasonScalingDisabled,
		},
		{
			name:   "selectPolicy Disabled on scale-down does not stop a scale-up",
			policy: loadPolicy(&policy.Behavior{ScaleDown: noDownWindow(policy.SelectDisabled)}),
			snap:   snap(10, 14), want: 14,
		},
		// Worked examples from the Kubernetes HPA documentation.
		{
			name: "k8s docs: scale-down Pods 4/60s + Percent 10/60s from 80 removes 8 (Max picks the larger change)",
			policy: loadPolicy(&policy.Behavior{
				ScaleDown: noDownWindow("", pods(4, 60), percent(10, 60)),
			}),
			snap: snap(80, 10), want: 72,
		},
		{
			name: "k8s docs: next period from 72, 10% is 7.2 and the count goes to 64",
			policy: loadPolicy(&policy.Behavior{
				ScaleDown: noDownWindow("", pods(4, 60), percent(10, 60)),
			}),
			snap: snap(72, 10).withHistory(change(61, 80, 72)), want: 64,
		},
		{
			name: "k8s docs example: the 80→72 event exactly 60s ago is outside the period",
			policy: loadPolicy(&policy.Behavior{
				ScaleDown: noDownWindow("", pods(4, 60), percent(10, 60)),
			}),
			snap: snap(72, 10).withHistory(change(60, 80, 72)), want: 64,
		},
		{
			name: "k8s docs example: the 80→72 event 59s ago is inside the period, no further scale-down",
			policy: loadPolicy(&policy.Behavior{
				ScaleDown: noDownWindow("", pods(4, 60), percent(10, 60)),
			}),
			snap: snap(72, 10).withHistory(change(59, 80, 72)), want: 72,
			has: ReasonScaleDownLimited,
		},
		{
			name: "k8s docs: Percent 10/60s with Pods 5/60s and selectPolicy Min removes at most 5",
			policy: loadPolicy(&policy.Behavior{
				ScaleDown: noDownWindow(policy.SelectMin, percent(10, 60), pods(5, 60)),
			}),
			snap: snap(80, 10), want: 75,
		},
		{
			name: "k8s docs: scale-up Percent 900/60s allows 10× per minute",
			policy: loadPolicy(&policy.Behavior{
				ScaleUp: rules(nil, "", percent(900, 60)),
			}),
			snap: snap(3, 99), want: 30,
		},
		{
			name:   "k8s docs: the default scale-down window keeps the highest recommendation of 5 minutes",
			policy: loadPolicy(&policy.Behavior{ScaleUp: &policy.ScalingRules{}, ScaleDown: &policy.ScalingRules{}}),
			snap:   snap(10, 3).withRecs(recAt(280, 7), recAt(120, 5)), want: 7,
		},
		// From zero.
		{
			name: "from zero a Percent-only scale-up still allows 1",
			policy: func() *policy.Policy {
				p := testPolicy(0, 100, avgMetric("load", 1))
				p.Spec.Behavior = &policy.Behavior{ScaleUp: rules(nil, "", percent(100, 15))}
				return p
			}(),
			snap: snap(0, 3), want: 1, has: ReasonScaleUpLimited,
		},
	})
}

func TestDecideOriginalBehavior(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:   "no behavior block: the count follows the recommendation at once",
			policy: loadPolicy(nil),
			snap:   snap(3, 20).withRecs(recAt(10, 1)).withHistory(change(1, 1, 3)), want: 20,
			codes: []ReasonCode{ReasonMetricValue},
		},
		{
			name:   "no behavior block: scale-down at once too",
			policy: loadPolicy(nil),
			snap:   snap(20, 2).withRecs(recAt(10, 30)), want: 2,
		},
		{
			name:   "stabilizationWindowSeconds is a scale-down window: max of the window",
			policy: loadPolicy(&policy.Behavior{StabilizationWindowSeconds: ptr(120)}),
			snap:   snap(10, 4).withRecs(recAt(150, 9), recAt(60, 8)), want: 8,
			has: ReasonStabilized,
		},
		{
			name:   "stabilizationWindowSeconds does not slow a scale-up",
			policy: loadPolicy(&policy.Behavior{StabilizationWindowSeconds: ptr(120)}),
			snap:   snap(4, 10).withRecs(recAt(60, 5)), want: 10,
			hasNot: ReasonStabilized,
		},
		{
			name:   "both forms: the longer scale-down window applies",
			policy: loadPolicy(&policy.Behavior{StabilizationWindowSeconds: ptr(600), ScaleDown: noDownWindow("")}),
			snap:   snap(10, 4).withRecs(recAt(500, 9)), want: 9,
		},
		{
			name:   "both forms: the original window replaces the HPA default 300s",
			policy: loadPolicy(&policy.Behavior{StabilizationWindowSeconds: ptr(60), ScaleUp: &policy.ScalingRules{}}),
			snap:   snap(10, 4).withRecs(recAt(200, 9)), want: 4,
		},
		{
			name:   "maxScaleUpStepPercent 50 from 5: increase ≤ ceil(2.5) = 3",
			policy: loadPolicy(&policy.Behavior{MaxScaleUpStepPercent: ptr(50)}),
			snap:   snap(5, 20), want: 8,
			contains: "maxScaleUpStepPercent 50 allows ≤ 8 → 8",
		},
		{
			name:   "maxScaleUpStepPercent allows at least 1",
			policy: loadPolicy(&policy.Behavior{MaxScaleUpStepPercent: ptr(10)}),
			snap:   snap(1, 20), want: 2,
		},
		{
			name:   "maxScaleDownStepPercent 50 from 5: decrease ≤ floor(2.5) = 2",
			policy: loadPolicy(&policy.Behavior{MaxScaleDownStepPercent: ptr(50)}),
			snap:   snap(5, 1), want: 3,
			contains: "maxScaleDownStepPercent 50 allows ≥ 3 → 3",
		},
		{
			name:   "maxScaleDownStepPercent allows at least 1",
			policy: loadPolicy(&policy.Behavior{MaxScaleDownStepPercent: ptr(10)}),
			snap:   snap(3, 1), want: 2,
		},
		{
			name:   "HPA policies first, then step percent",
			policy: loadPolicy(&policy.Behavior{MaxScaleUpStepPercent: ptr(50), ScaleUp: &policy.ScalingRules{}}),
			snap:   snap(10, 50), want: 15,
			codes: []ReasonCode{ReasonMetricValue, ReasonScaleUpLimited, ReasonScaleUpLimited},
		},
		{
			name:   "scaleDownCooldownSeconds holds a scale-down",
			policy: loadPolicy(&policy.Behavior{ScaleDownCooldownSeconds: ptr(180)}),
			snap:   snap(6, 3).withHistory(change(3000, 3, 4), change(41, 4, 6)), want: 6,
			messages: []string{
				"load = 3 / averageValue 1 → 3",
				"cooldown: last change 41s ago < scaleDownCooldownSeconds 180 → hold at 6",
			},
		},
		{
			name:   "cooldown is since the last change in any direction, of any kind",
			policy: loadPolicy(&policy.Behavior{ScaleDownCooldownSeconds: ptr(180)}),
			snap: snap(6, 3).withHistory(Event{
				At: t0.Add(-30 * time.Second), Kind: EventRevert, From: 8, To: 6, Commit: "feedbeef",
			}),
			want: 6, has: ReasonCooldownActive,
		},
		{
			name:   "cooldown: exactly the cooldown ago allows the change",
			policy: loadPolicy(&policy.Behavior{ScaleDownCooldownSeconds: ptr(180)}),
			snap:   snap(6, 3).withHistory(change(180, 4, 6)), want: 3,
		},
		{
			name:   "scaleUpCooldownSeconds holds a scale-up",
			policy: loadPolicy(&policy.Behavior{ScaleUpCooldownSeconds: ptr(60)}),
			snap:   snap(6, 9).withHistory(change(10, 7, 6)), want: 6,
			contains: "cooldown: last change 10s ago < scaleUpCooldownSeconds 60 → hold at 6",
		},
		{
			name:   "scaleUpCooldownSeconds does not gate a scale-down",
			policy: loadPolicy(&policy.Behavior{ScaleUpCooldownSeconds: ptr(60)}),
			snap:   snap(6, 4).withHistory(change(10, 7, 6)), want: 4,
		},
		{
			name:   "cooldown without history allows the change",
			policy: loadPolicy(&policy.Behavior{ScaleUpCooldownSeconds: ptr(60)}),
			snap:   snap(6, 9), want: 9,
		},
	})
}

func TestResolveBehaviorDefaults(t *testing.T) {
	r, ok := resolveBehavior(&policy.Behavior{ScaleUp: &policy.ScalingRules{}})
	require.True(t, ok)
	assert.True(t, r.hpa)
	assert.Equal(t, 0, r.upWindow)
	assert.Equal(t, 300, r.downWindow)
	assert.Equal(t, direction{selectPolicy: policy.SelectMax, policies: []policy.HPAPolicy{percent(100, 15), pods(4, 15)}}, r.up)
	assert.Equal(t, direction{selectPolicy: policy.SelectMax, policies: []policy.HPAPolicy{percent(100, 15)}}, r.down)

	_, ok = resolveBehavior(nil)
	assert.False(t, ok)

	r, ok = resolveBehavior(&policy.Behavior{StabilizationWindowSeconds: ptr(120)})
	require.True(t, ok)
	assert.False(t, r.hpa, "the original form alone takes no HPA defaults")
	assert.Equal(t, 120, r.downWindow)
}
