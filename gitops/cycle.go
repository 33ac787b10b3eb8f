package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/edit"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/shard"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// MetricSource gives the metric values of policies at an instant: Prometheus in the service,
// a trace file for demos, dry runs and tests. It answers for all of a cycle's policies at once
// so that it can batch and deduplicate queries.
type MetricSource interface {
	// Values returns, per policy in the given order, one value per spec.metrics entry in order.
	// A value that could not be had is Missing with a Cause; Values itself does not fail.
	Values(ctx context.Context, at time.Time, policies []*policy.Policy) [][]policy.MetricValue
}

// RecommendationSource recomputes a policy's past raw recommendations over a window, so that
// stabilization needs no memory of its own (docs/design.md §2 step 4).
type RecommendationSource interface {
	Recommendations(ctx context.Context, p *policy.Policy, now time.Time, window time.Duration, replicasAt func(time.Time) int) ([]policy.Recommendation, error)
}

// SyncSource reports the replica count the cluster runs, for a policy's syncCheck.
type SyncSource interface {
	Observed(ctx context.Context, p *policy.Policy, at time.Time) policy.SyncStatus
}

// Verifier proves, by rendering, that an edit changes the target workload's replicas from
// current to desired and nothing else (docs/design.md §2 step 7).
type Verifier interface {
	Verify(ctx context.Context, root string, p *policy.Policy, file string, edited []byte, from, to int) (Verification, error)
}

// Verification is a successful render check: a reason line for the commit and a diff of the
// rendered workload for plans and pull request bodies.
type Verification struct {
	Summary string
	Diff    string
}

// Actions of a Result.
const (
	ActionUnchanged   = "unchanged"
	ActionCommitted   = "committed"
	ActionHeld        = "held"
	ActionDryRun      = "dry-run"
	ActionError       = "error"
	ActionPullRequest = "pull-request"
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
	Reasons    []policy.Reason `json:"reasons"`
	Error      string          `json:"error"` // always present, empty when none: the documented -o json shape
	// Metrics are the values the decision was made on.
	Metrics map[string]*float64 `json:"metrics,omitempty"`
	// Diff is the unified diff of the file (plan), Rendered the rendered workload's change.
	Diff     string `json:"diff,omitempty"`
	Rendered string `json:"rendered,omitempty"`
	// PullRequest is the URL of the pull request that carries the decision, if any.
	PullRequest string    `json:"pullRequest,omitempty"`
	EvaluatedAt time.Time `json:"evaluatedAt"`
}

// Report is the outcome of one cycle of one repository.
type Report struct {
	Repository  string
	Results     []Result
	PushRetries int
	// Head is the base branch's head after the cycle.
	Head string
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
}

// ManualScale is a person's scale through the CLI: the same path as a decision, with a human
// reason and the manual trailers.
type ManualScale struct {
	Policy      string
	To          int
	Reason      string
	RequestedBy string
}

// Repo is one configured repository with the policies given for it outside the repository.
type Repo struct {
	Config policy.Repository
	// Policies given on the command line; they are evaluated along with those found under the
	// repository's policy globs.
	Policies []*policy.Policy
}

// Runner runs evaluation cycles: the loop of docs/design.md §2 for every policy of a
// repository, with one fetch and one push per cycle.
type Runner struct {
	Config          *policy.Config
	Metrics         MetricSource
	Recommendations RecommendationSource // optional: stabilization windows see no history without it
	Sync            SyncSource           // optional: syncCheck holds need it
	Verifier        Verifier             // optional: policies with spec.render are refused without it
	Delivery        Deliverer            // optional: PullRequest and AutoMerge modes need it
	Logger          *slog.Logger
	Now             func() time.Time
	// MaxPushAttempts bounds the re-decide loop on push races (default 5).
	MaxPushAttempts int
	// Backoff is the wait before re-deciding after a push race, given the attempt (default:
	// jittered exponential from 100ms). Tests make it zero.
	Backoff func(attempt int) time.Duration
	// Sleep waits; tests replace it (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error

	workspaces map[string]*gitrepo.Workspace
}

