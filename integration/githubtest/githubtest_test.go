package githubtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/integration/gittest"
)

// call sends one API request with a token and returns the status and the decoded body.
func call(t *testing.T, s *Server, token, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func TestServerValidatesAsGitHubDoes(t *testing.T) {
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n"})
	g.Git("platform", "branch", "same", "main")
	s := New(t, g, "platform")
	tok := s.Token()
	// "feature" is one commit ahead of main; "same" is main itself.
	g.Commit("platform", map[string]string{"a.txt": "2\n"}, "two", "Ann <ann@example.com>")
	g.Git("platform", "branch", "feature", "main")
	g.Git("platform", "update-ref", "refs/heads/main", "main~1")

	for _, tc := range []struct {
		name   string
		token  string
		method string
		path   string
		body   string
		status int
		msg    string
	}{
		{name: "bad token", token: "wrong", method: "GET", path: "repos/acme/platform/pulls", status: 401, msg: "Bad credentials"},
		{name: "unknown repository", token: tok, method: "GET", path: "repos/acme/nope/pulls", status: 404, msg: "Not Found"},
		{name: "missing head branch", token: tok, method: "POST", path: "repos/acme/platform/pulls", body: `{"title":"t","head":"missing","base":"main"}`, status: 422, msg: "Validation Failed"},
		{name: "no commits between", token: tok, method: "POST", path: "repos/acme/platform/pulls", body: `{"title":"t","head":"same","base":"main"}`, status: 422, msg: "No commits between main and same"},
		{name: "opened", token: tok, method: "POST", path: "repos/acme/platform/pulls", body: `{"title":"t","head":"feature","base":"main"}`, status: 201},
		{name: "duplicate open pull request", token: tok, method: "POST", path: "repos/acme/platform/pulls", body: `{"title":"t","head":"acme:feature","base":"main"}`, status: 422, msg: "A pull request already exists for acme:feature."},
		{name: "unknown pull request", token: tok, method: "GET", path: "repos/acme/platform/pulls/9", status: 404, msg: "Not Found"},
		{name: "not protected", token: tok, method: "GET", path: "repos/acme/platform/branches/main/protection/required_status_checks", status: 404, msg: "Branch not protected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, s, tc.token, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.status, status)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, body["message"])
			}
		})
	}
	assert.Equal(t, []string{"POST /repos/acme/platform/pulls"}, s.Writes(), "only accepted writes count")

	s.SetRequiredChecks("ci/test")
	s.SetCheckState("pending")
	status, body := call(t, s, tok, "PUT", "repos/acme/platform/pulls/1/merge", `{"merge_method":"squash"}`)
	assert.Equal(t, 405, status)
	assert.Equal(t, `Required status check "ci/test" is expected.`, body["message"])

	s.SetCheckState("success")
	status, body = call(t, s, tok, "PUT", "repos/acme/platform/pulls/1/merge", `{"merge_method":"squash","commit_title":"two (#1)","commit_message":"squashed"}`)
	require.Equal(t, 200, status, "%v", body)
	log := g.Log("platform", "main")
	assert.Equal(t, body["sha"], log[0].SHA)
	assert.Len(t, log[0].Parents, 1, "a squash commit")
	assert.Equal(t, "two (#1)\n\nsquashed\n", g.RawMessage("platform", log[0].SHA))
	assert.Equal(t, "2\n", g.ReadFile("platform", "main", "a.txt"))

	status, _ = call(t, s, tok, "PUT", "repos/acme/platform/pulls/1/merge", `{"merge_method":"squash"}`)
	assert.Equal(t, 405, status, "a merged pull request is not mergeable again")
	prs := s.PullRequests()
	require.Len(t, prs, 1)
	assert.True(t, prs[0].Merged)
	assert.Equal(t, "closed", prs[0].State)
}

func TestRateLimitOnce(t *testing.T) {
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n"})
	s := New(t, g, "platform")
	s.RateLimitOnce(http.StatusTooManyRequests, 0)
	status, _ := call(t, s, s.Token(), "GET", "repos/acme/platform/pulls", "")
	assert.Equal(t, 429, status)
	status, _ = call(t, s, s.Token(), "GET", "repos/acme/platform/pulls", "")
	assert.Equal(t, 200, status, "only once")
	assert.Equal(t, 2, s.Requests())
}
