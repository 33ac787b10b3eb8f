package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// What pull request delivery needs of a Git host's API, one small interface per concern;
// a provider (gitops/host/github, gitops/host/gitlab) implements them all, as Host. Branches are
// short names ("autoscaler/ns/name"); commits are full hex shas.

// PullRequestFinder finds a policy's pull requests by their head branch.
type PullRequestFinder interface {
	// PullRequests lists the pull requests whose head is branch, newest first; state is
	// "open", "closed" or "all".
	PullRequests(ctx context.Context, branch, state string) ([]host.PullRequest, error)
}

// PullRequestWriter opens a pull request and updates one in place.
type PullRequestWriter interface {
	// CreatePullRequest opens a pull request (host.ErrPullRequestExists when one is open for
	// its head).
	CreatePullRequest(ctx context.Context, n host.NewPullRequest) (host.PullRequest, error)
	// UpdatePullRequest sets an open pull request's title and body.
	UpdatePullRequest(ctx context.Context, number int, title, body string) (host.PullRequest, error)
}

// PullRequestCloser withdraws a pull request.
type PullRequestCloser interface {
	// ClosePullRequest closes a pull request without merging it, and without a comment.
	ClosePullRequest(ctx context.Context, number int) error
}

// Labeler changes a pull request's labels.
type Labeler interface {
	// AddLabels adds labels (creating those the repository does not have yet).
	AddLabels(ctx context.Context, number int, labels []string) error
	// RemoveLabel removes a label; one the pull request does not have is no error.
	RemoveLabel(ctx context.Context, number int, label string) error
}

// Merger merges a pull request once the host says it may.
type Merger interface {
	// PullRequest reads one pull request with its mergeability.
	PullRequest(ctx context.Context, number int) (host.PullRequest, error)
	// Merge merges a pull request if its head is still m.SHA and returns the base's new
	// commit; host.ErrNotMergeable when the host refuses.
	Merge(ctx context.Context, number int, m host.MergeRequest) (string, error)
}

// ChecksReader reads what a merge into the base branch requires, and how a commit fares.
type ChecksReader interface {
	// RequiredChecks lists the checks a merge into branch requires (none: nil).
	RequiredChecks(ctx context.Context, branch string) ([]string, error)
	// ChecksState reports the required checks' state on a commit.
	ChecksState(ctx context.Context, sha string, required []string) (host.CheckState, error)
}

// BranchRemover tidies a closed pull request's branch through the API.
type BranchRemover interface {
	// BranchHead returns the commit a branch points at, and whether it exists.
	BranchHead(ctx context.Context, branch string) (string, bool, error)
	// DeleteBranch deletes a branch; one that is already gone is no error.
	DeleteBranch(ctx context.Context, branch string) error
}

// UncheckedMergeRefuser is a host's own answer to "may a pull request be merged while its
// base requires no checks?", from its repository's settings.
type UncheckedMergeRefuser interface {
	// RefusesUncheckedMerge returns "" when the settings allow it, else the refusal as a
	// person reads it, naming the pull request (name) and the setting that would allow it.
	RefusesUncheckedMerge(base, name string) string
}

// autoMerger is what an auto-merge asks of the host.
type autoMerger interface {
	Namer
	ChecksReader
	Merger
	UncheckedMergeRefuser
}

// AutoMerger is a host that merges by itself once its own rules allow (GitLab's "merge when
// the pipeline succeeds", which also waits for the required approvals): delivery hands it the
// merge as soon as the pull request shows its commit, instead of waiting on the checks.
type AutoMerger interface {
	// AutoMerge asks the host to merge the pull request while its head is m.SHA: the base's
	// new commit when it merged at once, host.ErrMergeScheduled while it waits,
	// host.ErrNotMergeable when it refuses. Asking again while it waits writes nothing.
	AutoMerge(ctx context.Context, number int, m host.MergeRequest) (string, error)
}

