package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/history"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/notify"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/shard"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// MetricSource gives the metric values of policies at an instant: Prometheus in the service,
// a trace file for demos, dry runs and tests. It answers for all of a cycle's policies at once
// so that it can batch and deduplicate queries.
type MetricSource interface {
	// Values returns, per policy in the given order, one value per spec.metrics entry in order.
	// A value that could not be had is Missing with a Cause; Values itself does not fail.
	Values(ctx context.Context, at time.Time, policies []*policy.Policy) [][]engine.MetricValue
}

// RecommendationSource recomputes a policy's past raw recommendations over a window, so that
// stabilization needs no memory of its own (docs/design.md §2 step 4).
type RecommendationSource interface {
	Recommendations(ctx context.Context, p *policy.Policy, now time.Time, window time.Duration, replicasAt func(time.Time) int) ([]engine.Recommendation, error)
}

// SeasonSource recomputes a Steady policy's memory: its needs at the same hours a day and a
// week ago (engine.Snapshot.Seasons, the instants of Policy.MemoryWindow), from range queries
// like a stabilization window (docs/design.md §2 step 4).
type SeasonSource interface {
	Seasons(ctx context.Context, p *policy.Policy, now time.Time, replicasAt func(time.Time) int) (engine.Seasons, error)
}

// ShadowSource gathers what a shadow policy (spec.shadow) is compared with the live autoscaler
// on: the live autoscaler's desired replicas and the policy's metric values over a window
// before now (engine.ShadowSeries). It does not fail: what could not be had is missing in the
// series, with its cause.
type ShadowSource interface {
	Shadow(ctx context.Context, p *policy.Policy, now time.Time, window time.Duration) engine.ShadowSeries
}

// SyncSource reports the replica count the cluster runs, for a policy's syncCheck.
type SyncSource interface {
	Observed(ctx context.Context, p *policy.Policy, at time.Time) engine.SyncStatus
}

// Verifier proves, by rendering, that an edit changes the target workload's replicas from
// current to desired and nothing else (docs/design.md §2 step 7).
type Verifier interface {
	Verify(ctx context.Context, root string, p *policy.Policy, file string, edited []byte, from, to int) (Verification, error)
}

// Verification is a successful render check: a reason line for the commit, a diff of the
// rendered workload for plans and pull request bodies, and the other changes the edit makes
// that follow from the count and were allowed ("adds PodDisruptionBudget shop/web"), which the
// commit message and the pull request body list as "also: …" lines.
type Verification struct {
	Summary      string
	Diff         string
	Consequences []string
}

// Actions of a Result.
const (
	ActionUnchanged = "unchanged"
	ActionCommitted = "committed"
	ActionHeld      = "held"
	// ActionHeldBlind is a count left where it is while one or more of the policy's metrics
	// had no usable value (a query failed, returned nothing, or the trace lacks it): the
	// policy could not see, which is not the same as "nothing to do" (docs/design.md §8).
	ActionHeldBlind   = "held-blind"
	ActionDryRun      = "dry-run"
	ActionError       = "error"
	ActionPullRequest = "pull-request"
	// ActionDeferred is a decision that did not land in this cycle — the cycle's deadline
	// came first, or every push lost its race — and is tried again in the repository's next
	// cycle; Result.NotLanded says why (docs/design.md §6, "Fairness under contention").
	ActionDeferred = "deferred"
)

// Why a decision did not land (Result.NotLanded).
const (
	// NotLandedDeadline: the cycle's decision deadline passed before the policy was decided
	// or its change applied.
	NotLandedDeadline = "deadline"
	// NotLandedPushRace: the decision was committed, but every push of the cycle was
	// rejected by a concurrent change (or the deadline came between two attempts).
	NotLandedPushRace = "push-race"
)

