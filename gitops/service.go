package gitops

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/history"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// ErrShuttingDown is returned by on-demand evaluations once the service stops taking work.
var ErrShuttingDown = errors.New("the service is shutting down")

// ErrUnknownPolicy is returned by EvaluateNow for a name no repository's policies carry, and
// matches (errors.Is) every "no policy in repository" error of the Runner and the Service.
var ErrUnknownPolicy = errors.New("unknown policy")

// Clock is the service's time. Tests drive it without real waiting.
type Clock struct {
	// Now is the current instant (default time.Now).
	Now func() time.Time
	// After delivers once d has passed (default time.After).
	After func(d time.Duration) <-chan time.Time
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// Runner runs the cycles of every repository; repositories run concurrently, each one
	// cycle at a time (a Runner keeps one workspace per repository).
	Runner *Runner
	Repos  []Repo
	// Shard, of Shards, is the part of the policies this instance evaluates.
	Shard, Shards int
	Clock         Clock
	Logger        *slog.Logger
	// CycleTimeout bounds one cycle, its push included (default the config's cycleTimeout,
	// else svcconfig.DefaultCycleTimeout). Shutdown waits at most this long for a cycle.
	CycleTimeout time.Duration
	// MaxJitter caps the per-policy offset from the schedule (default 5s); the offset is also
	// at most a tenth of the policy's interval, in whole seconds (Jitter).
	MaxJitter time.Duration
	// OnCycle observes every finished cycle, scheduled or on demand (metrics). It must not block.
	OnCycle func(CycleEvent)
}

// CycleEvent is one finished cycle of one repository.
type CycleEvent struct {
	Repository string
	// Only lists the policies the cycle was asked for; empty means all.
	Only     []string
	Report   *Report
	Err      error
	Duration time.Duration
	OnDemand bool
	// RacesLostInARow counts the repository's consecutive cycles, this one included, that
	// lost every push race (Report.RaceLost); 0 once a cycle's push lands.
	RacesLostInARow int
}

// PolicyStatus is what the service knows of one policy: the outcome of its last evaluation
// and its next run. The HTTP API serves it as JSON.
type PolicyStatus struct {
	ID         string      `json:"id"`
	Repository string      `json:"repository"`
	Target     string      `json:"target"`
	Workload   string      `json:"workload,omitempty"`
	Mode       policy.Mode `json:"mode"`
	Schedule   string      `json:"schedule"`
	// Current is the replica count Git holds after the last evaluation; Desired the decision.
	// Both are null while the policy is invalid or before its first evaluation: an unknown
	// count must not read as 0 replicas (docs/design.md §8).
	Current    *int            `json:"current"`
	Desired    *int            `json:"desired"`
	LastAction string          `json:"lastAction,omitempty"`
	Reasons    []engine.Reason `json:"reasons"`
	// Holds are the reasons that kept the count where it is (hold, cooldown, blocked).
	Holds         []engine.Reason `json:"holds"`
	LastError     string          `json:"lastError,omitempty"`
	LastEvaluated *time.Time      `json:"lastEvaluated,omitempty"`
	// NextRun is omitted while the policy is not scheduled (invalid).
	NextRun     *time.Time `json:"nextRun,omitempty"`
	Commit      string     `json:"commit,omitempty"`
	PullRequest string     `json:"pullRequest,omitempty"`
	// PullRequestName is the pull request's name in its host's terms ("merge request !12").
	PullRequestName string              `json:"pullRequestName,omitempty"`
	Metrics         map[string]*float64 `json:"metrics,omitempty"`
	// Blind names the metrics without a usable value at the last evaluation ("name: cause"):
	// with lastAction held-blind, the policy held because it could not see.
	Blind []string `json:"blind,omitempty"`
	// Shadow is a shadow policy's last comparison with the live autoscaler.
	Shadow *engine.ShadowComparison `json:"shadow,omitempty"`
	// Invalid is file:line of the policy's document while it is invalid: the policy is not
	// evaluated, holds the count Git has, and LastError says what is wrong. ID is empty for
	// a document whose name cannot be read.
	Invalid string `json:"invalid,omitempty"`
	// Policy is the document as last loaded from the repository.
	Policy *policy.Policy `json:"-"`
}