// Deliverer delivers a decision by pull request (PullRequest and AutoMerge modes).
type Deliverer interface {
	// Deliver makes the decision's commit on top of the remote base (ws.Base(), not the
	// cycle's local commits), pushes it to the policy's branch and opens or updates its pull
	// request — or merges it. It must not move the workspace's base branch.
	Deliver(ctx context.Context, ws *gitrepo.Workspace, d Delivery) (DeliveryResult, error)
	// Rejected reports the decision a person rejected by closing its pull request unmerged.
	Rejected(ctx context.Context, repo policy.Repository, p *policy.Policy) (*policy.Rejection, error)
	// Withdraw closes the policy's open pull request, whose change the decision no longer
	// wants, and returns its URL ("" when none was open).
	Withdraw(ctx context.Context, ws *gitrepo.Workspace, repo policy.Repository, p *policy.Policy, reason string) (url string, err error)
}

// Delivery is one decision to deliver by pull request.
type Delivery struct {
	Repo   policy.Repository
	Policy *policy.Policy
	Mode   policy.Mode
	// File and Content are the edited file (repository-relative) and its new bytes.
	File    string
	Content []byte
	Message commitmsg.Message
	Author  policy.CommitIdentity
	// Rendered is the rendered workload diff, when render verification ran.
	Rendered string
}

// DeliveryResult is what a Deliverer did.
type DeliveryResult struct {
	URL string
	// Commit is the decision's commit on the policy's branch.
	Commit string
	Merged bool
	// Held is set when delivery decided not to propose the change (e.g. auto-merge refused
	// and the policy wants a person); Reasons say why.
	Held bool
	// MergeCommit is the squash commit on the base branch when Merged.
	MergeCommit string
	// Unchanged is set when the open PR already carried this decision: nothing was written.
	Unchanged bool
	Reasons   []policy.Reason
}

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

func (r *Runner) backoff(attempt int) time.Duration {
	if r.Backoff != nil {
		return r.Backoff(attempt)
	}
	base := 100 * time.Millisecond << min(attempt, 6)
	return base/2 + rand.N(base/2+1)
}

// Workspace opens (first time) or syncs the repository's workspace: one fetch.
func (r *Runner) Workspace(ctx context.Context, rc policy.Repository) (*gitrepo.Workspace, error) {
	if r.workspaces == nil {
		r.workspaces = map[string]*gitrepo.Workspace{}
	}
	if ws, ok := r.workspaces[rc.Name]; ok {
		if err := ws.Sync(ctx); err != nil {
			return nil, err
		}
		return ws, nil
	}
	cache := r.Config.CacheDir
	ws, err := gitrepo.Open(ctx, gitrepo.Options{Name: rc.Name, URL: rc.URL, Branch: rc.Branch, Auth: rc.Auth, CacheDir: cache})
	if err != nil {
		return nil, err
	}
	r.workspaces[rc.Name] = ws
	return ws, nil
}

// Cycle runs one evaluation of the repository's policies: sync, load policies, query metrics
// once, decide and commit each, then push all commits at once. A push race re-syncs and
// re-decides every policy on the new head (never replays a stale patch), up to
// MaxPushAttempts times.
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
	attempts := r.pushAttempts()
	values := map[string][]policy.MetricValue{}
	for attempt := 0; ; attempt++ {
		policies, err := r.policies(ws, repo, opts)
		if err != nil {
			return rep, err
		}
		r.fetchMetrics(ctx, at, policies, values)
		results := make([]Result, 0, len(policies))
		for _, p := range policies {
			results = append(results, r.decide(ctx, ws, repo.Config, p, at, values[p.ID()], opts))
		}
		rep.Results = results
		// One push for the cycle's commits (none: no request). A failed push drops them.
		err = ws.Push(ctx)
		if err == nil {
			rep.Head = ws.Base()
			return rep, nil
		}
		if !errors.Is(err, gitrepo.ErrPushRace) || attempt+1 >= attempts {
			r.failCommitted(rep.Results, fmt.Errorf("push: %w", err))
			return rep, fmt.Errorf("push %s: %w", repo.Config.Name, err)
		}
		rep.PushRetries++
		r.logger().Info("push race: re-deciding on the new head", "repository", repo.Config.Name, "attempt", attempt+1)
		if err := r.sleep(ctx, r.backoff(attempt)); err != nil {
			return rep, err
		}
		if err := ws.Sync(ctx); err != nil {
			return rep, err
		}
	}
}

