package gitlab

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/httpretry"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/origin"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// DefaultBaseURL is gitlab.com's.
const DefaultBaseURL = "https://gitlab.com/"

// defaultResponseTimeout bounds the wait for a response's headers when Options gives no HTTP
// client.
const defaultResponseTimeout = 30 * time.Second

// perPage is the largest page GitLab serves.
const perPage = 100

// Options shape a client made by New.
type Options struct {
	// HTTPClient carries the requests (default: one that waits at most 30s for a response's
	// headers).
	HTTPClient *http.Client
	// Sleep waits out a rate limit; tests replace it (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock RateLimit-Reset is read against (default time.Now).
	Now func() time.Time
	// MaxWait bounds one rate-limit wait when the call's context has no deadline (default
	// 1m); with a deadline, a wait must end before it.
	MaxWait time.Duration
	// MaxRetries bounds the retries of one rate-limited or failed request (default 3).
	MaxRetries int
}

// The backoff between retries of a server error that names no Retry-After: jittered, doubling
// from the first to the largest.
const (
	retryBase = 500 * time.Millisecond
	retryMax  = 8 * time.Second
)

// Client is the merge request host of one GitLab project, on gitlab.com or a self-managed
// instance, over the official client. The token (personal, project or group access token) is
// read from its file or environment variable at every request, so a rotated token is picked
// up without a restart.
type Client struct {
	client  *gl.Client
	project string // the project's full path or numeric id
	token   func() (secret.Value, error)

	mu       sync.Mutex
	rejected [32]byte
	authErr  error
	settings *gl.Project // read once: the merge method and the pipeline rule
	// uncheckedMerge is gitlab.allowAutoMergeWithoutPipeline.
	uncheckedMerge bool
}

// New returns the client of a repository's gitlab settings.
func New(cfg *svcconfig.GitLabRepo, opts Options) (*Client, error) {
	if cfg == nil || cfg.Project == "" {
		return nil, errors.New("gitlab: project is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("gitlab %s: baseURL %q is not an http(s) URL", cfg.Project, secret.RedactURLs(base))
	}
	u.User = nil
	hc := opts.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = defaultResponseTimeout
		hc = &http.Client{Transport: tr}
	}
	// The token stays on the instance: a redirect to another origin is refused, and the
	// transport under the client's strips PRIVATE-TOKEN from any request that left it
	// (internal/origin).
	hc = origin.Client(hc)
	next := hc.Transport
	retries, maxWait := opts.MaxRetries, opts.MaxWait
	if retries <= 0 {
		retries = 3
	}
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	// The client's own retries (go-retryablehttp's) wait on timers a test cannot replace: they
	// are off, and the one retry policy (internal/httpretry) retries what they would have —
	// GitLab's rate limits and its server errors — with our clock, sleep and Retry-After rule.
	limited := *hc
	limited.Transport = httpretry.Policy{
		MaxAttempts: retries + 1, Base: retryBase, Max: retryMax, MaxWait: maxWait,
		Classify: retryable, Now: opts.Now, Sleep: opts.Sleep,
	}.Transport(next)
	g := &Client{project: cfg.Project, token: cfg.ReadToken, uncheckedMerge: cfg.AllowAutoMergeWithoutPipeline}
	client, err := gl.NewAuthSourceClient(tokenSource{g.token}, gl.WithBaseURL(u.String()), gl.WithHTTPClient(&limited), gl.WithoutRetries())
	if err != nil {
		return nil, fmt.Errorf("gitlab %s: %w", cfg.Project, err)
	}
	g.client = client
	return g, nil
}

// retryable classifies GitLab's answers worth another attempt, as the client's own retries
// did: a 429, after Retry-After or until RateLimit-Reset; a 5xx other than 501 Not
// Implemented, after Retry-After or the backoff. A retried creation cannot open a second merge
// request: GitLab refuses one for a branch that has one open (ErrPullRequestExists). A
// connection error is not retried: the cycle's next attempt reads the state afresh.
func retryable(resp *http.Response, err error, now time.Time) (retry bool, after time.Duration, asked bool) {
	if err != nil {
		return false, 0, false
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented {
		return httpretry.Transient(resp, nil, now)
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		return false, 0, false
	}
	if d, ok := httpretry.RetryAfter(resp.Header.Get("Retry-After"), now); ok {
		return true, d, true
	}
	if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
		return true, max(time.Unix(reset, 0).Sub(now), 0), true
	}
	return true, time.Minute, true
}

