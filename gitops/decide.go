package gitops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/history"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/edit"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// One policy's evaluation in three steps: observe (build the engine.Snapshot from Git and the
// sources), decide (engine.Decide, pure), apply (edit, verify, commit or deliver). The rules —
// the rerun guard, the fallback of unknown stabilization windows, when a pull request is
// stale, the bounds of a manual scale — are policy's; this file only gathers and applies.

// target is a policy's replica location and the file that holds it, as the worktree (the
// synced base) has it.
type target struct {
	loc     policy.ReplicasLocation
	data    []byte
	current int
	// resolved is where loc resolves in data, for the set checks (docs/design.md §4).
	resolved resolvedTarget
}

// change is a decision that moves the count, as apply makes it: to what, delivered how, and
// the commit message (apply adds the reasons).
type change struct {
	to   int
	mode policy.Mode
	// dryRun stops before the commit (a dry run or a plan); diff adds the file diff.
	dryRun, diff bool
	message      commitmsg.Message
}

// pending is a decision that moves the count, judged but not applied yet: a cycle applies
// its scale-ups before the rest (docs/design.md §6, "Fairness under contention").
type pending struct {
	t target
	c change
}

// up reports whether the pending change adds replicas.
func (pd *pending) up() bool { return pd.c.to > pd.t.current }

// applyJudged applies a judged change to its result (steps 7–9).
func (r *Runner) applyJudged(ctx context.Context, ws *gitrepo.Workspace, rc svcconfig.Repository, p *policy.Policy, pd *pending, res Result) Result {
	if err := r.apply(ctx, ws, rc, p, pd.t, pd.c, &res); err != nil {
		return r.failed(rc, p, res, err)
	}
	return res
}

func (r *Runner) failed(rc svcconfig.Repository, p *policy.Policy, res Result, err error) Result {
	res.Action, res.Error = ActionError, err.Error()
	r.logger().Error("evaluation failed", "repository", rc.Name, "policy", p.ID(), "error", err)
	return res
}

// judge runs steps 2–6 of the loop (docs/design.md §2) for one policy: observe and decide. A
// decision that moves the count comes back pending, for applyJudged (steps 7–9: a commit
// stays local until the push); Runner.decideAll orders them.
func (r *Runner) judge(ctx context.Context, ws *gitrepo.Workspace, rc svcconfig.Repository, p *policy.Policy, at time.Time, values []engine.MetricValue, opts CycleOptions) (Result, *pending) {
	res := Result{Policy: p.ID(), Repository: rc.Name, Target: targetOf(p), EvaluatedAt: at, Mode: p.Spec.Mode, Reasons: []engine.Reason{}}
	fail := func(err error) (Result, *pending) {
		return r.failed(rc, p, res, err), nil
	}

	// Observe: Git first, and nothing else when the instant is decided already.
	t, snap, err := r.observeGit(ws, p, at, values)
	if err != nil {
		return fail(err)
	}
	res.From, res.To, res.Metrics, res.Blind = t.current, t.current, metricMap(snap.Metrics), blindMetrics(snap.Metrics)
	if d, ok := engine.AlreadyDecided(snap); ok {
		res.Action, res.Reasons = ActionUnchanged, append(res.Reasons, d.Reasons...)
		return res, nil
	}
	if err := r.observe(ctx, rc, p, snap); err != nil {
		return fail(err)
	}

	d := engine.Decide(p, snap)

	// Apply.
	res.Reasons = append(res.Reasons, d.Reasons...)
	res.To = d.Desired
	if d.Desired == t.current {
		res.Action = ActionUnchanged
		switch {
		case len(res.Blind) > 0:
			res.Action = ActionHeldBlind
		case d.Held:
			res.Action = ActionHeld
		}
		// An open pull request now proposes an outdated change: close it before a person
		// merges it.
		if r.proposes(rc, p) && !opts.DryRun && engine.WithdrawsProposal(snap, d) {
			r.withdraw(ctx, ws, rc, p, t.current, &res)
		}
		return res, nil
	}
	c := change{to: d.Desired, mode: p.Spec.ModeFor(t.current, d.Desired), dryRun: opts.DryRun, diff: opts.Diff,
		message: commitmsg.Message{PolicyID: p.ID(), Target: t.loc, From: t.current, To: d.Desired, Metrics: snap.Metrics, EvaluatedAt: at}}
	return res, &pending{t: t, c: c}
}

