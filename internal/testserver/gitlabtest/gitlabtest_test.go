package gitlabtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return at }

// call sends one API request and returns the status and the decoded body.
func call(t *testing.T, s *Server, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+"/api/v4/"+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

// repo makes a repository whose branch "feature" is one commit ahead of main.
func repo(t *testing.T) *gittest.Server {
	t.Helper()
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n", "b.txt": "1\n"})
	g.Commit("platform", map[string]string{"a.txt": "2\n"}, "two\n\nAutoscaler-To: 2", "Ann <ann@example.com>")
	g.Git("platform", "branch", "feature", "main")
	g.Git("platform", "update-ref", "refs/heads/main", "main~1")
	return g
}

func TestServerValidatesAsGitLabDoes(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock))
	tok := s.Token()
	const mrs = "projects/acme%2Fplatform/merge_requests"
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		field, msg                      string // the body's field ("message" or "error") and its text
	}{
		{name: "bad token", token: "wrong", method: "GET", path: mrs, status: 401, field: "message", msg: "401 Unauthorized"},
		{name: "unknown project", token: tok, method: "GET", path: "projects/acme%2Fnope/merge_requests", status: 404, field: "message", msg: "404 Project Not Found"},
		{name: "project by id", token: tok, method: "GET", path: "projects/42", status: 200},
		{name: "missing title", token: tok, method: "POST", path: mrs, body: `{"source_branch":"feature","target_branch":"main"}`, status: 400, field: "error", msg: "title is missing"},
		{name: "missing source branch", token: tok, method: "POST", path: mrs, body: `{"title":"t","source_branch":"nope","target_branch":"main"}`, status: 422},
		{name: "same branch", token: tok, method: "POST", path: mrs, body: `{"title":"t","source_branch":"main","target_branch":"main"}`, status: 409},
		{name: "opened", token: tok, method: "POST", path: mrs, body: `{"title":"t","source_branch":"feature","target_branch":"main","labels":"autoscaler,scale-up"}`, status: 201},
		{name: "unknown merge request", token: tok, method: "GET", path: mrs + "/9", status: 404, field: "message", msg: "404 Not found"},
		{name: "update without attributes", token: tok, method: "PUT", path: mrs + "/1", body: `{}`, status: 400},
		{name: "bad state event", token: tok, method: "PUT", path: mrs + "/1", body: `{"state_event":"merge"}`, status: 400, field: "error", msg: "state_event does not have a valid value"},
		{name: "merge of another sha", token: tok, method: "PUT", path: mrs + "/1/merge", body: `{"sha":"` + strings.Repeat("1", 40) + `"}`, status: 409},
		{name: "unknown branch", token: tok, method: "GET", path: "projects/acme%2Fplatform/repository/branches/nope", status: 404, field: "message", msg: "404 Branch Not Found"},
		{name: "default branch is protected", token: tok, method: "DELETE", path: "projects/acme%2Fplatform/repository/branches/main", status: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, s, tc.token, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.status, status, "%v", body)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, body[tc.field])
			}
		})
	}
	status, body := call(t, s, tok, "POST", mrs, `{"title":"again","source_branch":"feature","target_branch":"main"}`)
	assert.Equal(t, 409, status)
	assert.Equal(t, []any{"Another open merge request already exists for this source branch: !1"}, body["message"])
	assert.Equal(t, []string{"POST /api/v4/projects/acme%2Fplatform/merge_requests"}, s.Writes(), "only accepted writes count")

	mr := s.MergeRequests()[0]
	assert.Equal(t, []string{"autoscaler", "scale-up"}, mr.Labels)
	assert.Equal(t, "mergeable", mr.DetailedStatus)
	assert.Equal(t, g.HeadSHA("platform", "feature"), mr.HeadSHA)
}

// client is the official Go client, pointed at the server as at a self-managed instance.
func client(t *testing.T, s *Server) *gitlab.Client {
	t.Helper()
	c, err := gitlab.NewClient(s.Token(), gitlab.WithBaseURL(s.URL()), gitlab.WithoutRetries())
	require.NoError(t, err)
	return c
}