// tokenSource hands the client the token as read now.
type tokenSource struct {
	read func() (secret.Value, error)
}

func (tokenSource) Init(context.Context, *gl.Client) error { return nil }

func (t tokenSource) Header(context.Context) (string, string, error) {
	tok, err := t.read()
	if err != nil {
		return "", "", err
	}
	return "PRIVATE-TOKEN", string(tok), nil
}

// String names the project, for errors and logs.
func (g *Client) String() string { return "gitlab " + g.project }

// Terms names the host's pull requests as its users know them: "merge request !12".
func (g *Client) Terms() host.Terms { return host.MergeRequestTerms }

// PullRequests lists the merge requests whose source is branch, newest first; state is "open",
// "closed" (merged ones included, as GitHub counts them) or "all". Every page is read.
func (g *Client) PullRequests(ctx context.Context, branch, state string) ([]host.PullRequest, error) {
	if err := g.authFailed(); err != nil {
		return nil, err
	}
	glState := "all"
	if state == "open" {
		glState = "opened"
	}
	opts := &gl.ListProjectMergeRequestsOptions{
		SourceBranch: gl.Ptr(branch), State: gl.Ptr(glState),
		OrderBy: gl.Ptr("created_at"), Sort: gl.Ptr("desc"),
		ListOptions: gl.ListOptions{PerPage: perPage},
	}
	var out []host.PullRequest
	for {
		list, resp, err := g.client.MergeRequests.ListProjectMergeRequests(g.project, opts, gl.WithContext(ctx))
		if err != nil {
			return nil, g.fail("list merge requests of "+branch, err)
		}
		for _, m := range list {
			pr := fromBasic(m)
			if state == "closed" && pr.State != "closed" {
				continue
			}
			out = append(out, pr)
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// PullRequest reads one merge request, with its mergeability.
func (g *Client) PullRequest(ctx context.Context, number int) (host.PullRequest, error) {
	if err := g.authFailed(); err != nil {
		return host.PullRequest{}, err
	}
	m, _, err := g.client.MergeRequests.GetMergeRequest(g.project, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return host.PullRequest{}, g.fail(fmt.Sprintf("read merge request !%d", number), err)
	}
	return fromMR(m), nil
}

// CreatePullRequest opens a merge request; ErrPullRequestExists when one is open for the
// source branch.
func (g *Client) CreatePullRequest(ctx context.Context, n host.NewPullRequest) (host.PullRequest, error) {
	if err := g.authFailed(); err != nil {
		return host.PullRequest{}, err
	}
	m, _, err := g.client.MergeRequests.CreateMergeRequest(g.project, &gl.CreateMergeRequestOptions{
		Title: gl.Ptr(n.Title), Description: gl.Ptr(n.Body), SourceBranch: gl.Ptr(n.Head), TargetBranch: gl.Ptr(n.Base),
		RemoveSourceBranch: gl.Ptr(true), Squash: gl.Ptr(true),
	}, gl.WithContext(ctx))
	if err != nil {
		var er *gl.ErrorResponse
		if errors.As(err, &er) && er.HasStatusCode(http.StatusConflict) && strings.Contains(er.Message, "already exists") {
			return host.PullRequest{}, fmt.Errorf("%s: open merge request for %s: %w", g, n.Head, host.ErrPullRequestExists)
		}
		return host.PullRequest{}, g.fail("open merge request for "+n.Head, err)
	}
	return fromMR(m), nil
}

// UpdatePullRequest sets a merge request's title and description.
func (g *Client) UpdatePullRequest(ctx context.Context, number int, title, body string) (host.PullRequest, error) {
	m, err := g.update(ctx, number, "update", &gl.UpdateMergeRequestOptions{Title: gl.Ptr(title), Description: gl.Ptr(body)})
	if err != nil {
		return host.PullRequest{}, err
	}
	return fromMR(m), nil
}

// ClosePullRequest closes a merge request without merging it: a state change only.
func (g *Client) ClosePullRequest(ctx context.Context, number int) error {
	_, err := g.update(ctx, number, "close", &gl.UpdateMergeRequestOptions{StateEvent: gl.Ptr("close")})
	return err
}

// AddLabels adds labels to a merge request (GitLab creates the project labels it lacks).
func (g *Client) AddLabels(ctx context.Context, number int, labels []string) error {
	l := gl.LabelOptions(labels)
	_, err := g.update(ctx, number, "label", &gl.UpdateMergeRequestOptions{AddLabels: &l})
	return err
}

// RemoveLabel removes a label from a merge request; one it does not have is no error.
func (g *Client) RemoveLabel(ctx context.Context, number int, label string) error {
	l := gl.LabelOptions{label}
	_, err := g.update(ctx, number, "unlabel", &gl.UpdateMergeRequestOptions{RemoveLabels: &l})
	return err
}

func (g *Client) update(ctx context.Context, number int, step string, opts *gl.UpdateMergeRequestOptions) (*gl.MergeRequest, error) {
	if err := g.authFailed(); err != nil {
		return nil, err
	}
	m, _, err := g.client.MergeRequests.UpdateMergeRequest(g.project, int64(number), opts, gl.WithContext(ctx))
	if err != nil {
		return nil, g.fail(fmt.Sprintf("%s merge request !%d", step, number), err)
	}
	return m, nil
}

// RequiredChecks is GitLab's merge gate of the project: ["pipeline"] when pipelines must
// succeed before a merge (only_allow_merge_if_pipeline_succeeds), else none.
func (g *Client) RequiredChecks(ctx context.Context, base string) ([]string, error) {
	p, err := g.settingsOf(ctx)
	if err != nil {
		return nil, err
	}
	if p.OnlyAllowMergeIfPipelineSucceeds {
		return []string{"pipeline"}, nil
	}
	return nil, nil
}

// ChecksState reports the state of the pipeline of a merge request's head: "success",
// "pending" (created, running, …) or "failure". GitLab itself holds an auto-merge until the
// pipeline passes; this is for reporting.
func (g *Client) ChecksState(ctx context.Context, sha string, required []string) (host.CheckState, error) {
	if err := g.authFailed(); err != nil {
		return host.CheckState{}, err
	}
	list, _, err := g.client.Pipelines.ListProjectPipelines(g.project, &gl.ListProjectPipelinesOptions{SHA: gl.Ptr(sha), ListOptions: gl.ListOptions{PerPage: 1}}, gl.WithContext(ctx))
	if err != nil {
		return host.CheckState{}, g.fail("read pipelines of "+gitname.Short(sha), err)
	}
	if len(list) == 0 {
		return host.CheckState{State: "pending", Detail: "pipeline not reported"}, nil
	}
	return pipelineState(list[0].Status), nil
}

// pipelineState folds a GitLab pipeline status into a check state.
func pipelineState(status string) host.CheckState {
	switch status {
	case "success":
		return host.CheckState{State: "success"}
	case "failed", "canceled":
		return host.CheckState{State: "failure", Detail: "pipeline " + status}
	}
	return host.CheckState{State: "pending", Detail: "pipeline " + status}
}

// Merge merges a merge request now, if its head is still m.SHA, squashed with m's message
// (on the squash commit and on the merge commit alike, so that the target's first-parent
// history carries the trailers whatever the project's merge method); host.ErrNotMergeable
// when GitLab refuses. It returns the commit made on the target branch.
func (g *Client) Merge(ctx context.Context, number int, m host.MergeRequest) (string, error) {
	return g.accept(ctx, number, m, false)
}

// AutoMerge sets auto-merge ("merge when the pipeline succeeds"): GitLab merges the merge
// request by itself once its pipeline passed and the approvals it requires were given —
// squashed with m's message, and only while its head is m.SHA. It returns the target's new
// commit when GitLab merged at once, host.ErrMergeScheduled while it waits, and
// host.ErrNotMergeable when it refuses (a conflict, a source to rebase, a failed pipeline).
// A merge request already set to auto-merge at m.SHA is left as it is: one read, no write.
func (g *Client) AutoMerge(ctx context.Context, number int, m host.MergeRequest) (string, error) {
	if err := g.authFailed(); err != nil {
		return "", err
	}
	cur, _, err := g.client.MergeRequests.GetMergeRequest(g.project, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return "", g.fail(fmt.Sprintf("read merge request !%d", number), err)
	}
	switch {
	case cur.State == "merged":
		return mergedAs(cur), nil
	case cur.State == "opened" && cur.MergeWhenPipelineSucceeds && cur.SHA == m.SHA:
		return "", fmt.Errorf("%s: merge request !%d: %w (%s)", g, number, host.ErrMergeScheduled, cur.DetailedMergeStatus)
	}
	return g.accept(ctx, number, m, true)
}

func (g *Client) accept(ctx context.Context, number int, m host.MergeRequest, auto bool) (string, error) {
	if err := g.authFailed(); err != nil {
		return "", err
	}
	msg := strings.TrimRight(m.Title+"\n\n"+m.Message, "\n") + "\n"
	opts := &gl.AcceptMergeRequestOptions{
		Squash: gl.Ptr(m.Method == "squash"), SHA: gl.Ptr(m.SHA),
		SquashCommitMessage: gl.Ptr(msg), MergeCommitMessage: gl.Ptr(msg), ShouldRemoveSourceBranch: gl.Ptr(true),
	}
	if auto {
		opts.AutoMerge = gl.Ptr(true)
	}
	got, _, err := g.client.MergeRequests.AcceptMergeRequest(g.project, int64(number), opts, gl.WithContext(ctx))
	if err != nil {
		var er *gl.ErrorResponse
		if errors.As(err, &er) && (er.HasStatusCode(http.StatusMethodNotAllowed) || er.HasStatusCode(http.StatusConflict) ||
			er.HasStatusCode(http.StatusUnprocessableEntity) || er.HasStatusCode(http.StatusNotAcceptable)) {
			return "", fmt.Errorf("%s: merge merge request !%d: %w: %s", g, number, host.ErrNotMergeable, er.Message)
		}
		return "", g.fail(fmt.Sprintf("merge merge request !%d", number), err)
	}
	switch {
	case got.State == "merged":
		return mergedAs(got), nil
	case got.MergeWhenPipelineSucceeds:
		return "", fmt.Errorf("%s: merge request !%d: %w (%s)", g, number, host.ErrMergeScheduled, got.DetailedMergeStatus)
	}
	return "", fmt.Errorf("%s: merge merge request !%d: %w: %s", g, number, host.ErrNotMergeable, got.DetailedMergeStatus)
}

// mergedAs is the target's commit a merge made: the merge commit, or on a fast-forward
// project the squash commit.
func mergedAs(m *gl.MergeRequest) string {
	if m.MergeCommitSHA != "" {
		return m.MergeCommitSHA
	}
	return m.SquashCommitSHA
}

// RequiresUpToDate reports whether the project merges only a source rebased on its target
// (merge method fast-forward or semi-linear).
func (g *Client) RequiresUpToDate(ctx context.Context, base string) (bool, error) {
	p, err := g.settingsOf(ctx)
	if err != nil {
		return false, err
	}
	return p.MergeMethod != gl.NoFastForwardMerge, nil
}

// BranchHead returns the commit a branch points at, and whether it exists.
func (g *Client) BranchHead(ctx context.Context, branch string) (string, bool, error) {
	if err := g.authFailed(); err != nil {
		return "", false, err
	}
	b, _, err := g.client.Branches.GetBranch(g.project, branch, gl.WithContext(ctx))
	if errors.Is(err, gl.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, g.fail("read branch "+branch, err)
	}
	if b.Commit == nil {
		return "", false, fmt.Errorf("%s: read branch %s: no commit in the answer", g, branch)
	}
	return b.Commit.ID, true, nil
}

// DeleteBranch deletes a branch; one that is already gone is no error.
func (g *Client) DeleteBranch(ctx context.Context, branch string) error {
	if err := g.authFailed(); err != nil {
		return err
	}
	_, err := g.client.Branches.DeleteBranch(g.project, branch, gl.WithContext(ctx))
	if err != nil && !errors.Is(err, gl.ErrNotFound) {
		return g.fail("delete branch "+branch, err)
	}
	return nil
}

// settingsOf reads the project's settings once.
func (g *Client) settingsOf(ctx context.Context) (*gl.Project, error) {
	g.mu.Lock()
	p := g.settings
	g.mu.Unlock()
	if p != nil {
		return p, nil
	}
	if err := g.authFailed(); err != nil {
		return nil, err
	}
	p, _, err := g.client.Projects.GetProject(g.project, nil, gl.WithContext(ctx))
	if err != nil {
		return nil, g.fail("read project settings", err)
	}
	g.mu.Lock()
	g.settings = p
	g.mu.Unlock()
	return p, nil
}

// authFailed fails a call at once when the current token is the one GitLab rejected.
func (g *Client) authFailed() error {
	tok, err := g.token()
	if err != nil {
		return fmt.Errorf("%s: %w", g, err) // names the file or variable, never the content
	}
	if tok == "" {
		return fmt.Errorf("%s: no token configured (gitlab.tokenFile or gitlab.tokenEnv)", g)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.authErr != nil && sha256.Sum256([]byte(tok)) == g.rejected {
		return g.authErr
	}
	return nil
}

// fail wraps a GitLab error with the project and the step, classifying auth failures and
// rate limits. The client's errors carry the method, the URL and GitLab's message; an instance
// that quotes the request's headers in it would show the token, so the result is scrubbed of
// it (scrub).
func (g *Client) fail(step string, err error) error {
	return g.scrub(g.classify(step, err))
}

// scrub replaces the token, in every encoding, in an error's text: a host whose error message
// quotes the request's headers must not put the token into a log or a status page
// (docs/design.md §9 invariant 7). errors.Is still sees the classification.
func (g *Client) scrub(err error) error {
	tok, terr := g.token()
	if terr != nil || tok == "" {
		return secret.RedactError(err)
	}
	return secret.RedactError(err, string(tok))
}

// classify wraps a host error with the step and its class.
func (g *Client) classify(step string, err error) error {
	var er *gl.ErrorResponse
	switch {
	case errors.As(err, &er) && er.HasStatusCode(http.StatusTooManyRequests):
		wait := er.Response.Header.Get("Retry-After")
		return fmt.Errorf("%s: %s: %w (retry after %ss)", g, step, host.ErrRateLimited, wait)
	case errors.As(err, &er) && er.HasStatusCode(http.StatusUnauthorized):
		aerr := fmt.Errorf("%s: %s: %w (HTTP 401); further calls wait for a new token", g, step, host.ErrHostAuth)
		if tok, terr := g.token(); terr == nil {
			g.mu.Lock()
			g.rejected, g.authErr = sha256.Sum256([]byte(tok)), secret.RedactError(aerr, string(tok))
			g.mu.Unlock()
		}
		return aerr
	}
	return fmt.Errorf("%s: %s: %w", g, step, err)
}

func fromBasic(m *gl.BasicMergeRequest) host.PullRequest {
	out := host.PullRequest{
		Number: int(m.IID), URL: m.WebURL, Title: m.Title, Body: m.Description,
		Head: m.SourceBranch, HeadSHA: m.SHA, Base: m.TargetBranch, Labels: []string(m.Labels),
		MergeableState: m.DetailedMergeStatus, MergeCommit: m.MergeCommitSHA,
	}
	switch m.State {
	case "opened", "locked":
		out.State = "open"
	case "merged":
		out.State, out.Merged = "closed", true
	default:
		out.State = "closed"
	}
	if out.MergeCommit == "" {
		out.MergeCommit = m.SquashCommitSHA
	}
	switch {
	case m.ClosedAt != nil:
		out.ClosedAt = *m.ClosedAt
	case m.MergedAt != nil:
		out.ClosedAt = *m.MergedAt
	}
	return out
}

func fromMR(m *gl.MergeRequest) host.PullRequest {
	out := fromBasic(&m.BasicMergeRequest)
	switch m.DetailedMergeStatus {
	case "unchecked", "checking", "preparing", "approvals_syncing":
		// still computing: Mergeable stays nil
	case "conflict", "need_rebase", "commits_status", "not_open":
		no := false
		out.Mergeable = &no
	default:
		// The rest (a running pipeline, missing approvals) is what auto-merge waits for.
		yes := true
		out.Mergeable = &yes
	}
	return out
}

// RefusesUncheckedMerge answers "may a merge request be merged while the project does not
// require pipelines to succeed?" from the repository's settings: "" when
// gitlab.allowAutoMergeWithoutPipeline allows it, else the refusal, naming the merge request
// (name) and the setting. base is not needed: the rule is the project's.
func (g *Client) RefusesUncheckedMerge(_, name string) string {
	if g.uncheckedMerge {
		return ""
	}
	return fmt.Sprintf("auto-merge refused: the project does not require pipelines to succeed; %s waits for review (gitlab.allowAutoMergeWithoutPipeline allows it)", name)
}
