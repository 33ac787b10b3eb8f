package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

var update = flag.Bool("update", false, "rewrite testdata/push-event.golden from the event the client sends")

const (
	token = "flux-receiver-t0ken-7d1e"
	// hookPath is a receiver's webhook path: a digest of its token, secret like it.
	hookPath = "/hook/5f0c2ad1b7e94e0c8f3a"
)

// received is one request a webhook server took.
type received struct {
	header http.Header
	body   []byte
}

// webhook is a real HTTP server that checks what a controller checks: the method, the path,
// and for signed types the signature of the body with the token — by go-github's own
// validation, as Flux's github Receiver and Argo CD do — and answers 401 when it is wrong.
type webhook struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	kind string // generic, generic-hmac, github, or "" (a GitHub push with no secret)
	// answer, when set, replaces the answer to a request that passed the checks.
	answer func(w http.ResponseWriter)
}

func newWebhook(t *testing.T, kind string) *webhook {
	h := &webhook{kind: kind}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *webhook) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != hookPath {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	switch h.kind {
	case svcconfig.FluxReceiverGitHub:
		r.Body = io.NopCloser(bytes.NewReader(body))
		if _, err := github.ValidatePayload(r, []byte(token)); err != nil || github.WebHookType(r) != "push" {
			http.Error(w, "the GitHub signature header is invalid", http.StatusUnauthorized)
			return
		}
		// GitHub sends an HMAC-SHA1 X-Hub-Signature beside the SHA-256 one, and some parsers (older
		// go-playground/webhooks releases) check only that one: the notify step sends both.
		if err := github.ValidateSignature(r.Header.Get("X-Hub-Signature"), body, []byte(token)); err != nil {
			http.Error(w, "bad sha1 signature", http.StatusUnauthorized)
			return
		}
	case svcconfig.FluxReceiverGenericHMAC:
		if err := github.ValidateSignature(r.Header.Get("X-Signature"), body, []byte(token)); err != nil {
			http.Error(w, "unable to validate HMAC signature", http.StatusUnauthorized)
			return
		}
	}
	h.mu.Lock()
	h.got = append(h.got, received{header: r.Header.Clone(), body: body})
	h.mu.Unlock()
	if h.answer != nil {
		h.answer(w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *webhook) requests() []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]received(nil), h.got...)
}

func writeSecret(t *testing.T, value string) string {
	f := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(f, []byte(value+"\n"), 0o600))
	return f
}

func testPush() Push {
	return Push{
		Repository: svcconfig.Repository{Name: "shop", URL: "https://git.example.com/acme/shop-gitops.git", Branch: "main"},
		Before:     "1111111111111111111111111111111111111111",
		After:      "3333333333333333333333333333333333333333",
		Commits: []Commit{
			{ID: "2222222222222222222222222222222222222222", Files: []string{"apps/web/values.yaml"}},
			{ID: "3333333333333333333333333333333333333333", Files: []string{"apps/api/kustomization.yaml"}},
		},
		Pusher: "gitops-autoscaler",
	}
}

// TestNotifyEachController: each webhook type is called once, signed as its controller checks,
// with a push event naming the branch, the repository and the changed files.
func TestNotifyEachController(t *testing.T) {
	tokenFile := writeSecret(t, token)
	tests := []struct {
		name      string
		kind      string
		target    func(url string) svcconfig.Notify
		wantEvent string // X-GitHub-Event
		wantSig   string // the signature header that must be there
		wantHTML  string
	}{
		{name: "flux generic", kind: svcconfig.FluxReceiverGeneric,
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u, Type: svcconfig.FluxReceiverGeneric}}
			},
			wantHTML: "https://git.example.com/acme/shop-gitops"},
		{name: "flux generic-hmac", kind: svcconfig.FluxReceiverGenericHMAC, wantSig: "X-Signature",
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u, Type: svcconfig.FluxReceiverGenericHMAC, TokenFile: tokenFile}}
			},
			wantHTML: "https://git.example.com/acme/shop-gitops"},
		{name: "flux github", kind: svcconfig.FluxReceiverGitHub, wantEvent: "push", wantSig: "X-Hub-Signature-256",
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u, Type: svcconfig.FluxReceiverGitHub, TokenFile: tokenFile}}
			},
			wantHTML: "https://git.example.com/acme/shop-gitops"},
		{name: "argocd with a secret and the Applications' repoURL", kind: svcconfig.FluxReceiverGitHub, wantEvent: "push", wantSig: "X-Hub-Signature-256",
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{ArgoCD: &svcconfig.ArgoCDNotify{WebhookURL: u, SecretFile: tokenFile, RepoURL: "https://github.com/acme/shop-gitops"}}
			},
			wantHTML: "https://github.com/acme/shop-gitops"},
		{name: "argocd without a secret", kind: "", wantEvent: "push",
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{ArgoCD: &svcconfig.ArgoCDNotify{WebhookURL: u}}
			},
			wantHTML: "https://git.example.com/acme/shop-gitops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newWebhook(t, tt.kind)
			c := &Client{}
			out := c.Notify(context.Background(), []svcconfig.Notify{tt.target(h.URL + hookPath)}, testPush())
			require.Len(t, out, 1)
			require.NoError(t, out[0].Err)
			assert.Equal(t, http.StatusOK, out[0].Status)
			assert.Equal(t, h.URL, out[0].Endpoint, "the endpoint is the origin, without the receiver's path")
			got := h.requests()
			require.Len(t, got, 1)
			assert.Equal(t, tt.wantEvent, got[0].header.Get("X-GitHub-Event"))
			if tt.wantSig != "" {
				assert.NotEmpty(t, got[0].header.Get(tt.wantSig))
			} else {
				assert.Empty(t, got[0].header.Get("X-Hub-Signature-256")+got[0].header.Get("X-Signature"), "nothing to sign with")
			}
			var ev PushEvent
			require.NoError(t, json.Unmarshal(got[0].body, &ev))
			assert.Equal(t, "refs/heads/main", ev.Ref)
			assert.Equal(t, tt.wantHTML, ev.Repository.HTMLURL)
			assert.Equal(t, tt.wantHTML+".git", ev.Repository.CloneURL)
			assert.Equal(t, "3333333333333333333333333333333333333333", ev.After)
			require.Len(t, ev.Commits, 2)
			assert.Equal(t, []string{"apps/web/values.yaml"}, ev.Commits[0].Modified)
			assert.Equal(t, []string{"apps/api/kustomization.yaml"}, ev.Commits[1].Modified)
		})
	}
}