// Scale commits a manual scale through the same path as a decision, and pushes it.
func (r *Runner) Scale(ctx context.Context, repo Repo, m ManualScale) (*Report, error) {
	at := r.now().UTC().Truncate(time.Second)
	rep := &Report{Repository: repo.Config.Name}
	ws, err := r.Workspace(ctx, repo.Config)
	if err != nil {
		return rep, err
	}
	attempts := r.pushAttempts()
	for attempt := 0; ; attempt++ {
		policies, err := r.policies(ws, repo, CycleOptions{Only: []string{m.Policy}})
		if err != nil {
			return rep, err
		}
		if len(policies) != 1 {
			return rep, fmt.Errorf("scale: no policy %q in repository %s", m.Policy, repo.Config.Name)
		}
		p := policies[0]
		res := Result{Policy: p.ID(), Repository: repo.Config.Name, Target: targetOf(p), EvaluatedAt: at, Action: ActionUnchanged, Reasons: []policy.Reason{}}
		loc, data, current, err := r.current(ws, p)
		if err != nil {
			return rep, err
		}
		res.From, res.To = current, m.To
		if m.To < *p.Spec.MinReplicas || m.To > p.Spec.MaxReplicas {
			return rep, fmt.Errorf("scale %s to %d: outside the policy's bounds [%d, %d]", p.ID(), m.To, *p.Spec.MinReplicas, p.Spec.MaxReplicas)
		}
		if current == m.To {
			res.Reasons = append(res.Reasons, policy.Reason{Code: policy.ReasonUnchanged, Message: fmt.Sprintf("already %d replicas", current)})
			rep.Results = []Result{res}
			return rep, nil
		}
		out, _, err := edit.SetReplicas(data, loc, m.To)
		if err != nil {
			return rep, fmt.Errorf("scale %s: %s: %w", p.ID(), loc.File, err)
		}
		reason := policy.Reason{Code: "ManualScale", Message: "manual scale: " + m.Reason}
		res.Reasons = append(res.Reasons, reason)
		if p.Spec.Render != nil && r.Verifier != nil {
			v, err := r.Verifier.Verify(ctx, ws.Root(), p, loc.File, out, current, m.To)
			if err != nil {
				return rep, fmt.Errorf("scale %s: render verification: %w", p.ID(), err)
			}
			res.Rendered = v.Diff
			res.Reasons = append(res.Reasons, policy.Reason{Code: "Rendered", Message: v.Summary})
		}
		msg := commitmsg.Message{PolicyID: p.ID(), Target: loc, From: current, To: m.To, Reasons: reasonLines(res.Reasons), EvaluatedAt: at, Manual: true, RequestedBy: m.RequestedBy}
		sha, err := ws.Commit(ctx, gitrepo.CommitRequest{File: loc.File, Content: out, Message: commitmsg.Format(msg), Author: r.Config.Commit, When: at})
		if err != nil {
			return rep, err
		}
		res.Action, res.Commit = ActionCommitted, sha
		rep.Results = []Result{res}
		err = ws.Push(ctx)
		if err == nil {
			rep.Head = ws.Base()
			return rep, nil
		}
		if !errors.Is(err, gitrepo.ErrPushRace) || attempt+1 >= attempts {
			return rep, fmt.Errorf("push %s: %w", repo.Config.Name, err)
		}
		rep.PushRetries++
		if err := r.sleep(ctx, r.backoff(attempt)); err != nil {
			return rep, err
		}
		if err := ws.Sync(ctx); err != nil {
			return rep, err
		}
	}
}

