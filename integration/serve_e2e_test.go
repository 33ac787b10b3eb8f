package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// The end-to-end scenarios of the service: `serve` (the built binary) evaluates the web
// policy every second against a real Prometheus that scrapes the example's load app (the built
// examples/laravel/loadapp) every second, and commits to a real Git server. The tests drive the
// load app's load and queue over its HTTP API, as `make demo-live` does, and read what landed
// on the remote: the replica counts over time, the trailers, the holds on the status API. Each
// ends with checkRemote — no partial commit, no decision twice, no person's commit lost,
// nothing rewound. The windows are made short (seconds), so that a scenario takes tens of
// seconds, most of them waiting on the windows.
//
// Steady is not among them: its shortest scale-down wait is three minutes (docs/steady.md);
// it is pinned by policy's tests and, over real weeks, by docs/benchmarks.md.

// The signals: the request rate the load app serves, over a window of five scrapes, and the
// emails queue's pending jobs. Both are targets of 100 per replica.
const (
	e2eRate  = `sum(rate(http_requests_total{app="laravel-web"}[5s]))`
	e2eQueue = `sum(laravel_queue_jobs_pending{queue="emails"})`
)

var (
	rateMetric = `    - name: http_rps
      promQL: '` + e2eRate + `'
      target: {type: AverageValue, averageValue: 100}
`
	queueMetric = `    - name: emails_backlog
      promQL: '` + e2eQueue + `'
      target: {type: AverageValue, averageValue: 100}
`
)

// rateExtra are the rate policy's spec lines: a six-second scale-down stabilization window,
// and no tolerance — the rate a window of five scrapes reads wavers by a few percent, and 550
// req/s reached from 5 replicas is exactly the default tolerance's 10 % above them; with none,
// anything between 501 and 600 req/s is 6 replicas, from any count.
const rateExtra = "  tolerance: 0\n  behavior: {stabilizationWindowSeconds: 6}\n"

// e2eTimeout bounds every wait for the service to react: an evaluation a second, a scrape a
// second, a five-second rate window and a short stabilization window take well under it.
const e2eTimeout = 30 * time.Second

// servePolicy is the web policy (policyYAML) evaluated every second, with its floor.
func servePolicy(metrics, extra string, minReplicas int) string {
	return strings.NewReplacer(
		`schedule: "@every 30s"`, `schedule: "@every 1s"`,
		"minReplicas: 2", fmt.Sprintf("minReplicas: %d", minReplicas),
	).Replace(policyYAML(metrics, extra))
}

// e2e is one scenario's world: the load app, a Prometheus scraping it, and the fixture
// repository (keeping a reflog) whose config points at that Prometheus.
type e2e struct {
	*fixture
	app     *loadApp
	prom    *promtest.Prometheus
	initial string
	humans  []string // commits people pushed
}

func newE2E(t *testing.T, policyDoc string, replicas int) *e2e {
	t.Helper()
	app := startLoadApp(t)
	prom := promtest.Start(t, promtest.WithScrapeTarget("laravel", app.addr))
	f := newFixture(t, prom, policyDoc, replicas)
	keepReflog(f.git, repoName)
	return &e2e{fixture: f, app: app, prom: prom, initial: f.head(t)}
}

// serve starts a `serve` process over the repository, with a cache of its own; it returns
// once the process listens.
func (e *e2e) serve(t *testing.T) *process {
	t.Helper()
	return startProcess(t, nil, "serve", "--config", e.config, "--listen", "127.0.0.1:0",
		"--cache-dir", t.TempDir(), "--log-level", "info")
}

// queued sets the emails queue's backlog and waits until Prometheus has scraped it.
func (e *e2e) queued(t *testing.T, jobs int) {
	t.Helper()
	e.app.backlog(t, jobs)
	e.prom.WaitForSeries(t, fmt.Sprintf("%s == %d", e2eQueue, jobs))
}