// TestPushEventGolden: the event's bytes, as the controllers parse them.
func TestPushEventGolden(t *testing.T) {
	got, err := json.MarshalIndent(pushEvent(testPush(), ""), "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	golden := filepath.Join("testdata", "push-event.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

// TestWebURLs: every form of repository URL names the repository as its web page does, which
// is what Argo CD matches its Applications' repoURL against.
func TestWebURLs(t *testing.T) {
	tests := []struct {
		name, raw, html, full string
	}{
		{"https with .git", "https://github.com/acme/gitops.git", "https://github.com/acme/gitops", "acme/gitops"},
		{"https without .git", "https://git.example.com/group/sub/gitops", "https://git.example.com/group/sub/gitops", "group/sub/gitops"},
		{"https with a port and a trailing slash", "https://git.example.com:8443/acme/gitops/", "https://git.example.com:8443/acme/gitops", "acme/gitops"},
		{"scp-like ssh", "git@github.com:acme/gitops.git", "https://github.com/acme/gitops", "acme/gitops"},
		{"ssh URL with user and port", "ssh://git@git.example.com:2222/acme/gitops.git", "https://git.example.com/acme/gitops", "acme/gitops"},
		{"http with a user", "http://bot@127.0.0.1:3000/acme/gitops.git", "http://127.0.0.1:3000/acme/gitops", "acme/gitops"},
		{"local path", "/srv/git/gitops.git", "/srv/git/gitops.git", "srv/git/gitops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html, clone, full := webURLs(tt.raw)
			assert.Equal(t, tt.html, html)
			assert.Equal(t, tt.full, full)
			if strings.Contains(tt.html, "://") {
				assert.Equal(t, tt.html+".git", clone)
			}
		})
	}
}

// countingTransport counts the bytes read of every answer's body.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	read int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, t: c}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	t *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.mu.Lock()
	b.t.read += int64(n)
	b.t.mu.Unlock()
	return n, err
}

