package engine

import (
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func revertEvent(ago time.Duration) Event {
	return Event{
		At: t0.Add(-ago), Kind: EventRevert, From: 8, To: 4,
		Commit: "a1b2c3d4e5f60718293a", Reverts: "ffeeddccbbaa99887766", Author: "Jane Doe",
	}
}

func editEvent(kind EventKind, ago time.Duration) Event {
	return Event{At: t0.Add(-ago), Kind: kind, From: 6, To: 4, Commit: "0badc0de0badc0de", Author: "Max Mustermann"}
}

func syncPolicy() *policy.Policy {
	p := loadPolicy(nil)
	p.Spec.SyncCheck = &policy.SyncCheck{PromQL: "kube_deployment_spec_replicas"}
	p.SetDefaults()
	return p
}

func withSync(s *Snapshot, observed int, missing bool) *Snapshot {
	s.Sync = &SyncStatus{Observed: observed, Missing: missing}
	return s
}

func withRejected(s *Snapshot, to, pr int) *Snapshot {
	s.Rejected = &Rejection{To: to, PR: pr, URL: "https://github.com/acme/platform-gitops/pull/42"}
	return s
}

func TestDecideHolds(t *testing.T) {
	suspended := loadPolicy(nil)
	suspended.Spec.Suspend = true
	noHolds := loadPolicy(nil)
	noHolds.Spec.Holds = &policy.Holds{AfterRevertSeconds: ptr(0), AfterManualEditSeconds: ptr(0)}

	runDecideCases(t, []decideCase{
		{
			name:   "suspended holds a change",
			policy: suspended, snap: snap(4, 9), want: 4, held: true,
			messages: []string{"load = 9 / averageValue 1 → 9", "suspended (spec.suspend) → hold at 4"},
		},
		{
			name:   "suspended with no change wanted is not a hold",
			policy: suspended, snap: snap(4, 4), want: 4, held: false,
			codes: []ReasonCode{ReasonWithinTolerance, ReasonUnchanged},
		},
		{
			name:   "revert hold: newest revert within afterRevertSeconds names commit and author",
			policy: loadPolicy(nil), snap: snap(4, 9).withHistory(revertEvent(2*time.Hour), revertEvent(720*time.Second)),
			want: 4, held: true,
			messages: []string{
				"load = 9 / averageValue 1 → 9",
				"revert hold: commit a1b2c3d4e5f6 by Jane Doe reverted ffeeddccbbaa 720s ago < afterRevertSeconds 3600 → hold at 4",
			},
		},
		{
			name:   "revert hold ends at afterRevertSeconds",
			policy: loadPolicy(nil), snap: snap(4, 9).withHistory(revertEvent(time.Hour)),
			want: 9, hasNot: ReasonRevertHold,
		},
		{
			name:   "revert hold 0 disables it",
			policy: noHolds, snap: snap(4, 9).withHistory(revertEvent(time.Minute)),
			want: 9,
		},
		{
			name:   "manual-edit hold: a person's edit within afterManualEditSeconds",
			policy: loadPolicy(nil), snap: snap(4, 9).withHistory(editEvent(EventManualEdit, 30*time.Minute)),
			want: 4, held: true,
			contains: "manual-edit hold: commit 0badc0de0bad by Max Mustermann set 4 1800s ago < afterManualEditSeconds 3600 → hold at 4",
		},
		{
			name:   "manual-edit hold: a manual scale through the CLI counts",
			policy: loadPolicy(nil), snap: snap(4, 9).withHistory(editEvent(EventManualScale, time.Minute)),
			want: 4, held: true, has: ReasonManualEditHold,
		},
		{
			name:   "manual-edit hold: our own decisions do not start it",
			policy: loadPolicy(nil), snap: snap(4, 9).withHistory(change(60, 3, 4)),
			want: 9, hasNot: ReasonManualEditHold,
		},
		{
			name:   "manual-edit hold ends at afterManualEditSeconds",
			policy: loadPolicy(nil), snap: snap(4, 9).withHistory(editEvent(EventManualEdit, time.Hour)),
			want: 9,
		},
		{
			name:   "rejected pull request holds the same decision",
			policy: loadPolicy(nil), snap: withRejected(snap(4, 9), 9, 42),
			want: 4, held: true,
			contains: "pull request #42 proposing 9 was closed unmerged (https://github.com/acme/platform-gitops/pull/42) → hold at 4",
		},
		{
			name:   "a rejected merge request is named as its host names it",
			policy: loadPolicy(nil), snap: func() *Snapshot {
				s := snap(4, 9)
				s.Rejected = &Rejection{To: 9, PR: 7, Name: "merge request !7", URL: "https://gitlab.com/acme/platform/-/merge_requests/7"}
				return s
			}(),
			want: 4, held: true,
			contains: "merge request !7 proposing 9 was closed unmerged (https://gitlab.com/acme/platform/-/merge_requests/7) → hold at 4",
		},
		{
			name:   "rejected pull request does not hold a different decision",
			policy: loadPolicy(nil), snap: withRejected(snap(4, 10), 9, 42),
			want: 10, hasNot: ReasonPullRequestRejected,
		},
		{
			name:   "not synced: the cluster does not run the last change yet",
			policy: syncPolicy(), snap: withSync(snap(6, 9).withHistory(change(120, 4, 6)), 4, false),
			want: 6, held: true,
			contains: "not synced: cluster runs 4, Git has 6 since the last change 120s ago, waiting up to timeoutSeconds 600 → hold at 6",
		},
		{
			name:   "not synced after the timeout says to check the GitOps sync",
			policy: syncPolicy(), snap: withSync(snap(6, 9).withHistory(change(900, 4, 6)), 4, false),
			want: 6, held: true,
			contains: "not synced: cluster runs 4, Git has 6 since the last change 900s ago: not live after timeoutSeconds 600: check the GitOps sync → hold at 6",
		},
		{
			name:   "not synced when the sync query has no value",
			policy: syncPolicy(), snap: withSync(snap(6, 9).withHistory(change(30, 4, 6)), 0, true),
			want: 6, held: true,
			contains: "not synced: the sync query returned no value, Git has 6",
		},
		{
			name:   "not synced without history compares with Git",
			policy: syncPolicy(), snap: withSync(snap(6, 9), 5, false),
			want: 6, held: true, has: ReasonNotSynced,
		},
		{
			name:   "synced: the decision proceeds",
			policy: syncPolicy(), snap: withSync(snap(6, 9).withHistory(change(120, 4, 6)), 6, false),
			want: 9, hasNot: ReasonNotSynced,
		},
		{
			name:   "sync status without a syncCheck in the policy is ignored",
			policy: loadPolicy(nil), snap: withSync(snap(6, 9), 1, false),
			want: 9,
		},
		{
			name:   "every hold that applies is listed, in order",
			policy: func() *policy.Policy { p := syncPolicy(); p.Spec.Suspend = true; return p }(),
			snap: withSync(withRejected(snap(4, 9).withHistory(
				editEvent(EventManualEdit, 10*time.Minute), revertEvent(5*time.Minute)), 9, 7), 8, false),
			want: 4, held: true,
			codes: []ReasonCode{
				ReasonMetricValue, ReasonSuspended, ReasonRevertHold, ReasonManualEditHold,
				ReasonPullRequestRejected, ReasonNotSynced,
			},
		},
		{
			name: "holds apply after every other step: a hold does not release a cooldown",
			policy: func() *policy.Policy {
				p := loadPolicy(&policy.Behavior{ScaleUpCooldownSeconds: ptr(600)})
				p.Spec.Suspend = true
				return p
			}(),
			snap: snap(4, 9).withHistory(change(60, 3, 4)),
			want: 4, held: false, has: ReasonCooldownActive, hasNot: ReasonSuspended,
		},
	})
}