// observeGit reads what Git holds for the policy — its target and the history of its count up
// to the instant — into a snapshot with the metric values.
func (r *Runner) observeGit(ws *gitrepo.Workspace, p *policy.Policy, at time.Time, values []engine.MetricValue) (target, *engine.Snapshot, error) {
	t, err := r.readTarget(ws, p)
	if err != nil {
		return t, nil, err
	}
	if len(values) != len(p.Spec.Metrics) {
		values = missingAll(p, "no metric source")
	}
	// History is read from the remote base, not the local head: the cycle's own commits so far
	// are other policies' decisions on other targets (ValidateSet forbids two policies on one
	// target), never events of this one — and walking them made a cycle quadratic.
	events, err := history.Read(ws, history.Query{PolicyID: p.ID(), Target: t.loc, Since: at.Add(-historyWindow(p))})
	if err != nil {
		return t, nil, fmt.Errorf("history: %w", err)
	}
	return t, &engine.Snapshot{Now: at, Current: t.current, Metrics: values, History: notAfter(events, at)}, nil
}

// observe completes the snapshot from the other sources: the recommendations over the
// stabilization windows (or why they are unknown), a Steady policy's memory, the cluster's
// count for a sync check, and a person's rejection of the policy's pull request.
func (r *Runner) observe(ctx context.Context, rc svcconfig.Repository, p *policy.Policy, snap *engine.Snapshot) error {
	if _, w := engine.Windows(p); w > 0 && r.Recommendations != nil {
		recs, err := r.Recommendations.Recommendations(ctx, p, snap.Now, w, ReplicasAt(snap.History, snap.Current))
		if err != nil {
			r.logger().Warn("stabilization history unavailable", "repository", rc.Name, "policy", p.ID(), "error", err)
			snap.RecommendationsUnknown = err.Error()
		}
		snap.Recommendations = recs
	}
	if _, _, ok := engine.MemoryWindow(p); ok && r.Seasons != nil {
		// Without its memory Steady still decides, on the trend alone: a failed read is logged
		// and the snapshot goes without it.
		seasons, err := r.Seasons.Seasons(ctx, p, snap.Now, ReplicasAt(snap.History, snap.Current))
		if err != nil {
			r.logger().Warn("steady memory unavailable", "repository", rc.Name, "policy", p.ID(), "error", err)
		}
		snap.Seasons = seasons
	}
	if p.Spec.SyncCheck != nil && r.Sync != nil && len(snap.History) > 0 {
		s := r.Sync.Observed(ctx, p, snap.Now)
		snap.Sync = &s
	}
	if r.proposes(rc, p) {
		rej, err := r.Delivery.Rejected(ctx, rc, p)
		if err != nil {
			return fmt.Errorf("pull request state: %w", err)
		}
		snap.Rejected = rej
	}
	return nil
}

// apply makes a change of the count: it edits the target's one scalar, proves the edit by
// rendering when the policy asks for it, and then — unless a dry run stops it — commits it on
// the local base branch (Commit) or hands it to delivery (PullRequest, AutoMerge). It records
// what it did in res; an error leaves nothing committed.
func (r *Runner) apply(ctx context.Context, ws *gitrepo.Workspace, rc svcconfig.Repository, p *policy.Policy, t target, c change, res *Result) error {
	from := t.current
	out, changed, err := edit.SetReplicas(t.data, t.loc, c.to)
	if err != nil {
		return fmt.Errorf("%s: %w", t.loc.File, err)
	}
	if !changed {
		res.Action = ActionUnchanged
		return nil
	}
	if c.diff {
		res.Diff = edit.UnifiedDiff(t.loc.File, t.data, out)
	}
	if p.Spec.Render != nil {
		if r.Verifier == nil {
			return errors.New("render verification is configured but no renderer is available")
		}
		if err := renderSeesAll(ws, p.Spec.Render); err != nil {
			return fmt.Errorf("render verification refused the change: %w", err)
		}
		v, err := r.Verifier.Verify(ctx, ws.Root(), p, t.loc.File, out, from, c.to)
		if err != nil {
			// A refusal already says so, with its reason code; say it once.
			if _, ok := errors.AsType[interface {
				error
				RenderRefusal() string
			}](err); ok {
				return err
			}
			return fmt.Errorf("render verification refused the change: %w", err)
		}
		res.Rendered = v.Diff
		res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonRendered, Message: v.Summary})
		for _, c := range v.Consequences {
			res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonRenderConsequence, Message: "also: " + c})
		}
	}
	res.Mode = c.mode
	if c.dryRun || c.mode == policy.ModeDryRun {
		res.Action = ActionDryRun
		return nil
	}
	msg := c.message
	msg.Reasons = slices.Clone(res.Reasons)
	if c.mode == policy.ModeCommit {
		sha, err := ws.Commit(ctx, gitrepo.CommitRequest{File: t.loc.File, Content: out, Message: commitmsg.Format(msg), Author: gitIdentity(r.Config.Commit), When: msg.EvaluatedAt})
		if err != nil {
			return err
		}
		res.Action, res.Commit = ActionCommitted, sha
		r.logger().Info("decision committed", "repository", rc.Name, "policy", p.ID(), "from", from, "to", c.to, "commit", sha, "manual", msg.Manual)
		return nil
	}
	// PullRequest / AutoMerge: the decision goes to the policy's own branch, made from the
	// remote base — never on top of this cycle's other commits.
	if r.Delivery == nil || !hasHost(rc) {
		return fmt.Errorf("mode %s needs a github or gitlab block on repository %s (or use mode Commit or DryRun)", c.mode, rc.Name)
	}
	dr, err := r.Delivery.Deliver(ctx, ws, delivery.Proposal{Repo: rc, Policy: p, Mode: c.mode, File: t.loc.File, Content: out, Message: msg, Author: gitIdentity(r.Config.Commit), Rendered: res.Rendered})
	if err != nil {
		return fmt.Errorf("deliver: %w", err)
	}
	res.Reasons = append(res.Reasons, dr.Reasons...)
	res.PullRequest, res.PullRequestName = dr.URL, dr.Name
	res.Commit = dr.Commit
	res.Action = ActionPullRequest
	if dr.Held {
		res.Action, res.To, res.Commit = ActionHeld, from, ""
	}
	if dr.Merged {
		res.Action, res.Commit = ActionCommitted, dr.MergeCommit
	}
	return nil
}

