package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/faultproxy"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/tinyfs"
)

// The fault suite: the built binary against real servers behind a fault-injecting proxy.
// Every fault is followed by the same checks — no partial commit, no duplicate pull request,
// no lost human commit — and by a run without the fault, which must converge.

// faultT0 and faultT1 are the instants the fault runs decide at: at T0 the load keeps every
// policy at 2 replicas, at T1 it asks for 6.
var (
	faultT0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	faultT1 = faultT0.Add(5 * time.Minute)
)

// faultApps are the policies of the fault repository: each scales its own values file on
// load, an AverageValue target of 100 per replica.
var faultApps = []string{"api", "cart", "web"}

func faultPolicy(app, mode string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: %[1]s, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  replicas: {file: envs/prod/%[1]s/values.yaml, path: app.replicaCount}
  minReplicas: 1
  maxReplicas: 20
  mode: %[2]s
  metrics:
    - name: load
      promQL: max(shop_load{app="%[1]s"})
      target: {type: AverageValue, averageValue: 100}
`, app, mode)
}

func faultValues(app string, n int) string {
	return fmt.Sprintf("# %s\napp:\n  image: registry.example.com/shop/%s:1.0\n  replicaCount: %d  # managed\n", app, app, n)
}

// faultRepo is a Git server with the fault repository, the proxy in front of it, and what
// the runs need: a config pointing at the proxy, a kept cache, a trace.
type faultRepo struct {
	git     *gittest.Server
	proxy   *faultproxy.Proxy
	config  string
	cache   string
	trace   string
	initial string
	humans  []string // commits people pushed
	// prom is the real Prometheus the policies read, when they read one (see evaluateSeen).
	prom *promtest.Prometheus
}

const faultRepoName = "shop"

// faultOptions shape a fault repository.
type faultOptions struct {
	mode string // the policies' mode (default Commit)
	// repo is appended under the repository in the config (a github block), top at the top.
	repo, top string
	// repoFor, when set, is called with the Git server once it runs, and what it returns is
	// appended to repo: a block that names a host API over that server.
	repoFor func(*gittest.Server) string
	// prometheus is the Prometheus URL; empty: metric values come from the trace file.
	prometheus string
	replicas   int // the starting count (default 2)
	// cycleTimeout bounds a run's cycle (default 4s, short enough that a stalled server
	// fails a run quickly).
	cycleTimeout time.Duration
}

// newFaultRepo creates the repository and writes a config whose Git URL goes through the
// proxy.
func newFaultRepo(t *testing.T, o faultOptions) *faultRepo {
	t.Helper()
	if o.mode == "" {
		o.mode = "Commit"
	}
	if o.replicas == 0 {
		o.replicas = 2
	}
	if o.cycleTimeout == 0 {
		o.cycleTimeout = 4 * time.Second
	}
	promURL := o.prometheus
	if promURL == "" {
		promURL = "http://127.0.0.1:9"
	}
	s := gittest.NewServer(t)
	files := map[string]string{"README.md": "# shop\n"}
	for _, a := range faultApps {
		files["policies/"+a+".yaml"] = faultPolicy(a, o.mode)
		files["envs/prod/"+a+"/values.yaml"] = faultValues(a, o.replicas)
	}
	f := &faultRepo{git: s, initial: s.CreateRepo(faultRepoName, files)}
	keepReflog(s, faultRepoName)
	if o.repoFor != nil {
		o.repo += o.repoFor(s)
	}
	f.proxy = faultproxy.New(t, strings.TrimSuffix(s.URL(faultRepoName), "/"+faultRepoName+".git"))
	dir := t.TempDir()
	f.cache = filepath.Join(dir, "cache")
	f.trace = filepath.Join(dir, "trace.csv")
	var trace strings.Builder
	trace.WriteString("timestamp,metric,value\n")
	for _, at := range []time.Time{faultT0, faultT1} {
		v := 150.0 // 2 replicas
		if at.Equal(faultT1) {
			v = 560 // 6 replicas
		}
		fmt.Fprintf(&trace, "%s,load,%g\n", at.Format(time.RFC3339), v)
	}
	writeFile(t, f.trace, trace.String())
	if o.prometheus != "" {
		f.trace = ""
	}
	f.config = filepath.Join(dir, "autoscaler.yaml")
	writeFile(t, f.config, configHead(t, dir, s, faultRepoName, f.proxy.Rewrite(s.URL(faultRepoName)))+fmt.Sprintf(`%sprometheus:
  - name: default
    url: %s
    timeout: 1s
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
cycleTimeout: %s
cacheDir: %s
%s`, o.repo, promURL, o.cycleTimeout, f.cache, o.top))
	return f
}

// evaluate runs `evaluate` at an instant and returns its exit code and results.
func (f *faultRepo) evaluate(t *testing.T, at time.Time, args ...string) (int, []gitops.Result, string) {
	t.Helper()
	code, out, stderr := runCLI(t, append(f.evaluateArgs(at), args...)...)
	t.Logf("evaluate %s: exit %d\n%s", at.Format(time.Kitchen), code, stderr)
	var got struct {
		Results []gitops.Result `json:"results"`
	}
	if strings.TrimSpace(out) != "" {
		require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	}
	return code, got.Results, stderr
}

// evaluateArgs are the arguments of `evaluate` at an instant, with the kept cache, JSON
// results and debug logs.
func (f *faultRepo) evaluateArgs(at time.Time) []string {
	args := []string{"evaluate", "--config", f.config, "--cache-dir", f.cache, "-o", "json", "--log-level", "debug"}
	if f.trace != "" {
		args = append(args, "--metrics-file", f.trace, "--at", at.Format(time.RFC3339))
	}
	return args
}

// evaluateSeen is evaluate at faultT1, for the runs after a fault. Against a real
// Prometheus (f.prom set) a run may find the series gone: a scrape that outlasts its 1s
// timeout on a loaded machine leaves a staleness marker until the next scrape, and every
// policy then holds on a missing metric, as it must. Such a run is tried again, up to five
// times, each once the series is back; a run that holds for any other reason is returned.
func (f *faultRepo) evaluateSeen(t *testing.T) (int, []gitops.Result, string) {
	t.Helper()
	for try := 1; ; try++ {
		if f.prom != nil {
			f.prom.WaitForSeries(t, "shop_load")
		}
		code, results, stderr := f.evaluate(t, faultT1)
		if f.prom == nil || try == 5 || !allHeldBlind(results) {
			return code, results, stderr
		}
		t.Logf("run %d: every policy held on a missing metric (a scrape failed); running again", try)
	}
}

// allHeldBlind says whether every result is a hold because all its metrics were missing.
func allHeldBlind(results []gitops.Result) bool {
	for _, r := range results {
		if r.Action != gitops.ActionHeldBlind || !strings.Contains(fmt.Sprint(r.Reasons), "all metrics missing") {
			return false
		}
	}
	return len(results) > 0
}

// human pushes a person's unrelated commit, straight to the server.
func (f *faultRepo) human(t *testing.T, n int) {
	t.Helper()
	f.humans = append(f.humans, f.git.Commit(faultRepoName, map[string]string{"README.md": fmt.Sprintf("# shop\n\nrelease %d\n", n)},
		fmt.Sprintf("docs: release %d", n), "Ann <ann@example.com>"))
}

// replicas is the count an app's values file holds on the remote's base branch, checked to
// be the only change to the file.
func (f *faultRepo) replicas(t *testing.T, app string) int {
	t.Helper()
	content := f.git.ReadFile(faultRepoName, "main", "envs/prod/"+app+"/values.yaml")
	for n := 0; n <= 20; n++ {
		if content == faultValues(app, n) {
			return n
		}
	}
	require.Failf(t, "values file changed beyond its count", "%s:\n%s", app, content)
	return -1
}

// checkInvariants checks the remote after a fault: checkRemote's invariants, and, with
// openPRs, at most one open pull request per policy and no branch of ours without one.
func (f *faultRepo) checkInvariants(t *testing.T, openPRs func(branch string) int) {
	t.Helper()
	checkRemote(t, f.git, faultRepoName, f.initial, f.humans)
	for _, b := range f.git.Branches(faultRepoName) {
		if b == "main" {
			continue
		}
		require.True(t, strings.HasPrefix(b, "autoscaler/"), "stray branch %s", b)
		if openPRs != nil {
			assert.LessOrEqual(t, openPRs(b), 1, "at most one open pull request for %s", b)
		}
	}
}

// checkRemote checks a repository's base branch since initial: its objects are whole (git
// fsck); every commit on it is a person's (humans) or a complete decision of ours — one file,
// the trailers — and no decision is there twice unless a person reverted it in between; every
// person's commit is still there; and, when the repository keeps a reflog (keepReflog), every
// commit the branch ever pointed at still is in its history: nothing was rewound.
func checkRemote(t *testing.T, s *gittest.Server, repo, initial string, humans []string) {
	t.Helper()
	s.Git(repo, "fsck", "--strict", "--no-progress")
	revs := strings.Fields(s.Git(repo, "rev-list", "--reverse", "--first-parent", initial+"..main"))
	human := map[string]bool{}
	for _, h := range humans {
		human[h] = true
		s.Git(repo, "merge-base", "--is-ancestor", h, "main") // fails the test when lost
	}
	decisions := map[string]string{} // decision ID → its commit
	of := map[string]string{}        // decision commit → its decision ID
	for _, c := range revs {
		msg := s.RawMessage(repo, c)
		if human[c] {
			if _, reverted, ok := strings.Cut(msg, "This reverts commit "); ok && len(reverted) >= 40 {
				delete(decisions, of[reverted[:40]]) // the same decision may come again
			}
			continue
		}
		tr, ok := commitmsg.ParseTrailers(msg)
		require.True(t, ok, "commit %s is neither a person's nor a decision", c)
		require.NotEmpty(t, tr.PolicyID, "commit %s has no Autoscaler-Policy trailer", c)
		files := strings.Fields(s.Git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", c))
		assert.Len(t, files, 1, "decision %s changes exactly one file", c)
		if tr.DecisionID != "" {
			assert.NotContains(t, decisions, tr.DecisionID, "decision %s committed twice (%s and %s)", tr.DecisionID, decisions[tr.DecisionID], c)
			decisions[tr.DecisionID], of[c] = c, tr.DecisionID
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir(repo), "logs", "refs", "heads", "main")); err == nil {
		for _, c := range strings.Fields(s.Git(repo, "reflog", "show", "--format=%H", "refs/heads/main")) {
			s.Git(repo, "merge-base", "--is-ancestor", c, "main") // fails the test when rewound
		}
	}
}

// keepReflog makes the server's repository log every update of its refs, for checkRemote.
func keepReflog(s *gittest.Server, repo string) {
	s.Git(repo, "config", "core.logAllRefUpdates", "always")
}

// converges runs without faults at T1 and checks that every policy reached 6 replicas, then
// that a second run at the same instant changes nothing.
func (f *faultRepo) converges(t *testing.T) { f.convergesTo(t, 6) }

// convergesTo is converges to a count of want.
func (f *faultRepo) convergesTo(t *testing.T, want int) {
	t.Helper()
	f.proxy.Clear()
	code, results, stderr := f.evaluateSeen(t)
	require.Equal(t, 0, code, "the run after the fault converges: %s\n%v", stderr, results)
	for _, a := range faultApps {
		assert.Equal(t, want, f.replicas(t, a), "%s: %v", a, results)
	}
	head := f.git.HeadSHA(faultRepoName, "main")
	code, results, stderr = f.evaluateSeen(t)
	require.Equal(t, 0, code, stderr)
	for _, r := range results {
		assert.Equal(t, gitops.ActionUnchanged, r.Action, "%s: %s %v", r.Policy, r.Error, r.Reasons)
	}
	assert.Equal(t, head, f.git.HeadSHA(faultRepoName, "main"), "a rerun makes nothing new")
	f.checkInvariants(t, nil)
}

// TestGitServerFaults: the Git server fails at every point of a cycle's exchange — the ref
// advertisement, the fetch's pack, the push's pack, its answer — by a 500, a dropped
// connection, a stall until the cycle's deadline, or slowness. Each run either lands its
// commits whole or none of them, keeps the person's commit pushed just before, and the next
// run converges.
func TestGitServerFaults(t *testing.T) {
	tests := []struct {
		name string
		rule faultproxy.Rule
		// landed: the fault came after the server took the push (its answer was lost), so
		// the decisions are on the remote although the run failed.
		landed bool
		ok     bool // the run succeeds in spite of the fault (slowness)
	}{
		{name: "fetch advertisement 500", rule: faultproxy.Rule{Match: faultproxy.GitAdvertisement("git-upload-pack"), Kind: faultproxy.Answer, Status: 500, Body: "internal error"}},
		{name: "fetch pack 500", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-upload-pack"), Kind: faultproxy.Answer, Status: 500}},
		{name: "fetch cut mid-pack", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-upload-pack"), Kind: faultproxy.CutResponse, After: 40}},
		{name: "fetch stalls mid-pack", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-upload-pack"), Kind: faultproxy.StallResponse, After: 40}},
		{name: "push advertisement 500", rule: faultproxy.Rule{Match: faultproxy.GitAdvertisement("git-receive-pack"), Kind: faultproxy.Answer, Status: 500}},
		{name: "push pack 500", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-receive-pack"), Kind: faultproxy.Answer, Status: 500}},
		{name: "push cut mid-pack", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-receive-pack"), Kind: faultproxy.CutRequest, After: 300}},
		{name: "push stalls before the request ends", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-receive-pack"), Kind: faultproxy.Slow, Delay: time.Minute}},
		{name: "push answer lost", rule: faultproxy.Rule{Match: faultproxy.GitPack("git-receive-pack"), Kind: faultproxy.StallResponse, After: 0}, landed: true},
		{name: "slow server", rule: faultproxy.Rule{Kind: faultproxy.Slow, Delay: 150 * time.Millisecond}, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFaultRepo(t, faultOptions{})
			code, _, stderr := f.evaluate(t, faultT0) // a warm cache: the fault hits a fetch
			require.Equal(t, 0, code, stderr)
			f.human(t, 1) // something to fetch

			rule := f.proxy.Add(tt.rule)
			code, results, stderr := f.evaluate(t, faultT1)
			assert.Positive(t, f.proxy.Hits(rule), "the fault happened")
			if tt.ok {
				assert.Equal(t, 0, code, stderr)
			} else {
				assert.Equal(t, 1, code, "the run reports the failure: %s %v", stderr, results)
			}
			f.checkInvariants(t, nil)
			moved := f.replicas(t, "web") == 6
			switch {
			case tt.ok || tt.landed:
				assert.True(t, moved, "the decisions landed")
			default:
				assert.False(t, moved, "nothing landed")
				assert.Equal(t, f.humans[0], f.git.HeadSHA(faultRepoName, "main"), "the remote is as the person left it")
			}
			f.converges(t)
		})
	}
}

// TestDamagedCacheIsRecloned: objects deleted from the kept clone — every pack — or the clone
// half gone; the next run repairs the cache and decides as if it had always been whole.
func TestDamagedCacheIsRecloned(t *testing.T) {
	for _, damage := range []string{"packs deleted", "objects directory deleted"} {
		t.Run(damage, func(t *testing.T) {
			t.Parallel()
			f := newFaultRepo(t, faultOptions{})
			code, _, stderr := f.evaluate(t, faultT0)
			require.Equal(t, 0, code, stderr)
			f.human(t, 1)
			clones, err := filepath.Glob(filepath.Join(f.cache, faultRepoName+"-*", ".git"))
			require.NoError(t, err)
			require.Len(t, clones, 1)
			switch damage {
			case "packs deleted":
				packs, err := filepath.Glob(filepath.Join(clones[0], "objects", "pack", "*"))
				require.NoError(t, err)
				require.NotEmpty(t, packs)
				for _, p := range packs {
					require.NoError(t, os.Remove(p))
				}
			default:
				require.NoError(t, os.RemoveAll(filepath.Join(clones[0], "objects")))
			}
			f.converges(t)
		})
	}
}

// TestCacheDiskFull: the cache's disk is full when the clone is made, and again later, when a
// cycle fetches, checks out and writes its commits. The run fails saying so, leaves no half
// clone to trust, changes nothing on the remote; once there is room the next run converges.
func TestCacheDiskFull(t *testing.T) {
	t.Run("before the clone", func(t *testing.T) {
		t.Parallel()
		f := newFaultRepo(t, faultOptions{})
		disk := tinyfs.Mount(t, 4<<20)
		f.cache = filepath.Join(disk.Dir, "cache")
		disk.FillTo(0)
		code, _, stderr := f.evaluate(t, faultT1)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "no space left on device")
		clones, _ := filepath.Glob(filepath.Join(f.cache, "*"))
		assert.Empty(t, clones, "no half clone is left to open")
		f.checkInvariants(t, nil)
		assert.Equal(t, f.initial, f.git.HeadSHA(faultRepoName, "main"))
		disk.Drain()
		f.converges(t)
	})
	t.Run("between cycles", func(t *testing.T) {
		t.Parallel()
		f := newFaultRepo(t, faultOptions{})
		disk := tinyfs.Mount(t, 4<<20)
		f.cache = filepath.Join(disk.Dir, "cache")
		code, _, stderr := f.evaluate(t, faultT0)
		require.Equal(t, 0, code, stderr)
		f.human(t, 1)
		disk.FillTo(0)
		code, _, stderr = f.evaluate(t, faultT1)
		assert.Equal(t, 1, code, stderr)
		assert.Contains(t, stderr, "no space left on device")
		f.checkInvariants(t, nil)
		assert.Equal(t, f.humans[0], f.git.HeadSHA(faultRepoName, "main"), "nothing landed")
		disk.Drain()
		f.converges(t)
	})
}

// TestPrometheusFaults: Prometheus answers 500, garbage, or too slowly while every policy's
// load says scale down from 6 to 2. Nothing scales down on missing metrics — no commit at
// all — and once Prometheus answers again the next run scales down.
func TestPrometheusFaults(t *testing.T) {
	exp := promtest.NewExporter(t)
	for _, a := range faultApps {
		exp.Set("shop_load", map[string]string{"app": a}, 150)
	}
	prom := promtest.Start(t, promtest.WithScrapeTarget("shop", exp.HostPort()))
	prom.WaitForSeries(t, "shop_load")
	tests := []struct {
		name string
		rule faultproxy.Rule
	}{
		{"500", faultproxy.Rule{Match: faultproxy.Path("/api/v1/"), Kind: faultproxy.Answer, Status: 500, Body: `{"status":"error","errorType":"internal","error":"boom"}`}},
		{"garbage", faultproxy.Rule{Match: faultproxy.Path("/api/v1/"), Kind: faultproxy.Answer, Status: 200, Body: "<html><body>502 Bad Gateway</body></html>",
			Header: map[string][]string{"Content-Type": {"text/html"}}}},
		{"slower than the timeout", faultproxy.Rule{Match: faultproxy.Path("/api/v1/"), Kind: faultproxy.Slow, Delay: 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			promProxy := faultproxy.New(t, prom.URL())
			f := newFaultRepo(t, faultOptions{prometheus: promProxy.URL(), replicas: 6})
			f.prom = prom
			rule := promProxy.Add(tt.rule)
			code, results, stderr := f.evaluate(t, time.Time{})
			assert.Positive(t, promProxy.Hits(rule), "the fault happened")
			// Missing metrics are a hold, not a failure — but not "all decided" either: exit 3,
			// documented for Jenkins users (docs/design.md §8, "Exit codes tell the truth").
			assert.Equal(t, 3, code, "missing metrics are a blind hold, exit 3: %s", stderr)
			assert.Contains(t, stderr, "could not see all", "the job log says why it is not green")
			require.Len(t, results, len(faultApps))
			for _, r := range results {
				assert.Equal(t, gitops.ActionHeldBlind, r.Action, "%s: %v %s", r.Policy, r.Reasons, r.Error)
				assert.NotEmpty(t, r.Blind, "%s: the JSON names the blind metric", r.Policy)
				assert.Equal(t, 6, r.To, r.Policy)
				assert.Contains(t, fmt.Sprint(r.Reasons), "all metrics missing", r.Policy)
			}
			assert.Equal(t, f.initial, f.git.HeadSHA(faultRepoName, "main"), "no scale-down on missing metrics")
			f.checkInvariants(t, nil)
			promProxy.Clear()
			f.convergesTo(t, 2)
		})
	}
}

// runContext bounds a test's child processes.
func runContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	t.Cleanup(cancel)
	return ctx
}
