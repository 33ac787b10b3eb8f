package gitlab_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/gitlab"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gitlabtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// setup makes a repository whose branch autoscaler/shop/web is one commit ahead of main, a
// GitLab over it, and the provider with its token in a file.
func setup(t *testing.T, opts ...gitlabtest.Option) (*gitlab.Client, *gitlabtest.Server, *gittest.Server, string) {
	t.Helper()
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"values.yaml": "replicas: 3\n", "other.txt": "1\n"})
	g.Commit("platform", map[string]string{"values.yaml": "replicas: 6\n"}, "autoscale(shop/web): 3 → 6 replicas\n\nAutoscaler-To: 6", "Bot <bot@example.com>")
	g.Git("platform", "branch", "autoscaler/shop/web", "main")
	g.Git("platform", "update-ref", "refs/heads/main", "main~1")
	s := gitlabtest.New(t, g, "platform", append([]gitlabtest.Option{gitlabtest.WithClock(func() time.Time { return at })}, opts...)...)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(s.Token()+"\n"), 0o600))
	p, err := gitlab.New(&svcconfig.GitLabRepo{Project: s.ProjectPath(), BaseURL: s.URL(), TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}, gitlab.Options{})
	require.NoError(t, err)
	return p, s, g, tokenFile
}

const branch = "autoscaler/shop/web"

func TestMergeRequestLifecycle(t *testing.T) {
	p, s, g, _ := setup(t)
	ctx := context.Background()
	defer func() { assert.NotEmpty(t, s.Writes()) }()

	none, err := p.PullRequests(ctx, branch, "open")
	require.NoError(t, err)
	assert.Empty(t, none)

	pr, err := p.CreatePullRequest(ctx, host.NewPullRequest{Title: "autoscale(shop/web): 3 → 6 replicas", Body: "body", Head: branch, Base: "main"})
	require.NoError(t, err)
	assert.Equal(t, 1, pr.Number)
	assert.Equal(t, "open", pr.State)
	assert.Equal(t, g.HeadSHA("platform", branch), pr.HeadSHA)
	assert.True(t, strings.HasSuffix(pr.URL, "/acme/platform/-/merge_requests/1"), pr.URL)

	_, err = p.CreatePullRequest(ctx, host.NewPullRequest{Title: "again", Head: branch, Base: "main"})
	require.ErrorIs(t, err, host.ErrPullRequestExists)

	require.NoError(t, p.AddLabels(ctx, 1, []string{"autoscaler", "scale-up"}))
	require.NoError(t, p.RemoveLabel(ctx, 1, "scale-up"))
	require.NoError(t, p.RemoveLabel(ctx, 1, "never-had-it"))
	upd, err := p.UpdatePullRequest(ctx, 1, "new title", "new body")
	require.NoError(t, err)
	assert.Equal(t, "new title", upd.Title)

	open, err := p.PullRequests(ctx, branch, "open")
	require.NoError(t, err)
	require.Len(t, open, 1)
	assert.Equal(t, []string{"autoscaler"}, open[0].Labels)
	assert.Equal(t, "new body", open[0].Body)

	full, err := p.PullRequest(ctx, 1)
	require.NoError(t, err)
	require.NotNil(t, full.Mergeable)
	assert.True(t, *full.Mergeable)
	assert.Equal(t, "mergeable", full.MergeableState)

	require.NoError(t, p.ClosePullRequest(ctx, 1))
	closed, err := p.PullRequests(ctx, branch, "closed")
	require.NoError(t, err)
	require.Len(t, closed, 1)
	assert.Equal(t, "closed", closed[0].State)
	assert.False(t, closed[0].Merged)
	assert.Equal(t, at, closed[0].ClosedAt.UTC())

	head, ok, err := p.BranchHead(ctx, branch)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, g.HeadSHA("platform", branch), head)
	require.NoError(t, p.DeleteBranch(ctx, branch))
	require.NoError(t, p.DeleteBranch(ctx, branch), "a branch already gone is no error")
	_, ok, err = p.BranchHead(ctx, branch)
	require.NoError(t, err)
	assert.False(t, ok)
}

