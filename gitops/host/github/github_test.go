package github

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

const ghFile = "envs/prod/web/values.yaml"

// ghFixture is a Git server with a pushed branch "feature" one commit ahead of main, the fake
// GitHub over it, and a provider with a recording sleep.
type ghFixture struct {
	git       *gittest.Server
	gh        *githubtest.Server
	ws        *gitrepo.Workspace
	host      *Client
	tokenFile string
	head      string
	sleeps    []time.Duration
}

func newGHFixture(t *testing.T) *ghFixture {
	t.Helper()
	f := &ghFixture{git: gittest.NewServer(t)}
	base := f.git.CreateRepo("platform", map[string]string{ghFile: "web:\n  replicaCount: 3\n"})
	f.gh = githubtest.New(t, f.git, "platform")
	var err error
	f.ws, err = gitrepo.Open(context.Background(), gitrepo.Options{
		Name: "platform", URL: f.git.URL("platform"), CacheDir: t.TempDir(),
		Auth:   &gitrepo.Auth{Username: f.git.User(), PasswordEnv: "PW"},
		Getenv: func(string) string { return f.git.Password() },
	})
	require.NoError(t, err)
	require.Equal(t, base, f.ws.Base())
	f.head, err = f.ws.CommitOnBase(gitrepo.CommitRequest{File: ghFile, Content: []byte("web:\n  replicaCount: 6\n"), Message: "six\n", When: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.NoError(t, f.ws.PushBranch(context.Background(), gitrepo.BranchPush{Branch: "feature", Commit: f.head}))
	f.tokenFile = filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(f.tokenFile, []byte(f.gh.Token()+"\n"), 0o600))
	f.host = f.provider(t, f.gh.Owner(), f.gh.Repo())
	return f
}

func (f *ghFixture) provider(t *testing.T, owner, repo string) *Client {
	t.Helper()
	g, err := New(&svcconfig.GitHubRepo{Owner: owner, Repo: repo, APIURL: f.gh.URL(), TokenSource: svcconfig.TokenSource{TokenFile: f.tokenFile}}, Options{
		Sleep: func(_ context.Context, d time.Duration) error {
			f.sleeps = append(f.sleeps, d)
			return nil
		},
	})
	require.NoError(t, err)
	return g
}

func TestGitHubPullRequestCalls(t *testing.T) {
	f := newGHFixture(t)
	ctx := context.Background()
	g := f.host

	pr, err := g.CreatePullRequest(ctx, host.NewPullRequest{Title: "six", Body: "body", Head: "feature", Base: "main"})
	require.NoError(t, err)
	assert.Equal(t, 1, pr.Number)
	assert.Equal(t, f.head, pr.HeadSHA)
	assert.Equal(t, "open", pr.State)

	_, err = g.CreatePullRequest(ctx, host.NewPullRequest{Title: "again", Head: "feature", Base: "main"})
	assert.ErrorIs(t, err, host.ErrPullRequestExists, "GitHub's 422 for a second open pull request of one head")
	_, err = g.CreatePullRequest(ctx, host.NewPullRequest{Title: "x", Head: "missing", Base: "main"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "422")

	list, err := g.PullRequests(ctx, "feature", "open")
	require.NoError(t, err)
	require.Len(t, list, 1)
	none, err := g.PullRequests(ctx, "other", "all")
	require.NoError(t, err)
	assert.Empty(t, none)

	pr, err = g.UpdatePullRequest(ctx, 1, "six!", "new body")
	require.NoError(t, err)
	assert.Equal(t, "six!", pr.Title)
	require.NoError(t, g.AddLabels(ctx, 1, []string{"autoscaler", "scale-up"}))
	require.NoError(t, g.RemoveLabel(ctx, 1, "scale-up"))
	require.NoError(t, g.RemoveLabel(ctx, 1, "never-there"), "a missing label is no error")
	pr, err = g.PullRequest(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"autoscaler"}, pr.Labels)
	require.NotNil(t, pr.Mergeable)
	assert.True(t, *pr.Mergeable)

	req, err := g.RequiredChecks(ctx, "main")
	require.NoError(t, err)
	assert.Empty(t, req, "unprotected")
	f.gh.SetRequiredChecks("ci/test")
	req, err = g.RequiredChecks(ctx, "main")
	require.NoError(t, err)
	assert.Equal(t, []string{"ci/test"}, req)

	for _, state := range []string{"pending", "failure", "success"} {
		f.gh.SetCheckState(state)
		st, err := g.ChecksState(ctx, f.head, req)
		require.NoError(t, err)
		assert.Equal(t, state, st.State)
	}

	f.gh.SetCheckState("pending")
	_, err = g.Merge(ctx, 1, host.MergeRequest{Method: "squash", Title: "t", Message: "m", SHA: f.head})
	assert.ErrorIs(t, err, host.ErrNotMergeable, "405 while a required check is pending")
	f.gh.SetCheckState("success")
	_, err = g.Merge(ctx, 1, host.MergeRequest{Method: "squash", Title: "t", Message: "m", SHA: strings.Repeat("0", 40)})
	assert.ErrorIs(t, err, host.ErrNotMergeable, "409 when the head moved")
	sha, err := g.Merge(ctx, 1, host.MergeRequest{Method: "squash", Title: "six", Message: "body\n\nKey: v\n", SHA: f.head})
	require.NoError(t, err)
	assert.Equal(t, sha, f.git.HeadSHA("platform", "main"))
	assert.Equal(t, "six\n\nbody\n\nKey: v\n", f.git.RawMessage("platform", sha))

	head, ok, err := g.BranchHead(ctx, "feature")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, f.head, head)
	require.NoError(t, g.DeleteBranch(ctx, "feature"))
	require.NoError(t, g.DeleteBranch(ctx, "feature"), "deleting a deleted branch is no error")
	_, ok, err = g.BranchHead(ctx, "feature")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestGitHubClosePullRequest(t *testing.T) {
	f := newGHFixture(t)
	ctx := context.Background()
	g := f.host
	pr, err := g.CreatePullRequest(ctx, host.NewPullRequest{Title: "six", Head: "feature", Base: "main"})
	require.NoError(t, err)
	require.NoError(t, g.AddLabels(ctx, pr.Number, []string{"autoscaler-withdrawn"}))
	f.gh.ResetCounts()

	require.NoError(t, g.ClosePullRequest(ctx, pr.Number))
	assert.Equal(t, []string{"PATCH /repos/acme/platform/pulls/1"}, f.gh.Writes(), "one state change, no comment")
	closed, err := g.PullRequests(ctx, "feature", "closed")
	require.NoError(t, err)
	require.Len(t, closed, 1)
	assert.Equal(t, "closed", closed[0].State)
	assert.False(t, closed[0].Merged)
	assert.False(t, closed[0].ClosedAt.IsZero(), "closed_at is set")
	assert.Equal(t, []string{"autoscaler-withdrawn"}, closed[0].Labels, "a closed pull request's labels are readable")
	assert.Equal(t, f.head, closed[0].HeadSHA, "the head is frozen")
	open, err := g.PullRequests(ctx, "feature", "open")
	require.NoError(t, err)
	assert.Empty(t, open)

	err = g.ClosePullRequest(ctx, 9)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "close pull request #9")
}