// History returns a policy's past decisions, reverts and manual edits since a time.
func (r *Runner) History(ctx context.Context, repo Repo, name string, since time.Time) ([]policy.Event, *policy.Policy, error) {
	ws, err := r.Workspace(ctx, repo.Config)
	if err != nil {
		return nil, nil, err
	}
	policies, err := r.policies(ws, repo, CycleOptions{Only: []string{name}})
	if err != nil {
		return nil, nil, err
	}
	if len(policies) != 1 {
		return nil, nil, fmt.Errorf("history: no policy %q in repository %s", name, repo.Config.Name)
	}
	p := policies[0]
	if p.Spec.Replicas == nil {
		return nil, p, fmt.Errorf("history %s: the policy has no spec.replicas", p.ID())
	}
	ev, err := ws.History(gitrepo.HistoryQuery{PolicyID: p.ID(), Target: *p.Spec.Replicas, Since: since})
	return ev, p, err
}

// policies loads the repository's policies (its globs, in the synced worktree) plus those given
// for it, validates them as a set, and filters them by the options.
func (r *Runner) policies(ws *gitrepo.Workspace, repo Repo, opts CycleOptions) ([]*policy.Policy, error) {
	var all []*policy.Policy
	var errs []error
	if len(repo.Config.Policies) > 0 {
		found, err := loadRepoPolicies(ws, repo.Config)
		if err != nil {
			errs = append(errs, err)
		}
		all = append(all, found...)
	}
	all = append(all, repo.Policies...)
	if err := policy.ValidateSet(r.Config, all); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("policies of %s: %w", repo.Config.Name, err)
	}
	var out []*policy.Policy
	for _, p := range all {
		if !selected(p, opts.Only) || !InShard(p.ID(), opts.Shard, opts.Shards) {
			continue
		}
		out = append(out, p)
	}
	if len(opts.Only) > 0 {
		for _, name := range opts.Only {
			if !anySelected(out, name) {
				return nil, fmt.Errorf("no policy %q in repository %s", name, repo.Config.Name)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID() < out[j].ID() })
	return out, nil
}