// TestMergeIsSquashedOrScheduled: a mergeable merge request merges at once as one squash
// commit; one whose pipeline runs gets auto-merge (ErrMergeScheduled) and merges when GitLab
// sees the pipeline pass; one that conflicts is refused (ErrNotMergeable).
func TestMergeIsSquashedOrScheduled(t *testing.T) {
	ctx := context.Background()
	merge := host.MergeRequest{Method: "squash", Title: "autoscale(shop/web): 3 → 6 replicas", Message: "why\n\nAutoscaler-To: 6\n"}
	want := "autoscale(shop/web): 3 → 6 replicas\n\nwhy\n\nAutoscaler-To: 6\n"

	t.Run("at once, fast-forward", func(t *testing.T) {
		p, s, g, _ := setup(t, gitlabtest.WithMergeMethod(gitlabtest.MergeFastForwardOnly))
		upToDate, err := p.RequiresUpToDate(ctx, "main")
		require.NoError(t, err)
		assert.True(t, upToDate, "a fast-forward project merges only a rebased source")
		_, err = p.CreatePullRequest(ctx, host.NewPullRequest{Title: "t", Head: branch, Base: "main"})
		require.NoError(t, err)
		m := merge
		m.SHA = g.HeadSHA("platform", branch)
		sha, err := p.AutoMerge(ctx, 1, m)
		require.NoError(t, err)
		assert.Equal(t, g.HeadSHA("platform", "main"), sha)
		assert.Equal(t, want, g.RawMessage("platform", sha), "the squash commit carries our message")
		assert.Empty(t, g.HeadSHA("platform", branch), "the source branch is removed")
		assert.Equal(t, "merged", s.MergeRequests()[0].State)
	})
	t.Run("scheduled until the pipeline passes", func(t *testing.T) {
		p, s, g, _ := setup(t, gitlabtest.WithPipelinesMustSucceed())
		upToDate, err := p.RequiresUpToDate(ctx, "main")
		require.NoError(t, err)
		assert.False(t, upToDate, "a merge-commit project merges a source behind its target")
		s.SetPipeline(gitlabtest.PipelineRunning)
		checks, err := p.RequiredChecks(ctx, "main")
		require.NoError(t, err)
		assert.Equal(t, []string{"pipeline"}, checks)
		_, err = p.CreatePullRequest(ctx, host.NewPullRequest{Title: "t", Head: branch, Base: "main"})
		require.NoError(t, err)
		m := merge
		m.SHA = g.HeadSHA("platform", branch)
		st, err := p.ChecksState(ctx, m.SHA, checks)
		require.NoError(t, err)
		assert.Equal(t, "pending", st.State)
		_, err = p.Merge(ctx, 1, m)
		require.ErrorIs(t, err, host.ErrNotMergeable, "not now: the pipeline runs")
		_, err = p.AutoMerge(ctx, 1, m)
		require.ErrorIs(t, err, host.ErrMergeScheduled)
		assert.True(t, s.MergeRequests()[0].AutoMerge)
		s.ResetCounts()
		_, err = p.AutoMerge(ctx, 1, m)
		require.ErrorIs(t, err, host.ErrMergeScheduled)
		assert.Empty(t, s.Writes(), "auto-merge already set at this head: nothing written")

		s.SetPipeline(gitlabtest.PipelineSuccess)
		mr := s.MergeRequests()[0]
		require.Equal(t, "merged", mr.State)
		assert.Equal(t, mr.MergeCommitSHA, g.HeadSHA("platform", "main"))
		assert.Equal(t, want, g.RawMessage("platform", mr.MergeCommitSHA), "the first-parent commit carries our message")
		assert.Equal(t, want, g.RawMessage("platform", mr.SquashCommitSHA))
		merged, err := p.PullRequests(ctx, branch, "closed")
		require.NoError(t, err)
		require.Len(t, merged, 1)
		assert.True(t, merged[0].Merged)
		assert.Equal(t, mr.MergeCommitSHA, merged[0].MergeCommit)
	})
	t.Run("refused on a conflict", func(t *testing.T) {
		p, _, g, _ := setup(t)
		g.Commit("platform", map[string]string{"values.yaml": "replicas: 4\n"}, "a person", "Ann <ann@example.com>")
		_, err := p.CreatePullRequest(ctx, host.NewPullRequest{Title: "t", Head: branch, Base: "main"})
		require.NoError(t, err)
		full, err := p.PullRequest(ctx, 1)
		require.NoError(t, err)
		require.NotNil(t, full.Mergeable)
		assert.False(t, *full.Mergeable)
		m := merge
		m.SHA = g.HeadSHA("platform", branch)
		_, err = p.Merge(ctx, 1, m)
		require.ErrorIs(t, err, host.ErrNotMergeable)
	})
}

