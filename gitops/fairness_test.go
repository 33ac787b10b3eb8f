package gitops

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// mixed scales web up (3 → 6) and api (4 → 3) and worker (2 → 1) down. By ID the scale-down
// of prod/api comes first.
var mixed = staticMetrics{"web_rps": 560, "api_rps": 50, "queue_backlog": 50}

// tickingClock reads cycleAt, then a second later at every reading.
func tickingClock() func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return cycleAt.Add(time.Duration(n-1) * time.Second)
	}
}

// TestScaleUpsLandFirstWhenTheDeadlineCutsTheCycleShort: the clock ticks a second per
// reading, and the cycle reads it once before deciding each policy (3 readings) and once
// before applying each change. A deadline that leaves time for one change lands the scale-up
// of prod/web, not the scale-down of prod/api that comes first by ID; what the deadline
// stopped is deferred with its reason, never dropped.
func TestScaleUpsLandFirstWhenTheDeadlineCutsTheCycleShort(t *testing.T) {
	type want struct {
		action    string
		from, to  int
		notLanded string
	}
	undecided := want{action: ActionDeferred, notLanded: NotLandedDeadline}
	tests := []struct {
		name     string
		deadline time.Duration // after cycleAt; 0: none
		want     map[string]want
	}{
		{name: "no deadline", want: map[string]want{
			"prod/web": {ActionCommitted, 3, 6, ""}, "prod/api": {ActionCommitted, 4, 3, ""}, "prod/worker": {ActionCommitted, 2, 1, ""}}},
		{name: "past before the first decision", deadline: -time.Second, want: map[string]want{
			"prod/web": undecided, "prod/api": undecided, "prod/worker": undecided}},
		{name: "time to decide all, to apply none", deadline: 3 * time.Second, want: map[string]want{
			"prod/web":    {ActionDeferred, 3, 6, NotLandedDeadline},
			"prod/api":    {ActionDeferred, 4, 3, NotLandedDeadline},
			"prod/worker": {ActionDeferred, 2, 1, NotLandedDeadline}}},
		{name: "time for one change: the scale-up", deadline: 4 * time.Second, want: map[string]want{
			"prod/web":    {ActionCommitted, 3, 6, ""},
			"prod/api":    {ActionDeferred, 4, 3, NotLandedDeadline},
			"prod/worker": {ActionDeferred, 2, 1, NotLandedDeadline}}},
		{name: "time for two: the scale-up, then the first scale-down", deadline: 5 * time.Second, want: map[string]want{
			"prod/web":    {ActionCommitted, 3, 6, ""},
			"prod/api":    {ActionCommitted, 4, 3, ""},
			"prod/worker": {ActionDeferred, 2, 1, NotLandedDeadline}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, mixed, nil)
			e.runner.Now = tickingClock()
			opts := CycleOptions{At: cycleAt}
			if tt.deadline != 0 {
				opts.Deadline = cycleAt.Add(tt.deadline)
			}
			rep := e.cycle(t, opts)

			committed := 0
			for id, w := range tt.want {
				res := resultOf(t, rep, id)
				assert.Equal(t, w.action, res.Action, "%s: %s", id, res.Error)
				assert.Equal(t, w.notLanded, res.NotLanded, id)
				if w.action == ActionDeferred {
					assert.Contains(t, res.Error, "tried again in the next cycle", id)
					assert.Empty(t, res.Commit, id)
				} else {
					committed++
				}
				if w.from != 0 {
					assert.Equal(t, w.from, res.From, id)
					assert.Equal(t, w.to, res.To, id)
				}
			}
			assert.Len(t, e.commitsSince(e.initial), committed, "the remote holds exactly the landed decisions")
			web := "replicaCount: 3"
			if tt.want["prod/web"].action == ActionCommitted {
				web = "replicaCount: 6"
			}
			assert.Contains(t, e.s.ReadFile("platform", "main", webValues), web)
			assert.Equal(t, strings.Count(e.logs.String(), `"msg":"decision deferred"`), len(tt.want)-committed, "every deferral is logged")
		})
	}
}