// loadRepoPolicies loads every policy document under the repository's policy globs.
func loadRepoPolicies(ws *gitrepo.Workspace, rc policy.Repository) ([]*policy.Policy, error) {
	files, err := ws.Files(func(rel string) bool {
		for _, g := range rc.Policies {
			if policy.MatchGlob(g, rel) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("find policies: %w", err)
	}
	var out []*policy.Policy
	var errs []error
	for _, rel := range files {
		data, err := ws.ReadFile(rel)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps, err := policy.LoadPolicies(rel, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, q := range ps {
			q.Source.Repository = rc.Name
		}
		out = append(out, ps...)
	}
	return out, errors.Join(errs...)
}

func selected(p *policy.Policy, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == p.ID() || o == p.Metadata.Name {
			return true
		}
	}
	return false
}

func anySelected(ps []*policy.Policy, name string) bool {
	for _, p := range ps {
		if selected(p, []string{name}) {
			return true
		}
	}
	return false
}

// InShard reports whether a policy belongs to shard i of n (see package shard).
func InShard(id string, i, n int) bool { return shard.Shard{Index: i, Count: n}.Owns(id) }

func (r *Runner) fetchMetrics(ctx context.Context, at time.Time, policies []*policy.Policy, have map[string][]policy.MetricValue) {
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

// current reads the replica count the policy's target holds in the worktree.
func (r *Runner) current(ws *gitrepo.Workspace, p *policy.Policy) (policy.ReplicasLocation, []byte, int, error) {
	if p.Spec.Replicas == nil {
		return policy.ReplicasLocation{}, nil, 0, fmt.Errorf("%s: spec.replicas is not set: evaluate needs to know where the count lives", p.ID())
	}
	loc := *p.Spec.Replicas
	data, err := ws.ReadFile(loc.File)
	if err != nil {
		return loc, nil, 0, err
	}
	current, err := edit.ReadReplicas(data, loc)
	if err != nil {
		return loc, nil, 0, fmt.Errorf("%s: %w", loc.File, err)
	}
	return loc, data, current, nil
}

// decide runs steps 2–8 of the loop for one policy; a commit stays local until the push.
func (r *Runner) decide(ctx context.Context, ws *gitrepo.Workspace, rc policy.Repository, p *policy.Policy, at time.Time, values []policy.MetricValue, opts CycleOptions) Result {
	res := Result{Policy: p.ID(), Repository: rc.Name, Target: targetOf(p), EvaluatedAt: at, Mode: p.Spec.Mode, Reasons: []policy.Reason{}}
	fail := func(err error) Result {
		res.Action, res.Error = ActionError, err.Error()
		r.logger().Error("evaluation failed", "policy", p.ID(), "error", err)
		return res
	}
	loc, data, current, err := r.current(ws, p)
	if err != nil {
		return fail(err)
	}
	res.From, res.To = current, current
	if len(values) != len(p.Spec.Metrics) {
		values = missingAll(p, "no metric source")
	}
	res.Metrics = metricMap(values)

	// History is read from the remote base, not the local head: the cycle's own commits so far
	// are other policies' decisions on other targets (ValidateSet forbids two policies on one
	// target), never events of this one — and walking them made a cycle quadratic.
	history, err := ws.History(gitrepo.HistoryQuery{PolicyID: p.ID(), Target: loc, Since: at.Add(-historyWindow(p))})
	if err != nil {
		return fail(fmt.Errorf("history: %w", err))
	}
	history = notAfter(history, at)
	if ev, ok := decidedAt(history, at, current); ok {
		// A rerun at an instant already decided (a retried Jenkins job, `--at` twice, a
		// second instance that lost the push race) must not apply a step rule a second time.
		res.Action = ActionUnchanged
		res.Reasons = append(res.Reasons, policy.Reason{Code: policy.ReasonUnchanged,
			Message: fmt.Sprintf("already decided at %s: commit %s set %d", at.Format(time.RFC3339), ev.Commit[:min(12, len(ev.Commit))], ev.To)})
		return res
	}
	snap := policy.Snapshot{Now: at, Current: current, Metrics: values, History: history}
	var stabilizationUnknown policy.Reason
	if _, w := p.Windows(); w > 0 && r.Recommendations != nil {
		recs, err := r.Recommendations.Recommendations(ctx, p, at, w, ReplicasAt(history, current))
		if err != nil {
			// The window cannot be known: rather than decide as if it were empty (which could
			// scale down at once), assume the count held all along — the window then keeps
			// the current count, and the next evaluation with history decides.
			r.logger().Warn("stabilization history unavailable", "policy", p.ID(), "error", err)
			recs = []policy.Recommendation{{At: at.Add(-time.Second), Replicas: current}}
			stabilizationUnknown = policy.Reason{Code: policy.ReasonStabilized,
				Message: "stabilization window unknown (" + err.Error() + "): keeping the current count inside it"}
		}
		snap.Recommendations = recs
	}
	if p.Spec.SyncCheck != nil && r.Sync != nil && len(history) > 0 {
		s := r.Sync.Observed(ctx, p, at)
		snap.Sync = &s
	}
	if r.Delivery != nil && rc.GitHub != nil && usesPullRequests(p) {
		rej, err := r.Delivery.Rejected(ctx, rc, p)
		if err != nil {
			return fail(fmt.Errorf("pull request state: %w", err))
		}
		snap.Rejected = rej
	}
	d := policy.Decide(p, &snap)
	if stabilizationUnknown.Code != "" {
		res.Reasons = append(res.Reasons, stabilizationUnknown)
	}
	res.Reasons = append(res.Reasons, d.Reasons...)
	res.To = d.Desired
	if d.Desired == current {
		res.Action = ActionUnchanged
		if d.Held {
			res.Action = ActionHeld
		}
		// An open pull request now proposes an outdated change: close it before a person
		// merges it — only when the rules themselves keep the count. A hold still wants the
		// change, and missing data says nothing about it.
		if r.Delivery != nil && rc.GitHub != nil && usesPullRequests(p) && !opts.DryRun &&
			!d.Held && stabilizationUnknown.Code == "" && !anyMissing(values) {
			r.withdraw(ctx, ws, rc, p, current, &res)
		}
		return res
	}
	out, changed, err := edit.SetReplicas(data, loc, d.Desired)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", loc.File, err))
	}
	if !changed {
		res.Action = ActionUnchanged
		return res
	}
	if opts.Diff {
		res.Diff = edit.UnifiedDiff(loc.File, data, out)
	}
	if p.Spec.Render != nil {
		if r.Verifier == nil {
			return fail(errors.New("render verification is configured but no renderer is available"))
		}
		v, err := r.Verifier.Verify(ctx, ws.Root(), p, loc.File, out, current, d.Desired)
		if err != nil {
			return fail(fmt.Errorf("render verification refused the change: %w", err))
		}
		res.Rendered = v.Diff
		res.Reasons = append(res.Reasons, policy.Reason{Code: "Rendered", Message: v.Summary})
	}
	mode := p.Spec.ModeFor(current, d.Desired)
	res.Mode = mode
	if opts.DryRun || mode == policy.ModeDryRun {
		res.Action = ActionDryRun
		return res
	}
	msg := commitmsg.Message{PolicyID: p.ID(), Target: loc, From: current, To: d.Desired, Reasons: reasonLines(res.Reasons), Metrics: values, EvaluatedAt: at}
	if mode == policy.ModeCommit {
		sha, err := ws.Commit(ctx, gitrepo.CommitRequest{File: loc.File, Content: out, Message: commitmsg.Format(msg), Author: r.Config.Commit, When: at})
		if err != nil {
			return fail(err)
		}
		res.Action, res.Commit = ActionCommitted, sha
		r.logger().Info("decision committed", "policy", p.ID(), "from", current, "to", d.Desired, "commit", sha)
		return res
	}
	// PullRequest / AutoMerge: the decision goes to the policy's own branch, made from the
	// remote base — never on top of this cycle's other commits.
	if r.Delivery == nil || rc.GitHub == nil {
		return fail(fmt.Errorf("mode %s needs a github block on repository %s (or use mode Commit or DryRun)", mode, rc.Name))
	}
	dr, err := r.Delivery.Deliver(ctx, ws, Delivery{Repo: rc, Policy: p, Mode: mode, File: loc.File, Content: out, Message: msg, Author: r.Config.Commit, Rendered: res.Rendered})
	if err != nil {
		return fail(fmt.Errorf("deliver: %w", err))
	}
	res.Reasons = append(res.Reasons, dr.Reasons...)
	res.PullRequest = dr.URL
	res.Commit = dr.Commit
	res.Action = ActionPullRequest
	if dr.Held {
		res.Action, res.To, res.Commit = ActionHeld, current, ""
	}
	if dr.Merged {
		res.Action, res.Commit = ActionCommitted, dr.MergeCommit
	}
	return res
}

// withdraw closes the policy's stale pull request, if one is open. A failure is a reason and
// a log line, not the result's error: the count decision stands, and the next cycle tries
// again.
func (r *Runner) withdraw(ctx context.Context, ws *gitrepo.Workspace, rc policy.Repository, p *policy.Policy, keep int, res *Result) {
	why := fmt.Sprintf("the decision is now to keep %d replicas", keep)
	url, err := r.Delivery.Withdraw(ctx, ws, rc, p, why)
	switch {
	case err != nil:
		r.logger().Warn("withdraw stale pull request", "policy", p.ID(), "error", err)
		res.Reasons = append(res.Reasons, policy.Reason{Code: policy.ReasonPullRequestWithdrawn,
			Message: "withdrawing the open pull request failed (" + err.Error() + "): " + why})
	case url != "":
		res.Reasons = append(res.Reasons, policy.Reason{Code: policy.ReasonPullRequestWithdrawn,
			Message: fmt.Sprintf("pull request %s withdrawn: %s", pullRequestRef(url), why)})
		res.PullRequest = url
	}
}

func anyMissing(values []policy.MetricValue) bool {
	for _, v := range values {
		if v.Missing {
			return true
		}
	}
	return false
}

func usesPullRequests(p *policy.Policy) bool {
	isPR := func(m policy.Mode) bool { return m == policy.ModePullRequest || m == policy.ModeAutoMerge }
	s := p.Spec
	return isPR(s.Mode) || (s.Delivery != nil && (isPR(s.Delivery.ScaleUp) || isPR(s.Delivery.ScaleDown)))
}

// failCommitted turns the cycle's committed results into errors when their push failed.
func (r *Runner) failCommitted(results []Result, err error) {
	for i := range results {
		if results[i].Action == ActionCommitted && results[i].PullRequest == "" {
			results[i].Action, results[i].Error, results[i].Commit = ActionError, err.Error(), ""
		}
	}
}

func targetOf(p *policy.Policy) string {
	if p.Spec.Replicas == nil {
		return ""
	}
	return commitmsg.Target(*p.Spec.Replicas)
}

func reasonLines(rs []policy.Reason) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Message)
	}
	return out
}

