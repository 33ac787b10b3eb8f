package githubtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
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

// TestAppValidatesJWTsAsGitHubDoes mints installation tokens with hand-made JWTs: GitHub
// refuses one that lives longer than ten minutes, has expired, or is signed by another key.
func TestAppValidatesJWTsAsGitHubDoes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n"})
	s := New(t, g, "platform", WithApp(), WithClock(func() time.Time { return now }))
	block, _ := pem.Decode(s.AppPrivateKeyPEM())
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	require.NoError(t, err)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	sign := func(k *rsa.PrivateKey, iss string, iat, exp time.Time) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
			Issuer: iss, IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp),
		}).SignedString(k)
		require.NoError(t, err)
		return tok
	}
	app := strconv.Itoa(DefaultAppID)
	path := "app/installations/" + strconv.Itoa(DefaultInstallationID) + "/access_tokens"
	for _, tc := range []struct {
		name   string
		jwt    string
		path   string
		status int
		msg    string
	}{
		{name: "good", jwt: sign(key, app, now.Add(-time.Minute), now.Add(9*time.Minute)), path: path, status: 201},
		{name: "lives too long", jwt: sign(key, app, now, now.Add(11*time.Minute)), path: path, status: 401, msg: "'Expiration time' claim ('exp') is too far in the future"},
		{name: "expired", jwt: sign(key, app, now.Add(-20*time.Minute), now.Add(-11*time.Minute)), path: path, status: 401},
		{name: "another key", jwt: sign(other, app, now, now.Add(5*time.Minute)), path: path, status: 401, msg: "A JSON web token could not be decoded"},
		{name: "another app", jwt: sign(key, "7", now, now.Add(5*time.Minute)), path: path, status: 401, msg: "Integration not found"},
		{name: "unknown installation", jwt: sign(key, app, now, now.Add(5*time.Minute)), path: "app/installations/5/access_tokens", status: 404},
		{name: "a token is no JWT", jwt: s.Token(), path: path, status: 401, msg: "A JSON web token could not be decoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, s, tc.jwt, "POST", tc.path, "")
			assert.Equal(t, tc.status, status, "%v", body)
			if tc.msg != "" {
				assert.Equal(t, tc.msg, body["message"])
			}
			if tc.status == 201 {
				tok, _ := body["token"].(string)
				assert.Equal(t, now.Add(time.Hour).Format(time.RFC3339), body["expires_at"])
				status, _ := call(t, s, tok, "GET", "repos/acme/platform/pulls", "")
				assert.Equal(t, 200, status, "the minted token opens the API")
			}
		})
	}
	assert.Equal(t, 1, s.MintedTokens())
	assert.Empty(t, s.Writes(), "minting is no repository write")
}