// Result is one policy's outcome in a cycle; `evaluate -o json` prints these.
type Result struct {
	Policy     string          `json:"policy"`
	Repository string          `json:"repository,omitempty"`
	Target     string          `json:"target"`
	From       int             `json:"from"`
	To         int             `json:"to"`
	Action     string          `json:"action"`
	Mode       policy.Mode     `json:"mode,omitempty"`
	Commit     string          `json:"commit"`
	Reasons    []engine.Reason `json:"reasons"`
	Error      string          `json:"error"` // always present, empty when none: the documented -o json shape
	// Metrics are the values the decision was made on.
	Metrics map[string]*float64 `json:"metrics,omitempty"`
	// Blind names the metrics that had no usable value, each as "name: cause"; while any is
	// blind the policy never scales down (docs/design.md §8, "Exit codes tell the truth").
	Blind []string `json:"blind,omitempty"`
	// Diff is the unified diff of the file (plan), Rendered the rendered workload's change.
	Diff     string `json:"diff,omitempty"`
	Rendered string `json:"rendered,omitempty"`
	// PullRequest is the URL of the pull request that carries the decision, if any, and
	// PullRequestName its name in the host's terms ("merge request !12").
	PullRequest     string    `json:"pullRequest,omitempty"`
	PullRequestName string    `json:"pullRequestName,omitempty"`
	EvaluatedAt     time.Time `json:"evaluatedAt"`
	// Shadow sets a shadow policy (spec.shadow) against the live autoscaler over the
	// engine.ShadowWindow before EvaluatedAt.
	Shadow *engine.ShadowComparison `json:"shadow,omitempty"`
	// Invalid is file:line of the policy's document when it is invalid: the policy was not
	// evaluated, and Error says why. Policy is empty when the document's name is unreadable.
	Invalid string `json:"invalid,omitempty"`
	// NotLanded says why a deferred decision did not land (NotLandedDeadline,
	// NotLandedPushRace); the policy stays due and its next cycle tries again.
	NotLanded string `json:"notLanded,omitempty"`
}

// Report is the outcome of one cycle of one repository.
type Report struct {
	Repository  string
	Results     []Result
	PushRetries int
	// Replayed counts the commits a push race replayed on the new head rather than decided
	// again (docs/design.md §6, "Push races").
	Replayed int
	// Head is the base branch's head after the cycle, Before the head its push built on.
	Head, Before string
	// RaceLost is true when the cycle committed decisions but lost every push race (or its
	// time ran out between attempts): they are deferred to the next cycle (docs/design.md §6).
	RaceLost bool
	// Invalid are the repository's documents (of this shard) that did not load or that a
	// set-level check refused, whichever policies the cycle was asked for: none of their
	// policies was evaluated.
	Invalid []policy.Invalid
	// Notified are the outcomes of the notify step after the push (notify.go).
	Notified []notify.Outcome
}

// CycleOptions shape one cycle.
type CycleOptions struct {
	// At is the instant the decisions are made for (zero: the runner's clock).
	At time.Time
	// Only limits the cycle to these policy IDs or names (empty: all).
	Only []string
	// DryRun decides and reports, commits nothing.
	DryRun bool
	// Diff adds the file diff of each change to its Result (plan).
	Diff bool
	// Shard, of Shards, evaluates only the policies whose stable hash falls to it.
	Shard, Shards int
	// Deadline, by the Runner's clock, is when the cycle stops deciding and applying (zero:
	// never) so that what it committed still has time to be pushed: policies not decided or
	// applied by then are deferred (ActionDeferred) to the next cycle. Scale-ups are applied
	// before scale-downs, so a cycle cut short lands its scale-ups first (docs/design.md §6).
	Deadline time.Time
}

// ManualScale is a person's scale through the CLI: the same path as a decision, with a human
// reason and the manual trailers.
type ManualScale struct {
	Policy      string
	To          int
	Reason      string
	RequestedBy string
	// Hold is how long the policy leaves the count alone after the scale (0: not at all),
	// written in the commit as Autoscaler-Hold (docs/design.md §6).
	Hold time.Duration
}