// UpToDateRequirer is a host that can require a pull request's branch to be up to date with
// its base before it merges (GitHub's strict required checks, GitLab's fast-forward and
// semi-linear merge methods).
type UpToDateRequirer interface {
	RequiresUpToDate(ctx context.Context, base string) (bool, error)
}

// CommitMaker is a host that makes commits through its API, signing them (GitHub's Git Data
// API): with github.verifiedCommits, the workspace's commits are made so (HostPublisher).
type CommitMaker interface {
	CreateCommits(ctx context.Context, c host.CommitsOnBranch) ([]string, error)
}

// Namer names the host's pull requests in its users' words (host.Terms), for every reason,
// log line, body and error delivery writes about one.
type Namer interface {
	Terms() host.Terms
}

// Host is a repository's pull request host: everything delivery asks of it.
type Host interface {
	Namer
	PullRequestFinder
	PullRequestWriter
	PullRequestCloser
	Labeler
	Merger
	ChecksReader
	BranchRemover
	UncheckedMergeRefuser
}

// Labels of the autoscaler's pull requests.
const (
	LabelAutoscaler = "autoscaler"
	LabelScaleUp    = "scale-up"
	LabelScaleDown  = "scale-down"
	// LabelWithdrawn marks a pull request the autoscaler closed itself because its decision
	// went stale (Withdraw): closed so, it is nobody's "no" (Rejected).
	LabelWithdrawn = "autoscaler-withdrawn"
)

// PullRequestBranch is a policy's own branch: autoscaler/<namespace>/<name>.
func PullRequestBranch(p *policy.Policy) string {
	return "autoscaler/" + p.ID()
}

// PullRequestDelivery delivers decisions by pull request (docs/design.md §7 PullRequest and
// AutoMerge): one branch per policy holding exactly one commit on the current base, and at
// most one open pull request for it, opened or updated in place. It keeps no state: the
// branch, its commit's trailers and the host's pull requests are the state, so a crash at any
// point is recovered by the next cycle (docs/design.md §9 invariant 5).
type PullRequestDelivery struct {
	// Hosts returns the pull request host of a repository (e.g. a gitops/host/hosts Set's
	// For).
	Hosts func(svcconfig.Repository) (Host, error)
	// Logger receives one line per pull request change (default: discard).
	Logger *slog.Logger
}

func (pd *PullRequestDelivery) logger() *slog.Logger {
	if pd.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return pd.Logger
}