// TestGitDataAPIWritesSignedCommits builds a commit through blobs, trees, commits and refs:
// the commit lands on main with the file changed, and real `git verify-commit` accepts the
// server's signature with its web-flow key. A ref update that is not a fast-forward is
// refused.
func TestGitDataAPIWritesSignedCommits(t *testing.T) {
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is not installed: run integration/install-deps.sh")
	}
	g := gittest.NewServer(t)
	base := g.CreateRepo("platform", map[string]string{"apps/web/values.yaml": "replicas: 3\n", "b.txt": "1\n"})
	s := New(t, g, "platform", WithClock(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }))
	tok := s.Token()
	baseTree := strings.TrimSpace(g.Git("platform", "rev-parse", base+"^{tree}"))

	status, blob := call(t, s, tok, "POST", "repos/acme/platform/git/blobs", `{"content":"replicas: 6\n","encoding":"utf-8"}`)
	require.Equal(t, 201, status, "%v", blob)
	status, tree := call(t, s, tok, "POST", "repos/acme/platform/git/trees",
		`{"base_tree":"`+baseTree+`","tree":[{"path":"apps/web/values.yaml","mode":"100644","type":"blob","sha":"`+blob["sha"].(string)+`"}]}`)
	require.Equal(t, 201, status, "%v", tree)
	msg := "autoscale(shop/web): 3 → 6 replicas\n\nAutoscaler-To: 6\n"
	body, _ := json.Marshal(map[string]any{
		"message": msg, "tree": tree["sha"], "parents": []string{base},
		"author": map[string]string{"name": "gitops-autoscaler", "email": "bot@example.com", "date": "2026-03-01T11:59:00Z"},
	})
	status, commit := call(t, s, tok, "POST", "repos/acme/platform/git/commits", string(body))
	require.Equal(t, 201, status, "%v", commit)
	sha := commit["sha"].(string)
	assert.Equal(t, true, commit["verification"].(map[string]any)["verified"])

	status, _ = call(t, s, tok, "PATCH", "repos/acme/platform/git/refs/heads/main", `{"sha":"`+sha+`"}`)
	require.Equal(t, 200, status)
	log := g.Log("platform", "main")
	assert.Equal(t, sha, log[0].SHA)
	assert.Equal(t, "gitops-autoscaler <bot@example.com>", log[0].Author)
	assert.Equal(t, msg, g.RawMessage("platform", sha), "the message exactly as given")
	assert.Equal(t, "replicas: 6\n", g.ReadFile("platform", "main", "apps/web/values.yaml"))
	assert.Equal(t, "1\n", g.ReadFile("platform", "main", "b.txt"), "the base tree's other files stay")
	assert.Equal(t, "apps/web/values.yaml\n", g.Git("platform", "diff", "--name-only", base, sha))

	home := t.TempDir()
	env := append(os.Environ(), "GNUPGHOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	imp := exec.Command("gpg", "--batch", "--import")
	imp.Env, imp.Stdin = env, bytes.NewReader(s.WebFlowPublicKey())
	out, err := imp.CombinedOutput()
	require.NoError(t, err, "%s", out)
	verify := exec.Command("git", "verify-commit", sha)
	verify.Dir, verify.Env = g.Dir("platform"), env
	out, err = verify.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), `Good signature from "GitHub <noreply@github.com>"`)

	// Back to the base is no fast-forward; a commit naming its committer is not signed.
	status, res := call(t, s, tok, "PATCH", "repos/acme/platform/git/refs/heads/main", `{"sha":"`+base+`"}`)
	assert.Equal(t, 422, status)
	assert.Equal(t, "Update is not a fast forward", res["message"])
	body, _ = json.Marshal(map[string]any{"message": "x", "tree": baseTree, "parents": []string{sha},
		"committer": map[string]string{"name": "Ann", "email": "ann@example.com"}})
	status, commit = call(t, s, tok, "POST", "repos/acme/platform/git/commits", string(body))
	require.Equal(t, 201, status)
	assert.Equal(t, false, commit["verification"].(map[string]any)["verified"])

	status, _ = call(t, s, tok, "POST", "repos/acme/platform/git/refs", `{"ref":"refs/heads/autoscaler/shop/web","sha":"`+sha+`"}`)
	assert.Equal(t, 201, status)
	assert.Equal(t, sha, g.HeadSHA("platform", "autoscaler/shop/web"))
	status, res = call(t, s, tok, "POST", "repos/acme/platform/git/refs", `{"ref":"refs/heads/autoscaler/shop/web","sha":"`+base+`"}`)
	assert.Equal(t, 422, status)
	assert.Equal(t, "Reference already exists", res["message"])
	status, _ = call(t, s, tok, "POST", "repos/acme/platform/git/trees", `{"base_tree":"`+strings.Repeat("0", 40)+`","tree":[]}`)
	assert.Equal(t, 422, status)
}

// TestPullRequestListsArePaginated reads 130 pull requests of one head through go-github's
// pages.
func TestPullRequestListsArePaginated(t *testing.T) {
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n"})
	s := New(t, g, "platform")
	s.SeedClosedPullRequests("autoscaler/shop/web", "main", 130)
	c := github.NewClient(nil).WithAuthToken(s.Token())
	c.BaseURL, _ = url.Parse(s.URL())
	opts := &github.PullRequestListOptions{State: "all", Head: "acme:autoscaler/shop/web", ListOptions: github.ListOptions{PerPage: 500}}
	var all []*github.PullRequest
	pages := 0
	for {
		list, resp, err := c.PullRequests.List(context.Background(), "acme", "platform", opts)
		require.NoError(t, err)
		pages++
		all = append(all, list...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	assert.Equal(t, 2, pages, "per_page is capped at 100")
	require.Len(t, all, 130)
	assert.Equal(t, 130, all[0].GetNumber(), "newest first")
}

// TestStrictChecksHoldABehindBranch: with strict required checks, a head that does not
// contain the base's head is "behind" and does not merge.
func TestStrictChecksHoldABehindBranch(t *testing.T) {
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n", "b.txt": "1\n"})
	s := New(t, g, "platform")
	g.Commit("platform", map[string]string{"a.txt": "2\n"}, "two", "Ann <ann@example.com>")
	g.Git("platform", "branch", "feature", "main")
	g.Git("platform", "update-ref", "refs/heads/main", "main~1")
	g.Commit("platform", map[string]string{"b.txt": "2\n"}, "unrelated", "Bob <bob@example.com>")
	status, _ := call(t, s, s.Token(), "POST", "repos/acme/platform/pulls", `{"title":"t","head":"feature","base":"main"}`)
	require.Equal(t, 201, status)
	s.SetRequiredChecks("ci/test")
	s.SetStrictChecks(true)
	status, pr := call(t, s, s.Token(), "GET", "repos/acme/platform/pulls/1", "")
	require.Equal(t, 200, status)
	assert.Equal(t, "behind", pr["mergeable_state"])
	assert.Equal(t, true, pr["mergeable"])
	status, body := call(t, s, s.Token(), "PUT", "repos/acme/platform/pulls/1/merge", `{"merge_method":"squash"}`)
	assert.Equal(t, 405, status)
	assert.Equal(t, "Head branch is not up to date with the base branch", body["message"])
	status, rc := call(t, s, s.Token(), "GET", "repos/acme/platform/branches/main/protection/required_status_checks", "")
	require.Equal(t, 200, status)
	assert.Equal(t, true, rc["strict"])
}
