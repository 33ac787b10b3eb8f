package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	// The zone database is embedded so that a window's timezone means the same on every
	// machine, including images that ship no zone files.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
)

// compiledSchedule is a window's parsed cron spec, with the spec and timezone it was parsed
// from so that a window edited after Compile is not decided with a stale schedule.
type compiledSchedule struct {
	cron, timezone string
	sched          *cron.SpecSchedule
}

// Compile parses every schedule window's cron spec and timezone and caches the result in the
// policy, so that Decide does not parse them on each evaluation. The loader calls it once after
// validation; it returns every window's error, joined. Decide still works on a policy that was
// not compiled: it then parses on the fly (loading a time zone may read the zone database),
// without writing to the policy, so concurrent Decide calls on one policy stay safe. Compile
// itself writes to the policy and must not run concurrently with Decide on it.
func (p *Policy) Compile() error {
	var errs []error
	for i := range p.Spec.Schedules {
		w := &p.Spec.Schedules[i]
		c, err := compileSchedule(w)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		w.compiled = c
	}
	return errors.Join(errs...)
}

// compileSchedule parses a window's cron spec (standard five fields or a descriptor such as
// @daily) in its timezone, UTC when none is named. A CRON_TZ= prefix in the spec is honoured
// when the window names no timezone.
func compileSchedule(w *ScheduleWindow) (*compiledSchedule, error) {
	spec := strings.TrimSpace(w.Cron)
	if strings.HasPrefix(spec, "@every") {
		return nil, fmt.Errorf("schedule %s: cron %q: @every has no fixed activation times; use a cron expression or a descriptor such as @daily", w.Name, w.Cron)
	}
	prefixed := strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=")
	if prefixed && w.Timezone != "" {
		return nil, fmt.Errorf("schedule %s: timezone given twice, in cron %q and as timezone %q", w.Name, w.Cron, w.Timezone)
	}
	loc := time.UTC
	if w.Timezone != "" {
		if w.Timezone == "Local" {
			return nil, fmt.Errorf("schedule %s: timezone Local depends on the machine; name a zone such as Europe/Berlin", w.Name)
		}
		var err error
		if loc, err = time.LoadLocation(w.Timezone); err != nil {
			return nil, fmt.Errorf("schedule %s: timezone %q: %w", w.Name, w.Timezone, err)
		}
	}
	parsed, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: cron %q: %w", w.Name, w.Cron, err)
	}
	ss, ok := parsed.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("schedule %s: cron %q has no fixed activation times", w.Name, w.Cron)
	}
	if !prefixed || ss.Location == time.Local {
		// Without a zone the parser would use the machine's; decisions must not depend on it.
		ss.Location = loc
	}
	return &compiledSchedule{cron: w.Cron, timezone: w.Timezone, sched: ss}, nil
}

// schedule returns the window's compiled schedule, compiling on the fly when Compile was not
// called or the window changed since.
func (w *ScheduleWindow) schedule() (*compiledSchedule, error) {
	if c := w.compiled; c != nil && c.cron == w.Cron && c.timezone == w.Timezone {
		return c, nil
	}
	return compileSchedule(w)
}

// Active reports whether the window is active at now: its latest cron activation at or before
// now is less than Duration ago, i.e. some activation a has now − Duration < a ≤ now (the
// window covers [a, a+Duration)). It finds that activation with one step of the schedule from
// now − Duration, so its cost does not depend on how often the cron fires.
func (w *ScheduleWindow) Active(now time.Time) (bool, error) {
	c, err := w.schedule()
	if err != nil {
		return false, err
	}
	return c.active(now, w.Duration.Duration), nil
}

func (c *compiledSchedule) active(now time.Time, d time.Duration) bool {
	if d <= 0 {
		return false
	}
	// Next returns the first activation strictly after its argument (zero if none in 5 years).
	a := c.sched.Next(now.Add(-d))
	return !a.IsZero() && !a.After(now)
}
