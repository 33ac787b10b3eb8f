package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// downWindow is an HPA behavior with a scale-down stabilization window of 300 s.
func downWindow() *policy.Policy { return loadPolicy(&policy.Behavior{ScaleDown: rules(ptr(300), "")}) }

func (s *Snapshot) withUnknownWindow(cause string) *Snapshot {
	s.RecommendationsUnknown = cause
	return s
}

func TestDecideWithAnUnknownStabilizationWindowHolds(t *testing.T) {
	runDecideCases(t, []decideCase{
		{
			name:   "windows read and empty: the scale-down goes ahead",
			policy: downWindow(), snap: snap(3, 2), want: 2,
			hasNot: ReasonStabilized,
		},
		{
			name:   "windows unknown: the current count is kept inside them, and said first",
			policy: downWindow(), snap: snap(3, 2).withUnknownWindow("range query: connection refused"), want: 3,
			messages: []string{
				"stabilization window unknown (range query: connection refused): keeping the current count inside it",
				"load = 2 / averageValue 1 → 2",
				"stabilization: highest recommendation in the last 300s (scale-down window) is 3 → hold at 3",
			},
		},
		{
			name:   "windows unknown: a scale-up still happens (the up window is 0)",
			policy: downWindow(), snap: snap(3, 5).withUnknownWindow("timeout"), want: 5,
			has: ReasonStabilized, contains: "stabilization window unknown (timeout)",
		},
	})

	s := snap(3, 2).withUnknownWindow("timeout")
	Decide(downWindow(), s)
	assert.Nil(t, s.Recommendations, "Decide does not write the fallback into the caller's snapshot")
}

func TestAlreadyDecided(t *testing.T) {
	ours := func(at time.Time, to int) Event {
		return Event{At: at, Kind: EventDecision, From: 3, To: to, Commit: "5f0c2a0123456789abcdef0123456789abcdef01"}
	}
	for _, tc := range []struct {
		name    string
		snap    *Snapshot
		decided bool
	}{
		{name: "no history", snap: snap(6, 9)},
		{name: "our decision at this instant set the count", snap: snap(6, 9).withHistory(ours(t0, 6)), decided: true},
		{name: "our decision at this instant, then a person changed the count", snap: snap(7, 9).withHistory(ours(t0, 6))},
		{name: "our decision a second earlier", snap: snap(6, 9).withHistory(ours(t0.Add(-time.Second), 6))},
		{name: "a manual scale at this instant", snap: snap(6, 9).withHistory(Event{At: t0, Kind: EventManualScale, From: 3, To: 6})},
		{name: "our decision at this instant is not the newest event", snap: snap(6, 9).withHistory(ours(t0, 6), Event{At: t0, Kind: EventManualEdit, From: 6, To: 6})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := AlreadyDecided(tc.snap)
			assert.Equal(t, tc.decided, ok)
			if !tc.decided {
				assert.Equal(t, Decision{}, d)
				return
			}
			assert.Equal(t, Decision{Current: 6, Recommendation: 6, Desired: 6, Reasons: []Reason{{
				Code: ReasonUnchanged, Message: "already decided at 2026-11-23T11:00:00Z: commit 5f0c2a012345 set 6",
			}}}, d)
		})
	}
}

func TestWithdrawsProposal(t *testing.T) {
	p := loadPolicy(nil)
	missing := snap(4, 4)
	missing.Metrics = append(missing.Metrics, MetricValue{Name: "other", Missing: true, Cause: "no data"})
	suspended := loadPolicy(nil)
	suspended.Spec.Suspend = true
	for _, tc := range []struct {
		name     string
		policy   *policy.Policy
		snap     *Snapshot
		withdraw bool
	}{
		{name: "the rules keep the count", policy: p, snap: snap(4, 4), withdraw: true},
		{name: "the rules change the count", policy: p, snap: snap(4, 6)},
		{name: "a hold keeps the count: it still wants the change", policy: suspended, snap: snap(4, 6)},
		{name: "a metric is missing", policy: p, snap: missing},
		{name: "the stabilization windows are unknown", policy: downWindow(), snap: snap(4, 4).withUnknownWindow("timeout")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.policy, tc.snap)
			assert.Equal(t, tc.withdraw, WithdrawsProposal(tc.snap, d), "reasons: %q", messages(d.Reasons))
		})
	}
}

