package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/github"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/gitlab"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// arrivals records the requests that reached the other origin of a redirect.
type arrivals struct {
	mu      sync.Mutex
	headers []http.Header
}

func (a *arrivals) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.headers = append(a.headers, r.Header.Clone())
}

func (a *arrivals) all() []http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.headers
}

// redirectServer is a server that answers every request with a redirect to another origin,
// and that other origin, which records what reaches it and answers 401.
type redirectServer struct {
	url    string       // the first origin, which the client is configured with
	client *http.Client // trusts the first origin's certificate, for https
	other  *arrivals
}

// redirects starts a pair of origins: "another port" (a second server), "another host name"
// (the same server under the name localhost) or "another scheme" (https to http on the same
// host and port, one listener serving both).
func redirects(t *testing.T, kind string) *redirectServer {
	t.Helper()
	rs := &redirectServer{other: &arrivals{}, client: &http.Client{}}
	refuse := func(w http.ResponseWriter, r *http.Request) {
		rs.other.record(r)
		w.Header().Set("WWW-Authenticate", `Basic realm="other"`)
		http.Error(w, "who are you", http.StatusUnauthorized)
	}
	switch kind {
	case "another port":
		other := httptest.NewServer(http.HandlerFunc(refuse))
		t.Cleanup(other.Close)
		first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		}))
		t.Cleanup(first.Close)
		rs.url = first.URL
	case "another host name":
		var port string
		first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.Host, "localhost:") {
				refuse(w, r)
				return
			}
			http.Redirect(w, r, "http://localhost:"+port+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		}))
		t.Cleanup(first.Close)
		_, port, _ = net.SplitHostPort(first.Listener.Addr().String())
		rs.url = first.URL
	case "another scheme":
		// httptest's certificate (for 127.0.0.1), and a client that trusts it.
		cert := httptest.NewTLSServer(http.NotFoundHandler())
		rs.client = cert.Client()
		tlsConfig := cert.TLS.Clone()
		cert.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				refuse(w, r)
				return
			}
			http.Redirect(w, r, "http://"+addr+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		})}
		go func() { _ = srv.Serve(&bothSchemes{Listener: ln, tls: tlsConfig}) }()
		t.Cleanup(func() { _ = srv.Close() })
		rs.url = "https://" + addr
	default:
		t.Fatalf("unknown kind %q", kind)
	}
	return rs
}

// bothSchemes serves TLS and plain HTTP on one listener: a connection whose first byte is a
// TLS handshake record is TLS.
type bothSchemes struct {
	net.Listener
	tls *tls.Config
}

func (b *bothSchemes) Accept() (net.Conn, error) {
	c, err := b.Listener.Accept()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && first[0] == 0x16 {
		return tls.Server(pc, b.tls), nil
	}
	return pc, nil
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p *peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestRedirectToAnotherHostDropsCredentials pins finding 4 of issue 22: a Prometheus that
// redirected to another host name received "Authorization: Bearer …" and X-Scope-OrgID there,
// the GitHub client sent its bearer token along and GitLab its PRIVATE-TOKEN. For every client
// that holds a credential — Prometheus (bearer token and custom headers), GitHub, GitLab and
// Git over HTTP — and a redirect to another port, another host name or another scheme, no
// request reaches the other origin with a credential: the redirect is refused, with an error
// that says so.
func TestRedirectToAnotherHostDropsCredentials(t *testing.T) {
	const token = "ghs_S3cretTok3n+/with=symbols"
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	// What the credential looks like in any header: raw, as basic auth of the Git client, and
	// the custom headers' values.
	forms := []string{token, base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token)), "team-a", "custom-key-123"}

	clients := map[string]func(t *testing.T, rs *redirectServer) error{
		"prometheus": func(t *testing.T, rs *redirectServer) error {
			c, err := promclient.New(svcconfig.PrometheusServer{
				Name: "main", URL: rs.url, BearerTokenFile: tokenFile,
				Headers: map[string]string{"X-Scope-OrgID": "team-a", "X-Api-Key": "custom-key-123"},
			}, promclient.WithHTTPClient(rs.client), promclient.WithRetry(1, 0, 0))
			require.NoError(t, err)
			_, err = c.Query(context.Background(), "up", time.Now())
			return err
		},
		"github": func(t *testing.T, rs *redirectServer) error {
			g, err := github.New(&svcconfig.GitHubRepo{Owner: "acme", Repo: "apps", APIURL: rs.url + "/api/v3/", TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}},
				github.Options{HTTPClient: rs.client, MaxRetries: 1})
			require.NoError(t, err)
			_, err = g.PullRequests(context.Background(), "autoscaler/x", "open")
			return err
		},
		"gitlab": func(t *testing.T, rs *redirectServer) error {
			g, err := gitlab.New(&svcconfig.GitLabRepo{Project: "acme/apps", BaseURL: rs.url + "/", TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}},
				gitlab.Options{HTTPClient: rs.client, MaxRetries: 1})
			require.NoError(t, err)
			_, err = g.PullRequests(context.Background(), "autoscaler/x", "open")
			return err
		},
		"git": func(t *testing.T, rs *redirectServer) error {
			ctx := context.Background()
			w, err := gitrepo.Open(ctx, gitrepo.Options{
				Name: "apps", URL: rs.url + "/apps.git", Auth: &gitrepo.Auth{TokenFile: tokenFile},
				CacheDir: t.TempDir(), NetworkTimeout: 10 * time.Second,
			})
			if err != nil {
				return err
			}
			defer w.Close()
			return w.Sync(ctx)
		},
	}
	tests := []struct{ client, kind string }{
		{"prometheus", "another port"}, {"prometheus", "another host name"}, {"prometheus", "another scheme"},
		{"github", "another port"}, {"github", "another host name"}, {"github", "another scheme"},
		{"gitlab", "another port"}, {"gitlab", "another host name"}, {"gitlab", "another scheme"},
		// Git's transport is go-git's one client per process, which trusts only the system's
		// certificates: the test's https server cannot be reached, so no scheme case for git.
		// origin.TestSame pins the scheme rule every client shares.
		{"git", "another port"}, {"git", "another host name"},
	}
	for _, tt := range tests {
		t.Run(tt.client+"/"+tt.kind, func(t *testing.T) {
			rs := redirects(t, tt.kind)
			err := clients[tt.client](t, rs)
			var names []string
			for _, h := range rs.other.all() {
				for name, values := range h {
					for _, v := range values {
						for _, f := range forms {
							if strings.Contains(v, f) {
								names = append(names, name)
							}
						}
					}
				}
			}
			sort.Strings(names)
			t.Logf("%d requests reached the other origin; credential headers among them: %v", len(rs.other.all()), names)
			assert.Empty(t, names, "no credential reaches the other origin")
			require.Error(t, err, "the redirect is not followed")
			assert.Contains(t, err.Error(), "another origin: not followed")
			assert.NotContains(t, err.Error(), token)
		})
	}
}
