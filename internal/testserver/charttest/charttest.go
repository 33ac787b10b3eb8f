package charttest

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	helmrepo "helm.sh/helm/v3/pkg/repo"
)

// Options configure a server.
type Options struct {
	// User and Password, when set, are required by basic auth (htpasswd for the registry).
	User, Password string
	// TLS, when set, serves HTTPS with the CA's server certificate.
	TLS *CA
}

// Package packages a chart as `helm package` does and returns the archive's bytes.
func Package(t testing.TB, ch *chart.Chart) []byte {
	t.Helper()
	dir := t.TempDir()
	file, err := chartutil.Save(ch, dir)
	require.NoError(t, err)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	return data
}

// HelmRepo is a Helm repository served from a temporary directory.
type HelmRepo struct {
	// URL is the repository's URL (http://127.0.0.1:port or https://…).
	URL string
	dir string
	mu  sync.Mutex
	// requests counts the requests that reached the handler, and auth those that carried an
	// Authorization header.
	requests, auth int
}

// StartHelmRepo serves a Helm repository holding the charts, with an index.yaml the SDK
// builds (repo.IndexDirectory).
func StartHelmRepo(t testing.TB, o Options, charts ...*chart.Chart) *HelmRepo {
	t.Helper()
	h := &HelmRepo{dir: t.TempDir()}
	files := http.FileServer(http.Dir(h.dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.requests++
		if r.Header.Get("Authorization") != "" {
			h.auth++
		}
		h.mu.Unlock()
		if o.User != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != o.User || p != o.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
				http.Error(w, "401 unauthorized", http.StatusUnauthorized)
				return
			}
		}
		files.ServeHTTP(w, r)
	}))
	// A refused handshake is what some tests are about: not worth a line on stderr.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if o.TLS != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{o.TLS.Server}}
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	for _, ch := range charts {
		h.Add(t, ch)
	}
	return h
}

// Add packages one more chart into the repository, rebuilds its index, and returns the
// archive's digest (sha256:<hex>).
func (h *HelmRepo) Add(t testing.TB, ch *chart.Chart) string {
	t.Helper()
	file, err := chartutil.Save(ch, h.dir)
	require.NoError(t, err)
	idx, err := helmrepo.IndexDirectory(h.dir, h.URL)
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(h.dir, "index.yaml"), 0o644))
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	return Digest(data)
}

// Digest is sha256:<hex> of data.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Requests is how many requests reached the repository's handler (a request whose TLS
// handshake failed never does), and how many of them carried an Authorization header.
func (h *HelmRepo) Requests() (all, withAuth int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests, h.auth
}

// Registry is a docker-registry process.
type Registry struct {
	// Host is 127.0.0.1:port.
	Host string
	// Client pushes with the server's credentials (and trusts its CA).
	Client *registry.Client
	dir    string
}

// StartRegistry starts Debian's docker-registry on a free loopback port. Without the binary the
// test skips, or fails in CI (CI=true), where integration/install-deps.sh installs it.
func StartRegistry(t testing.TB, o Options) *Registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		msg := "docker-registry not found (apt-get install docker-registry; integration/install-deps.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	host := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), host)
	if o.TLS != nil {
		cfg += fmt.Sprintf("  tls: {certificate: %s, key: %s}\n", o.TLS.ServerCertFile, o.TLS.ServerKeyFile)
	}
	if o.User != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(o.Password), bcrypt.MinCost)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(o.User+":"+string(hash)+"\n"), 0o600))
		cfg += fmt.Sprintf("auth:\n  htpasswd: {realm: test, path: %s}\n", filepath.Join(dir, "htpasswd"))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600))
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	logFile, err := os.Create(filepath.Join(dir, "log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})

	hc := &http.Client{Timeout: 5 * time.Second}
	scheme := "http"
	var clientOpts []registry.ClientOption
	if o.TLS != nil {
		scheme = "https"
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: o.TLS.Pool(t)}
		hc.Transport = tr
		clientOpts = append(clientOpts, registry.ClientOptHTTPClient(&http.Client{Transport: tr}))
	} else {
		clientOpts = append(clientOpts, registry.ClientOptPlainHTTP())
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hc.Get(scheme + "://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("docker-registry not ready: %v\n%s", err, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if o.User != "" {
		clientOpts = append(clientOpts, registry.ClientOptBasicAuth(o.User, o.Password))
	}
	clientOpts = append(clientOpts, registry.ClientOptCredentialsFile(filepath.Join(dir, "login.json")))
	client, err := registry.NewClient(clientOpts...)
	require.NoError(t, err)
	return &Registry{Host: host, Client: client, dir: dir}
}

// Push pushes a chart to <host>/<repo>/<chart name>:<tag> (the chart's version when tag is
// empty) and returns the digest of the archive pushed (sha256:<hex>).
func (r *Registry) Push(t testing.TB, repo string, ch *chart.Chart, tag string) string {
	t.Helper()
	if tag == "" {
		tag = strings.ReplaceAll(ch.Metadata.Version, "+", "_")
	}
	ref := r.Host + "/" + strings.Trim(repo, "/") + "/" + ch.Metadata.Name + ":" + tag
	data := Package(t, ch)
	_, err := r.Client.Push(data, ref, registry.PushOptStrictMode(false))
	require.NoError(t, err, "push %s", ref)
	return Digest(data)
}