func TestGitHubUnknownRepository(t *testing.T) {
	f := newGHFixture(t)
	_, err := f.provider(t, f.gh.Owner(), "nope").PullRequests(context.Background(), "feature", "open")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	assert.Contains(t, err.Error(), "github acme/nope: list pull requests of feature")
}

func TestGitHubRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		wait     time.Duration
		deadline time.Duration
		sleeps   int
		limited  bool
	}{
		{name: "primary limit: 403 and reset", status: http.StatusForbidden, wait: 30 * time.Second, sleeps: 1},
		{name: "secondary limit: 429 and Retry-After", status: http.StatusTooManyRequests, wait: 30 * time.Second, sleeps: 1},
		{name: "past the deadline: reported, not waited", status: http.StatusTooManyRequests, wait: 30 * time.Second, deadline: 5 * time.Second, limited: true},
		{name: "longer than the longest wait", status: http.StatusTooManyRequests, wait: time.Hour, limited: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newGHFixture(t)
			f.gh.RateLimitOnce(tc.status, tc.wait)
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			list, err := f.host.PullRequests(ctx, "feature", "open")
			assert.Len(t, f.sleeps, tc.sleeps)
			if tc.limited {
				assert.ErrorIs(t, err, host.ErrRateLimited)
				return
			}
			require.NoError(t, err)
			assert.Empty(t, list)
			assert.InDelta(t, tc.wait.Seconds(), f.sleeps[0].Seconds(), 1.01, "waited what the host asked")
			assert.Equal(t, 2, f.gh.Requests(), "the limited request, then its retry")
		})
	}
}