// Deliver proposes the decision by pull request. The branch gets one commit — the decision on
// top of the remote base ws.Base() — pushed with a lease on the branch's previous head; the
// policy's open pull request is updated in place, or one is opened (adopting a branch pushed
// by a run that died before opening it). When the branch already holds this decision on the
// current base and its pull request is open with the decision's title, body and labels,
// nothing is written: no push, no API write. In AutoMerge mode the pull request is then
// squash-merged once the host reports it mergeable and the base branch's required checks
// passed; without required checks it stays open (NoRequiredChecks) unless the repository
// allows it.
func (pd *PullRequestDelivery) Deliver(ctx context.Context, ws *gitrepo.Workspace, d Proposal) (Result, error) {
	var res Result
	if d.Policy == nil {
		return res, errors.New("deliver: no policy")
	}
	api, err := pd.Hosts(d.Repo)
	if err != nil {
		return res, err
	}
	t := api.Terms()
	branch := PullRequestBranch(d.Policy)
	base := baseBranch(d.Repo)
	id := d.Message.DecisionID()
	log := pd.logger().With("repository", d.Policy.Source.Repository, "policy", d.Policy.ID(), "branch", branch)

	prs, err := api.PullRequests(ctx, branch, "open")
	if err != nil {
		return res, err
	}
	pr := onBase(prs, base)
	head, exists, err := ws.RemoteBranch(ctx, branch)
	if err != nil {
		return res, err
	}
	carries, rebuild := false, ""
	if exists {
		if carries, rebuild, err = branchHolds(ctx, ws, api, d, head, id); err != nil {
			return res, err
		}
	}
	labels := directionLabels(d.Message)
	// A pull request still labelled LabelWithdrawn (its withdrawal failed half way) goes on,
	// so that syncLabels takes the label off a live proposal; so does one whose title, body or
	// labels are not yet this decision's — a run failed, or died, between the branch push and
	// those writes (docs/design.md §9, invariant 5) — so that it is completed, without a push.
	if carries && pr != nil && pr.HeadSHA == head.SHA && pr.Title == d.Message.Subject() &&
		bodyShows(pr.Body, head, branch) && labelled(pr.Labels, labels) {
		res.URL, res.Name, res.Commit, res.Unchanged = pr.URL, t.Name(pr.Number), head.SHA, true
		res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonPullRequest,
			Message: t.Name(pr.Number) + " already proposes this decision"})
		if d.Mode == policy.ModeAutoMerge {
			return pd.merge(ctx, ws, api, d, *pr, head.Message, res, log)
		}
		return res, nil
	}
	commit, message := head.SHA, head.Message
	// The description shows this cycle's reasons and the trailers of the commit it proposes:
	// the branch's, when it still carries the decision.
	trailers, _ := commitmsg.TrailerBlock(head.Message)
	if !carries {
		// A new commit on the current base — after a moved base too: the decision was made
		// again on the new base, never replayed on it.
		message, trailers = commitmsg.Format(d.Message), commitmsg.FormatTrailers(d.Message)
		if commit, err = pushDecision(ctx, ws, d, branch, message, head, exists); err != nil {
			return res, err
		}
		log.Info(t.Noun+" branch pushed", "commit", commit, "base", ws.Base(), "why", rebuild)
	}
	res.Commit = commit
	title := d.Message.Subject()
	body := pullRequestBody(t, title, d.Message.Reasons, trailers, d.Rendered, branch, base, commit)
	if pr, err = openOrUpdate(ctx, api, pr, host.NewPullRequest{Title: title, Body: body, Head: branch, Base: base}, &res, log); err != nil {
		return res, err
	}
	if err := syncLabels(ctx, api, pr, labels); err != nil {
		return res, err
	}
	res.URL, res.Name = pr.URL, t.Name(pr.Number)
	pr.HeadSHA = commit
	if d.Mode == policy.ModeAutoMerge {
		return pd.merge(ctx, ws, api, d, *pr, message, res, log)
	}
	return res, nil
}

// pushDecision commits the decision's file on top of the remote base and pushes it to the
// policy's branch, with a lease on the branch's head when it exists. It returns the commit as
// the host knows it (its own sha when its API made the commit).
func pushDecision(ctx context.Context, ws *gitrepo.Workspace, d Proposal, branch, message string, head gitrepo.Commit, exists bool) (string, error) {
	commit, err := ws.CommitOnBase(gitrepo.CommitRequest{File: d.File, Content: d.Content, Message: message, Author: d.Author, When: d.Message.EvaluatedAt})
	if err != nil {
		return "", err
	}
	lease := ""
	if exists {
		lease = head.SHA
	}
	if err := ws.PushBranch(ctx, gitrepo.BranchPush{Branch: branch, Commit: commit, Lease: lease}); err != nil {
		return "", err
	}
	return ws.PushedAs(commit), nil
}

// openOrUpdate opens the policy's pull request with want's title and body, or — when one is
// open (pr, or one another run opened since the list) — updates it in place where they
// differ. The reason line goes into res.
func openOrUpdate(ctx context.Context, api interface {
	Namer
	PullRequestFinder
	PullRequestWriter
}, pr *host.PullRequest, want host.NewPullRequest, res *Result, log *slog.Logger) (*host.PullRequest, error) {
	t := api.Terms()
	if pr == nil {
		created, err := api.CreatePullRequest(ctx, want)
		switch {
		case errors.Is(err, host.ErrPullRequestExists):
			// Another run opened it since we looked: update that one instead.
			if pr, err = openPullRequest(ctx, api, want.Head, want.Base); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, err
		default:
			res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonPullRequest, Message: "opened " + t.Name(created.Number)})
			log.Info(t.Noun+" opened", "number", created.Number, "url", created.URL)
			return &created, nil
		}
	}
	if pr.Title != want.Title || pr.Body != want.Body {
		updated, err := api.UpdatePullRequest(ctx, pr.Number, want.Title, want.Body)
		if err != nil {
			return nil, err
		}
		updated.Labels = pr.Labels
		pr = &updated
	}
	res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonPullRequest, Message: "updated " + t.Name(pr.Number)})
	log.Info(t.Noun+" updated", "number", pr.Number, "url", pr.URL)
	return pr, nil
}