// served sets the request rate and waits until Prometheus's rate window says above.
func (e *e2e) served(t *testing.T, rps, above float64) {
	t.Helper()
	e.app.load(t, rps)
	e.prom.WaitForSeries(t, fmt.Sprintf("%s > %g", e2eRate, above))
}

// waitReplicas waits until the remote's base branch holds the count.
func (e *e2e) waitReplicas(t *testing.T, want int) {
	t.Helper()
	waitFor(t, e2eTimeout, func() bool { return e.replicas(t) == want }, "the remote to hold %d replicas", want)
}

// change is one commit on the base branch that changed the replica count: a decision of ours
// (with its trailers) or a person's.
type change struct {
	sha      string
	replicas int // after the commit
	decision *commitmsg.Trailers
	at       time.Time // the commit's date
}

// changes lists the first-parent commits since the start that changed the values file,
// oldest first. It checks that every decision follows from the count before it: From is
// the count the previous change left, To the count it writes, with our policy, target and
// decision ID — a decision made on a stale head, or twice, cannot pass.
func (e *e2e) changes(t *testing.T) []change {
	t.Helper()
	shas := strings.Fields(e.git.Git(repoName, "rev-list", "--reverse", "--first-parent", e.initial+"..main", "--", valuesFile))
	dates := map[string]time.Time{}
	for _, l := range e.git.Log(repoName, "main") {
		dates[l.SHA] = l.Time
	}
	target := policy.ReplicasLocation{File: valuesFile, Path: replicaPath}
	prev := countIn(t, e.git.ReadFile(repoName, e.initial, valuesFile))
	out := make([]change, 0, len(shas))
	for _, sha := range shas {
		c := change{sha: sha, replicas: countIn(t, e.git.ReadFile(repoName, sha, valuesFile)), at: dates[sha]}
		if tr, ok := commitmsg.ParseTrailers(e.git.RawMessage(repoName, sha)); ok {
			c.decision = &tr
			assert.Equal(t, policyID, tr.PolicyID, sha)
			assert.Equal(t, valuesFile+"#"+replicaPath, tr.Target, sha)
			assert.Equal(t, prev, tr.From, "decision %s starts from the count before it", sha)
			assert.Equal(t, c.replicas, tr.To, "decision %s writes its To", sha)
			assert.Equal(t, commitmsg.DecisionID(policyID, target, tr.From, tr.To), tr.DecisionID, sha)
		}
		prev = c.replicas
		out = append(out, c)
	}
	return out
}

// counts is the replica counts the changes left, in order.
func counts(cs []change) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.replicas
	}
	return out
}

// check is checkRemote over the scenario's repository.
func (e *e2e) check(t *testing.T) {
	t.Helper()
	checkRemote(t, e.git, repoName, e.initial, e.humans)
}

func countIn(t *testing.T, values string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscanf(values[strings.Index(values, "replicaCount: ")+len("replicaCount: "):], "%d", &n)
	require.NoError(t, err, values)
	return n
}

// status is the service's status of the one policy, from its HTTP API; ok is false until the
// service has found it.
func status(t *testing.T, p *process) (st gitops.PolicyStatus, ok bool) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/api/v1/policies")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Policies []gitops.PolicyStatus `json:"policies"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	if len(body.Policies) == 0 {
		return st, false
	}
	require.Len(t, body.Policies, 1)
	return body.Policies[0], true
}

// evaluatedAfter waits for an evaluation of the policy that started after since, and returns
// the status it left.
func evaluatedAfter(t *testing.T, p *process, since time.Time) gitops.PolicyStatus {
	t.Helper()
	var st gitops.PolicyStatus
	waitFor(t, e2eTimeout, func() bool {
		var ok bool
		st, ok = status(t, p)
		return ok && st.LastEvaluated != nil && st.LastEvaluated.After(since)
	}, "an evaluation after %s", since.Format(time.TimeOnly))
	return st
}

func reasonsOf(st gitops.PolicyStatus) []engine.ReasonCode { return reasonCodes(st.Reasons) }

