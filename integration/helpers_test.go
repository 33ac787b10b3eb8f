package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// configHead is the start of an AutoscalerConfig whose one repository, name, is on the test's
// Git server s at url (s.URL(name), or a proxy's rewrite of it): branch main, the policies
// under policies/, and s's basic auth with the password in a file written to dir. It ends
// after the repository's auth line: the caller appends more lines of the entry (indented four
// spaces: notify:, github:), then the rest of the config from prometheus: on.
func configHead(t testing.TB, dir string, s *gittest.Server, name, url string) string {
	t.Helper()
	password := filepath.Join(dir, "git-password")
	writeFile(t, password, s.Password()+"\n")
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: %s
    url: %s
    branch: main
    policies: ["policies/*.yaml"]
    auth: {username: %s, passwordFile: %s}
`, name, url, s.User(), password)
}

// binDir holds the binaries built from this tree, each built once for the package on first
// use: the CLI, and the example's load app that the end-to-end tests drive.
var (
	binDir string
	builds = map[string]*build{
		"gitops-autoscaler": {pkg: "./cmd/gitops-autoscaler"},
		"loadapp":           {pkg: "./examples/laravel/loadapp"},
	}
)

type build struct {
	pkg  string
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitops-autoscaler-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration: temp dir:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	if left := leftoverChildren(5 * time.Second); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "integration: child processes outlived the tests (a missing cleanup):\n  %s\n", strings.Join(left, "\n  "))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// binary returns the path of the gitops-autoscaler binary built from this tree. The build runs
// once per test process; a failed build fails every test that needs it.
func binary(t testing.TB) string { return built(t, "gitops-autoscaler") }

// built returns the path of one of the builds, building it on first use.
func built(t testing.TB, name string) string {
	t.Helper()
	b := builds[name]
	b.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			b.err = fmt.Errorf("the go command is needed to build %s: %w", b.pkg, err)
			return
		}
		b.path = filepath.Join(binDir, name)
		cmd := exec.Command(goTool, "build", "-o", b.path, b.pkg)
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	})
	require.NoError(t, b.err)
	return b.path
}

// cliTimeout bounds one CLI run; a query to a stopped Prometheus retries for about a second.
const cliTimeout = 2 * time.Minute

// runCLI execs the binary with args and returns its exit code, standard output and error.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run gitops-autoscaler %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return code, out.String(), errb.String()
}

// Where the fixture repository keeps the managed replica count.
const (
	repoName    = "platform"
	valuesFile  = "envs/prod/web/values.yaml"
	replicaPath = "web.replicaCount"
	policyID    = "prod/web"
)

// valuesYAML is the values file with the given replica count. The comments, the quoting and the
// keys around the count must survive every edit byte for byte.
func valuesYAML(replicas int) string {
	return fmt.Sprintf(`# Web tier of the shop; the replica count is managed by policies/web.yaml.
web:
  image: "registry.example.com/shop/web:1.4.2"
  replicaCount: %d # gitops-autoscaler
  resources: {requests: {cpu: 250m}}
`, replicas)
}

// policyYAML is the web policy in Commit mode with the given metrics and extra spec lines
// (behavior, syncCheck, …), each indented for spec.
func policyYAML(metrics, extra string) string {
	return `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata:
  name: web
  namespace: prod
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  replicas: {file: ` + valuesFile + `, path: ` + replicaPath + `}
  minReplicas: 2
  maxReplicas: 20
  mode: Commit
  schedule: "@every 30s"
  metrics:
` + metrics + extra
}

// fixture is a real Git server holding the GitOps repository, and the service config that
// points the autoscaler at it and at a real Prometheus.
type fixture struct {
	git    *gittest.Server
	config string // the AutoscalerConfig file
}

// newFixture creates the repository (values file with the replica count, the policy under
// policies/) and writes the config: repository over HTTP with a password file, Prometheus as
// the default server.
func newFixture(t *testing.T, prom *promtest.Prometheus, policyDoc string, replicas int) *fixture {
	t.Helper()
	s := gittest.NewServer(t)
	s.CreateRepo(repoName, map[string]string{
		valuesFile:          valuesYAML(replicas),
		"policies/web.yaml": policyDoc,
	})
	dir := t.TempDir()
	cfg := configHead(t, dir, s, repoName, s.URL(repoName)) + fmt.Sprintf(`prometheus:
  - name: default
    url: %s
    timeout: 5s
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
`, prom.URL())
	file := filepath.Join(dir, "autoscaler.yaml")
	require.NoError(t, os.WriteFile(file, []byte(cfg), 0o600))
	return &fixture{git: s, config: file}
}

// evaluate execs `evaluate -o json` with a fresh cache directory (a process that has never
// run) and returns its one result. It fails the test unless the exit code is 0.
func (f *fixture) evaluate(t *testing.T, args ...string) gitops.Result {
	t.Helper()
	return f.evaluateExit(t, 0, args...)
}

// evaluateExit is evaluate expecting the exit code want (3: a policy held blind).
func (f *fixture) evaluateExit(t *testing.T, want int, args ...string) gitops.Result {
	t.Helper()
	args = append([]string{"evaluate", "--config", f.config, "--cache-dir", t.TempDir(), "-o", "json"}, args...)
	code, out, stderr := runCLI(t, args...)
	require.Equal(t, want, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	var got struct {
		Results []gitops.Result `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got.Results, 1, out)
	return got.Results[0]
}