// merge squash-merges an open pull request when the host allows it and the checks passed,
// and otherwise says why it waits; message is the message of its commit, res.Commit. A
// refusal is a reason, not an error: a later cycle tries again.
func (pd *PullRequestDelivery) merge(ctx context.Context, ws *gitrepo.Workspace, api autoMerger, d Proposal, pr host.PullRequest, message string, res Result, log *slog.Logger) (Result, error) {
	base, t := baseBranch(d.Repo), api.Terms()
	name := t.Name(pr.Number)
	wait := func(code engine.ReasonCode, format string, args ...any) (Result, error) {
		res.Reasons = append(res.Reasons, engine.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
		return res, nil
	}
	required, err := api.RequiredChecks(ctx, base)
	if err != nil {
		return res, err
	}
	if len(required) == 0 {
		// The host answers from its own settings (github.allowAutoMergeWithoutChecks,
		// gitlab.allowAutoMergeWithoutPipeline).
		if refusal := api.RefusesUncheckedMerge(base, name); refusal != "" {
			return wait(engine.ReasonNoRequiredChecks, "%s", refusal)
		}
	}
	full, err := api.PullRequest(ctx, pr.Number)
	if err != nil {
		return res, err
	}
	switch {
	case full.State != "open":
		return wait(engine.ReasonMergeBlocked, "auto-merge: %s is %s", name, full.State)
	case full.HeadSHA != res.Commit:
		return wait(engine.ReasonMergePending, "auto-merge: %s does not show commit %s yet", name, gitname.Short(res.Commit))
	case full.Mergeable == nil:
		return wait(engine.ReasonMergePending, "auto-merge: the host is still computing whether %s is mergeable", name)
	case !*full.Mergeable:
		return wait(engine.ReasonMergeBlocked, "auto-merge: %s is not mergeable (%s)", name, full.MergeableState)
	}
	subject, rest, _ := strings.Cut(strings.TrimRight(message, "\n"), "\n")
	mr := host.MergeRequest{Method: "squash", Title: subject, Message: strings.TrimLeft(rest, "\n"), SHA: res.Commit}
	var sha string
	if am, ok := api.(AutoMerger); ok {
		// The host waits for its pipeline and approvals itself, and merges the moment they allow.
		sha, err = am.AutoMerge(ctx, pr.Number, mr)
		if errors.Is(err, host.ErrMergeScheduled) {
			return wait(engine.ReasonMergePending, "auto-merge set on %s: the host merges it once the pipeline succeeds and the required approvals are given (%s)", name, full.MergeableState)
		}
	} else {
		sha, err = pd.mergeWhenChecksPass(ctx, api, pr, required, mr, &res)
		if sha == "" && err == nil {
			return res, nil // waiting: the reason is in res
		}
	}
	if errors.Is(err, host.ErrNotMergeable) {
		return wait(engine.ReasonMergeBlocked, "auto-merge of %s refused: %v", name, err)
	}
	if err != nil {
		return res, err
	}
	res.Merged, res.MergeCommit = true, sha
	res.Reasons = append(res.Reasons, engine.Reason{Code: engine.ReasonPullRequest, Message: fmt.Sprintf("merged %s as %s", name, gitname.Short(sha))})
	log.Info(t.Noun+" merged", "number", pr.Number, "commit", sha)
	// The branch is done; a failure here is tidied by the next cycle's Rejected.
	if err := ws.DeleteBranch(ctx, PullRequestBranch(d.Policy), res.Commit); err != nil {
		log.Warn("delete merged branch", "error", err)
	}
	return res, nil
}

// mergeWhenChecksPass merges once the required checks passed on the head; while they are
// pending or failed it returns "" and no error, with the reason added to res.
func (pd *PullRequestDelivery) mergeWhenChecksPass(ctx context.Context, api autoMerger, pr host.PullRequest, required []string, mr host.MergeRequest, res *Result) (string, error) {
	wait := func(code engine.ReasonCode, format string, args ...any) (string, error) {
		res.Reasons = append(res.Reasons, engine.Reason{Code: code, Message: fmt.Sprintf(format, args...)})
		return "", nil
	}
	if len(required) > 0 {
		st, err := api.ChecksState(ctx, mr.SHA, required)
		if err != nil {
			return "", err
		}
		switch st.State {
		case "pending":
			return wait(engine.ReasonMergePending, "auto-merge: required checks of %s pending: %s", api.Terms().Name(pr.Number), st.Detail)
		case "failure":
			return wait(engine.ReasonMergeBlocked, "auto-merge: required checks of %s failed: %s", api.Terms().Name(pr.Number), st.Detail)
		}
	}
	return api.Merge(ctx, pr.Number, mr)
}

// Withdraw closes the policy's open pull request once its decision has gone stale — the
// policy now decides to keep the count its base branch holds — so that nobody merges an
// outdated change later. The pull request is labelled LabelWithdrawn before it is closed (so
// that Rejected never reads a closing of ours as a person's "no", even when a step fails half
// way), then closed without a comment, and its branch deleted with a lease on the pull
// request's head. reason says why, for the log. It returns the pull request's URL and name, or
// none when none was open: then it made one read and wrote nothing. A failed branch deletion is only
// logged: the next cycle's Rejected tidies the branch of a closed pull request.
func (pd *PullRequestDelivery) Withdraw(ctx context.Context, ws *gitrepo.Workspace, repo svcconfig.Repository, p *policy.Policy, reason string) (Withdrawn, error) {
	api, err := pd.Hosts(repo)
	if err != nil {
		return Withdrawn{}, err
	}
	t := api.Terms()
	branch, base := PullRequestBranch(p), baseBranch(repo)
	prs, err := api.PullRequests(ctx, branch, "open")
	if err != nil {
		return Withdrawn{}, err
	}
	i := slices.IndexFunc(prs, func(pr host.PullRequest) bool { return pr.Base == base })
	if i < 0 {
		return Withdrawn{}, nil
	}
	pr := prs[i] // newest first; there is never more than one of ours
	log := pd.logger().With("repository", p.Source.Repository, "policy", p.ID(), "branch", branch, "number", pr.Number)
	if !slices.Contains(pr.Labels, LabelWithdrawn) {
		if err := api.AddLabels(ctx, pr.Number, []string{LabelWithdrawn}); err != nil {
			return Withdrawn{}, err
		}
	}
	if err := api.ClosePullRequest(ctx, pr.Number); err != nil {
		return Withdrawn{}, err
	}
	log.Info(t.Noun+" withdrawn", "url", pr.URL, "reason", reason)
	if err := ws.DeleteBranch(ctx, branch, pr.HeadSHA); err != nil {
		log.Warn("delete the branch of a withdrawn "+t.Noun, "error", err)
	}
	return Withdrawn{URL: pr.URL, Name: t.Name(pr.Number)}, nil
}

// Rejected reports the decision a person rejected: the policy's most recently closed pull
// request, when it was closed without merging, with the count it proposed (from its title, or
// its Autoscaler-To trailer). A pull request the autoscaler withdrew (LabelWithdrawn) is no
// rejection; when it is the most recent, an older person's "no" is spent too, since the
// decision changed after it. It also deletes the policy's branch when its pull request was
// closed or merged and no open one uses it.
func (pd *PullRequestDelivery) Rejected(ctx context.Context, repo svcconfig.Repository, p *policy.Policy) (*engine.Rejection, error) {
	api, err := pd.Hosts(repo)
	if err != nil {
		return nil, err
	}
	t := api.Terms()
	branch, base := PullRequestBranch(p), baseBranch(repo)
	all, err := api.PullRequests(ctx, branch, "all")
	if err != nil {
		return nil, err
	}
	var last *host.PullRequest
	open := false
	for i := range all {
		pr := &all[i]
		if pr.Base != base {
			continue
		}
		if pr.State == "open" {
			open = true
			continue
		}
		if last == nil || pr.ClosedAt.After(last.ClosedAt) {
			last = pr
		}
	}
	if last == nil {
		return nil, nil
	}
	if !open {
		pd.tidyBranch(ctx, api, t, branch, *last)
	}
	if last.Merged || slices.Contains(last.Labels, LabelWithdrawn) {
		return nil, nil
	}
	tr, ok := bodyTrailers(last.Body)
	if !ok {
		return nil, fmt.Errorf("%s: no %s trailer in its description", t.Name(last.Number), commitmsg.TrailerTo)
	}
	return &engine.Rejection{To: tr.To, PR: last.Number, Name: t.Name(last.Number), URL: last.URL}, nil
}

// tidyBranch deletes a branch its closed pull request left behind — only while the branch is
// still at that pull request's head, so a newer decision pushed there is never lost.
func (pd *PullRequestDelivery) tidyBranch(ctx context.Context, api BranchRemover, t host.Terms, branch string, closed host.PullRequest) {
	sha, exists, err := api.BranchHead(ctx, branch)
	if err != nil || !exists || sha != closed.HeadSHA {
		return
	}
	if err := api.DeleteBranch(ctx, branch); err != nil {
		pd.logger().Warn("delete branch of a closed "+t.Noun, "branch", branch, "number", closed.Number, "error", err)
		return
	}
	pd.logger().Info("deleted the branch of a closed "+t.Noun, "branch", branch, "number", closed.Number)
}

// bodyTrailers reads the trailers a pull request's description shows (PullRequestBody's
// Trailers block) with the one trailer reader, commitmsg.ParseTrailerBlock: the count a
// closed pull request proposed is its Autoscaler-To. CRLF line endings, which a description
// edited in a host's web page gets, are tolerated.
func bodyTrailers(body string) (commitmsg.Trailers, bool) {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	_, rest, ok := strings.Cut(body, trailersHeading)
	if !ok {
		return commitmsg.Trailers{}, false
	}
	open, rest, ok := strings.Cut(rest, "\n")
	if !ok || !strings.HasPrefix(open, "```") {
		return commitmsg.Trailers{}, false
	}
	block, _, ok := strings.Cut(rest, "\n"+open+"\n")
	if !ok {
		return commitmsg.Trailers{}, false
	}
	return commitmsg.ParseTrailerBlock(block)
}

// bodyShows reports whether a pull request's description was written for the branch's head:
// it shows the head commit's decision id and evaluation instant in its trailers, and names the
// commit at its end. A description a run left half written (it died between the push and
// the update) does not, and is completed.
func bodyShows(body string, head gitrepo.Commit, branch string) bool {
	shown, ok := bodyTrailers(body)
	if !ok {
		return false
	}
	carried, ok := commitmsg.ParseTrailers(head.Message)
	return ok && shown.DecisionID == carried.DecisionID && shown.EvaluatedAt.Equal(carried.EvaluatedAt) &&
		strings.HasSuffix(strings.ReplaceAll(body, "\r\n", "\n"), bodyFooter(branch, head.SHA))
}

func openPullRequest(ctx context.Context, api interface {
	Namer
	PullRequestFinder
}, branch, base string) (*host.PullRequest, error) {
	prs, err := api.PullRequests(ctx, branch, "open")
	if err != nil {
		return nil, err
	}
	if pr := onBase(prs, base); pr != nil {
		return pr, nil
	}
	return nil, fmt.Errorf("%s for %s: the host reported one open, then none", api.Terms().Noun, branch)
}

// onBase is the pull request of prs (newest first) into base: there is never more than one
// of ours open. nil when there is none.
func onBase(prs []host.PullRequest, base string) *host.PullRequest {
	for i := range prs {
		if prs[i].Base == base {
			return &prs[i]
		}
	}
	return nil
}

// syncLabels adds the missing labels and removes the opposite direction's — and
// LabelWithdrawn, left on a pull request whose withdrawal failed after labelling it, which a
// live proposal must not carry.
func syncLabels(ctx context.Context, api Labeler, pr *host.PullRequest, want []string) error {
	var add []string
	for _, l := range want {
		if !slices.Contains(pr.Labels, l) {
			add = append(add, l)
		}
	}
	if len(add) > 0 {
		if err := api.AddLabels(ctx, pr.Number, add); err != nil {
			return err
		}
	}
	for _, l := range []string{LabelScaleUp, LabelScaleDown, LabelWithdrawn} {
		if slices.Contains(pr.Labels, l) && !slices.Contains(want, l) {
			if err := api.RemoveLabel(ctx, pr.Number, l); err != nil {
				return err
			}
		}
	}
	pr.Labels = want
	return nil
}

// labelled reports whether a pull request's labels are as syncLabels leaves them for want:
// every one of want, none of the others it manages.
func labelled(have, want []string) bool {
	for _, l := range want {
		if !slices.Contains(have, l) {
			return false
		}
	}
	for _, l := range []string{LabelScaleUp, LabelScaleDown, LabelWithdrawn} {
		if slices.Contains(have, l) && !slices.Contains(want, l) {
			return false
		}
	}
	return true
}

func directionLabels(m commitmsg.Message) []string {
	if m.To > m.From {
		return []string{LabelAutoscaler, LabelScaleUp}
	}
	return []string{LabelAutoscaler, LabelScaleDown}
}

// branchHolds decides whether the policy's branch still proposes decision id as it stands,
// so that it is left alone — Renovate's "rebase only when conflicted": no push, and no pull
// request write. It holds when its one commit carries the decision on a commit of the base's
// history, and the base has not changed the decision's file since that branch point; and,
// for a pull request to be merged (AutoMerge), when the host does not require branches up to
// date with the base. An unrelated move of the base so touches nothing. When it does not
// hold, why says so, for the log.
func branchHolds(ctx context.Context, ws *gitrepo.Workspace, api Host, d Proposal, head gitrepo.Commit, id string) (holds bool, why string, err error) {
	tr, ok := commitmsg.ParseTrailers(head.Message)
	if len(head.Parents) != 1 || !ok || tr.DecisionID != id {
		return false, "the decision changed", nil
	}
	point, base := head.Parents[0], ws.Base()
	if point == base {
		return true, "", nil
	}
	onBase, err := ws.IsAncestor(point, base)
	if err != nil {
		return false, "", err
	}
	if !onBase {
		return false, "the branch point left the base's history", nil
	}
	same, err := ws.SameFile(point, base, d.File)
	if err != nil {
		return false, "", err
	}
	if !same {
		return false, d.File + " changed on the base since the branch point", nil
	}
	if u, ok := api.(UpToDateRequirer); ok && d.Mode == policy.ModeAutoMerge {
		strict, err := u.RequiresUpToDate(ctx, baseBranch(d.Repo))
		if err != nil {
			return false, "", err
		}
		if strict {
			return false, "the host merges only a branch up to date with the base", nil
		}
	}
	return true, "", nil
}

// HostPublisher makes a workspace's commits through a host's API instead of a push, so
// that the host signs them (github.verifiedCommits): a branch the host finds moved is
// gitrepo.ErrPushRace, and the loop re-decides on the new head.
func HostPublisher(api CommitMaker) gitrepo.Publisher { return hostPublisher{api} }

type hostPublisher struct{ api CommitMaker }

func (p hostPublisher) Publish(ctx context.Context, pub gitrepo.Publication) ([]string, error) {
	c := host.CommitsOnBranch{Branch: pub.Branch, Parent: pub.Parent, Lease: pub.Lease, FastForward: pub.FastForward}
	for _, pc := range pub.Commits {
		c.Commits = append(c.Commits, host.NewCommit{
			File: pc.File, Mode: pc.Mode, Content: pc.Content, Message: pc.Message,
			AuthorName: pc.AuthorName, AuthorEmail: pc.AuthorEmail, When: pc.When,
		})
	}
	shas, err := p.api.CreateCommits(ctx, c)
	if errors.Is(err, host.ErrBranchMoved) {
		return nil, fmt.Errorf("%w: %w", gitrepo.ErrPushRace, err)
	}
	return shas, err
}

func baseBranch(rc svcconfig.Repository) string {
	if rc.Branch == "" {
		return svcconfig.DefaultBranch
	}
	return rc.Branch
}

// PullRequestBody is a decision's pull request description, rendered from the decision (the
// commit message's parts, never its text): the metrics' lines as a table (metric, value,
// rule, recommendation), the other reasons, the rendered replica diff when render
// verification ran, the trailers, and how to roll back — naming the pull request in the
// host's terms.
func PullRequestBody(t host.Terms, m commitmsg.Message, rendered, branch, base, commit string) string {
	return pullRequestBody(t, m.Subject(), m.Reasons, commitmsg.FormatTrailers(m), rendered, branch, base, commit)
}

// trailersHeading opens the description's Trailers block, which bodyTrailers reads back.
const trailersHeading = "**Trailers**\n\n"

func pullRequestBody(t host.Terms, subject string, reasons []engine.Reason, trailers, rendered, branch, base, commit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s**, proposed by gitops-autoscaler.\n\n", mdEscape(subject))
	var metrics, other []engine.Reason
	for _, r := range reasons {
		switch {
		case r.IsMetric():
			metrics = append(metrics, r)
		case strings.TrimSpace(r.Message) != "":
			other = append(other, r)
		}
	}
	if len(metrics) > 0 {
		b.WriteString("| metric | value | rule | recommendation |\n|---|---|---|---|\n")
		for _, r := range metrics {
			fmt.Fprintf(&b, "| %s | %s | %s | %d |\n", mdCell(r.Metric), r.ValueText(), mdCell(r.Rule), r.To)
		}
		b.WriteString("\n")
	}
	if len(other) > 0 {
		b.WriteString("**Decision**\n\n")
		for _, r := range other {
			fmt.Fprintf(&b, "- %s\n", mdEscape(oneLine(r.Message)))
		}
		b.WriteString("\n")
	}
	if strings.TrimSpace(rendered) != "" {
		fmt.Fprintf(&b, "**Rendered change**\n\n%s\n", fence("diff", rendered))
	}
	fmt.Fprintf(&b, "%s%s\n", trailersHeading, fence("", trailers))
	fmt.Fprintf(&b, "**Rolling back**: this %s lands on `%s` as one commit that carries the trailers above. "+
		"To undo it after the merge, revert that commit: `git revert <sha>` with the sha of the commit on `%s`; "+
		"the autoscaler sees the revert and holds the policy (holds.afterRevertSeconds). "+
		"To say no before the merge, close this %s unmerged: the policy holds while it would propose the same count.\n\n", t.Noun, base, base, t.Noun)
	b.WriteString(bodyFooter(branch, commit))
	return b.String()
}

// bodyFooter ends a description: the branch and the commit it shows.
func bodyFooter(branch, commit string) string {
	return fmt.Sprintf("<sub>Branch `%s` at `%s`. The autoscaler owns this branch and rewrites it on its next decision.</sub>\n", branch, gitname.Short(commit))
}

// oneLine joins a reason's lines with spaces, as the commit message writes it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func mdCell(s string) string {
	return strings.ReplaceAll(mdEscape(s), "|", `\|`)
}

// mdEscape keeps a line from opening HTML or a code span in the rendered description.
func mdEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

// fence wraps text in a code block whose fence no line of the text can close.
func fence(lang, text string) string {
	f := "```"
	for strings.Contains(text, f) {
		f += "`"
	}
	return f + lang + "\n" + strings.TrimRight(text, "\n") + "\n" + f + "\n"
}
