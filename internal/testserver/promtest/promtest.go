package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// How long to wait for Prometheus to become ready, to stop, and for a series to appear.
const (
	readyTimeout  = 60 * time.Second
	stopTimeout   = 15 * time.Second
	seriesTimeout = 60 * time.Second
	pollInterval  = 50 * time.Millisecond
)

// Prometheus is a running (or stopped) Prometheus server of one test.
type Prometheus struct {
	t       testing.TB
	bin     string
	dataDir string
	config  string
	addr    string
	args    []string // extra flags, kept for Restart

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *syncBuffer
}

// Option configures Start.
type Option func(*settings)

type settings struct {
	targets []target
	dataDir string
	args    []string
}

type target struct{ job, hostPort string }

// WithScrapeTarget adds a target (host:port serving /metrics) under the given job name.
func WithScrapeTarget(job, hostPort string) Option {
	return func(s *settings) { s.targets = append(s.targets, target{job, hostPort}) }
}

// WithDataDir uses dir as the TSDB directory, e.g. one prepared with Seed. By default the data
// lives in a fresh directory of t.TempDir().
func WithDataDir(dir string) Option { return func(s *settings) { s.dataDir = dir } }

// WithArgs adds command-line flags to the prometheus invocation.
func WithArgs(args ...string) Option { return func(s *settings) { s.args = append(s.args, args...) } }

// Start runs Prometheus for the test and waits until it is ready. It is stopped in t.Cleanup.
func Start(t testing.TB, opts ...Option) *Prometheus {
	t.Helper()
	bin := lookPath(t, "prometheus")
	var s settings
	for _, o := range opts {
		o(&s)
	}
	dir := t.TempDir()
	if s.dataDir == "" {
		s.dataDir = filepath.Join(dir, "data")
	}
	p := &Prometheus{
		t:       t,
		bin:     bin,
		dataDir: s.dataDir,
		config:  filepath.Join(dir, "prometheus.yml"),
		addr:    freeAddr(t),
		args:    s.args,
	}
	if err := os.WriteFile(p.config, []byte(configYAML(s.targets)), 0o600); err != nil {
		t.Fatalf("promtest: write config: %v", err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("promtest: prometheus log (tail):\n%s", p.logTail(4000))
		}
	})
	p.start()
	return p
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (p *Prometheus) URL() string { return "http://" + p.addr }

// DataDir is the TSDB directory.
func (p *Prometheus) DataDir() string { return p.dataDir }

// Stop terminates the server (SIGTERM, then kill) and waits for it to exit. Its port and data
// stay reserved for Restart.
func (p *Prometheus) Stop() {
	p.t.Helper()
	p.stop()
}

// Kill ends the server with SIGKILL, as the OOM killer or a lost node would: no shutdown, no
// head block written, only the WAL on disk. It waits for the process to be gone; its port and
// data stay reserved for Restart, which replays the WAL.
func (p *Prometheus) Kill() {
	p.t.Helper()
	if cmd, exited := p.take(); cmd != nil {
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart starts the server again with the same port, configuration and data, and waits until
// it is ready.
func (p *Prometheus) Restart() {
	p.t.Helper()
	p.stop()
	p.start()
}

func (p *Prometheus) start() {
	p.t.Helper()
	args := append([]string{
		"--config.file=" + p.config,
		"--storage.tsdb.path=" + p.dataDir,
		// Seeded history may be older than the default retention would keep.
		"--storage.tsdb.retention.time=100y",
		"--web.listen-address=" + p.addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	}, p.args...)
	p.mu.Lock()
	if p.logs == nil {
		p.logs = &syncBuffer{}
	}
	cmd := exec.Command(p.bin, args...)
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		p.t.Fatalf("promtest: start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()

	deadline := time.Now().Add(readyTimeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.URL() + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			p.t.Fatalf("promtest: prometheus exited before it was ready:\n%s", p.logTail(4000))
		case <-time.After(pollInterval):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("promtest: prometheus not ready after %s:\n%s", readyTimeout, p.logTail(4000))
		}
	}
}

// take hands the running process, if any, to the caller that ends it.
func (p *Prometheus) take() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	return cmd, exited
}

func (p *Prometheus) stop() {
	cmd, exited := p.take()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (p *Prometheus) logTail(n int) string {
	if p.logs == nil {
		return ""
	}
	s := p.logs.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// WaitForSeries polls the instant query until it returns at least one series (or a scalar),
// and fails the test after a deadline.
func (p *Prometheus) WaitForSeries(t testing.TB, query string) {
	t.Helper()
	deadline := time.Now().Add(seriesTimeout)
	var last string
	for {
		n, err := p.count(query)
		if err == nil && n > 0 {
			return
		}
		last = fmt.Sprint(err)
		if time.Now().After(deadline) {
			t.Fatalf("promtest: %q returned no data after %s (last error: %s)", query, seriesTimeout, last)
		}
		time.Sleep(pollInterval)
	}
}

// count runs an instant query now and returns the number of series it answered.
func (p *Prometheus) count(query string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/api/v1/query?query="+url.QueryEscape(query), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string            `json:"resultType"`
			Result     []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("decode answer: %w", err)
	}
	if body.Status != "success" {
		return 0, fmt.Errorf("query failed: %s", body.Error)
	}
	if body.Data.ResultType == "scalar" {
		return 1, nil
	}
	return len(body.Data.Result), nil
}

func configYAML(targets []target) string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n")
	if len(targets) == 0 {
		b.WriteString("scrape_configs: []\n")
		return b.String()
	}
	b.WriteString("scrape_configs:\n")
	for _, tg := range targets {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets: [%q]\n", tg.job, tg.hostPort)
	}
	return b.String()
}

// lookPath finds a binary, or skips the test with the install command — or, in CI, fails it.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	msg := fmt.Sprintf("promtest: %s not found on PATH; install it with `sudo apt-get install -y prometheus` (Debian/Ubuntu; it brings promtool) or `make deps`", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freeAddr reserves a free loopback port and releases it for the server to take.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("promtest: find a free port: %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