// TestPushRaceBackoffIsJitteredWithinItsBounds: the wait after the n-th race is half of
// 100ms·2^n (capped at 2^6) plus a jitter of at most the other half; the jitter source is
// the Runner's, and what it returns out of range is clamped.
func TestPushRaceBackoffIsJitteredWithinItsBounds(t *testing.T) {
	tests := []struct {
		name    string
		attempt int
		jitter  func(time.Duration) time.Duration
		want    time.Duration
	}{
		{name: "first race, no jitter", attempt: 0, jitter: func(time.Duration) time.Duration { return 0 }, want: 50 * time.Millisecond},
		{name: "first race, full jitter", attempt: 0, jitter: func(n time.Duration) time.Duration { return n }, want: 100 * time.Millisecond},
		{name: "third race, some jitter", attempt: 2, jitter: func(time.Duration) time.Duration { return 30 * time.Millisecond }, want: 230 * time.Millisecond},
		{name: "capped at 2^6", attempt: 12, jitter: func(time.Duration) time.Duration { return 0 }, want: 3200 * time.Millisecond},
		{name: "jitter out of range is clamped", attempt: 0, jitter: func(time.Duration) time.Duration { return time.Hour }, want: 100 * time.Millisecond},
		{name: "negative jitter is clamped", attempt: 1, jitter: func(time.Duration) time.Duration { return -time.Hour }, want: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Runner{Jitter: tt.jitter}
			assert.Equal(t, tt.want, r.backoff(tt.attempt))
		})
	}
	t.Run("default jitter spreads the waits", func(t *testing.T) {
		r := &Runner{}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := r.backoff(3)
			require.GreaterOrEqual(t, d, 400*time.Millisecond)
			require.LessOrEqual(t, d, 800*time.Millisecond)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 1, "50 waits are not all the same")
	})
}

// TestAPushRaceLostForGoodDefersTheDecisions: a person pushes before every one of our
// pushes. The cycle waits the jittered backoff between attempts (through the Runner's Sleep),
// gives up after MaxPushAttempts, and its decisions are deferred — reason push-race, the
// report marked RaceLost — not turned into errors or dropped; their commits never reach the
// remote, and every commit of the person's is kept.
func TestAPushRaceLostForGoodDefersTheDecisions(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		// sleepFails makes the cycle's time run out at the first wait.
		sleepFails bool
		wantWaits  int
	}{
		{name: "out of attempts", attempts: 3, wantWaits: 2},
		{name: "time runs out between attempts", attempts: 5, sleepFails: true, wantWaits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, scaleUp, nil)
			e.runner.MaxPushAttempts = tt.attempts
			e.runner.Backoff = nil
			e.runner.Jitter = func(n time.Duration) time.Duration { return n / 2 }
			var waits []time.Duration
			e.runner.Sleep = func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				if tt.sleepFails {
					return context.DeadlineExceeded
				}
				return nil
			}
			var theirs []string
			n := 0
			e.s.SetBeforeReceivePack(func(string) {
				n++
				theirs = append(theirs, e.s.CommitAt("platform", map[string]string{"docs/bump.md": strings.Repeat("x", n)}, "a bot's bump", "Bot <bot@example.com>", cycleAt))
			})

			rep, err := e.runner.Cycle(context.Background(), e.repo, CycleOptions{})
			require.Error(t, err)
			assert.ErrorContains(t, err, "push platform")
			assert.True(t, rep.RaceLost)
			assert.Equal(t, []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}[:tt.wantWaits], waits, "jittered exponential waits")
			require.Len(t, rep.Results, 3)
			for _, res := range rep.Results {
				assert.Equal(t, ActionDeferred, res.Action, res.Policy)
				assert.Equal(t, NotLandedPushRace, res.NotLanded, res.Policy)
				assert.Contains(t, res.Error, "tried again in the next cycle", res.Policy)
				assert.Empty(t, res.Commit, res.Policy)
			}
			assert.Equal(t, theirs[len(theirs)-1], e.head(), "the remote is at the person's last commit")
			assert.Len(t, e.commitsSince(e.initial), len(theirs), "every commit of theirs kept, none of ours")
			assert.Equal(t, len(theirs), e.s.Requests("platform", gittest.ReceivePack))
		})
	}
}