// Service runs every policy on its own cron schedule: per repository one loop that wakes at
// the earliest next-due time of its policies and runs one Cycle for the policies due, so a
// repository sees one fetch and one push per wake however many policies fall due together.
// At most one evaluation runs per repository at a time, on-demand ones included.
type Service struct {
	opts     ServiceOptions
	log      *slog.Logger
	repos    []*repoLoop
	stopping atomic.Bool

	mu     sync.RWMutex
	status map[string]*PolicyStatus // by statusKey
	// racesLost counts, per repository, the consecutive cycles that lost every push race.
	racesLost map[string]int
}

// repoLoop is one repository's scheduler state.
type repoLoop struct {
	repo   Repo
	runner *Runner
	// lock admits one evaluation at a time; a channel so that waiting honours a context.
	lock chan struct{}

	// Guarded by Service.mu.
	entries map[string]*entry // by policy ID
	ready   bool

	// Guarded by lock.
	history map[string][]engine.Event // last history read per policy, for the status page
}

// entry is one policy's schedule.
type entry struct {
	p        *policy.Policy
	spec     string
	schedule cron.Schedule
	jitter   time.Duration
	// slot is the schedule's instant of the next run, before jitter.
	slot time.Time
}

func (e *entry) due() time.Time { return e.slot.Add(e.jitter) }

// NewService returns a service over the repositories; Run starts it.
func NewService(opts ServiceOptions) (*Service, error) {
	if opts.Runner == nil {
		return nil, errors.New("service: no runner")
	}
	if opts.Shards > 0 && (opts.Shard < 0 || opts.Shard >= opts.Shards) {
		return nil, fmt.Errorf("service: shard %d is not in [0, %d)", opts.Shard, opts.Shards)
	}
	if opts.Clock.Now == nil {
		opts.Clock.Now = time.Now
	}
	if opts.Clock.After == nil {
		opts.Clock.After = time.After
	}
	if opts.CycleTimeout <= 0 {
		opts.CycleTimeout = svcconfig.DefaultCycleTimeout
		if c := opts.Runner.Config; c != nil && c.CycleTimeout.Duration > 0 {
			opts.CycleTimeout = c.CycleTimeout.Duration
		}
	}
	if opts.MaxJitter <= 0 {
		opts.MaxJitter = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{opts: opts, log: log, status: map[string]*PolicyStatus{}, racesLost: map[string]int{}}
	for _, r := range opts.Repos {
		s.repos = append(s.repos, &repoLoop{
			repo:    r,
			runner:  opts.Runner,
			lock:    make(chan struct{}, 1),
			entries: map[string]*entry{},
			history: map[string][]engine.Event{},
		})
	}
	return s, nil
}

// Run schedules the policies until ctx is cancelled. On cancellation it lets an in-flight
// cycle finish — its push included, under its own deadline — starts nothing new, and returns
// once every repository's loop has stopped.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, rl := range s.repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, rl)
		}()
	}
	<-ctx.Done()
	s.stopping.Store(true)
	wg.Wait()
	return nil
}

// Ready reports whether every repository has had a successful cycle.
func (s *Service) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, rl := range s.repos {
		if !rl.ready {
			return false
		}
	}
	return true
}

// Status lists every known policy's status, sorted by repository and ID. The values are
// copies: safe to read while the service runs.
func (s *Service) Status() []PolicyStatus {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]PolicyStatus, 0, len(s.status))
	for _, st := range s.status {
		c := *st
		c.Reasons = slices.Clone(st.Reasons)
		c.Holds = slices.Clone(st.Holds)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Repository != out[j].Repository {
			return out[i].Repository < out[j].Repository
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// RacesLost lists the repositories whose last cycles lost every push race, with how many in
// a row (docs/design.md §6, "Fairness under contention"); repositories whose last push landed
// are not listed.
func (s *Service) RacesLost() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int, len(s.racesLost))
	for repo, n := range s.racesLost {
		if n > 0 {
			out[repo] = n
		}
	}
	return out
}

