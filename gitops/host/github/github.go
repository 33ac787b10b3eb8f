package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/githubapp"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/httpretry"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/origin"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// defaultResponseTimeout bounds the wait for a response's headers when Options gives
// no HTTP client.
const defaultResponseTimeout = 30 * time.Second

// Options shape a client made by New.
type Options struct {
	// HTTPClient carries the requests (default: one that waits at most 30s for a response's
	// headers). A Client.Timeout also bounds rate-limit waits.
	HTTPClient *http.Client
	// Sleep waits out a rate limit; tests replace it (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock X-RateLimit-Reset is read against (default time.Now).
	Now func() time.Time
	// MaxWait bounds one rate-limit wait when the call's context has no deadline (default 1m);
	// with a deadline, a wait must end before it.
	MaxWait time.Duration
	// MaxRetries bounds the retries of one rate-limited request (default 3).
	MaxRetries int
}

// Client is the pull request host of one repository on GitHub or GitHub Enterprise, over
// go-github. The token is read from its file or environment variable at every request, so a
// rotated token is picked up without a restart — or, with github.app, it is the App
// installation's token, minted and refreshed (gitops/githubapp). It is safe for concurrent
// use.
type Client struct {
	client *gh.Client
	owner  string
	repo   string
	token  func(ctx context.Context) (secret.Value, error)
	app    *githubapp.Tokens // the App installation whose tokens are used, if any
	// uncheckedMerge is github.allowAutoMergeWithoutChecks.
	uncheckedMerge bool
	// web is the web base URL: https://github.com, or a GitHub Enterprise's scheme://host.
	web string

	mu       sync.Mutex
	rejected [32]byte // the sha256 of the token the host answered 401 to
	authErr  error
}

// New returns the client of a repository's github settings. apiURL (default
// https://api.github.com/) is used as the client's base URL as is, so a GitHub Enterprise
// URL such as https://ghe.example.com/api/v3/ works; credentials in it are dropped.
func New(cfg *svcconfig.GitHubRepo, opts Options) (*Client, error) {
	if cfg == nil || cfg.Owner == "" || cfg.Repo == "" {
		return nil, errors.New("github: owner and repo are required")
	}
	apiURL := cfg.APIURL
	if apiURL == "" {
		apiURL = svcconfig.DefaultGitHubAPIURL
	}
	base, err := url.Parse(apiURL)
	if err != nil {
		// The parser's error quotes the URL, which may carry credentials.
		return nil, fmt.Errorf("github %s/%s: apiURL is not an http(s) URL", cfg.Owner, cfg.Repo)
	}
	if (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("github %s/%s: apiURL %q is not an http(s) URL", cfg.Owner, cfg.Repo, secret.RedactURLs(apiURL))
	}
	base.User = nil
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	hc := opts.HTTPClient
	if hc == nil {
		// No Client.Timeout: it would also cut a rate-limit wait short. A silent server is
		// bounded by the header timeout, the rest by the caller's deadline.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = defaultResponseTimeout
		hc = &http.Client{Transport: tr}
	}
	// The token stays on the API's host: a redirect to another origin is refused, and the
	// transport under the token's strips it from any request that left it (internal/origin).
	hc = origin.Client(hc)
	next := hc.Transport
	g := &Client{owner: cfg.Owner, repo: cfg.Repo, token: func(context.Context) (secret.Value, error) { return cfg.ReadToken() },
		uncheckedMerge: cfg.AllowAutoMergeWithoutChecks}
	rl := rateLimits(next, opts)
	if a := cfg.App; a != nil {
		minter := *hc
		minter.Transport = rl
		tokens, err := githubapp.New(githubapp.Config{
			AppID: int64(a.AppID), InstallationID: int64(a.InstallationID), PrivateKeyFile: a.PrivateKeyFile, APIURL: base.String(),
		}, githubapp.Options{HTTPClient: &minter, Now: opts.Now})
		if err != nil {
			return nil, fmt.Errorf("github %s/%s: %w", cfg.Owner, cfg.Repo, err)
		}
		g.app = tokens
		g.token = func(ctx context.Context) (secret.Value, error) {
			tok, err := tokens.Token(ctx)
			return secret.Value(tok), err
		}
	}
	client := *hc
	client.Transport = &tokenTransport{next: rl, token: g.token}
	g.client = gh.NewClient(&client)
	g.client.BaseURL = base
	if base.Host != "api.github.com" {
		upload := *base
		upload.Path = strings.TrimSuffix(strings.TrimSuffix(upload.Path, "/"), "/v3") + "/uploads/"
		g.client.UploadURL = &upload
	}
	g.web = gitname.GitHubWebURL(base.String())
	return g, nil
}