// head is the base branch's head commit on the server.
func (f *fixture) head(t *testing.T) string {
	t.Helper()
	return f.git.HeadSHA(repoName, "main")
}

// replicas is the count in the values file on the server's base branch, checked to be the
// only difference from the initial file.
func (f *fixture) replicas(t *testing.T) int {
	t.Helper()
	content := f.git.ReadFile(repoName, "main", valuesFile)
	var n int
	_, err := fmt.Sscanf(content[strings.Index(content, "replicaCount: ")+len("replicaCount: "):], "%d", &n)
	require.NoError(t, err, content)
	require.Equal(t, valuesYAML(n), content, "only the replica count may change")
	return n
}

// trailers reads our trailers from a commit on the server.
func (f *fixture) trailers(t *testing.T, sha string) commitmsg.Trailers {
	t.Helper()
	tr, ok := commitmsg.ParseTrailers(f.git.RawMessage(repoName, sha))
	require.True(t, ok, "commit %s carries no autoscaler trailers", sha)
	return tr
}

// decisions counts the autoscaler's commits on the base branch.
func (f *fixture) decisions(t *testing.T) int {
	t.Helper()
	n := 0
	for _, e := range f.git.Log(repoName, "main") {
		if _, ok := commitmsg.ParseTrailers(e.Message); ok {
			n++
		}
	}
	return n
}

// runner is a long-running process's Runner over the fixture's config, with its own cache
// directory. Every cycle of the tests names its instant (CycleOptions.At).
func (f *fixture) runner(t *testing.T) *gitops.Runner {
	t.Helper()
	cfg, err := svcconfig.LoadConfigFile(f.config)
	require.NoError(t, err)
	cfg.CacheDir = t.TempDir()
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	servers, err := promclient.NewServers(cfg, promclient.WithLogger(log))
	require.NoError(t, err)
	src := promclient.NewPrometheusSource(servers, log) // the CLI's wiring
	return &gitops.Runner{
		Config: cfg, Metrics: src, Recommendations: src, Shadow: src,
		Sync:   promclient.NewSyncChecker(servers, log),
		Logger: log,
		Now:    time.Now,
	}
}

// cycle runs one cycle of the runner at the instant and returns the policy's result.
func (f *fixture) cycle(t *testing.T, r *gitops.Runner, at time.Time, dryRun bool) gitops.Result {
	t.Helper()
	cfg := r.Config.Repositories[0]
	rep, err := r.Cycle(context.Background(), gitops.Repo{Config: cfg}, gitops.CycleOptions{At: at, DryRun: dryRun})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	return rep.Results[0]
}

// testLog sends a runner's log lines to the test log.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// codes lists the reason codes of a result.
func codes(r gitops.Result) []engine.ReasonCode { return reasonCodes(r.Reasons) }

func reasonCodes(rs []engine.Reason) []engine.ReasonCode {
	out := make([]engine.ReasonCode, len(rs))
	for i, reason := range rs {
		out[i] = reason.Code
	}
	return out
}

// gauge is seeded history of one gauge: value(t) for every 15 s from..to (both included).
func gauge(name string, labels map[string]string, from, to time.Time, value func(time.Time) float64) promtest.Series {
	s := promtest.Series{Name: name, Labels: labels}
	for at := from; !at.After(to); at = at.Add(15 * time.Second) {
		s.Samples = append(s.Samples, promtest.Sample{At: at, Value: value(at)})
	}
	return s
}

// seeded starts a Prometheus over the given history (written with promtool before it starts).
func seeded(t *testing.T, series ...promtest.Series) *promtest.Prometheus {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	promtest.Seed(t, dataDir, promtest.OpenMetrics(series...))
	return promtest.Start(t, promtest.WithDataDir(dataDir))
}

// historyBase is a whole minute far enough in the past that seeded history around it (±10
// minutes) is complete: every step of a test's timeline is a multiple of 30 s, as the
// stabilization steps are.
func historyBase() time.Time {
	return time.Now().UTC().Truncate(time.Minute).Add(-25 * time.Minute)
}