func TestGitHubAuthFailureIsReportedOnce(t *testing.T) {
	f := newGHFixture(t)
	bad := "ghp_not-the-right-token-42"
	require.NoError(t, os.WriteFile(f.tokenFile, []byte(bad), 0o600))
	ctx := context.Background()

	_, err := f.host.PullRequests(ctx, "feature", "open")
	require.ErrorIs(t, err, host.ErrHostAuth)
	assert.Contains(t, err.Error(), "github acme/platform")
	assert.Contains(t, err.Error(), "Bad credentials")
	assert.NotContains(t, err.Error(), bad)
	assert.NotContains(t, err.Error(), f.gh.Token())
	n := f.gh.Requests()

	_, err = f.host.CreatePullRequest(ctx, host.NewPullRequest{Title: "x", Head: "feature", Base: "main"})
	assert.ErrorIs(t, err, host.ErrHostAuth)
	assert.Equal(t, n, f.gh.Requests(), "the rejected token is not sent again")

	require.NoError(t, os.WriteFile(f.tokenFile, []byte(f.gh.Token()), 0o600))
	_, err = f.host.PullRequests(ctx, "feature", "open")
	assert.NoError(t, err, "a rotated token is used at once")

	require.NoError(t, os.Remove(f.tokenFile))
	_, err = f.host.PullRequests(ctx, "feature", "open")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read github token")
}

func TestNewGitHubURLs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     svcconfig.GitHubRepo
		base    string
		upload  string
		wantErr string
	}{
		{name: "github.com by default", cfg: svcconfig.GitHubRepo{Owner: "a", Repo: "b"}, base: "https://api.github.com/", upload: "https://uploads.github.com/"},
		{name: "enterprise", cfg: svcconfig.GitHubRepo{Owner: "a", Repo: "b", APIURL: "https://ghe.example.com/api/v3"}, base: "https://ghe.example.com/api/v3/", upload: "https://ghe.example.com/api/uploads/"},
		{name: "credentials in the URL are dropped", cfg: svcconfig.GitHubRepo{Owner: "a", Repo: "b", APIURL: "https://u:pw@ghe.example.com/api/v3/"}, base: "https://ghe.example.com/api/v3/", upload: "https://ghe.example.com/api/uploads/"},
		{name: "not http", cfg: svcconfig.GitHubRepo{Owner: "a", Repo: "b", APIURL: "ftp://ghe.example.com/"}, wantErr: "not an http(s) URL"},
		{name: "no owner", cfg: svcconfig.GitHubRepo{Repo: "b"}, wantErr: "owner and repo are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(&tc.cfg, Options{})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.base, g.client.BaseURL.String())
			assert.Equal(t, tc.upload, g.client.UploadURL.String())
		})
	}
}

func TestSummarizeChecks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		states   map[string]string
		required []string
		want     host.CheckState
	}{
		{name: "all passed", states: map[string]string{"a": "success", "b": "success"}, required: []string{"a", "b"}, want: host.CheckState{State: "success"}},
		{name: "one pending", states: map[string]string{"a": "success", "b": "pending"}, required: []string{"a", "b"}, want: host.CheckState{State: "pending", Detail: "b pending"}},
		{name: "not reported is pending", states: map[string]string{}, required: []string{"a"}, want: host.CheckState{State: "pending", Detail: "a not reported"}},
		{name: "a failure wins", states: map[string]string{"a": "pending", "b": "error"}, required: []string{"a", "b"}, want: host.CheckState{State: "failure", Detail: "b error, a pending"}},
		{name: "unrequired checks do not count", states: map[string]string{"a": "success", "lint": "failure"}, required: []string{"a"}, want: host.CheckState{State: "success"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, summarizeChecks(tc.states, tc.required))
		})
	}
}

