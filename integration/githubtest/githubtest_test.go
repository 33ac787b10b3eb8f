package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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