// TestListsReadEveryPage: 130 closed merge requests of the branch and one open, all read.
func TestListsReadEveryPage(t *testing.T) {
	p, s, _, _ := setup(t)
	s.SeedClosedMergeRequests(branch, "main", 130)
	ctx := context.Background()
	_, err := p.CreatePullRequest(ctx, host.NewPullRequest{Title: "t", Head: branch, Base: "main"})
	require.NoError(t, err)
	all, err := p.PullRequests(ctx, branch, "all")
	require.NoError(t, err)
	require.Len(t, all, 131)
	assert.Equal(t, 131, all[0].Number, "newest first")
	closed, err := p.PullRequests(ctx, branch, "closed")
	require.NoError(t, err)
	assert.Len(t, closed, 130)
}

// TestRejectedTokenStopsCalls: a 401 is ErrHostAuth, and further calls with the same token
// fail without a request until the token file changes. No error carries the token.
func TestRejectedTokenStopsCalls(t *testing.T) {
	p, s, _, tokenFile := setup(t)
	ctx := context.Background()
	require.NoError(t, os.WriteFile(tokenFile, []byte("glpat-revoked-token-value\n"), 0o600))
	_, err := p.PullRequests(ctx, branch, "open")
	require.ErrorIs(t, err, host.ErrHostAuth)
	assert.NotContains(t, err.Error(), "glpat-revoked-token-value")
	before := s.Requests()
	_, err = p.PullRequests(ctx, branch, "open")
	require.ErrorIs(t, err, host.ErrHostAuth)
	assert.Equal(t, before, s.Requests(), "no request with a token already rejected")

	require.NoError(t, os.WriteFile(tokenFile, []byte(s.Token()+"\n"), 0o600))
	_, err = p.PullRequests(ctx, branch, "open")
	require.NoError(t, err, "a new token is used at once")

	s.RateLimitOnce(5 * time.Minute) // longer than a call may wait
	_, err = p.PullRequests(ctx, branch, "open")
	require.ErrorIs(t, err, host.ErrRateLimited)
	assert.NotContains(t, err.Error(), s.Token())
}