// CommitURL is a commit's web page, for people: on github.com, or on the GitHub Enterprise
// host whose API this client calls; "" without a commit.
func (g *Client) CommitURL(sha string) string {
	if sha == "" {
		return ""
	}
	return g.web + "/" + url.PathEscape(g.owner) + "/" + url.PathEscape(g.repo) + "/commit/" + url.PathEscape(sha)
}

// String names the repository, for errors and logs.
func (g *Client) String() string { return "github " + g.owner + "/" + g.repo }

// Terms names the host's pull requests as its users know them: "pull request #12".
func (g *Client) Terms() host.Terms { return host.PullRequestTerms }

// PullRequests lists the pull requests whose head is branch, newest first; state is "open",
// "closed" or "all". Every page is read (100 to a page).
func (g *Client) PullRequests(ctx context.Context, branch, state string) ([]host.PullRequest, error) {
	if err := g.authFailed(ctx); err != nil {
		return nil, err
	}
	opts := &gh.PullRequestListOptions{State: state, Head: g.owner + ":" + branch, ListOptions: gh.ListOptions{PerPage: 100}}
	var out []host.PullRequest
	for {
		prs, resp, err := g.client.PullRequests.List(ctx, g.owner, g.repo, opts)
		if err != nil {
			return nil, g.fail("list pull requests of "+branch, err)
		}
		for _, p := range prs {
			out = append(out, fromGitHub(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// PullRequest reads one pull request, with its mergeability.
func (g *Client) PullRequest(ctx context.Context, number int) (host.PullRequest, error) {
	if err := g.authFailed(ctx); err != nil {
		return host.PullRequest{}, err
	}
	p, _, err := g.client.PullRequests.Get(ctx, g.owner, g.repo, number)
	if err != nil {
		return host.PullRequest{}, g.fail(fmt.Sprintf("read pull request #%d", number), err)
	}
	return fromGitHub(p), nil
}

// CreatePullRequest opens a pull request; host.ErrPullRequestExists when one is open for the head.
func (g *Client) CreatePullRequest(ctx context.Context, n host.NewPullRequest) (host.PullRequest, error) {
	if err := g.authFailed(ctx); err != nil {
		return host.PullRequest{}, err
	}
	p, _, err := g.client.PullRequests.Create(ctx, g.owner, g.repo, &gh.NewPullRequest{
		Title: gh.String(n.Title), Head: gh.String(n.Head), Base: gh.String(n.Base),
		Body: gh.String(n.Body), MaintainerCanModify: gh.Bool(false),
	})
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity &&
			strings.Contains(strings.ToLower(errorText(er)), "already exists") {
			return host.PullRequest{}, fmt.Errorf("%s: open pull request for %s: %w", g, n.Head, host.ErrPullRequestExists)
		}
		return host.PullRequest{}, g.fail("open pull request for "+n.Head, err)
	}
	return fromGitHub(p), nil
}

// UpdatePullRequest sets a pull request's title and body.
func (g *Client) UpdatePullRequest(ctx context.Context, number int, title, body string) (host.PullRequest, error) {
	if err := g.authFailed(ctx); err != nil {
		return host.PullRequest{}, err
	}
	p, _, err := g.client.PullRequests.Edit(ctx, g.owner, g.repo, number, &gh.PullRequest{Title: gh.String(title), Body: gh.String(body)})
	if err != nil {
		return host.PullRequest{}, g.fail(fmt.Sprintf("update pull request #%d", number), err)
	}
	return fromGitHub(p), nil
}

// ClosePullRequest closes a pull request without merging it: a state change only, no
// comment.
func (g *Client) ClosePullRequest(ctx context.Context, number int) error {
	if err := g.authFailed(ctx); err != nil {
		return err
	}
	if _, _, err := g.client.PullRequests.Edit(ctx, g.owner, g.repo, number, &gh.PullRequest{State: gh.String("closed")}); err != nil {
		return g.fail(fmt.Sprintf("close pull request #%d", number), err)
	}
	return nil
}

// AddLabels adds labels to a pull request (labels that do not exist yet are created).
func (g *Client) AddLabels(ctx context.Context, number int, labels []string) error {
	if err := g.authFailed(ctx); err != nil {
		return err
	}
	if _, _, err := g.client.Issues.AddLabelsToIssue(ctx, g.owner, g.repo, number, labels); err != nil {
		return g.fail(fmt.Sprintf("label pull request #%d", number), err)
	}
	return nil
}

// RemoveLabel removes a label from a pull request; a label it does not have is no error.
func (g *Client) RemoveLabel(ctx context.Context, number int, label string) error {
	if err := g.authFailed(ctx); err != nil {
		return err
	}
	_, err := g.client.Issues.RemoveLabelForIssue(ctx, g.owner, g.repo, number, url.PathEscape(label))
	if err != nil && !isStatus(err, http.StatusNotFound) {
		return g.fail(fmt.Sprintf("unlabel pull request #%d", number), err)
	}
	return nil
}

// RequiredChecks lists the status checks the base branch's protection requires; none when
// the branch is not protected.
func (g *Client) RequiredChecks(ctx context.Context, base string) ([]string, error) {
	if err := g.authFailed(ctx); err != nil {
		return nil, err
	}
	rc, _, err := g.client.Repositories.GetRequiredStatusChecks(ctx, g.owner, g.repo, base)
	if errors.Is(err, gh.ErrBranchNotProtected) {
		return nil, nil
	}
	if err != nil {
		return nil, g.fail("read required checks of "+base, err)
	}
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if rc.Checks != nil {
		for _, c := range *rc.Checks {
			add(c.Context)
		}
	}
	if rc.Contexts != nil {
		for _, c := range *rc.Contexts {
			add(c)
		}
	}
	return out, nil
}

// RequiresUpToDate reports whether the base branch's protection requires a pull request's
// branch to be up to date with it before merging (strict required status checks).
func (g *Client) RequiresUpToDate(ctx context.Context, base string) (bool, error) {
	if err := g.authFailed(ctx); err != nil {
		return false, err
	}
	rc, _, err := g.client.Repositories.GetRequiredStatusChecks(ctx, g.owner, g.repo, base)
	if errors.Is(err, gh.ErrBranchNotProtected) {
		return false, nil
	}
	if err != nil {
		return false, g.fail("read required checks of "+base, err)
	}
	return rc.Strict, nil
}

// GitToken is the installation token for HTTPS Git (the password of x-access-token), for a
// client with an App; "" without one.
func (g *Client) GitToken(ctx context.Context) (string, error) {
	if g.app == nil {
		return "", nil
	}
	tok, err := g.app.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("%s: %w", g, err)
	}
	return tok, nil
}

// HasApp reports whether the client authenticates as an App installation.
func (g *Client) HasApp() bool { return g.app != nil }

// ChecksState reports the state of the required checks on a commit, from its commit
// statuses and its check runs (GitHub accepts either for a required check).
func (g *Client) ChecksState(ctx context.Context, sha string, required []string) (host.CheckState, error) {
	if err := g.authFailed(ctx); err != nil {
		return host.CheckState{}, err
	}
	combined, _, err := g.client.Repositories.GetCombinedStatus(ctx, g.owner, g.repo, sha, &gh.ListOptions{PerPage: 100})
	if err != nil {
		return host.CheckState{}, g.fail("read commit status of "+sha[:min(12, len(sha))], err)
	}
	runs, _, err := g.client.Checks.ListCheckRunsForRef(ctx, g.owner, g.repo, sha, &gh.ListCheckRunsOptions{ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return host.CheckState{}, g.fail("read check runs of "+sha[:min(12, len(sha))], err)
	}
	states := map[string]string{}
	for _, s := range combined.Statuses {
		if _, ok := states[s.GetContext()]; !ok { // newest first
			states[s.GetContext()] = s.GetState()
		}
	}
	for _, r := range runs.CheckRuns {
		st := "pending"
		if r.GetStatus() == "completed" {
			switch r.GetConclusion() {
			case "success", "neutral", "skipped":
				st = "success"
			default:
				st = "failure"
			}
		}
		if _, ok := states[r.GetName()]; !ok {
			states[r.GetName()] = st
		}
	}
	return summarizeChecks(states, required), nil
}

// Merge merges a pull request whose head is still m.SHA; host.ErrNotMergeable when the host
// refuses. It returns the commit made on the base branch.
func (g *Client) Merge(ctx context.Context, number int, m host.MergeRequest) (string, error) {
	if err := g.authFailed(ctx); err != nil {
		return "", err
	}
	res, _, err := g.client.PullRequests.Merge(ctx, g.owner, g.repo, number, m.Message, &gh.PullRequestOptions{
		CommitTitle: m.Title, SHA: m.SHA, MergeMethod: m.Method, DontDefaultIfBlank: true,
	})
	if err != nil {
		var er *gh.ErrorResponse
		if errors.As(err, &er) && er.Response != nil &&
			(er.Response.StatusCode == http.StatusMethodNotAllowed || er.Response.StatusCode == http.StatusConflict) {
			return "", fmt.Errorf("%s: merge pull request #%d: %w: %s", g, number, host.ErrNotMergeable, errorText(er))
		}
		return "", g.fail(fmt.Sprintf("merge pull request #%d", number), err)
	}
	if !res.GetMerged() || res.GetSHA() == "" {
		return "", fmt.Errorf("%s: merge pull request #%d: %w: %s", g, number, host.ErrNotMergeable, res.GetMessage())
	}
	return res.GetSHA(), nil
}

// BranchHead returns the commit a branch points at, and whether it exists.
func (g *Client) BranchHead(ctx context.Context, branch string) (string, bool, error) {
	if err := g.authFailed(ctx); err != nil {
		return "", false, err
	}
	ref, _, err := g.client.Git.GetRef(ctx, g.owner, g.repo, "heads/"+branch)
	if isStatus(err, http.StatusNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, g.fail("read branch "+branch, err)
	}
	return ref.GetObject().GetSHA(), true, nil
}

// DeleteBranch deletes a branch; one that is already gone is no error.
func (g *Client) DeleteBranch(ctx context.Context, branch string) error {
	if err := g.authFailed(ctx); err != nil {
		return err
	}
	_, err := g.client.Git.DeleteRef(ctx, g.owner, g.repo, "heads/"+branch)
	if err != nil && !isStatus(err, http.StatusUnprocessableEntity) && !isStatus(err, http.StatusNotFound) {
		return g.fail("delete branch "+branch, err)
	}
	return nil
}

// authFailed fails a call at once when the current token is the one the host rejected: the
// failure is reported once, by the call that met it, and the host is not asked again.
func (g *Client) authFailed(ctx context.Context) error {
	tok, err := g.token(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", g, err) // names the file or variable, never the content
	}
	if tok == "" {
		return fmt.Errorf("%s: no token configured (github.tokenFile or github.tokenEnv)", g)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.authErr != nil && sha256.Sum256([]byte(tok)) == g.rejected {
		return g.authErr
	}
	return nil
}

// fail wraps a host error with the repository and the step, classifying auth failures and
// rate limits. go-github's errors carry the method, the URL (without credentials) and the
// host's message; a host that quotes the request's headers in it would show the token, so the
// result is scrubbed of it (scrub).
func (g *Client) fail(step string, err error) error {
	return g.scrub(g.classify(step, err))
}

// scrub replaces the token, in every encoding, in an error's text: a host whose error message
// quotes the request's headers must not put the token into a log or a status page
// (docs/design.md §9 invariant 7). errors.Is still sees the classification.
func (g *Client) scrub(err error) error {
	tok, terr := g.token(context.Background())
	if terr != nil || tok == "" {
		return secret.RedactError(err)
	}
	return secret.RedactError(err, string(tok))
}

// classify wraps a host error with the step and its class.
func (g *Client) classify(step string, err error) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return fmt.Errorf("%s: %s: %w until %s", g, step, host.ErrRateLimited, rl.Rate.Reset.UTC().Format(time.RFC3339))
	case errors.As(err, &abuse),
		errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%s: %s: %w (secondary limit): retry after the cycle", g, step, host.ErrRateLimited)
	case errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized:
		if g.app != nil {
			// An installation token can be revoked before it expires: the next call mints another.
			if tok, terr := g.token(context.Background()); terr == nil {
				g.app.Invalidate(string(tok))
			}
			return fmt.Errorf("%s: %s: %w (HTTP 401: %s); the next call mints a new installation token", g, step, host.ErrHostAuth, er.Message)
		}
		aerr := fmt.Errorf("%s: %s: %w (HTTP 401: %s); further calls wait for a new token", g, step, host.ErrHostAuth, er.Message)
		if tok, terr := g.token(context.Background()); terr == nil {
			g.mu.Lock()
			g.rejected, g.authErr = sha256.Sum256([]byte(tok)), secret.RedactError(aerr, string(tok))
			g.mu.Unlock()
		}
		return aerr
	}
	return fmt.Errorf("%s: %s: %w", g, step, err)
}

// summarizeChecks folds each required check's state (by context or check name) into one.
func summarizeChecks(states map[string]string, required []string) host.CheckState {
	var pending, failed []string
	for _, c := range required {
		switch states[c] {
		case "success":
		case "failure", "error":
			failed = append(failed, c+" "+states[c])
		case "":
			pending = append(pending, c+" not reported")
		default:
			pending = append(pending, c+" "+states[c])
		}
	}
	switch {
	case len(failed) > 0:
		return host.CheckState{State: "failure", Detail: strings.Join(append(failed, pending...), ", ")}
	case len(pending) > 0:
		return host.CheckState{State: "pending", Detail: strings.Join(pending, ", ")}
	}
	return host.CheckState{State: "success"}
}

func fromGitHub(p *gh.PullRequest) host.PullRequest {
	out := host.PullRequest{
		Number:         p.GetNumber(),
		URL:            p.GetHTMLURL(),
		State:          p.GetState(),
		Merged:         p.GetMerged() || p.MergedAt != nil,
		Title:          p.GetTitle(),
		Body:           p.GetBody(),
		Head:           p.GetHead().GetRef(),
		HeadSHA:        p.GetHead().GetSHA(),
		Base:           p.GetBase().GetRef(),
		Mergeable:      p.Mergeable,
		MergeableState: p.GetMergeableState(),
		MergeCommit:    p.GetMergeCommitSHA(),
	}
	if p.ClosedAt != nil {
		out.ClosedAt = p.ClosedAt.Time
	}
	for _, l := range p.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

func errorText(er *gh.ErrorResponse) string {
	parts := []string{er.Message}
	for _, e := range er.Errors {
		if e.Message != "" {
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, ": ")
}

func isStatus(err error, code int) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == code
}

// tokenTransport authenticates each request with the token as read now.
type tokenTransport struct {
	next  http.RoundTripper
	token func(ctx context.Context) (secret.Value, error)
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.token(req.Context())
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+string(tok))
	return t.next.RoundTrip(r)
}

// rateLimits waits out GitHub's rate limits below go-github, by the one retry policy
// (internal/httpretry): a 429, or a 403 with X-RateLimit-Remaining 0 or Retry-After, is
// retried after the wait the host asks for — when that wait ends before the request's deadline
// (without one, within MaxWait, default a minute). Otherwise the limited answer goes up to
// go-github, which reports it as a rate limit error. go-github never sees a limit that was
// waited out, so it does not refuse later requests on its own clock. A read (GET, HEAD)
// answered with a 5xx other than 501 is tried again too, after Retry-After or a jittered
// backoff: it changes nothing on the host. A write that failed is not retried — GitHub may
// have done it — and fails the cycle; the next cycle reads the state afresh and completes it
// (docs/design.md §7).
func rateLimits(next http.RoundTripper, opts Options) http.RoundTripper {
	retries := opts.MaxRetries
	if retries <= 0 {
		retries = 3
	}
	maxWait := opts.MaxWait
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	return httpretry.Policy{MaxAttempts: retries + 1, Base: retryBase, Max: retryMax, MaxWait: maxWait,
		Classify: retryable, Now: opts.Now, Sleep: opts.Sleep}.Transport(next)
}

// The backoff between retries of a read's server error that names no Retry-After: jittered,
// doubling from the first to the largest.
const (
	retryBase = 500 * time.Millisecond
	retryMax  = 8 * time.Second
)

// retryable is rateLimited, and a read's server error (a 5xx other than 501 Not Implemented
// to a GET or HEAD).
func retryable(resp *http.Response, err error, now time.Time) (retry bool, after time.Duration, asked bool) {
	if err == nil && resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented &&
		resp.Request != nil && (resp.Request.Method == http.MethodGet || resp.Request.Method == http.MethodHead) {
		return httpretry.Transient(resp, nil, now)
	}
	return rateLimited(resp, err, now)
}

// defaultSecondaryWait is GitHub's advice for a secondary limit without Retry-After.
const defaultSecondaryWait = time.Minute

// rateLimited classifies GitHub's rate-limited answers, with the wait each asks for.
func rateLimited(resp *http.Response, err error, now time.Time) (retry bool, after time.Duration, asked bool) {
	if err != nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden) {
		return false, 0, false
	}
	if d, ok := httpretry.RetryAfter(resp.Header.Get("Retry-After"), now); ok {
		return true, d, true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return true, max(time.Unix(reset, 0).Sub(now), 0) + time.Second, true
		}
		return true, defaultSecondaryWait, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return true, defaultSecondaryWait, true
	}
	// A 403 is a secondary limit only when the body says so; otherwise it is a permission error.
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if rerr == nil && bytes.Contains(bytes.ToLower(data), []byte("secondary rate limit")) {
		return true, defaultSecondaryWait, true
	}
	return false, 0, false
}

// CreateCommits makes commits through the Git Data API — a blob, a tree on the parent's tree
// and a commit for each, then the branch's ref — so that GitHub signs them ("Verified"): the
// commits name an author but no committer, which GitHub then is. Each has exactly the
// message, file and content given, on the commit before it. The branch is created (with no
// lease) or moved from its lease: fast-forward only for the base branch, forced for a pull
// request's, whose lease is checked first. A branch that is elsewhere is host.ErrBranchMoved,
// and then no ref moved (the commits made stay unreferenced).
func (g *Client) CreateCommits(ctx context.Context, c host.CommitsOnBranch) ([]string, error) {
	if err := g.authFailed(ctx); err != nil {
		return nil, err
	}
	moved := func(why string) ([]string, error) {
		return nil, fmt.Errorf("%s: commit to %s through the API: %w: %s", g, c.Branch, host.ErrBranchMoved, why)
	}
	head, exists, err := g.BranchHead(ctx, c.Branch)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Lease == "" && exists:
		return moved("it exists")
	case c.Lease != "" && !exists:
		return moved("it is gone")
	case c.Lease != "" && head != c.Lease:
		return moved("it is at " + head[:min(12, len(head))])
	}
	parent, _, err := g.client.Git.GetCommit(ctx, g.owner, g.repo, c.Parent)
	if err != nil {
		return nil, g.fail("read commit "+c.Parent[:min(12, len(c.Parent))], err)
	}
	parentSHA, treeSHA := parent.GetSHA(), parent.GetTree().GetSHA()
	shas := make([]string, 0, len(c.Commits))
	for _, nc := range c.Commits {
		blob, _, err := g.client.Git.CreateBlob(ctx, g.owner, g.repo, &gh.Blob{
			Content: gh.String(base64.StdEncoding.EncodeToString(nc.Content)), Encoding: gh.String("base64"),
		})
		if err != nil {
			return nil, g.fail("create blob of "+nc.File, err)
		}
		tree, _, err := g.client.Git.CreateTree(ctx, g.owner, g.repo, treeSHA, []*gh.TreeEntry{{
			Path: gh.String(nc.File), Mode: gh.String(nc.Mode), Type: gh.String("blob"), SHA: blob.SHA,
		}})
		if err != nil {
			return nil, g.fail("create tree with "+nc.File, err)
		}
		when := gh.Timestamp{Time: nc.When}
		made, _, err := g.client.Git.CreateCommit(ctx, g.owner, g.repo, &gh.Commit{
			Message: gh.String(nc.Message), Tree: &gh.Tree{SHA: tree.SHA}, Parents: []*gh.Commit{{SHA: gh.String(parentSHA)}},
			Author: &gh.CommitAuthor{Name: gh.String(nc.AuthorName), Email: gh.String(nc.AuthorEmail), Date: &when},
		}, nil)
		if err != nil {
			return nil, g.fail("create commit of "+nc.File, err)
		}
		parentSHA, treeSHA = made.GetSHA(), tree.GetSHA()
		shas = append(shas, parentSHA)
	}
	ref := &gh.Reference{Ref: gh.String("refs/heads/" + c.Branch), Object: &gh.GitObject{SHA: gh.String(parentSHA)}}
	if !exists {
		_, _, err = g.client.Git.CreateRef(ctx, g.owner, g.repo, ref)
	} else {
		_, _, err = g.client.Git.UpdateRef(ctx, g.owner, g.repo, ref, !c.FastForward)
	}
	if isStatus(err, http.StatusUnprocessableEntity) {
		// "Update is not a fast forward", "Reference already exists": someone else moved it.
		var er *gh.ErrorResponse
		errors.As(err, &er)
		return moved(errorText(er))
	}
	if err != nil {
		return nil, g.fail("move "+c.Branch, err)
	}
	return shas, nil
}

// RefusesUncheckedMerge answers "may a pull request into base be merged while base requires no
// status checks?" from the repository's settings: "" when github.allowAutoMergeWithoutChecks
// allows it, else the refusal, naming the pull request (name) and the setting.
func (g *Client) RefusesUncheckedMerge(base, name string) string {
	if g.uncheckedMerge {
		return ""
	}
	return fmt.Sprintf("auto-merge refused: branch %s requires no status checks; %s waits for review (github.allowAutoMergeWithoutChecks allows it)", base, name)
}