// TestServerErrorsOfReadsAreRetried: a read answered with a 5xx is tried again (after the
// Retry-After it names, else the backoff) within the bound; a write is not — GitHub may have
// done it — and neither is a 501.
func TestServerErrorsOfReadsAreRetried(t *testing.T) {
	for _, tc := range []struct {
		name       string
		method     string
		status     int
		retryAfter string
		failures   int // answers with status before a 200
		attempts   int
		sleeps     []time.Duration // nil: any backoff, counted by attempts
		final      int
	}{
		{name: "GET 500 once", method: http.MethodGet, status: 500, failures: 1, attempts: 2, final: 200},
		{name: "GET 503 with Retry-After", method: http.MethodGet, status: 503, retryAfter: "2", failures: 1, attempts: 2, sleeps: []time.Duration{2 * time.Second}, final: 200},
		{name: "HEAD 502 twice", method: http.MethodHead, status: 502, failures: 2, attempts: 3, final: 200},
		{name: "GET 500 every time: bounded", method: http.MethodGet, status: 500, failures: 99, attempts: 4, final: 500},
		{name: "GET 501 is not retried", method: http.MethodGet, status: 501, failures: 1, attempts: 1, final: 501},
		{name: "POST 500 is not retried", method: http.MethodPost, status: 500, failures: 1, attempts: 1, final: 500},
		{name: "PATCH 502 is not retried", method: http.MethodPatch, status: 502, failures: 1, attempts: 1, final: 502},
		{name: "PUT 500 is not retried", method: http.MethodPut, status: 500, failures: 1, attempts: 1, final: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attempts := 0
			srv := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				attempts++
				if attempts <= tc.failures {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(tc.status)
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			var sleeps []time.Duration
			rt := rateLimits(requestSettingTransport{handlerTransport{srv}}, Options{Sleep: func(_ context.Context, d time.Duration) error {
				sleeps = append(sleeps, d)
				return nil
			}})
			req, err := http.NewRequest(tc.method, "http://example.invalid/x", nil)
			require.NoError(t, err)
			resp, err := rt.RoundTrip(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, tc.final, resp.StatusCode)
			assert.Equal(t, tc.attempts, attempts)
			assert.Len(t, sleeps, tc.attempts-1)
			if tc.sleeps != nil {
				assert.Equal(t, tc.sleeps, sleeps)
			}
			for _, d := range sleeps {
				assert.LessOrEqual(t, d, retryMax, "a backoff is bounded")
			}
		})
	}
}

// requestSettingTransport sets the response's Request, as net/http's transport does.
type requestSettingTransport struct{ next http.RoundTripper }

func (t requestSettingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if resp != nil {
		resp.Request = r
	}
	return resp, err
}