// TestServiceKeepsDeferredDecisionsDueAndCountsLostRaces: after a scheduled cycle a policy
// whose decision landed moves to its next slot, a deferred one stays due for the next cycle;
// the repository's count of cycles that lost every push race grows with each such cycle and
// goes back to 0 once a push lands.
func TestServiceKeepsDeferredDecisionsDueAndCountsLostRaces(t *testing.T) {
	cycles := []struct {
		name     string
		rep      *Report
		err      error
		wantLost int
		// wantDue are the policies due right after the cycle.
		wantDue []string
	}{
		{name: "a cycle lands everything", rep: &Report{Results: []Result{
			{Policy: "prod/web", Action: ActionCommitted, From: 3, To: 6}, {Policy: "prod/api", Action: ActionUnchanged, From: 4, To: 4}}},
			wantLost: 0},
		{name: "a cycle loses its race", err: errors.New("push platform: push rejected"), rep: &Report{RaceLost: true, Results: []Result{
			{Policy: "prod/web", Action: ActionDeferred, NotLanded: NotLandedPushRace, From: 6, To: 8}, {Policy: "prod/api", Action: ActionUnchanged, From: 4, To: 4}}},
			wantLost: 1, wantDue: []string{"prod/web"}},
		{name: "and again", err: errors.New("push platform: push rejected"), rep: &Report{RaceLost: true, Results: []Result{
			{Policy: "prod/web", Action: ActionDeferred, NotLanded: NotLandedPushRace, From: 6, To: 8}}},
			wantLost: 2, wantDue: []string{"prod/web"}},
		{name: "a fetch failure says nothing about races", err: errors.New("fetch: connection refused"),
			wantLost: 2},
		{name: "the deadline defers one, the push lands", rep: &Report{Head: "abc", Results: []Result{
			{Policy: "prod/web", Action: ActionCommitted, From: 6, To: 8}, {Policy: "prod/api", Action: ActionDeferred, NotLanded: NotLandedDeadline, From: 4, To: 3}}},
			wantLost: 0, wantDue: []string{"prod/api"}},
	}
	svc, err := NewService(ServiceOptions{Runner: &Runner{}, Repos: []Repo{{Config: svcconfig.Repository{Name: "platform"}}}})
	require.NoError(t, err)
	rl := svc.repos[0]
	every, err := cron.ParseStandard("@every 1m")
	require.NoError(t, err)
	now := cycleAt
	for _, id := range []string{"prod/web", "prod/api"} {
		rl.entries[id] = &entry{spec: "@every 1m", schedule: every, slot: now}
	}
	for _, c := range cycles {
		now = now.Add(time.Minute)
		lost := svc.record(rl, c.rep, c.err, []string{"prod/api", "prod/web"}, false, now)
		assert.Equal(t, c.wantLost, lost, c.name)
		assert.Equal(t, c.wantDue, svc.due(rl, now), c.name)
		if c.wantLost > 0 {
			assert.Equal(t, map[string]int{"platform": c.wantLost}, svc.RacesLost(), c.name)
		} else {
			assert.Empty(t, svc.RacesLost(), c.name)
		}
	}
	st := svc.Status()
	require.Len(t, st, 2)
	assert.Equal(t, ActionDeferred, st[0].LastAction, "prod/api: the deferral is on its status")
	require.NotNil(t, st[0].Current)
	require.NotNil(t, st[0].Desired)
	assert.Equal(t, 4, *st[0].Current, "prod/api: Git still holds 4")
	assert.Equal(t, 3, *st[0].Desired)
}
