package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// quotingGitServer fronts a real Git server (git http-backend) with a handler that, once
// switched on, answers every request 401 and quotes back what the request authenticated with:
// the Authorization header as sent, and the password it carries URL-encoded and in base64 — a
// misbehaving Git host, or one whose error page echoes the request.
type quotingGitServer struct {
	*httptest.Server
	quote atomic.Bool
}

func newQuotingGitServer(t *testing.T, git *gittest.Server) *quotingGitServer {
	t.Helper()
	target, err := url.Parse(strings.TrimSuffix(git.URL("x"), "/x.git"))
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	q := &quotingGitServer{}
	q.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !q.quote.Load() {
			proxy.ServeHTTP(w, r)
			return
		}
		_, password, _ := r.BasicAuth()
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, fmt.Sprintf("invalid credentials: Authorization: %s (token %s, %s)",
			r.Header.Get("Authorization"), url.QueryEscape(password), base64.StdEncoding.EncodeToString([]byte(password))),
			http.StatusUnauthorized)
	}))
	t.Cleanup(q.Close)
	return q
}

// TestTokenQuotedBackByTheGitServerIsRedactedEverywhere pins finding 5 of issue 22: a Git
// server that answers 401 and quotes back the request's Authorization header put
// "Basic eC1hY2Nlc3MtdG9rZW46…", the base64 of x-access-token:<token>, into the log,
// evaluate's output, POST /api/v1/evaluate, the status page and GET /api/v1/policies. Through
// `serve` and `evaluate` against a real Git server, the token shows in none of them, in no
// encoding — while each of them does report the 401.
func TestTokenQuotedBackByTheGitServerIsRedactedEverywhere(t *testing.T) {
	const token = "ghs_Qu0ted+Back/Token=42"
	git := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", token))
	git.CreateRepo("shop", shopFiles())
	front := newQuotingGitServer(t, git)

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tokenFile := write("git-token", token+"\n")
	apiToken := write("api-token", serveToken+"\n")
	trace := write("trace.csv", serveTrace)
	config := write("autoscaler.yaml", fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: shop
    url: %s/shop.git
    policies: ["policies/*.yaml"]
    auth: {tokenFile: %s}
prometheus:
  - name: default
    url: http://127.0.0.1:9
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
http: {listen: "127.0.0.1:0", tokenFile: %s}
cacheDir: %s
`, front.URL, tokenFile, apiToken, filepath.Join(dir, "cache")))

	env := startServeConfig(t, git, config, trace)
	code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "")
	require.Equal(t, http.StatusOK, code, "the first evaluation reaches Git: %s", body)

	front.quote.Store(true)
	outputs := map[string]string{}
	_, outputs["POST /api/v1/evaluate"] = env.do(t, "POST", "/api/v1/evaluate", serveToken, "")
	_, outputs["GET /api/v1/policies"] = env.do(t, "GET", "/api/v1/policies", "", "")
	_, outputs["GET / (status page)"] = env.do(t, "GET", "/", "", "")
	_, cliOut, cliErr := runCLI("evaluate", "--config", config, "--metrics-file", trace, "--at", serveT0.Format("2006-01-02T15:04:05Z"))
	outputs["evaluate (stdout and stderr)"] = cliOut + cliErr
	_, jsonOut, jsonErr := runCLI("evaluate", "--config", config, "--metrics-file", trace, "--at", serveT0.Format("2006-01-02T15:04:05Z"), "-o", "json")
	outputs["evaluate -o json"] = jsonOut + jsonErr
	env.stop(t)
	outputs["serve's log"] = env.logs.String()

	b64 := func(s string) []string {
		return []string{base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
	}
	forms := map[string][]string{
		"raw":                          {token},
		"URL-encoded":                  {url.QueryEscape(token), url.PathEscape(token)},
		"base64 of x-access-token:tok": b64("x-access-token:" + token),
		"base64 of the token":          b64(token),
		// The HTML of the status page escapes '+' and '/'; a leak would show escaped.
		"HTML-escaped base64": {strings.NewReplacer("+", "&#43;", "/", "&#47;").Replace(base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token)))},
	}
	t.Logf("POST /api/v1/evaluate answered: %s", outputs["POST /api/v1/evaluate"])
	for where, out := range outputs {
		t.Run(where, func(t *testing.T) {
			assert.Regexp(t, `authentication required|401`, out, "the failure is reported")
			for form, values := range forms {
				for _, v := range values {
					assert.NotContains(t, out, v, "the token, %s", form)
				}
			}
		})
	}
}