// waitFor polls cond, in the test's goroutine, until it holds; after timeout it fails the test
// saying what it waited for.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, fmt.Sprintf(what, args...))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadApp is the example's load app, the built binary, serving its metrics on addr.
type loadApp struct {
	addr string
}

// startLoadApp starts the load app on a free loopback port, idle, and waits until it serves;
// it is stopped when the test ends.
func startLoadApp(t *testing.T) *loadApp {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	cmd := exec.Command(built(t, "loadapp"), "--listen", addr, "--tick", "100ms")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("loadapp output:\n%s", tail(out.String(), 2000))
		}
	})
	app := &loadApp{addr: addr}
	waitFor(t, e2eTimeout, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, "the load app to serve on %s", addr)
	return app
}

// load sets the request rate the app serves.
func (a *loadApp) load(t *testing.T, rps float64) {
	t.Helper()
	a.post(t, "/load", url.Values{"rps": {fmt.Sprint(rps)}, "latency": {"0.1"}})
}

// backlog sets the emails queue's pending jobs.
func (a *loadApp) backlog(t *testing.T, jobs int) {
	t.Helper()
	a.post(t, "/queue", url.Values{"queue": {"emails"}, "backlog": {fmt.Sprint(jobs)}})
}

func (a *loadApp) post(t *testing.T, path string, q url.Values) {
	t.Helper()
	resp, err := http.Post("http://"+a.addr+path+"?"+q.Encode(), "", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Less(t, resp.StatusCode, 300, "POST %s?%s", path, q.Encode())
}

// TestServeE2ELoadRisesAndFalls: the request rate goes from 150 to 550 req/s and back. The
// service scales 2 → 6 as the rate window fills (in one step or several, never down), then,
// after the six-second scale-down stabilization window, back to 2 — never up again. No
// scale-down comes before the window has forgotten the high rate: without the window the
// first one would come a second or two after the fall.
func TestServeE2ELoadRisesAndFalls(t *testing.T) {
	t.Parallel()
	const window = 6 * time.Second
	e := newE2E(t, servePolicy(rateMetric, rateExtra, 2), 2)
	e.served(t, 150, 140)
	srv := e.serve(t)
	calm := evaluatedAfter(t, srv, time.Now())
	assert.Equal(t, gitops.ActionUnchanged, calm.LastAction, calm.Reasons)
	assert.Equal(t, new(2), calm.Current)

	e.app.load(t, 550)
	e.waitReplicas(t, 6)
	peak := len(e.changes(t))
	fell := time.Now()
	e.app.load(t, 150)
	e.waitReplicas(t, 2)

	cs := e.changes(t)
	require.Greater(t, len(cs), peak, "the fall committed")
	for i, c := range cs {
		require.NotNil(t, c.decision, "change %d is the service's", i)
		if i < peak {
			assert.Greater(t, c.replicas, c.decision.From, "up while the rate rises: %v", counts(cs))
		} else {
			assert.Less(t, c.replicas, c.decision.From, "down once it fell: %v", counts(cs))
		}
	}
	assert.Equal(t, 6, cs[peak-1].replicas)
	assert.Equal(t, 2, cs[len(cs)-1].replicas)
	firstDown := cs[peak].decision.EvaluatedAt
	assert.False(t, firstDown.Before(fell.Add(window-2*time.Second)),
		"the first scale-down (%s) waited for the stabilization window after the fall (%s)", firstDown.Format(time.TimeOnly), fell.Format(time.TimeOnly))
	assert.Contains(t, cs[0].decision.Metrics, "http_rps=")
	e.check(t)
}

// TestServeE2EQueueFillsAndDrains: workers scale to zero (minReplicas 0, activation above 50
// jobs). With the emails queue empty the count stays 0 — a count of 0 is no SwitchedOff hold
// here — and 30 jobs, below the activation threshold, still start no worker. The queue fills
// (250, then 700 jobs) and drains (300, then 0): 0 → 3 → 7 → 3 → 0, one commit per step.
func TestServeE2EQueueFillsAndDrains(t *testing.T) {
	t.Parallel()
	activated := strings.Replace(queueMetric, "      target:", "      activationThreshold: 50\n      target:", 1)
	e := newE2E(t, servePolicy(activated, "  behavior: {stabilizationWindowSeconds: 3}\n", 0), 0)
	e.queued(t, 0)
	srv := e.serve(t)
	idle := evaluatedAfter(t, srv, time.Now())
	assert.Equal(t, gitops.ActionUnchanged, idle.LastAction, idle.Reasons)
	assert.Equal(t, new(0), idle.Current)
	assert.Empty(t, idle.Holds)

	e.queued(t, 30)
	below := evaluatedAfter(t, srv, time.Now())
	assert.Equal(t, gitops.ActionUnchanged, below.LastAction, below.Reasons)
	assert.Equal(t, new(0), below.Desired)
	assert.Contains(t, reasonsOf(below), engine.ReasonActivation, "30 jobs ask for 1 worker; activation says 0")
	assert.Equal(t, e.initial, e.head(t))

	for _, step := range []struct{ backlog, replicas int }{{250, 3}, {700, 7}, {300, 3}, {0, 0}} {
		e.app.backlog(t, step.backlog)
		e.waitReplicas(t, step.replicas)
	}

	cs := e.changes(t)
	assert.Equal(t, []int{3, 7, 3, 0}, counts(cs), "one commit per step")
	for _, c := range cs {
		require.NotNil(t, c.decision, c.sha)
	}
	assert.Equal(t, "emails_backlog=250", cs[0].decision.Metrics)
	assert.Equal(t, "emails_backlog=0", cs[3].decision.Metrics)
	e.check(t)
}

// TestServeE2ERevertHoldsThenResumes: the service scales 2 → 6 on a backlog of 600; a person
// reverts that commit on the remote. The policy holds (RevertHold on the status API) while
// the backlog still asks for 6, and commits nothing; once the six-second hold expired it
// commits 2 → 6 again, on top of the revert.
func TestServeE2ERevertHoldsThenResumes(t *testing.T) {
	t.Parallel()
	const hold = 6 * time.Second
	e := newE2E(t, servePolicy(queueMetric, "  holds: {afterRevertSeconds: 6}\n", 2), 2)
	e.queued(t, 200)
	srv := e.serve(t)
	e.app.backlog(t, 600)
	e.waitReplicas(t, 6)
	decision := e.head(t)

	revert := e.git.Revert(repoName, decision, "Ann <ann@example.com>", time.Time{})
	e.humans = append(e.humans, revert)
	reverted := time.Now()
	held := evaluatedAfter(t, srv, reverted)
	for !holdsWith(held, engine.ReasonRevertHold) && time.Since(reverted) < hold/2 {
		held = evaluatedAfter(t, srv, *held.LastEvaluated) // the evaluation in flight may predate the revert
	}
	assert.Contains(t, reasonCodes(held.Holds), engine.ReasonRevertHold, held.Reasons)
	assert.Equal(t, new(2), held.Current)
	assert.Equal(t, new(2), held.Desired)
	assert.Equal(t, revert, e.head(t), "nothing committed during the hold")

	e.waitReplicas(t, 6)
	cs := e.changes(t)
	require.Equal(t, []int{6, 2, 6}, counts(cs))
	assert.NotNil(t, cs[0].decision)
	assert.Nil(t, cs[1].decision, "the revert is the person's")
	require.NotNil(t, cs[2].decision)
	assert.Equal(t, []string{revert}, e.git.Log(repoName, cs[2].sha)[0].Parents, "resumed on top of the revert")
	assert.False(t, cs[2].decision.EvaluatedAt.Before(cs[1].at.Add(hold)),
		"resumed at %s, before the hold of the revert at %s expired", cs[2].decision.EvaluatedAt, cs[1].at)
	e.check(t)
}

func holdsWith(st gitops.PolicyStatus, c engine.ReasonCode) bool {
	for _, h := range st.Holds {
		if h.Code == c {
			return true
		}
	}
	return false
}

// TestServeE2EPrometheusKilledNoScaleDown: the service runs at 6 replicas on 550 req/s. The
// load drops to 150 and Prometheus is killed (SIGKILL) at once, inside the six-second
// stabilization window. While it is down the service goes on evaluating, and holds on every
// evaluation — all metrics missing — with nothing committed. Prometheus restarts on its data;
// the same service process scales down to 2, every decision after the restart.
func TestServeE2EPrometheusKilledNoScaleDown(t *testing.T) {
	t.Parallel()
	e := newE2E(t, servePolicy(rateMetric, rateExtra, 2), 6)
	e.served(t, 550, 500)
	srv := e.serve(t)
	steady := evaluatedAfter(t, srv, time.Now())
	require.Equal(t, gitops.ActionUnchanged, steady.LastAction, steady.Reasons)
	head := e.head(t)

	e.app.load(t, 150)
	e.prom.Kill()
	killed := time.Now()
	var down gitops.PolicyStatus
	for _, after := range []time.Duration{time.Second, 3 * time.Second} { // several evaluations
		down = evaluatedAfter(t, srv, killed.Add(after))
		assert.Contains(t, reasonsOf(down), engine.ReasonAllMetricsMissing, down.Reasons)
		assert.Equal(t, new(6), down.Desired, "no scale-down while Prometheus is down")
		assert.Contains(t, down.Metrics, "http_rps")
		assert.Nil(t, down.Metrics["http_rps"], "missing, not 0")
	}
	assert.Equal(t, head, e.head(t), "nothing committed while Prometheus was down")

	e.prom.Restart()
	restarted := time.Now().Truncate(time.Second)
	e.waitReplicas(t, 2)
	assert.False(t, srv.exited(), "the same process recovered")
	cs := e.changes(t)
	require.NotEmpty(t, cs)
	for _, c := range cs {
		require.NotNil(t, c.decision, c.sha)
		assert.Less(t, c.replicas, c.decision.From, "down: %v", counts(cs))
		assert.False(t, c.decision.EvaluatedAt.Before(restarted), "decided at %s, before Prometheus came back", c.decision.EvaluatedAt)
	}
	e.check(t)
}

// TestServeE2EHumanPushesDuringABurst: a person pushes an unrelated commit every 100 ms while
// the backlog climbs 300, 400 … 700 jobs, each level once the previous decision landed. Every
// decision lands — 3, 4, 5, 6, 7, each once, each from the count before it — though most
// pushes race the person's; every one of the person's commits is on the base branch; no
// commit is partial.
func TestServeE2EHumanPushesDuringABurst(t *testing.T) {
	t.Parallel()
	e := newE2E(t, servePolicy(queueMetric, "", 2), 2)
	e.queued(t, 200)
	srv := e.serve(t)
	evaluatedAfter(t, srv, time.Now())

	ann := startPerson(t, e, 100*time.Millisecond)
	for n := 3; n <= 7; n++ {
		e.app.backlog(t, n*100)
		e.waitReplicas(t, n)
	}
	e.humans = ann.stop(t)

	assert.GreaterOrEqual(t, len(e.humans), 10, "the person pushed all through the burst")
	cs := e.changes(t)
	assert.Equal(t, []int{3, 4, 5, 6, 7}, counts(cs), "every decision landed, once")
	for _, c := range cs {
		require.NotNil(t, c.decision, c.sha)
	}
	e.check(t)
	t.Logf("%d commits by the person, %d push races re-decided", len(e.humans), strings.Count(srv.out.String(), "push race: re-deciding"))
}

// person pushes a commit of a notes file every period from a clone of the remote, over HTTP
// as the service does; a push that loses a race rebases on the new head and pushes again, as
// a person would.
type person struct {
	done   chan struct{}
	result chan error
	pushed []string
}

func startPerson(t *testing.T, e *e2e, period time.Duration) *person {
	t.Helper()
	dir, home := t.TempDir(), t.TempDir()
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com",
		// The server's credentials from a helper, never in a URL or an error.
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=credential.helper",
		fmt.Sprintf("GIT_CONFIG_VALUE_0=!f() { echo username=%s; echo password=%s; }; f", e.git.User(), e.git.Password()))
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if _, err := git("clone", "--quiet", "--branch", "main", e.git.URL(repoName), "."); err != nil {
		t.Fatal(err)
	}
	p := &person{done: make(chan struct{}), result: make(chan error, 1)}
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-p.done:
				p.result <- nil
				return
			case <-tick.C:
			}
			if err := os.WriteFile(filepath.Join(dir, "NOTES.md"), fmt.Appendf(nil, "# notes\n\nrelease %d\n", n), 0o644); err != nil {
				p.result <- err
				return
			}
			sha, err := pushOne(git, n)
			if err != nil {
				p.result <- err
				return
			}
			p.pushed = append(p.pushed, sha)
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			close(p.done)
			<-p.result
		}
	})
	return p
}