// Repo is one configured repository with the policies given for it outside the repository.
type Repo struct {
	Config svcconfig.Repository
	// Policies given on the command line; they are evaluated along with those found under the
	// repository's policy globs.
	Policies []*policy.Policy
}

// Runner runs evaluation cycles: the loop of docs/design.md §2 for every policy of a
// repository, with one fetch and one push per cycle.
type Runner struct {
	Config          *svcconfig.Config
	Metrics         MetricSource
	Recommendations RecommendationSource // optional: stabilization windows see no history without it
	Seasons         SeasonSource         // optional: without it Steady forecasts with no memory of yesterday and last week
	Sync            SyncSource           // optional: syncCheck holds need it
	Shadow          ShadowSource         // optional: shadow policies are compared with the live autoscaler only with it
	Verifier        Verifier             // optional: policies with spec.render are refused without it
	Delivery        Deliverer            // optional: PullRequest and AutoMerge modes need it
	Notify          Notifier             // optional: repositories' notify webhooks are called only with it
	Logger          *slog.Logger
	Now             func() time.Time
	// MaxPushAttempts bounds the re-decide loop on push races (default 5).
	MaxPushAttempts int
	// Backoff is the wait before re-deciding after a push race, given the attempt (default:
	// jittered exponential from 100ms, see backoff). Tests make it zero.
	Backoff func(attempt int) time.Duration
	// Jitter draws the random part of the default Backoff, in [0, n] (default: math/rand/v2);
	// tests make it deterministic.
	Jitter func(n time.Duration) time.Duration
	// Sleep waits; tests replace it (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Git completes a repository's workspace options before its first open: the commit
	// signer, a minted HTTPS token (a GitHub App's), a publisher that makes commits through
	// the host's API (GitHub verified commits). Default: none of them.
	Git func(rc svcconfig.Repository, o *gitrepo.Options) error

	// mu guards the two maps: one Runner serves several repositories at once (a Service
	// cycles them concurrently), each repository by one caller at a time.
	mu         sync.Mutex
	workspaces map[string]*gitrepo.Workspace
	// parsed keeps, per repository, what was read of its files (see parsedFiles).
	parsed map[string]*parsedFiles
}

// Deliverer delivers a decision by pull request (PullRequest and AutoMerge modes).
type Deliverer interface {
	// Deliver makes the decision's commit on top of the remote base (ws.Base(), not the
	// cycle's local commits), pushes it to the policy's branch and opens or updates its pull
	// request — or merges it. It must not move the workspace's base branch.
	Deliver(ctx context.Context, ws *gitrepo.Workspace, d delivery.Proposal) (delivery.Result, error)
	// Rejected reports the decision a person rejected by closing its pull request unmerged.
	Rejected(ctx context.Context, repo svcconfig.Repository, p *policy.Policy) (*engine.Rejection, error)
	// Withdraw closes the policy's open pull request, whose change the decision no longer
	// wants, and says which it was (none when none was open).
	Withdraw(ctx context.Context, ws *gitrepo.Workspace, repo svcconfig.Repository, p *policy.Policy, reason string) (delivery.Withdrawn, error)
}

var _ Deliverer = (*delivery.PullRequestDelivery)(nil)

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pushAttempts bounds the re-decide loop on push races (MaxPushAttempts, default 5).
func (r *Runner) pushAttempts() int {
	if r.MaxPushAttempts <= 0 {
		return 5
	}
	return r.MaxPushAttempts
}

// backoff is the wait after the attempt-th push race (from 0): half of 100ms·2^attempt (at
// most 6.4s) plus a random part up to the other half, so that instances racing for one branch
// — or the autoscaler and a bot on the same period — do not keep colliding in step
// (docs/design.md §6, "Fairness under contention").
func (r *Runner) backoff(attempt int) time.Duration {
	if r.Backoff != nil {
		return r.Backoff(attempt)
	}
	base := 100 * time.Millisecond << min(attempt, 6)
	jitter := rand.N[time.Duration]
	if r.Jitter != nil {
		jitter = r.Jitter
	}
	return base/2 + min(max(jitter(base/2), 0), base/2)
}

