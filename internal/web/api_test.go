package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// The API's endpoints against a running service are tested end to end with the serve command;
// these are the rules that need no service running.

const apiToken = "api-token-0123456789"

func TestServeAPIAuthorization(t *testing.T) {
	svc, err := gitops.NewService(gitops.ServiceOptions{Runner: &gitops.Runner{Config: &svcconfig.Config{}}})
	require.NoError(t, err)
	tests := []struct {
		name     string
		token    func() (secret.Value, error)
		header   string
		wantCode int
		wantBody string
	}{
		{name: "no header", token: staticToken(apiToken), wantCode: http.StatusUnauthorized, wantBody: "bearer token"},
		{name: "wrong token", token: staticToken(apiToken), header: "Bearer nope", wantCode: http.StatusUnauthorized},
		{name: "token as basic auth", token: staticToken(apiToken), header: "Basic " + apiToken, wantCode: http.StatusUnauthorized},
		{name: "right token", token: staticToken(apiToken), header: "Bearer " + apiToken, wantCode: http.StatusOK, wantBody: `"results": []`},
		{name: "no token configured", token: staticToken(""), header: "Bearer anything", wantCode: http.StatusForbidden, wantBody: "http.tokenFile"},
		{name: "token unreadable", token: func() (secret.Value, error) { return "", fmt.Errorf("read http token: open /nowhere: no such file") },
			header: "Bearer " + apiToken, wantCode: http.StatusInternalServerError, wantBody: "cannot be read"},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/v1/evaluate", "/api/v1/alertmanager"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				h := NewHandler(Options{Service: svc, Gatherer: prometheus.NewRegistry(), Token: tt.token})
				req, err := http.NewRequest("POST", path, strings.NewReader(`{"version":"4","status":"firing","alerts":[]}`))
				require.NoError(t, err)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				rec := newRecorder()
				h.ServeHTTP(rec, req)
				assert.Equal(t, tt.wantCode, rec.code, rec.body.String())
				assert.Contains(t, rec.body.String(), tt.wantBody)
				assert.NotContains(t, rec.body.String(), apiToken, "the token never echoes")
				if tt.wantCode == http.StatusUnauthorized {
					assert.Equal(t, `Bearer realm="gitops-autoscaler"`, rec.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
}

// TestStatusToken pins the decision of docs/design.md §8: the status page and GET
// /api/v1/policies are open unless http.statusTokenFile (or Env) sets a read token; then they
// take it as a bearer token or as basic auth's password (a browser asks for it), and the API
// token opens them too. /metrics and the probes stay open. No answer echoes a token.
func TestStatusToken(t *testing.T) {
	const statusToken = "status-token-987654321"
	svc, err := gitops.NewService(gitops.ServiceOptions{Runner: &gitops.Runner{Config: &svcconfig.Config{}}})
	require.NoError(t, err)
	basic := func(user, pw string) string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pw)
		return r.Header.Get("Authorization")
	}
	tests := []struct {
		name   string
		status func() (secret.Value, error)
		header string
		want   int
	}{
		{name: "no status token: open", status: nil, want: http.StatusOK},
		{name: "an empty status token: open", status: staticToken(""), want: http.StatusOK},
		{name: "status token, none sent", status: staticToken(statusToken), want: http.StatusUnauthorized},
		{name: "status token as bearer", status: staticToken(statusToken), header: "Bearer " + statusToken, want: http.StatusOK},
		{name: "status token as basic auth's password", status: staticToken(statusToken), header: basic("anyone", statusToken), want: http.StatusOK},
		{name: "the API token opens it too", status: staticToken(statusToken), header: "Bearer " + apiToken, want: http.StatusOK},
		{name: "a wrong token", status: staticToken(statusToken), header: "Bearer nope", want: http.StatusUnauthorized},
		{name: "a wrong password", status: staticToken(statusToken), header: basic("x", "nope"), want: http.StatusUnauthorized},
		{name: "status token unreadable", status: func() (secret.Value, error) { return "", fmt.Errorf("read http status token: no such file") },
			header: "Bearer " + statusToken, want: http.StatusInternalServerError},
	}
	for _, tt := range tests {
		for _, path := range []string{"/", "/api/v1/policies"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				h := NewHandler(Options{Service: svc, Gatherer: prometheus.NewRegistry(),
					Token: staticToken(apiToken), StatusToken: tt.status})
				req, err := http.NewRequest("GET", path, nil)
				require.NoError(t, err)
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				rec := newRecorder()
				h.ServeHTTP(rec, req)
				assert.Equal(t, tt.want, rec.code, rec.body.String())
				assert.NotContains(t, rec.body.String(), statusToken)
				assert.NotContains(t, rec.body.String(), apiToken)
				if tt.want == http.StatusUnauthorized {
					assert.Equal(t, `Basic realm="gitops-autoscaler status", charset="UTF-8"`, rec.header.Get("WWW-Authenticate"))
				}
			})
		}
	}
	h := NewHandler(Options{Service: svc, Gatherer: prometheus.NewRegistry(),
		Token: staticToken(apiToken), StatusToken: staticToken(statusToken)})
	for _, path := range []string{"/metrics", "/healthz"} {
		req, err := http.NewRequest("GET", path, nil)
		require.NoError(t, err)
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, http.StatusOK, rec.code, "%s stays open for probes and scrapes", path)
	}
}

func staticToken(s string) func() (secret.Value, error) {
	return func() (secret.Value, error) { return secret.Value(s), nil }
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{code: http.StatusOK, header: http.Header{}} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

func TestAlertmanagerPayloadPolicies(t *testing.T) {
	alert := func(status, name string) string {
		if name == "" {
			return fmt.Sprintf(`{"status":%q,"labels":{"alertname":"A"}}`, status)
		}
		return fmt.Sprintf(`{"status":%q,"labels":{"autoscaler_policy":%q}}`, status, name)
	}
	tests := []struct {
		name   string
		alerts []string
		want   []string
	}{
		{name: "none named", alerts: []string{alert("firing", "")}},
		{name: "firing, deduplicated and sorted", alerts: []string{alert("firing", "b"), alert("firing", "a"), alert("firing", "b")}, want: []string{"a", "b"}},
		{name: "resolved ignored", alerts: []string{alert("resolved", "a"), alert("firing", "c")}, want: []string{"c"}},
		{name: "blank label", alerts: []string{alert("firing", "  ")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p alertmanagerPayload
			require.NoError(t, json.Unmarshal([]byte(`{"version":"4","alerts":[`+strings.Join(tt.alerts, ",")+`]}`), &p))
			assert.Equal(t, tt.want, p.policies())
		})
	}
}