// withdraw closes the policy's stale pull request, if one is open. A failure is a reason and
// a log line, not the result's error: the count decision stands, and the next cycle tries
// again.
func (r *Runner) withdraw(ctx context.Context, ws *gitrepo.Workspace, rc svcconfig.Repository, p *policy.Policy, keep int, res *Result) {
	why := fmt.Sprintf("the decision is now to keep %d replicas", keep)
	w, err := r.Delivery.Withdraw(ctx, ws, rc, p, why)
	switch {
	case err != nil:
		r.logger().Warn("withdraw stale pull request", "repository", rc.Name, "policy", p.ID(), "error", err)
		res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonPullRequestWithdrawn,
			Message: "withdrawal failed (" + err.Error() + "): " + why})
	case w.URL != "":
		res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonPullRequestWithdrawn,
			Message: fmt.Sprintf("%s withdrawn: %s", w.Name, why)})
		res.PullRequest, res.PullRequestName = w.URL, w.Name
	}
}

// proposes reports whether the policy's changes may go by pull request: it uses pull
// requests, delivery is wired, and the repository names its host.
func (r *Runner) proposes(rc svcconfig.Repository, p *policy.Policy) bool {
	return r.Delivery != nil && hasHost(rc) && p.Spec.UsesPullRequests()
}

// hasHost reports whether a repository names the host of its pull requests (github today).
func hasHost(rc svcconfig.Repository) bool { return rc.GitHub != nil || rc.GitLab != nil }

func targetOf(p *policy.Policy) string {
	if p.Spec.Replicas == nil {
		return ""
	}
	return commitmsg.Target(*p.Spec.Replicas)
}

func metricMap(vs []engine.MetricValue) map[string]*float64 {
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

// blindMetrics names the values that are missing, as "name: cause".
func blindMetrics(vs []engine.MetricValue) []string {
	var out []string
	for _, v := range vs {
		if v.Missing {
			out = append(out, v.Name+": "+v.Cause)
		}
	}
	return out
}

func missingAll(p *policy.Policy, cause string) []engine.MetricValue {
	out := make([]engine.MetricValue, len(p.Spec.Metrics))
	for i, m := range p.Spec.Metrics {
		out[i] = engine.MetricValue{Name: m.Name, Missing: true, Cause: cause}
	}
	return out
}

// notAfter drops events after the decision instant (an evaluation `--at` a past time sees
// the history as it was then).
func notAfter(ev []engine.Event, at time.Time) []engine.Event {
	out := ev[:0:0]
	for _, e := range ev {
		if !e.At.After(at) {
			out = append(out, e)
		}
	}
	return out
}

// ReplicasAt returns the replica count Git held at a past instant, from the history (oldest
// first) and the current count.
func ReplicasAt(history []engine.Event, current int) func(time.Time) int {
	return func(t time.Time) int { return engine.CountAt(history, t, current) }
}

// historyWindow is how far back a decision needs Git history: the policy's own windows, and at
// least its stabilization window, so the replica counts of the recomputed recommendations are
// known.
func historyWindow(p *policy.Policy) time.Duration {
	h, s := engine.Windows(p)
	return max(h, s)
}

// renderSeesAll refuses a Helm render whose chart directory or values files hold a file the
// worktree left out for its size (limits.git.maxFileBytes, docs/design.md §6): Helm would
// render the chart without it, silently. A missing values file or kustomize resource fails
// the render by itself.
func renderSeesAll(ws *gitrepo.Workspace, rd *policy.Render) error {
	if rd == nil || rd.Helm == nil {
		return nil
	}
	for _, rel := range append([]string{rd.Helm.Chart}, rd.Helm.ValuesFiles...) {
		if errs := ws.LeftOut(rel); len(errs) > 0 {
			return fmt.Errorf("%w; the render would not see it", errs[0])
		}
	}
	return nil
}
