package engine

import (
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// applyHolds is the last step of a decision: when the rules want a change, a hold keeps the
// current count. Every hold that applies adds its line, in this order: suspend, revert hold,
// manual-edit hold, rejected pull request, sync check. held reports whether any did.
func applyHolds(p *policy.Policy, s *Snapshot, h *history, desired int, e *explainer) (out int, held bool) {
	c := s.Current
	if desired == c {
		return c, false
	}
	spec := &p.Spec
	if spec.Suspend {
		e.begin(ReasonSuspended).str("suspended (spec.suspend)").hold(c).end()
		held = true
	}
	var holds policy.Holds
	if spec.Holds != nil {
		holds = *spec.Holds
	}
	if ev := h.revert; ev != nil {
		if limit := deref(holds.AfterRevertSeconds); heldSince(ev, limit, s.Now) {
			e.begin(ReasonRevertHold).str("revert hold: ").event(ev).str(" reverted ")
			if ev.Reverts != "" {
				e.short(ev.Reverts)
			} else {
				e.str("one of our changes")
			}
			e.str(" ").secs(s.Now.Sub(ev.At)).str(" ago < afterRevertSeconds ").int(limit).hold(c).end()
			held = true
		}
	}
	// A manual scale through the CLI is a person's decision as much as an edit by hand.
	// Its own hold, chosen with scale --hold and written in its commit, wins over the policy's
	// afterManualEditSeconds (docs/design.md §6).
	if ev := h.manual; ev != nil {
		limit, own := deref(holds.AfterManualEditSeconds), false
		if ev.Kind == EventManualScale && ev.HoldSeconds != nil {
			limit, own = *ev.HoldSeconds, true
		}
		if heldSince(ev, limit, s.Now) {
			e.begin(ReasonManualEditHold).str("manual-edit hold: ").event(ev).str(" set ").int(ev.To).str(" ").
				secs(s.Now.Sub(ev.At)).str(" ago < ")
			if own {
				e.str("its --hold ").secs(time.Duration(limit) * time.Second)
			} else {
				e.str("afterManualEditSeconds ").int(limit)
			}
			e.hold(c).end()
			held = true
		}
	}
	if r := s.Rejected; r != nil && desired == r.To {
		e.begin(ReasonPullRequestRejected)
		if r.Name != "" {
			e.str(r.Name)
		} else {
			e.str("pull request #").int(r.PR)
		}
		e.str(" proposing ").int(r.To).str(" was closed unmerged")
		if r.URL != "" {
			e.str(" (").str(r.URL).str(")")
		}
		e.hold(c).end()
		held = true
	}
	if spec.SyncCheck != nil && s.Sync != nil && notSynced(spec.SyncCheck, s, h.last, e) {
		held = true
	}
	if held {
		return c, true
	}
	return desired, false
}

// heldSince reports whether an event is less than limit seconds before now (0: no hold).
func heldSince(ev *Event, limit int, now time.Time) bool {
	return limit > 0 && now.Sub(ev.At) < time.Duration(limit)*time.Second
}

// history is what the engine needs from Snapshot.History, found in one pass.
type history struct {
	// last is the newest event of any kind: the last change.
	last *Event
	// revert is the newest revert; manual the newest manual edit or manual scale.
	revert, manual *Event
}

func summarize(events []Event) history {
	var h history
	newer := func(cur *Event, ev *Event) *Event {
		if cur == nil || ev.At.After(cur.At) {
			return ev
		}
		return cur
	}
	for i := range events {
		ev := &events[i]
		h.last = newer(h.last, ev)
		switch ev.Kind {
		case EventRevert:
			h.revert = newer(h.revert, ev)
		case EventManualEdit, EventManualScale:
			h.manual = newer(h.manual, ev)
		}
	}
	return h
}

// event writes "commit 1a2b3c4d5e6f by Jane Doe" ("manual scale 1a2b…" for a CLI scale).
func (e *explainer) event(ev *Event) *explainer {
	if ev.Kind == EventManualScale {
		e.str("manual scale ")
	} else {
		e.str("commit ")
	}
	if ev.Commit != "" {
		e.short(ev.Commit)
	} else {
		e.str("(unknown)")
	}
	if ev.Author != "" {
		e.str(" by ").str(ev.Author)
	}
	return e
}

// notSynced holds while the cluster does not run the count of the last change (or of Git,
// without history), and says how long that has been and whether timeoutSeconds passed.
func notSynced(sc *policy.SyncCheck, s *Snapshot, last *Event, e *explainer) bool {
	want := s.Current
	if last != nil {
		want = last.To
	}
	if !s.Sync.Missing && s.Sync.Observed == want {
		return false
	}
	e.begin(ReasonNotSynced).str("not synced: ")
	if s.Sync.Missing {
		e.str("the sync query returned no value")
	} else {
		e.str("cluster runs ").int(s.Sync.Observed)
	}
	e.str(", Git has ").int(want)
	if last == nil {
		e.hold(s.Current).end()
		return true
	}
	ago := s.Now.Sub(last.At)
	timeout := sc.TimeoutSeconds
	if timeout <= 0 {
		timeout = policy.DefaultSyncTimeout
	}
	e.str(" since the last change ").secs(ago).str(" ago")
	if ago >= time.Duration(timeout)*time.Second {
		e.str(": not live after timeoutSeconds ").int(timeout).str(": check the GitOps sync")
	} else {
		e.str(", waiting up to timeoutSeconds ").int(timeout)
	}
	e.hold(s.Current).end()
	return true
}