// cutShort reports whether the cycle's decision deadline (CycleOptions.Deadline) has passed
// by the Runner's clock.
func (r *Runner) cutShort(opts CycleOptions) bool {
	return !opts.Deadline.IsZero() && !r.now().Before(opts.Deadline)
}

// decideAll decides the policies in order, then applies their changes scale-ups first —
// each group in the policies' order — so that when the deadline cuts the cycle short the
// decisions that add capacity are the ones that land (docs/design.md §6, "Fairness under
// contention"). What the deadline stops is deferred, never dropped.
func (r *Runner) decideAll(ctx context.Context, ws *gitrepo.Workspace, rc svcconfig.Repository, ps []*policy.Policy, at time.Time,
	values map[string][]engine.MetricValue, shadows map[string]*engine.ShadowComparison, opts CycleOptions) []Result {
	results := make([]Result, len(ps))
	pend := make([]*pending, len(ps))
	for i, p := range ps {
		if r.cutShort(opts) {
			results[i] = Result{Policy: p.ID(), Repository: rc.Name, Target: targetOf(p), EvaluatedAt: at, Mode: p.Spec.Mode, Reasons: []engine.Reason{}}
			r.deferResult(&results[i], NotLandedDeadline, "the cycle's deadline passed before it was decided")
			continue
		}
		results[i], pend[i] = r.judge(ctx, ws, rc, p, at, values[p.ID()], opts)
		results[i].Shadow = shadows[p.ID()]
	}
	order := make([]int, 0, len(ps))
	for _, up := range []bool{true, false} {
		for i, pd := range pend {
			if pd != nil && pd.up() == up {
				order = append(order, i)
			}
		}
	}
	for _, i := range order {
		if r.cutShort(opts) {
			r.deferResult(&results[i], NotLandedDeadline, fmt.Sprintf("the cycle's deadline passed before its change %d → %d was applied", results[i].From, results[i].To))
			continue
		}
		results[i] = r.applyJudged(ctx, ws, rc, ps[i], pend[i], results[i])
	}
	return results
}

// deferResult marks a decision that did not land in this cycle: the next cycle of the
// repository tries again (the Service keeps the policy due), and the result, the log and the
// metrics say so.
func (r *Runner) deferResult(res *Result, why, detail string) {
	res.Action, res.NotLanded, res.Commit = ActionDeferred, why, ""
	res.Error = "not landed (" + why + "): " + detail + "; tried again in the next cycle"
	r.logger().Warn("decision deferred", "repository", res.Repository, "policy", res.Policy, "from", res.From, "to", res.To, "reason", why, "detail", detail)
}

// gitAuth is a repository's auth from the service config, as the Git plumbing takes it
// (gitrepo imports no config).
func gitAuth(a *svcconfig.GitAuth) *gitrepo.Auth {
	if a == nil {
		return nil
	}
	return &gitrepo.Auth{TokenFile: a.TokenFile, TokenEnv: a.TokenEnv, Username: a.Username, PasswordFile: a.PasswordFile,
		PasswordEnv: a.PasswordEnv, SSHKeyFile: a.SSHKeyFile, KnownHostsFile: a.KnownHostsFile}
}

// gitIdentity is the config's commit identity, as the Git plumbing takes it.
func gitIdentity(c svcconfig.CommitIdentity) gitrepo.Identity {
	return gitrepo.Identity{Name: c.AuthorName, Email: c.AuthorEmail}
}