// EvaluateNow evaluates the named policies (IDs or names; all when empty) at once, outside
// their schedules, and returns their results. It waits for each repository's running
// evaluation to finish first — so a request made during the first sync sees the policies it
// loaded. Names no known policy carries are ErrUnknownPolicy; once every repository is synced
// they are refused before anything runs.
func (s *Service) EvaluateNow(ctx context.Context, only []string) ([]Result, error) {
	if s.stopping.Load() {
		return nil, ErrShuttingDown
	}
	if len(only) > 0 && s.Ready() {
		if missing := s.unknown(only, s.repos); len(missing) > 0 {
			return nil, fmt.Errorf("%w %q", ErrUnknownPolicy, missing[0])
		}
	}
	var results []Result
	var errs []error
	for _, rl := range s.repos {
		if !lock(ctx, rl) {
			return results, ctx.Err()
		}
		if s.stopping.Load() {
			unlock(rl)
			return results, ErrShuttingDown
		}
		var ids []string
		if len(only) > 0 {
			if rl.runner.Synced(rl.repo.Config.Name) == nil {
				// Asked before the repository's first cycle: learn its policies first, or
				// the names would not resolve yet.
				if _, err := rl.runner.Workspace(ctx, rl.repo.Config); err == nil {
					s.discover(rl, s.opts.Clock.Now())
				}
			}
			if ids = s.resolve(rl, only); len(ids) == 0 {
				unlock(rl)
				continue
			}
		}
		rep, err := s.cycle(ctx, rl, ids, true)
		unlock(rl)
		if rep != nil {
			results = append(results, rep.Results...)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if missing := s.unknown(only, s.repos); len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%w %q", ErrUnknownPolicy, missing[0]))
	}
	return results, errors.Join(errs...)
}

// resolve returns the IDs of the repository's policies that the names (IDs or names) select.
func (s *Service) resolve(rl *repoLoop, names []string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for id, e := range rl.entries {
		for _, name := range names {
			if name == id || name == e.p.Metadata.Name {
				ids = append(ids, id)
				break
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// unknown lists the names no repository's policies carry.
func (s *Service) unknown(names []string, repos []*repoLoop) []string {
	var out []string
	for _, name := range names {
		found := false
		for _, rl := range repos {
			if len(s.resolve(rl, []string{name})) > 0 {
				found = true
				break
			}
		}
		if !found {
			out = append(out, name)
		}
	}
	return out
}

// History returns a policy's changes since a time, from the repository's local clone as of
// its last cycle (no fetch). When the repository is busy past ctx's deadline, it answers
// from the last history it read for the policy.
func (s *Service) History(ctx context.Context, repository, id string, since time.Time) ([]engine.Event, error) {
	var rl *repoLoop
	for _, r := range s.repos {
		if r.repo.Config.Name == repository {
			rl = r
		}
	}
	if rl == nil {
		return nil, fmt.Errorf("history: no repository %q", repository)
	}
	// The entry's policy is replaced by every cycle's discover: read it under the lock.
	s.mu.RLock()
	var p *policy.Policy
	if e, ok := rl.entries[id]; ok {
		p = e.p
	}
	s.mu.RUnlock()
	if p == nil || p.Spec.Replicas == nil {
		return nil, fmt.Errorf("history: %w", noPolicy{name: id, repo: repository})
	}
	if !lock(ctx, rl) {
		return nil, fmt.Errorf("history of %s: repository busy: %w", id, ctx.Err())
	}
	defer unlock(rl)
	ws := rl.runner.Synced(rl.repo.Config.Name)
	if ws == nil {
		return nil, fmt.Errorf("history of %s: repository %s not synced yet", id, repository)
	}
	ev, err := history.Read(ws, history.Query{PolicyID: id, Target: *p.Spec.Replicas, Since: since})
	if err != nil {
		if old, ok := rl.history[id]; ok {
			return old, nil
		}
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	rl.history[id] = ev
	return ev, nil
}

func lock(ctx context.Context, rl *repoLoop) bool {
	select {
	case rl.lock <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func unlock(rl *repoLoop) { <-rl.lock }

// defaultInterval is how often a repository with no known policies is looked at again.
const defaultInterval = 30 * time.Second

// loop is one repository's scheduler: a first cycle of every policy, then one cycle per wake
// for the policies due.
func (s *Service) loop(ctx context.Context, rl *repoLoop) {
	first := true
	for ctx.Err() == nil {
		var only []string
		if !first {
			now := s.opts.Clock.Now()
			wake, known := s.nextWake(rl, now)
			if wake.After(now) {
				select {
				case <-ctx.Done():
					return
				case <-s.opts.Clock.After(wake.Sub(now)):
				}
			}
			if known {
				only = s.due(rl, s.opts.Clock.Now())
				if len(only) == 0 {
					continue // woke early, or the schedule changed meanwhile
				}
			}
		}
		first = false
		if !lock(ctx, rl) {
			return
		}
		if ctx.Err() != nil { // no new work once shutdown began
			unlock(rl)
			return
		}
		_, _ = s.cycle(ctx, rl, only, false)
		unlock(rl)
	}
}

// nextWake is the earliest due time of the repository's policies; with none known, a
// default interval from now (to look for policies again).
func (s *Service) nextWake(rl *repoLoop, now time.Time) (time.Time, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(rl.entries) == 0 {
		return now.Add(defaultInterval), false
	}
	var wake time.Time
	for _, e := range rl.entries {
		if d := e.due(); wake.IsZero() || d.Before(wake) {
			wake = d
		}
	}
	return wake, true
}

// due lists the policies due at now, sorted.
func (s *Service) due(rl *repoLoop, now time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for id, e := range rl.entries {
		if !e.due().After(now) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// cycle runs one Cycle of the repository, with the repository locked by the caller, under a
// context that shutdown does not cancel: a push in flight completes. It then reloads the
// repository's policy set, records the results and moves the schedules of a scheduled run.
func (s *Service) cycle(ctx context.Context, rl *repoLoop, only []string, onDemand bool) (*Report, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.CycleTimeout)
	defer cancel()
	start := s.opts.Clock.Now()
	// The decisions get three quarters of the cycle's time, by the Runner's clock; the last
	// quarter is the push's, races included (docs/design.md §6, "Fairness under contention").
	opts := CycleOptions{Only: only, Shard: s.opts.Shard, Shards: s.opts.Shards,
		Deadline: rl.runner.now().Add(s.opts.CycleTimeout * 3 / 4)}
	rep, err := rl.runner.Cycle(cctx, rl.repo, opts)
	if err != nil && len(only) > 0 {
		// A policy due may have been deleted by the commit this cycle fetched: learn the new
		// set and run the ones that are left.
		s.discover(rl, s.opts.Clock.Now())
		if left := s.known(rl, only); len(left) > 0 && len(left) < len(only) {
			opts.Only = left
			rep, err = rl.runner.Cycle(cctx, rl.repo, opts)
		}
	}
	end := s.opts.Clock.Now()
	s.discover(rl, end)
	lost := s.record(rl, rep, err, only, onDemand, end)
	if err != nil {
		s.log.Error("cycle failed", "repository", rl.repo.Config.Name, "error", err, "races_lost_in_a_row", lost)
	}
	if s.opts.OnCycle != nil {
		s.opts.OnCycle(CycleEvent{Repository: rl.repo.Config.Name, Only: only, Report: rep, Err: err, Duration: end.Sub(start), OnDemand: onDemand,
			RacesLostInARow: lost})
	}
	return rep, err
}

// known keeps the IDs that are still scheduled.
func (s *Service) known(rl *repoLoop, ids []string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for _, id := range ids {
		if _, ok := rl.entries[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// discover reloads the repository's policies from its local clone (as of the cycle just run:
// a policy change is a commit like any other) and updates the schedules: new policies are
// scheduled from now, changed schedules are rescheduled, removed policies are forgotten. A set
// that does not load keeps the old schedules; the cycle's error says why.
func (s *Service) discover(rl *repoLoop, now time.Time) {
	if rl.runner.Synced(rl.repo.Config.Name) == nil {
		return
	}
	policies, invalidDocs, err := rl.runner.Policies(rl.repo, s.opts.Shard, s.opts.Shards)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := make(map[string]bool, len(policies))
	for _, p := range policies {
		id := p.ID()
		seen[id] = true
		spec := p.Spec.Schedule
		if spec == "" {
			spec = policy.DefaultSchedule
		}
		e, ok := rl.entries[id]
		if !ok || e.spec != spec {
			sched, err := cron.ParseStandard(spec)
			if err != nil { // validation rejects this; keep the default rather than stop
				s.log.Warn("bad schedule, using the default", "repository", rl.repo.Config.Name, "policy", id, "schedule", spec, "error", err)
				sched, _ = cron.ParseStandard(policy.DefaultSchedule)
			}
			e = &entry{spec: spec, schedule: sched, jitter: Jitter(id, interval(sched, now), s.opts.MaxJitter), slot: sched.Next(now)}
			rl.entries[id] = e
		}
		e.p = p
		st := s.statusOf(rl, id)
		st.Policy, st.Target, st.Schedule = p, targetOf(p), spec
		st.Mode = p.Spec.Mode
		st.Workload = p.Spec.TargetRef.Kind + "/" + p.Spec.TargetRef.Name
		st.NextRun = new(e.due())
		if st.Invalid != "" { // valid again
			st.Invalid, st.LastError = "", ""
		}
	}
	// An invalid document is not scheduled, but its policies keep their rows — with the
	// count Git still holds, which nothing changes while the document is invalid — and say
	// where the document is broken. A document whose name cannot be read gets a row of its
	// own, by where it is.
	invalid := map[string]bool{}
	for _, iv := range invalidDocs {
		key := statusKey(rl.repo.Config.Name, iv.Policy)
		if iv.Policy == "" {
			key = statusKey(rl.repo.Config.Name, "\x01"+iv.Where())
		}
		invalid[key] = true
		st, ok := s.status[key]
		if !ok {
			st = &PolicyStatus{ID: iv.Policy, Repository: rl.repo.Config.Name, Reasons: []engine.Reason{}}
			s.status[key] = st
		}
		st.Invalid, st.LastError, st.LastAction = iv.Where(), iv.Error(), ActionError
		// Not evaluated, not scheduled: no count, no decision and no next run to show.
		st.NextRun, st.Current, st.Desired = nil, nil, nil
		at := now
		st.LastEvaluated = &at
		if iv.Policy != "" {
			delete(rl.entries, iv.Policy)
		}
	}
	for id := range rl.entries {
		if !seen[id] {
			delete(rl.entries, id)
		}
	}
	prefix := statusKey(rl.repo.Config.Name, "")
	for key, st := range s.status {
		if strings.HasPrefix(key, prefix) && !invalid[key] && !seen[st.ID] {
			delete(s.status, key) // the policy is gone from the repository
		}
	}
}

// record stores a cycle's results and, for a scheduled cycle, moves its policies' schedules
// past now — except those of deferred decisions, which stay due for the next cycle. It
// returns the repository's count of consecutive cycles that lost every push race.
func (s *Service) record(rl *repoLoop, rep *Report, err error, only []string, onDemand bool, now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		rl.ready = true
	}
	name := rl.repo.Config.Name
	switch {
	case rep != nil && rep.RaceLost:
		s.racesLost[name]++
	case err == nil:
		s.racesLost[name] = 0
	}
	evaluated := map[string]bool{}
	deferred := map[string]bool{}
	if rep != nil {
		for _, r := range rep.Results {
			if r.Invalid != "" {
				continue // discover keeps the rows of invalid documents
			}
			evaluated[r.Policy] = true
			deferred[r.Policy] = r.Action == ActionDeferred
			st := s.statusOf(rl, r.Policy)
			applyResult(st, r)
		}
	}
	if err != nil {
		// A cycle that failed before deciding (fetch, invalid policies, push) leaves its error
		// on every policy it was meant to evaluate.
		for id := range rl.entries {
			if (len(only) == 0 || slices.Contains(only, id)) && !evaluated[id] {
				s.statusOf(rl, id).LastError = err.Error()
			}
		}
	}
	for id, e := range rl.entries {
		// A scheduled run of named policies moves their slots past now; a first (or
		// rediscovery) run of all leaves the fresh schedules discover made.
		switch {
		case deferred[id]:
			// Not landed: due again at once, so the repository's next cycle takes it.
			e.slot = now.Add(-e.jitter)
		case !onDemand && len(only) > 0 && slices.Contains(only, id):
			next := e.schedule.Next(e.slot)
			if !next.Add(e.jitter).After(now) {
				next = e.schedule.Next(now) // missed runs are skipped, not replayed
			}
			e.slot = next
		}
		s.statusOf(rl, id).NextRun = new(e.due())
	}
	return s.racesLost[name]
}

func applyResult(st *PolicyStatus, r Result) {
	if r.Action == ActionDeferred {
		// Git holds what it held: only the decision (if one was made) and why it did not
		// land are new.
		st.LastAction, st.LastError = r.Action, r.Error
		if r.From != 0 || r.To != 0 {
			st.Desired = new(r.To)
		}
		return
	}
	st.Target = r.Target
	if r.Mode != "" {
		st.Mode = r.Mode
	}
	st.Current, st.Desired = new(r.From), new(r.To)
	if r.Action == ActionCommitted {
		st.Current = new(r.To) // Git holds the new count
	}
	st.LastAction = r.Action
	st.Reasons = r.Reasons
	st.Holds = nil
	for _, reason := range r.Reasons {
		if reason.Code.IsHold() {
			st.Holds = append(st.Holds, reason)
		}
	}
	st.LastError = r.Error
	at := r.EvaluatedAt
	st.LastEvaluated = &at
	if r.Commit != "" {
		st.Commit = r.Commit
	}
	st.PullRequest, st.PullRequestName = r.PullRequest, r.PullRequestName
	st.Metrics = r.Metrics
	st.Blind = r.Blind
	st.Shadow = r.Shadow
}

// statusOf returns (creating) a policy's status; s.mu must be held for writing.
func (s *Service) statusOf(rl *repoLoop, id string) *PolicyStatus {
	k := statusKey(rl.repo.Config.Name, id)
	st, ok := s.status[k]
	if !ok {
		st = &PolicyStatus{ID: id, Repository: rl.repo.Config.Name, Reasons: []engine.Reason{}}
		s.status[k] = st
	}
	return st
}

func statusKey(repo, id string) string { return repo + "\x00" + id }

// interval is a schedule's period around now: the gap between its next two activations.
func interval(s cron.Schedule, now time.Time) time.Duration {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return c.Delay
	}
	a := s.Next(now)
	return s.Next(a).Sub(a)
}

// Jitter is a policy's stable offset from its schedule: a hash of its ID spread over a tenth
// of its interval, at most max, so that a thousand policies on the same schedule do not all
// wake at once — and each fires at the same offset every time. The offset is a whole number of
// seconds (none when the window is under a second, an interval under 10 s): the schedule's slots
// are whole seconds, and a cycle evaluates at its start truncated to the second (the instant its
// commit records as evaluatedAt and backtest replays, docs/design.md §2), so a wake on a whole
// second loses nothing to the truncation, where a sub-second offset would leave a sample scraped
// between the second and the wake to the next evaluation.
func Jitter(id string, interval, max time.Duration) time.Duration {
	window := min(interval/10, max) / time.Second
	if window <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return time.Duration(h.Sum64()%uint64(window)) * time.Second
}