func metricMap(vs []policy.MetricValue) map[string]*float64 {
	m := make(map[string]*float64, len(vs))
	for _, v := range vs {
		if v.Missing {
			m[v.Name] = nil
			continue
		}
		x := v.Value
		m[v.Name] = &x
	}
	return m
}

func missingAll(p *policy.Policy, cause string) []policy.MetricValue {
	out := make([]policy.MetricValue, len(p.Spec.Metrics))
	for i, m := range p.Spec.Metrics {
		out[i] = policy.MetricValue{Name: m.Name, Missing: true, Cause: cause}
	}
	return out
}

// notAfter drops events after the decision instant (an evaluation `--at` a past time sees
// the history as it was then).
func notAfter(ev []policy.Event, at time.Time) []policy.Event {
	out := ev[:0:0]
	for _, e := range ev {
		if !e.At.After(at) {
			out = append(out, e)
		}
	}
	return out
}

// decidedAt returns the policy's decision made at the instant itself, when it is the newest
// event and the count is still what it set: that instant is decided already.
func decidedAt(history []policy.Event, at time.Time, current int) (policy.Event, bool) {
	if len(history) == 0 {
		return policy.Event{}, false
	}
	ev := history[len(history)-1]
	return ev, ev.Kind == policy.EventDecision && ev.At.Equal(at) && ev.To == current
}

// ReplicasAt returns the replica count Git held at a past instant, from the history (oldest
// first) and the current count.
func ReplicasAt(history []policy.Event, current int) func(time.Time) int {
	return func(t time.Time) int {
		for i := len(history) - 1; i >= 0; i-- {
			if !history[i].At.After(t) {
				return history[i].To
			}
		}
		if len(history) > 0 {
			return history[0].From
		}
		return current
	}
}

// historyWindow is how far back a decision needs Git history: the policy's own windows, and at
// least its stabilization window, so the replica counts of the recomputed recommendations are
// known.
func historyWindow(p *policy.Policy) time.Duration {
	h, s := p.Windows()
	return max(h, s)
}