// Workspace opens (first time) or syncs the repository's workspace: one fetch.
func (r *Runner) Workspace(ctx context.Context, rc svcconfig.Repository) (*gitrepo.Workspace, error) {
	if ws := r.Synced(rc.Name); ws != nil {
		if err := ws.Sync(ctx); err != nil {
			return nil, err
		}
		return ws, nil
	}
	opts := gitrepo.Options{Name: rc.Name, URL: rc.URL, Branch: rc.Branch, Auth: gitAuth(rc.Auth), CacheDir: r.Config.CacheDir,
		MaxFileBytes: int64(r.Config.Limits.Git.MaxFileBytes), MaxObjectBytes: int64(r.Config.Limits.Git.MaxObjectBytes)}
	if r.Git != nil {
		if err := r.Git(rc, &opts); err != nil {
			return nil, fmt.Errorf("repository %s: %w", rc.Name, err)
		}
	}
	ws, err := gitrepo.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workspaces == nil {
		r.workspaces = map[string]*gitrepo.Workspace{}
	}
	r.workspaces[rc.Name] = ws
	return ws, nil
}

// Synced returns a repository's workspace as its last sync left it, without a fetch: nil
// before its first Workspace (or Cycle). The caller must not use it while a cycle of the
// same repository runs.
func (r *Runner) Synced(repository string) *gitrepo.Workspace {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.workspaces[repository]
}

// Cycle runs one evaluation of the repository's policies: sync, load policies, query metrics
// once, decide and commit each, then push all commits at once. A push race re-syncs, replays
// the commits whose inputs the new commits did not touch and decides again the policies whose
// inputs they moved — every policy when a policy document changed — up to MaxPushAttempts
// pushes (docs/design.md §6, "Push races").
func (r *Runner) Cycle(ctx context.Context, repo Repo, opts CycleOptions) (*Report, error) {
	at := opts.At
	if at.IsZero() {
		at = r.now()
	}
	at = at.UTC().Truncate(time.Second)
	rep := &Report{Repository: repo.Config.Name}
	ws, err := r.Workspace(ctx, repo.Config)
	if err != nil {
		return rep, err
	}
	values := map[string][]engine.MetricValue{}      // queried once, kept across attempts
	shadows := map[string]*engine.ShadowComparison{} // likewise
	st := &raceState{rc: repo.Config}
	st.lister, _ = r.Verifier.(InputLister)
	err = r.pushing(ctx, ws, rep, st, func(only map[string]bool) ([]Result, error) {
		if only != nil && st.set != nil {
			// After a push race that touched no policy document the set is the same: decide
			// again only the policies whose inputs moved (replayAfterRace).
			ps := make([]*policy.Policy, 0, len(only))
			for _, p := range st.set.policies {
				if only[p.ID()] {
					ps = append(ps, p)
				}
			}
			return r.decideAll(ctx, ws, repo.Config, ps, at, values, shadows, opts), nil
		}
		set, err := r.policies(ws, repo, opts)
		if err != nil {
			return nil, err
		}
		st.set, st.inputs = &set, nil
		rep.Invalid = set.invalid
		r.fetchMetrics(ctx, at, set.policies, values)
		r.compareShadows(ctx, at, set.policies, shadows)
		results := make([]Result, 0, len(set.policies)+len(set.named))
		results = append(results, r.decideAll(ctx, ws, repo.Config, set.policies, at, values, shadows, opts)...)
		// An invalid document is its policies' error, and nothing more: every other policy
		// was evaluated, and its own target is left as Git holds it (docs/design.md §9).
		for _, iv := range set.named {
			results = append(results, invalidResult(repo.Config.Name, iv, at))
		}
		return results, nil
	})
	if err == nil {
		r.notifyLanded(ctx, repo.Config, rep)
	}
	return rep, err
}