// TestAutoMergeWaitsForThePipelineAndTheApprovals sets auto-merge while the pipeline runs and
// an approval is missing: the merge request merges once both are done, squashed with the
// message given, as one squash commit under a merge commit that carries the same message.
func TestAutoMergeWaitsForThePipelineAndTheApprovals(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock), WithPipelinesMustSucceed())
	c := client(t, s)
	pid := s.ProjectPath()
	mr, _, err := c.MergeRequests.CreateMergeRequest(pid, &gitlab.CreateMergeRequestOptions{
		Title: gitlab.Ptr("two"), SourceBranch: gitlab.Ptr("feature"), TargetBranch: gitlab.Ptr("main"),
	})
	require.NoError(t, err)
	head := g.HeadSHA("platform", "feature")
	base := g.HeadSHA("platform", "main")

	// No pipeline yet, and pipelines must succeed: neither now nor by waiting.
	_, _, err = c.MergeRequests.AcceptMergeRequest(pid, mr.IID, &gitlab.AcceptMergeRequestOptions{AutoMerge: gitlab.Ptr(true)})
	var er *gitlab.ErrorResponse
	require.ErrorAs(t, err, &er)
	assert.Equal(t, 405, er.Response.StatusCode)

	s.SetPipeline(PipelineRunning)
	s.SetApprovalsRequired(1)
	msg := "two\n\nAutoscaler-To: 2\n"
	got, _, err := c.MergeRequests.AcceptMergeRequest(pid, mr.IID, &gitlab.AcceptMergeRequestOptions{
		AutoMerge: gitlab.Ptr(true), Squash: gitlab.Ptr(true), SHA: gitlab.Ptr(head),
		SquashCommitMessage: gitlab.Ptr(msg), MergeCommitMessage: gitlab.Ptr(msg), ShouldRemoveSourceBranch: gitlab.Ptr(true),
	})
	require.NoError(t, err)
	assert.Equal(t, "opened", got.State)
	assert.True(t, got.MergeWhenPipelineSucceeds)
	assert.Equal(t, "ci_still_running", got.DetailedMergeStatus)
	require.NotNil(t, got.HeadPipeline)
	assert.Equal(t, "running", got.HeadPipeline.Status)

	s.SetPipeline(PipelineSuccess)
	assert.Equal(t, base, g.HeadSHA("platform", "main"), "still waiting for an approval")
	assert.Equal(t, "not_approved", s.MergeRequests()[0].DetailedStatus)

	s.Approve(int(mr.IID))
	done, _, err := c.MergeRequests.GetMergeRequest(pid, mr.IID, nil)
	require.NoError(t, err)
	assert.Equal(t, "merged", done.State)
	log := g.Log("platform", "main")
	require.Equal(t, done.MergeCommitSHA, log[0].SHA)
	assert.Equal(t, []string{base, done.SquashCommitSHA}, log[0].Parents, "a merge commit of the squash commit")
	assert.Equal(t, msg, g.RawMessage("platform", log[0].SHA))
	assert.Equal(t, msg, g.RawMessage("platform", done.SquashCommitSHA))
	assert.Equal(t, "2\n", g.ReadFile("platform", "main", "a.txt"))
	assert.Empty(t, g.HeadSHA("platform", "feature"), "should_remove_source_branch")

	_, _, err = c.MergeRequests.AcceptMergeRequest(pid, mr.IID, nil)
	require.ErrorAs(t, err, &er)
	assert.Equal(t, 405, er.Response.StatusCode, "a merged merge request does not merge again")
}

// TestAutoMergeIsCancelledByNewCommits pushes to the source after auto-merge was set: GitLab
// does not merge a change other than the one it was asked to.
func TestAutoMergeIsCancelledByNewCommits(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock))
	c := client(t, s)
	mr, _, err := c.MergeRequests.CreateMergeRequest(s.ProjectPath(), &gitlab.CreateMergeRequestOptions{
		Title: gitlab.Ptr("two"), SourceBranch: gitlab.Ptr("feature"), TargetBranch: gitlab.Ptr("main"),
	})
	require.NoError(t, err)
	s.SetPipeline(PipelineRunning)
	got, _, err := c.MergeRequests.AcceptMergeRequest(s.ProjectPath(), mr.IID, &gitlab.AcceptMergeRequestOptions{AutoMerge: gitlab.Ptr(true)})
	require.NoError(t, err)
	require.True(t, got.MergeWhenPipelineSucceeds)

	g.Git("platform", "update-ref", "refs/heads/feature", g.Commit("platform", map[string]string{"b.txt": "9\n"}, "other", "Bob <bob@example.com>"))
	s.SetPipeline(PipelineSuccess)
	m := s.MergeRequests()[0]
	assert.Equal(t, "opened", m.State)
	assert.False(t, m.AutoMerge)
}