func TestRateLimitTransportLeavesPermissionErrorsAlone(t *testing.T) {
	// A plain 403 (no rate headers, no secondary-limit text) is not retried.
	srv := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"Resource not accessible by integration"}`))
	})
	var sleeps int
	rt := rateLimits(handlerTransport{srv}, Options{Sleep: func(context.Context, time.Duration) error {
		sleeps++
		return nil
	}})
	req, err := http.NewRequest(http.MethodGet, "http://example.invalid/x", nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Zero(t, sleeps)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "not accessible", "the body is passed on intact")
}

// handlerTransport serves requests with a handler, in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestPullRequestsReadEveryPage: 130 closed pull requests of a branch and one open, all read.
func TestPullRequestsReadEveryPage(t *testing.T) {
	f := newGHFixture(t)
	ctx := context.Background()
	f.gh.SeedClosedPullRequests("feature", "main", 130)
	_, err := f.host.CreatePullRequest(ctx, host.NewPullRequest{Title: "six", Head: "feature", Base: "main"})
	require.NoError(t, err)
	all, err := f.host.PullRequests(ctx, "feature", "all")
	require.NoError(t, err)
	require.Len(t, all, 131)
	assert.Equal(t, 131, all[0].Number, "newest first")
	assert.Equal(t, "open", all[0].State)
}

func TestRequiresUpToDate(t *testing.T) {
	f := newGHFixture(t)
	ctx := context.Background()
	strict, err := f.host.RequiresUpToDate(ctx, "main")
	require.NoError(t, err)
	assert.False(t, strict, "an unprotected branch")
	f.gh.SetRequiredChecks("ci/test")
	f.gh.SetStrictChecks(true)
	strict, err = f.host.RequiresUpToDate(ctx, "main")
	require.NoError(t, err)
	assert.True(t, strict)
}

// TestCreateCommitsHonorsTheLease: commits made through the API move a branch only from its
// lease; a branch elsewhere is host.ErrBranchMoved and stays where it was.
func TestCreateCommitsHonorsTheLease(t *testing.T) {
	f := newGHFixture(t)
	ctx := context.Background()
	base := f.ws.Base()
	c := host.CommitsOnBranch{Branch: "feature", Parent: base, Lease: base, Commits: []host.NewCommit{{
		File: ghFile, Mode: "100644", Content: []byte("web:\n  replicaCount: 9\n"), Message: "nine\n",
		AuthorName: "bot", AuthorEmail: "bot@example.com", When: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
	}}}
	_, err := f.host.CreateCommits(ctx, c)
	require.ErrorIs(t, err, host.ErrBranchMoved, "feature is at its own commit, not at the base")
	assert.Equal(t, f.head, f.git.HeadSHA("platform", "feature"))

	c.Lease = f.head
	shas, err := f.host.CreateCommits(ctx, c)
	require.NoError(t, err)
	require.Len(t, shas, 1)
	assert.Equal(t, shas[0], f.git.HeadSHA("platform", "feature"))
	assert.Equal(t, "web:\n  replicaCount: 9\n", f.git.ReadFile("platform", "feature", ghFile))
	assert.Equal(t, "nine\n", f.git.RawMessage("platform", shas[0]))

	c.Branch, c.Lease = "new-branch", ""
	shas, err = f.host.CreateCommits(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, shas[0], f.git.HeadSHA("platform", "new-branch"), "created")
	_, err = f.host.CreateCommits(ctx, c)
	assert.ErrorIs(t, err, host.ErrBranchMoved, "it exists now")
}

// TestHostMessageQuotingTheTokenIsScrubbed: a host whose error messages quote the request's
// Authorization header (finding 5 of issue 22, on the API's side) shows the token in no
// encoding in the error, the 401 kept for every later call included.
func TestHostMessageQuotingTheTokenIsScrubbed(t *testing.T) {
	const token = "ghp_Qu0ted+Token/ABCDEFGHIJ"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		status := http.StatusUnprocessableEntity
		if strings.HasSuffix(r.URL.Path, "/pulls/7") {
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
		auth := r.Header.Get("Authorization")
		_, _ = io.WriteString(w, `{"message":"rejected `+auth+` (`+base64.StdEncoding.EncodeToString([]byte(strings.TrimPrefix(auth, "Bearer ")))+`)"}`)
	}))
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	g, err := New(&svcconfig.GitHubRepo{Owner: "acme", Repo: "apps", APIURL: srv.URL + "/", TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}, Options{MaxRetries: 1})
	require.NoError(t, err)

	_, err = g.PullRequests(context.Background(), "autoscaler/x", "open")
	require.Error(t, err)
	_, err401 := g.PullRequest(context.Background(), 7)
	require.Error(t, err401)
	assert.ErrorIs(t, err401, host.ErrHostAuth, "the class survives the scrubbing")
	_, again := g.PullRequest(context.Background(), 7)
	for _, e := range []error{err, err401, again} {
		assert.Contains(t, e.Error(), "rejected Bearer <secret>")
		assert.NotContains(t, e.Error(), token)
		assert.NotContains(t, e.Error(), base64.StdEncoding.EncodeToString([]byte(token)))
	}
}
