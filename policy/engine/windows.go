package engine

import (
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Windows says how far back a decision of p looks, from the engine's own reading of its
// behavior (HPA defaults included): history is the longest of the cooldowns, rate-limit
// periods, holds and sync-check timeout — how much Git history Snapshot.History needs;
// stabilization is the longest stabilization window — how far back Snapshot.Recommendations
// must reach. Callers read no further back than this.
func Windows(p *policy.Policy) (history, stabilization time.Duration) {
	secs := func(v int) time.Duration { return time.Duration(max(v, 0)) * time.Second }
	var h, s time.Duration
	if b, ok := resolveBehavior(p.Spec.Behavior); ok {
		s = max(secs(b.upWindow), secs(b.downWindow))
		h = max(secs(b.upCooldown), secs(b.downCooldown))
		if b.hpa {
			for _, d := range []direction{b.up, b.down} {
				for _, pol := range d.policies {
					h = max(h, secs(pol.PeriodSeconds))
				}
			}
		}
	}
	if hl := p.Spec.Holds; hl != nil {
		h = max(h, secs(deref(hl.AfterRevertSeconds)), secs(deref(hl.AfterManualEditSeconds)))
	}
	if sc := p.Spec.SyncCheck; sc != nil {
		h = max(h, secs(sc.TimeoutSeconds))
	}
	if cfg, ok := steadyOf(&p.Spec); ok {
		// The budget reads a day of Git history, and the memory of a week ago the counts of
		// then (a Value target's need depends on them); the look-back (scaleDownDelaySeconds)
		// and the trend read the needs over their windows.
		back, _, _ := MemoryWindow(p)
		s = max(s, cfg.delay, cfg.fit)
		// Evaluated less often than every 2 minutes, a bursty series' lone burst counts the
		// evaluations short over the last day (steadyLoneBurst).
		if cfg.step > steadyConfirmStep {
			s = max(s, steadyDay)
		}
		h = max(h, cfg.delay, steadyDay, SeasonWeek+back)
	}
	return h, s
}