func TestUsesPullRequests(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     policy.Mode
		delivery *policy.Delivery
		want     bool
	}{
		{name: "commit", mode: policy.ModeCommit},
		{name: "dry run", mode: policy.ModeDryRun},
		{name: "pull request", mode: policy.ModePullRequest, want: true},
		{name: "auto-merge", mode: policy.ModeAutoMerge, want: true},
		{name: "commit up, pull request down", mode: policy.ModeCommit, delivery: &policy.Delivery{ScaleUp: policy.ModeCommit, ScaleDown: policy.ModePullRequest}, want: true},
		{name: "auto-merge up only", mode: policy.ModeCommit, delivery: &policy.Delivery{ScaleUp: policy.ModeAutoMerge}, want: true},
		{name: "commit both ways", mode: policy.ModeDryRun, delivery: &policy.Delivery{ScaleUp: policy.ModeCommit, ScaleDown: policy.ModeCommit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := policy.Spec{Mode: tc.mode, Delivery: tc.delivery}
			assert.Equal(t, tc.want, s.UsesPullRequests())
		})
	}
}

func TestManualScale(t *testing.T) {
	p := testPolicy(2, 20, avgMetric("load", 1))
	p.Metadata = policy.Metadata{Name: "web", Namespace: "prod"}
	for _, tc := range []struct {
		name    string
		current int
		to      int
		want    Decision
		wantErr string
	}{
		{name: "up", current: 7, to: 10, want: Decision{Current: 7, Recommendation: 10, Desired: 10,
			Reasons: []Reason{{Code: ReasonManualScale, Message: "manual scale: launch at 10:00"}}}},
		{name: "down to the floor", current: 7, to: 2, want: Decision{Current: 7, Recommendation: 2, Desired: 2,
			Reasons: []Reason{{Code: ReasonManualScale, Message: "manual scale: launch at 10:00"}}}},
		{name: "up to the ceiling", current: 7, to: 20, want: Decision{Current: 7, Recommendation: 20, Desired: 20,
			Reasons: []Reason{{Code: ReasonManualScale, Message: "manual scale: launch at 10:00"}}}},
		{name: "the count it has", current: 7, to: 7, want: Decision{Current: 7, Recommendation: 7, Desired: 7,
			Reasons: []Reason{{Code: ReasonUnchanged, Message: "already 7 replicas"}}}},
		{name: "above the bounds", current: 7, to: 21, wantErr: "scale prod/web to 21: outside the policy's bounds [2, 20]"},
		{name: "below the bounds", current: 7, to: 1, wantErr: "scale prod/web to 1: outside the policy's bounds [2, 20]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ManualScale(p, tc.current, tc.to, "launch at 10:00")
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, d)
		})
	}
}

func TestReasonCodeIsHold(t *testing.T) {
	holds := []ReasonCode{ReasonSuspended, ReasonRevertHold, ReasonManualEditHold, ReasonPullRequestRejected,
		ReasonNotSynced, ReasonCooldownActive, ReasonScaleDownBlocked, ReasonAllMetricsMissing, ReasonScalingDisabled,
		ReasonSwitchedOff}
	others := []ReasonCode{ReasonMetricValue, ReasonWithinTolerance, ReasonMetricMissing, ReasonAggregated,
		ReasonStabilized, ReasonScaleUpLimited, ReasonBounded, ReasonUnchanged, ReasonPullRequest,
		ReasonPullRequestWithdrawn, ReasonRendered, ReasonRenderConsequence, ReasonManualScale, ReasonMergePending,
		// Steady's rules deciding, not holds.
		ReasonSteadyScaleUp, ReasonSteadyScaleDown, ReasonSteadyWaits, ReasonSteadyBudget, ReasonSteadyConfirm}
	for _, c := range holds {
		assert.True(t, c.IsHold(), c)
	}
	for _, c := range others {
		assert.False(t, c.IsHold(), c)
	}
}