// TestFastForwardNeedsARebase: with the fast-forward merge method, a source branch that is
// behind its target cannot merge, and a rebased one merges as its squash commit alone.
func TestFastForwardNeedsARebase(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock), WithMergeMethod(MergeFastForwardOnly))
	c := client(t, s)
	pid := s.ProjectPath()
	g.Commit("platform", map[string]string{"b.txt": "2\n"}, "unrelated", "Bob <bob@example.com>") // main moves on
	mr, _, err := c.MergeRequests.CreateMergeRequest(pid, &gitlab.CreateMergeRequestOptions{
		Title: gitlab.Ptr("two"), SourceBranch: gitlab.Ptr("feature"), TargetBranch: gitlab.Ptr("main"),
	})
	require.NoError(t, err)
	assert.Equal(t, "need_rebase", mr.DetailedMergeStatus)
	_, _, err = c.MergeRequests.AcceptMergeRequest(pid, mr.IID, &gitlab.AcceptMergeRequestOptions{Squash: gitlab.Ptr(true)})
	var er *gitlab.ErrorResponse
	require.ErrorAs(t, err, &er)
	assert.Equal(t, 405, er.Response.StatusCode)

	// Rebuilt on the new main (as the autoscaler rebuilds its branch), it fast-forwards: the
	// rebuilt commit has main's tree with feature's change.
	newMain := g.HeadSHA("platform", "main")
	tree := strings.TrimSpace(g.Git("platform", "merge-tree", "--write-tree", newMain, "feature"))
	rebuilt := strings.TrimSpace(g.Git("platform", "commit-tree", tree, "-p", newMain, "-m", "two"))
	g.Git("platform", "update-ref", "refs/heads/feature", rebuilt)
	done, _, err := c.MergeRequests.AcceptMergeRequest(pid, mr.IID, &gitlab.AcceptMergeRequestOptions{
		Squash: gitlab.Ptr(true), SquashCommitMessage: gitlab.Ptr("two\n\nAutoscaler-To: 2\n"),
	})
	require.NoError(t, err)
	assert.Equal(t, "merged", done.State)
	log := g.Log("platform", "main")
	assert.Equal(t, done.SquashCommitSHA, log[0].SHA, "fast-forward: the squash commit is the new main")
	assert.Equal(t, []string{newMain}, log[0].Parents)
	assert.Empty(t, done.MergeCommitSHA)
	assert.Equal(t, "2\n", g.ReadFile("platform", "main", "b.txt"))
}

// TestListsArePaginated lists 130 merge requests of one branch through the client's pages.
func TestListsArePaginated(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock))
	s.SeedClosedMergeRequests("feature", "main", 130)
	c := client(t, s)
	opts := &gitlab.ListProjectMergeRequestsOptions{
		SourceBranch: gitlab.Ptr("feature"), State: gitlab.Ptr("all"), ListOptions: gitlab.ListOptions{PerPage: 500},
	}
	var all []*gitlab.BasicMergeRequest
	pages := 0
	for {
		list, resp, err := c.MergeRequests.ListProjectMergeRequests(s.ProjectPath(), opts)
		require.NoError(t, err)
		pages++
		all = append(all, list...)
		assert.Equal(t, int64(130), resp.TotalItems)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	assert.Equal(t, 2, pages, "per_page is capped at 100")
	require.Len(t, all, 130)
	assert.Equal(t, int64(130), all[0].IID, "newest first")
	assert.Equal(t, int64(1), all[129].IID)
}

func TestRateLimitOnce(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock))
	s.RateLimitOnce(3 * time.Second)
	req, err := http.NewRequest("GET", s.URL()+"/api/v4/projects/42", nil)
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", s.Token())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"))
	status, _ := call(t, s, s.Token(), "GET", "projects/42", "")
	assert.Equal(t, 200, status, "only once")
}

// TestFailOnce: queued server errors answer the next requests in order, with Retry-After only
// when asked, and change nothing; the request after them is served.
func TestFailOnce(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform", WithClock(clock))
	s.FailOnce(503, 7*time.Second)
	s.FailOnce(500, 0)
	for _, want := range []struct {
		status     int
		retryAfter string
	}{{503, "7"}, {500, ""}} {
		req, err := http.NewRequest("POST", s.URL()+"/api/v4/projects/42/merge_requests", strings.NewReader(`{"source_branch":"feature","target_branch":"main","title":"t"}`))
		require.NoError(t, err)
		req.Header.Set("PRIVATE-TOKEN", s.Token())
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want.status, resp.StatusCode)
		assert.Equal(t, want.retryAfter, resp.Header.Get("Retry-After"))
	}
	assert.Empty(t, s.MergeRequests(), "a failed request creates nothing")
	assert.Empty(t, s.Writes())
	status, _ := call(t, s, s.Token(), "GET", "projects/42", "")
	assert.Equal(t, 200, status, "served after the failures")
}

// TestTokenOpensGitOverHTTPS: GitLab takes an access token as the password of any username.
func TestTokenOpensGitOverHTTPS(t *testing.T) {
	g := repo(t)
	s := New(t, g, "platform")
	for _, tc := range []struct {
		user, password string
		ok             bool
	}{
		{"oauth2", s.Token(), true},
		{"project_42_bot", s.Token(), true},
		{"oauth2", "glpat-wrong", false},
	} {
		req, err := http.NewRequest("GET", g.URL("platform")+"/info/refs?service=git-upload-pack", nil)
		require.NoError(t, err)
		req.SetBasicAuth(tc.user, tc.password)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, tc.ok, resp.StatusCode == 200, "%s: %d", tc.user, resp.StatusCode)
	}
}