// TestNotifyFailures: every way a call fails is an outcome with a clear error — never a panic,
// never more than the bounds — and a failing webhook does not keep the others from theirs.
// Nothing printed anywhere carries the token or the receiver's path, in any encoding.
func TestNotifyFailures(t *testing.T) {
	wrongFile := writeSecret(t, "not-the-token")
	other := newWebhook(t, svcconfig.FluxReceiverGeneric) // another origin, for the redirect
	tests := []struct {
		name      string
		kind      string
		answer    func(w http.ResponseWriter)
		target    func(url string) svcconfig.Notify
		timeout   time.Duration
		wantErr   string
		wantCalls int // requests that passed the server's checks
		maxRead   int64
	}{
		{name: "a signature with the wrong secret is refused", kind: svcconfig.FluxReceiverGitHub,
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u, Type: svcconfig.FluxReceiverGitHub, TokenFile: wrongFile}}
			},
			wantErr: "answered 401 Unauthorized: the GitHub signature header is invalid"},
		{name: "a missing token file sends nothing", kind: svcconfig.FluxReceiverGenericHMAC,
			target: func(u string) svcconfig.Notify {
				return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u, Type: svcconfig.FluxReceiverGenericHMAC, TokenFile: filepath.Join(t.TempDir(), "absent")}}
			},
			wantErr: "read flux receiver token: open "},
		{name: "a server error quotes a bounded start of its answer", kind: svcconfig.FluxReceiverGeneric,
			answer: func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write(bytes.Repeat([]byte("x"), 4<<20))
			},
			target:    func(u string) svcconfig.Notify { return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u}} },
			wantErr:   "answered 500 Internal Server Error: xxxx",
			wantCalls: 1, maxRead: MaxResponseBytes},
		{name: "a slow webhook times out", kind: svcconfig.FluxReceiverGeneric, timeout: 300 * time.Millisecond,
			answer:    func(w http.ResponseWriter) { time.Sleep(2 * time.Second); w.WriteHeader(http.StatusOK) },
			target:    func(u string) svcconfig.Notify { return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u}} },
			wantErr:   "no answer within the timeout",
			wantCalls: 1},
		{name: "a redirect to another origin is refused", kind: svcconfig.FluxReceiverGeneric,
			answer: func(w http.ResponseWriter) {
				w.Header().Set("Location", other.URL+hookPath)
				w.WriteHeader(http.StatusTemporaryRedirect)
			},
			target:    func(u string) svcconfig.Notify { return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: u}} },
			wantErr:   "redirect",
			wantCalls: 1},
		{name: "nothing listens", kind: svcconfig.FluxReceiverGeneric,
			target: func(string) svcconfig.Notify {
				return svcconfig.Notify{Flux: &svcconfig.FluxNotify{ReceiverURL: "http://127.0.0.1:9" + hookPath}}
			},
			wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newWebhook(t, tt.kind)
			h.answer = tt.answer
			good := newWebhook(t, svcconfig.FluxReceiverGeneric)
			var logs bytes.Buffer
			counter := &countingTransport{next: http.DefaultTransport}
			c := &Client{HTTP: &http.Client{Transport: counter}, Timeout: tt.timeout, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			start := time.Now()
			out := c.Notify(context.Background(), []svcconfig.Notify{
				tt.target(h.URL + hookPath),
				{Flux: &svcconfig.FluxNotify{ReceiverURL: good.URL + hookPath}},
			}, testPush())
			require.Len(t, out, 2)
			require.Error(t, out[0].Err)
			assert.Contains(t, out[0].Err.Error(), tt.wantErr)
			assert.LessOrEqual(t, len(out[0].Err.Error()), 400, "an error quotes a bounded part of the answer")
			require.NoError(t, out[1].Err, "the other webhook is called all the same")
			assert.Len(t, good.requests(), 1)
			assert.Len(t, h.requests(), tt.wantCalls)
			assert.Empty(t, other.requests(), "nothing reaches the other origin")
			if tt.maxRead > 0 {
				assert.LessOrEqual(t, counter.read, tt.maxRead)
			}
			if tt.timeout > 0 {
				assert.Less(t, time.Since(start), 2*time.Second, "the call gives up at its timeout")
			}
			assert.Contains(t, logs.String(), "notify failed")
			printed := logs.String() + fmt.Sprintf("%v %+v %#v", out, out, out) + out[0].Err.Error()
			for _, secret := range []string{token, hookPath} {
				for enc, s := range map[string]string{
					"raw": secret, "hex": hex.EncodeToString([]byte(secret)),
					"base64": base64.StdEncoding.EncodeToString([]byte(secret)), "url": url.QueryEscape(secret),
				} {
					assert.NotContains(t, printed, s, "%s printed (%s)", secret, enc)
				}
			}
		})
	}
}

// TestNotifyReadsTheSecretAtEachCall: a rotated secret is used by the next call.
func TestNotifyReadsTheSecretAtEachCall(t *testing.T) {
	h := newWebhook(t, svcconfig.FluxReceiverGenericHMAC)
	file := writeSecret(t, "old-token")
	c := &Client{}
	target := []svcconfig.Notify{{Flux: &svcconfig.FluxNotify{ReceiverURL: h.URL + hookPath, Type: svcconfig.FluxReceiverGenericHMAC, TokenFile: file}}}
	out := c.Notify(context.Background(), target, testPush())
	require.Error(t, out[0].Err, "the server knows only the new token")
	require.NoError(t, os.WriteFile(file, []byte(token+"\n"), 0o600))
	out = c.Notify(context.Background(), target, testPush())
	require.NoError(t, out[0].Err)
	assert.Len(t, h.requests(), 1)
}

// FuzzWebURLs: a repository URL as users write it (config url, argocd.repoURL) never panics
// the event's URLs, and an http(s) result never carries the URL's credentials.
func FuzzWebURLs(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/gitops.git", "git@github.com:acme/gitops.git",
		"ssh://git@h:22/a/b.git", "https://u:p@h/a/b", "/srv/git/x.git", "file:///x", "git@:", "https://[::1]:80/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		html, clone, _ := webURLs(raw)
		u, err := url.Parse(html)
		if err != nil || u.Host == "" {
			return
		}
		if u.User != nil {
			t.Fatalf("webURLs(%q) = %q keeps userinfo", raw, html)
		}
		if clone != html+".git" {
			t.Fatalf("webURLs(%q): clone %q is not %q.git", raw, clone, html)
		}
	})
}