// TestTransientAnswersAreRetried: GitLab's rate limits and server errors are retried through
// the one retry policy (internal/httpretry) with the test's clock and sleep — after the
// wait the server names, or else the backoff — and no more than MaxRetries times; what is
// not transient is not retried. A creation retried through a 500 opens one merge request.
func TestTransientAnswersAreRetried(t *testing.T) {
	type fault struct {
		status int
		after  time.Duration // Retry-After; for 429, RateLimitOnce's wait
	}
	for _, tc := range []struct {
		name     string
		faults   []fault
		create   bool            // CreatePullRequest instead of PullRequests
		sleeps   []time.Duration // exact waits; nil with backoff
		backoffs int             // waits of the backoff, each within [base/2, max)
		requests int             // requests the server saw
		wantErr  string
	}{
		{name: "429 waits Retry-After", faults: []fault{{429, 30 * time.Second}}, sleeps: []time.Duration{30 * time.Second}, requests: 2},
		{name: "503 waits Retry-After", faults: []fault{{503, 7 * time.Second}}, sleeps: []time.Duration{7 * time.Second}, requests: 2},
		{name: "500 backs off", faults: []fault{{500, 0}, {502, 0}}, backoffs: 2, requests: 3},
		{name: "create through 500 opens one", faults: []fault{{500, 0}}, create: true, backoffs: 1, requests: 2},
		{name: "bounded", faults: []fault{{500, 0}, {500, 0}, {500, 0}, {500, 0}}, backoffs: 2, requests: 3, wantErr: "500"},
		{name: "501 is not retried", faults: []fault{{501, 0}}, requests: 1, wantErr: "501"},
		{name: "a wait past MaxWait is not taken", faults: []fault{{503, 5 * time.Minute}}, requests: 1, wantErr: "503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, _, tokenFile := setup(t)
			var sleeps []time.Duration
			p, err := gitlab.New(&svcconfig.GitLabRepo{Project: s.ProjectPath(), BaseURL: s.URL(), TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}, gitlab.Options{
				Now:        func() time.Time { return at },
				Sleep:      func(_ context.Context, d time.Duration) error { sleeps = append(sleeps, d); return nil },
				MaxRetries: 2,
			})
			require.NoError(t, err)
			s.ResetCounts()
			for _, f := range tc.faults {
				if f.status == 429 {
					s.RateLimitOnce(f.after)
				} else {
					s.FailOnce(f.status, f.after)
				}
			}
			ctx := context.Background()
			if tc.create {
				_, err = p.CreatePullRequest(ctx, host.NewPullRequest{Title: "t", Head: branch, Base: "main"})
			} else {
				_, err = p.PullRequests(ctx, branch, "open")
			}
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tc.requests, s.Requests(), "requests")
			if tc.backoffs > 0 {
				require.Len(t, sleeps, tc.backoffs)
				for _, d := range sleeps {
					assert.True(t, d >= 250*time.Millisecond && d < 8*time.Second, "backoff %v", d)
				}
			} else {
				assert.Equal(t, tc.sleeps, sleeps)
			}
			if tc.create {
				assert.Len(t, s.OpenMergeRequests(branch), 1, "exactly one merge request")
			}
		})
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	_, err := gitlab.New(&svcconfig.GitLabRepo{}, gitlab.Options{})
	assert.ErrorContains(t, err, "project is required")
	_, err = gitlab.New(&svcconfig.GitLabRepo{Project: "a/b", BaseURL: "ftp://x"}, gitlab.Options{})
	assert.ErrorContains(t, err, "is not an http(s) URL")
}

// TestHostMessageQuotingTheTokenIsScrubbed: an instance whose error messages quote the
// request's PRIVATE-TOKEN header shows the token in no encoding in the error.
func TestHostMessageQuotingTheTokenIsScrubbed(t *testing.T) {
	const token = "glpat-Qu0ted+Token/ABCDEFGHIJ"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		tok := r.Header.Get("PRIVATE-TOKEN")
		_, _ = io.WriteString(w, `{"message":"token `+tok+` (`+url.QueryEscape(tok)+`, `+base64.StdEncoding.EncodeToString([]byte(tok))+`) may not"}`)
	}))
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))
	g, err := gitlab.New(&svcconfig.GitLabRepo{Project: "acme/apps", BaseURL: srv.URL + "/", TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}, gitlab.Options{MaxRetries: 1})
	require.NoError(t, err)

	_, err = g.PullRequests(context.Background(), "autoscaler/x", "open")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "token <secret> (<secret>, <secret>) may not")
	for _, form := range []string{token, url.QueryEscape(token), base64.StdEncoding.EncodeToString([]byte(token))} {
		assert.NotContains(t, err.Error(), form)
	}
}