// Scale commits a manual scale through the same path as a decision — read the target, decide
// (engine.ManualScale: within the policy's bounds), apply — and pushes it.
func (r *Runner) Scale(ctx context.Context, repo Repo, m ManualScale) (*Report, error) {
	at := r.now().UTC().Truncate(time.Second)
	rep := &Report{Repository: repo.Config.Name}
	ws, err := r.Workspace(ctx, repo.Config)
	if err != nil {
		return rep, err
	}
	err = r.pushing(ctx, ws, rep, nil, func(map[string]bool) ([]Result, error) {
		set, err := r.policies(ws, repo, CycleOptions{Only: []string{m.Policy}})
		if err != nil {
			return nil, err
		}
		p, err := set.one("scale", m.Policy, repo.Config.Name)
		if err != nil {
			return nil, err
		}
		t, err := r.readTarget(ws, p)
		if err != nil {
			return nil, err
		}
		d, err := engine.ManualScale(p, t.current, m.To, m.Reason)
		if err != nil {
			return nil, err
		}
		res := Result{Policy: p.ID(), Repository: repo.Config.Name, Target: targetOf(p), EvaluatedAt: at, Action: ActionUnchanged,
			From: t.current, To: d.Desired, Reasons: d.Reasons}
		if d.Desired == t.current {
			return []Result{res}, nil
		}
		c := change{to: d.Desired, mode: policy.ModeCommit, message: commitmsg.Message{
			PolicyID: p.ID(), Target: t.loc, From: t.current, To: d.Desired, EvaluatedAt: at, Manual: true, RequestedBy: m.RequestedBy, Hold: &m.Hold,
		}}
		if err := r.apply(ctx, ws, repo.Config, p, t, c, &res); err != nil {
			return nil, fmt.Errorf("scale %s: %w", p.ID(), err)
		}
		return []Result{res}, nil
	})
	if err == nil {
		r.notifyLanded(ctx, repo.Config, rep)
	}
	return rep, err
}

// pushing runs attempt — decide on the synced workspace, committing locally — and pushes what
// it committed in one push (nothing to push: no request). On a push race it syncs; then, with
// a cycle's race state, it replays on the new head what the commits that came in did not
// touch and decides again only the policies whose inputs they moved (replayAfterRace), and
// otherwise — or when that cannot be done — runs attempt again on the new head, never
// pushing a commit made on a stale input; up to MaxPushAttempts pushes. A push that fails for
// good turns the committed results into errors.
func (r *Runner) pushing(ctx context.Context, ws *gitrepo.Workspace, rep *Report, st *raceState, attempt func(only map[string]bool) ([]Result, error)) error {
	attempts := r.pushAttempts()
	results, err := attempt(nil)
	for n := 0; ; n++ {
		if err != nil {
			return err
		}
		rep.Results = results
		made, old := ws.Made(), ws.Base()
		// A failed push drops the attempt's commits.
		err = ws.Push(ctx)
		if err == nil {
			rep.Head, rep.Before = ws.Base(), old
			for i := range rep.Results {
				// Commits a publisher made again through the host's API have the host's shas.
				if c := rep.Results[i].Commit; c != "" {
					rep.Results[i].Commit = ws.PushedAs(c)
				}
			}
			return nil
		}
		if !errors.Is(err, gitrepo.ErrPushRace) || n+1 >= attempts {
			if errors.Is(err, gitrepo.ErrPushRace) && st != nil {
				rep.RaceLost = true
				r.deferCommitted(rep.Results, fmt.Sprintf("%d pushes rejected by concurrent changes", n+1))
			} else {
				r.failCommitted(rep.Results, fmt.Errorf("push: %w", err))
			}
			return fmt.Errorf("push %s: %w", rep.Repository, err)
		}
		rep.PushRetries++
		if serr := r.sleep(ctx, r.backoff(n)); serr != nil {
			// The cycle's time ran out between two attempts: its commits are not lost but
			// deferred, and the race counts as lost.
			if st != nil {
				rep.RaceLost = true
				r.deferCommitted(rep.Results, fmt.Sprintf("the cycle's time ran out after %d rejected pushes", n+1))
			} else {
				r.failCommitted(rep.Results, fmt.Errorf("push: %w", err))
			}
			return fmt.Errorf("push %s: %w (waiting to try again: %v)", rep.Repository, err, serr)
		}
		if err := ws.Sync(ctx); err != nil {
			return err
		}
		if st != nil {
			var replayed int
			var ok bool
			results, replayed, ok, err = r.replayAfterRace(ctx, ws, st, old, made, rep.Results, attempt)
			rep.Replayed += replayed
			if err != nil || ok {
				continue
			}
		}
		r.logger().Info("push race: re-deciding on the new head", "repository", rep.Repository, "attempt", n+1)
		results, err = attempt(nil)
	}
}