// pushOne commits the notes and pushes, rebasing on a rejected push; it returns the pushed
// commit.
func pushOne(git func(...string) (string, error), n int) (string, error) {
	if _, err := git("commit", "--quiet", "-am", fmt.Sprintf("docs: release %d", n)); err != nil {
		if _, err := git("add", "NOTES.md"); err != nil {
			return "", err
		}
		if _, err := git("commit", "--quiet", "-m", fmt.Sprintf("docs: release %d", n)); err != nil {
			return "", err
		}
	}
	for range 50 {
		if _, err := git("push", "--quiet", "origin", "HEAD:main"); err == nil {
			return git("rev-parse", "HEAD")
		}
		if _, err := git("pull", "--quiet", "--rebase", "origin", "main"); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("release %d: no push won in 50 tries", n)
}

// stop stops the person and returns the commits it pushed.
func (p *person) stop(t *testing.T) []string {
	t.Helper()
	close(p.done)
	require.NoError(t, <-p.result)
	return p.pushed
}

// TestServeE2ETwoInstancesWithoutSharding: two `serve` processes, each with its own cache,
// run every policy of one repository at the same instants. Git's atomic ref update is the
// lock: one push wins, the other re-fetches, re-decides on the winner's head and has nothing
// left to do. The backlog goes to 400, 700, then 300: exactly three commits land — no decision
// twice, none for the same instant — and afterwards both instances see the count they agree
// on and commit nothing more.
func TestServeE2ETwoInstancesWithoutSharding(t *testing.T) {
	t.Parallel()
	e := newE2E(t, servePolicy(queueMetric, "  behavior: {stabilizationWindowSeconds: 2}\n", 2), 2)
	e.queued(t, 200)
	a, b := e.serve(t), e.serve(t)

	for _, n := range []int{4, 7, 3} {
		e.app.backlog(t, n*100)
		e.waitReplicas(t, n)
	}
	head := e.head(t)
	settled := time.Now().Add(time.Second)
	for name, p := range map[string]*process{"a": a, "b": b} {
		st := evaluatedAfter(t, p, settled)
		assert.Equal(t, gitops.ActionUnchanged, st.LastAction, "%s: %v", name, st.Reasons)
		assert.Equal(t, new(3), st.Current, name)
		assert.Equal(t, new(3), st.Desired, name)
	}
	assert.Equal(t, head, e.head(t), "nothing more to do")

	cs := e.changes(t)
	assert.Equal(t, []int{4, 7, 3}, counts(cs), "each decision once")
	instants := map[time.Time]string{}
	for _, c := range cs {
		require.NotNil(t, c.decision, c.sha)
		at := c.decision.EvaluatedAt
		assert.NotContains(t, instants, at, "two decisions for the instant %s", at)
		instants[at] = c.sha
	}
	e.check(t)
	t.Logf("push races re-decided: a %d, b %d", strings.Count(a.out.String(), "push race: re-deciding"), strings.Count(b.out.String(), "push race: re-deciding"))
}
