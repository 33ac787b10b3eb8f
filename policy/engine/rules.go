package engine

import (
	"fmt"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// The rules the loop applies around Decide: the rerun guard before it, the withdrawal of a
// stale pull request after it, a person's manual scale instead of it, and which reasons count
// as holds. Pure, like Decide: the loop gathers and applies, these decide.

// heldWindowAge is how long before now the fallback of an unknown stabilization window puts
// its one recommendation: inside every window (they are whole seconds, at least one), and
// older than now's own.
const heldWindowAge = time.Second

// heldWindow is s with the fallback for stabilization windows that could not be read: the
// current count, recommended just before now. It explains itself on e; s is not written to.
func heldWindow(s *Snapshot, e *explainer) *Snapshot {
	c := *s
	c.Recommendations = []Recommendation{{At: s.Now.Add(-heldWindowAge), Replicas: s.Current}}
	e.begin(ReasonStabilized).str("stabilization window unknown (").str(s.RecommendationsUnknown).
		str("): keeping the current count inside it").end()
	return &c
}

// AlreadyDecided is the rerun guard, which the loop applies as soon as it has read Git —
// before it asks for anything else, and instead of Decide: when the newest event of s.History
// is our decision made at s.Now itself and the count is still what it set, the instant is
// decided already (a retried Jenkins job, `--at` twice, a second instance that lost the push
// race), and deciding again would apply a step rule a second time. The decision keeps the
// count and names the commit that decided. s needs Now, Current and History only.
func AlreadyDecided(s *Snapshot) (Decision, bool) {
	if len(s.History) == 0 {
		return Decision{}, false
	}
	ev := s.History[len(s.History)-1]
	if ev.Kind != EventDecision || !ev.At.Equal(s.Now) || ev.To != s.Current {
		return Decision{}, false
	}
	e := newExplainer(0)
	e.begin(ReasonUnchanged).str("already decided at ").str(s.Now.Format(time.RFC3339)).
		str(": commit ").short(ev.Commit).str(" set ").int(ev.To).end()
	return Decision{Current: s.Current, Recommendation: s.Current, Desired: s.Current, Reasons: e.finish()}, true
}

// WithdrawsProposal reports whether decision d, made on s, makes an open pull request of the
// policy stale — so that it is closed before a person merges an outdated change. Only a
// decision by the rules themselves to keep the current count does: a hold still wants the
// change it holds back, and missing data (a metric, the stabilization windows) says nothing
// about it.
func WithdrawsProposal(s *Snapshot, d Decision) bool {
	if d.Desired != s.Current || d.Held || s.RecommendationsUnknown != "" {
		return false
	}
	for _, m := range s.Metrics {
		if m.Missing {
			return false
		}
	}
	return true
}

// ManualScale is the decision of a person's scale through the CLI: the count they ask for,
// with their reason (ManualScale), or the current count unchanged when it is that already. A
// count outside the policy's bounds [minReplicas, maxReplicas] is an error: a person scales
// within the limits the policy sets, not around them.
func ManualScale(p *policy.Policy, current, to int, reason string) (Decision, error) {
	lo := deref(p.Spec.MinReplicas)
	if to < lo || to > p.Spec.MaxReplicas {
		return Decision{}, fmt.Errorf("scale %s to %d: outside the policy's bounds [%d, %d]", p.ID(), to, lo, p.Spec.MaxReplicas)
	}
	d := Decision{Current: current, Recommendation: to, Desired: to}
	if to == current {
		d.Reasons = []Reason{{Code: ReasonUnchanged, Message: fmt.Sprintf("already %d replicas", current)}}
		return d, nil
	}
	d.Reasons = []Reason{{Code: ReasonManualScale, Message: "manual scale: " + reason}}
	return d, nil
}

// IsHold reports whether a reason kept the count from moving: a hold (suspend, revert, manual
// edit, rejected pull request, sync check), a cooldown, a blocked or disabled scale, no metric
// at all, or a workload a person switched off (a count of 0 in Git). The service lists these
// apart, as a policy's holds. Steady's own codes are not holds: they are its rules deciding
// (a wait, a spent budget, a confirmation), as Stabilized is the HPA rules'.
func (c ReasonCode) IsHold() bool {
	switch c {
	case ReasonSuspended, ReasonRevertHold, ReasonManualEditHold, ReasonPullRequestRejected,
		ReasonNotSynced, ReasonCooldownActive, ReasonScaleDownBlocked, ReasonAllMetricsMissing,
		ReasonScalingDisabled, ReasonSwitchedOff:
		return true
	}
	return false
}