// History returns a policy's past decisions, reverts and manual edits since a time.
func (r *Runner) History(ctx context.Context, repo Repo, name string, since time.Time) ([]engine.Event, *policy.Policy, error) {
	ws, err := r.Workspace(ctx, repo.Config)
	if err != nil {
		return nil, nil, err
	}
	set, err := r.policies(ws, repo, CycleOptions{Only: []string{name}})
	if err != nil {
		return nil, nil, err
	}
	p, err := set.one("history", name, repo.Config.Name)
	if err != nil {
		return nil, nil, err
	}
	if p.Spec.Replicas == nil {
		return nil, p, fmt.Errorf("history %s: the policy has no spec.replicas", p.ID())
	}
	ev, err := history.Read(ws, history.Query{PolicyID: p.ID(), Target: *p.Spec.Replicas, Since: since})
	return ev, p, err
}

// InShard reports whether a policy belongs to shard i of n (see package shard).
func InShard(id string, i, n int) bool { return shard.Shard{Index: i, Count: n}.Owns(id) }

func (r *Runner) fetchMetrics(ctx context.Context, at time.Time, policies []*policy.Policy, have map[string][]engine.MetricValue) {
	var need []*policy.Policy
	for _, p := range policies {
		if _, ok := have[p.ID()]; !ok {
			need = append(need, p)
		}
	}
	if len(need) == 0 || r.Metrics == nil {
		return
	}
	for i, v := range r.Metrics.Values(ctx, at, need) {
		have[need[i].ID()] = v
	}
}

// compareShadows sets every shadow policy against the live autoscaler it runs beside, over the
// engine.ShadowWindow before at (observe: the series from the ShadowSource, the comparison by
// engine.CompareShadow, and the offline optimum at each side's replica-hours by
// optimum.OfShadow). It runs beside the decision and never fails it: the comparison says
// what it could not have.
func (r *Runner) compareShadows(ctx context.Context, at time.Time, policies []*policy.Policy, have map[string]*engine.ShadowComparison) {
	if r.Shadow == nil {
		return
	}
	for _, p := range policies {
		if _, ok := have[p.ID()]; ok || p.Spec.Shadow == nil {
			continue
		}
		s := r.Shadow.Shadow(ctx, p, at, engine.ShadowWindow)
		c := engine.CompareShadow(p, s)
		optimum.OfShadow(p, s, &c, optimum.ShadowLimits)
		have[p.ID()] = &c
	}
}

// deferCommitted turns the cycle's committed results into deferred ones when every push lost
// its race: the decisions are tried again in the next cycle.
func (r *Runner) deferCommitted(results []Result, detail string) {
	for i := range results {
		if results[i].Action == ActionCommitted && results[i].PullRequest == "" {
			r.deferResult(&results[i], NotLandedPushRace, detail)
		}
	}
}

// failCommitted turns the cycle's committed results into errors when their push failed.
func (r *Runner) failCommitted(results []Result, err error) {
	for i := range results {
		if results[i].Action == ActionCommitted && results[i].PullRequest == "" {
			results[i].Action, results[i].Error, results[i].Commit = ActionError, err.Error(), ""
		}
	}
}
