package gitops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// The service tests run the scheduler against a real Git server on a fake clock: time moves
// only when the test moves it, and only once the service waits for it.

var svcStart = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// svcClock is a fake Clock. After registers a waiter; advanceTo fires the waiters due.
type svcClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []svcWaiter
	added   chan struct{}
}

type svcWaiter struct {
	at time.Time
	ch chan time.Time
}

func newSvcClock(at time.Time) *svcClock {
	return &svcClock{now: at, added: make(chan struct{}, 1000)}
}

func (c *svcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *svcClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, svcWaiter{at: c.now.Add(d), ch: ch})
	c.added <- struct{}{}
	return ch
}

func (c *svcClock) clock() Clock { return Clock{Now: c.Now, After: c.After} }

// nextWaiter blocks until the service waits on the clock and returns the instant it waits for.
// The guard only keeps a broken service from hanging the test run.
func (c *svcClock) nextWaiter(t *testing.T) time.Time {
	t.Helper()
	select {
	case <-c.added:
	case <-time.After(30 * time.Second):
		t.Fatal("the service never waited on the clock")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Len(t, c.waiters, 1, "one repository loop waits")
	return c.waiters[0].at
}

// advanceTo sets the time and fires every waiter due.
func (c *svcClock) advanceTo(at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = at
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(at) {
			keep = append(keep, w)
			continue
		}
		w.ch <- at
	}
	c.waiters = keep
}

// svcMetrics gives every metric named rps the same value.
type svcMetrics float64

func (m svcMetrics) Values(_ context.Context, _ time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	out := make([][]engine.MetricValue, len(ps))
	for i, p := range ps {
		for _, spec := range p.Spec.Metrics {
			out[i] = append(out[i], engine.MetricValue{Name: spec.Name, Value: float64(m)})
		}
	}
	return out
}

// svcPolicy is a Commit-mode policy scaling team/<name>'s values file on rps: up past 200,
// down under 50.
func svcPolicy(name, schedule string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: %[1]s, namespace: team}
spec:
  targetRef: {kind: Deployment, name: %[1]s}
  replicas: {file: envs/%[1]s/values.yaml, path: replicaCount}
  minReplicas: 1
  maxReplicas: 10
  mode: Commit
  schedule: "%[2]s"
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total{app="%[1]s"}[2m]))
      scaleUp: {threshold: 200, step: 1}
      scaleDown: {threshold: 50, step: 1}
`, name, schedule)
}

// svcFiles is a repository with one policy per name → schedule, each at 2 replicas.
func svcFiles(schedules map[string]string) map[string]string {
	files := map[string]string{}
	for name, sched := range schedules {
		files["policies/"+name+".yaml"] = svcPolicy(name, sched)
		files["envs/"+name+"/values.yaml"] = "# " + name + "\nreplicaCount: 2\n"
	}
	return files
}

type svcEnv struct {
	srv    *gittest.Server
	repo   Repo
	runner *Runner
	clock  *svcClock
}

func newSvcEnv(t *testing.T, files map[string]string, metrics MetricSource, opts ...gittest.Option) *svcEnv {
	t.Helper()
	srv := gittest.NewServer(t, opts...)
	srv.CreateRepo("platform", files)
	pw := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pw, []byte(srv.Password()), 0o600))
	rc := svcconfig.Repository{
		Name: "platform", URL: srv.URL("platform"), Branch: "main", Policies: []string{"policies/*.yaml"},
		Auth: &svcconfig.GitAuth{Username: srv.User(), PasswordFile: pw},
	}
	return &svcEnv{srv: srv, repo: Repo{Config: rc}, clock: newSvcClock(svcStart), runner: svcRunner(t, metrics, rc)}
}

// svcRunner is a runner with its own cache directory and no backoff.
func svcRunner(t *testing.T, metrics MetricSource, repos ...svcconfig.Repository) *Runner {
	cfg := &svcconfig.Config{
		APIVersion: policy.APIVersion, Kind: policy.KindConfig, Repositories: repos,
		Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: "http://127.0.0.1:9"}},
		CacheDir:   t.TempDir(),
	}
	cfg.SetDefaults()
	return &Runner{
		Config: cfg, Metrics: metrics,
		Backoff: func(int) time.Duration { return 0 },
		Sleep:   func(context.Context, time.Duration) error { return nil },
	}
}

func (e *svcEnv) service(t *testing.T, shard, shards int, onCycle func(CycleEvent)) *Service {
	t.Helper()
	e.runner.Now = e.clock.Now
	s, err := NewService(ServiceOptions{
		Runner: e.runner, Repos: []Repo{e.repo}, Shard: shard, Shards: shards,
		Clock: e.clock.clock(), OnCycle: onCycle,
	})
	require.NoError(t, err)
	return s
}

func TestJitter(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		interval time.Duration
		max      time.Duration
		below    time.Duration
	}{
		{name: "a tenth of a 30 s interval", id: "team/web", interval: 30 * time.Second, max: 5 * time.Second, below: 3 * time.Second},
		{name: "capped on a long interval", id: "team/web", interval: time.Hour, max: 5 * time.Second, below: 5 * time.Second},
		{name: "a window of one second", id: "team/web", interval: 10 * time.Second, max: 5 * time.Second, below: 1},
		{name: "a window under a second", id: "team/web", interval: 2 * time.Second, max: 5 * time.Second, below: 1},
		{name: "no window", id: "team/web", interval: 5 * time.Nanosecond, max: 5 * time.Second, below: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := Jitter(tt.id, tt.interval, tt.max)
			assert.GreaterOrEqual(t, j, time.Duration(0))
			assert.Less(t, j, tt.below)
			assert.Zero(t, j%time.Second, "whole seconds: %s", j)
			assert.Equal(t, j, Jitter(tt.id, tt.interval, tt.max), "stable")
		})
	}
	// A thousand policies on one schedule spread over every second of the window.
	seen := map[time.Duration]int{}
	for i := range 1000 {
		seen[Jitter(fmt.Sprintf("team/app-%d", i), time.Minute, 5*time.Second)]++
	}
	require.Len(t, seen, 5, "offsets 0–4 s: %v", seen)
	for off, n := range seen {
		assert.Zero(t, off%time.Second, "whole seconds: %s", off)
		assert.Greater(t, n, 150, "offset %s: %d of 1000 policies", off, n)
	}
}

// atSource records, for every query, the instant asked and the clock's time then.
type atSource struct {
	clock *svcClock
	mu    sync.Mutex
	asked [][2]time.Time // {at, now}
}

func (m *atSource) Values(ctx context.Context, at time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	m.mu.Lock()
	m.asked = append(m.asked, [2]time.Time{at, m.clock.Now()})
	m.mu.Unlock()
	return svcMetrics(100).Values(ctx, at, ps)
}

// TestServiceWakesOnWholeSeconds: a scheduled cycle queries its metrics at the instant it woke.
// The cycle evaluates at its start truncated to the second (the evaluatedAt its commit records),
// so a wake off the second would query an instant before the wake and leave a sample scraped in
// between to the next evaluation (docs/design.md §2, step 3): the schedule's slots and every
// policy's offset are whole seconds, even when the service starts mid-second.
func TestServiceWakesOnWholeSeconds(t *testing.T) {
	for _, sched := range []string{"@every 2s", "@every 10s", "@every 30s", "@every 1m", "* * * * *"} {
		t.Run(sched, func(t *testing.T) {
			env := newSvcEnv(t, svcFiles(map[string]string{"web": sched, "api": sched}), nil)
			env.clock = newSvcClock(svcStart.Add(437 * time.Millisecond))
			src := &atSource{clock: env.clock}
			env.runner.Metrics = src
			svc := env.service(t, 0, 0, nil)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- svc.Run(ctx) }()
			for range 4 {
				env.clock.advanceTo(env.clock.nextWaiter(t))
			}
			env.clock.nextWaiter(t) // the fourth wake's cycle has finished
			cancel()
			require.NoError(t, <-done)

			src.mu.Lock()
			defer src.mu.Unlock()
			require.Len(t, src.asked, 5, "the first cycle and four wakes")
			assert.Equal(t, svcStart, src.asked[0][0], "the first cycle, at start: its second")
			for i, q := range src.asked[1:] {
				assert.Equal(t, q[1], q[0], "wake %d: queried at the wake, nothing lost to the truncation", i+1)
				assert.Zero(t, q[1].Nanosecond(), "wake %d at %s: on a whole second", i+1, q[1].Format(time.StampMicro))
			}
		})
	}
}

func TestServiceRunsEachPolicyOnItsOwnInterval(t *testing.T) {
	schedules := map[string]string{"fast": "@every 30s", "slow": "@every 1m"}
	env := newSvcEnv(t, svcFiles(schedules), svcMetrics(100)) // 100 rps: no change
	var mu sync.Mutex
	var cycles []CycleEvent
	svc := env.service(t, 0, 0, func(ev CycleEvent) {
		mu.Lock()
		defer mu.Unlock()
		cycles = append(cycles, ev)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()

	end := svcStart.Add(3 * time.Minute)
	for {
		at := env.clock.nextWaiter(t)
		if at.After(end) {
			break
		}
		env.clock.advanceTo(at)
	}
	cancel()
	require.NoError(t, <-done)

	// The expected runs: the first cycle, then every slot plus the policy's jitter.
	want := map[string]int{}
	wakes := map[time.Time]bool{}
	for name, spec := range schedules {
		id := "team/" + name
		every, err := time.ParseDuration(spec[len("@every "):])
		require.NoError(t, err)
		want[id] = 1
		for slot := svcStart.Add(every); !slot.Add(Jitter(id, every, 5*time.Second)).After(end); slot = slot.Add(every) {
			want[id]++
			wakes[slot.Add(Jitter(id, every, 5*time.Second))] = true
		}
	}
	got := map[string]int{}
	mu.Lock()
	defer mu.Unlock()
	for i, ev := range cycles {
		require.NoError(t, ev.Err)
		require.NotNil(t, ev.Report)
		if i > 0 {
			assert.Len(t, ev.Report.Results, len(ev.Only), "a scheduled cycle evaluates only the policies due")
		}
		for _, r := range ev.Report.Results {
			got[r.Policy]++
		}
	}
	assert.Equal(t, want, got, "evaluations per policy")
	assert.Len(t, cycles, 1+len(wakes), "one cycle per wake")
	assert.Equal(t, len(cycles), env.srv.Requests("platform", gittest.UploadPack), "one fetch per cycle")
	assert.Zero(t, env.srv.Requests("platform", gittest.ReceivePack), "nothing to push")
	assert.True(t, svc.Ready())
}

func TestServiceShutdownFinishesThePushInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inPush := make(chan struct{})
	var once sync.Once
	env := newSvcEnv(t, svcFiles(map[string]string{"web": "@every 30s"}), svcMetrics(300), // 2 → 3
		gittest.WithBeforeReceivePack(func(string) {
			once.Do(func() { close(inPush) })
			<-ctx.Done() // SIGTERM arrives while the push is under way
		}))
	var mu sync.Mutex
	cycles := 0
	svc := env.service(t, 0, 0, func(CycleEvent) { mu.Lock(); cycles++; mu.Unlock() })
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()

	<-inPush
	cancel()
	require.NoError(t, <-done)

	log := env.srv.Log("platform", "main")
	require.Len(t, log, 2, "the decision landed on the remote")
	assert.Equal(t, "autoscale(team/web): 2 → 3 replicas", log[0].Subject)
	assert.Equal(t, "# web\nreplicaCount: 3\n", env.srv.ReadFile("platform", "main", "envs/web/values.yaml"))
	mu.Lock()
	assert.Equal(t, 1, cycles, "no cycle after shutdown")
	mu.Unlock()
	assert.Equal(t, 1, env.srv.Requests("platform", gittest.UploadPack), "no fetch after shutdown")
	_, err := svc.EvaluateNow(context.Background(), nil)
	assert.ErrorIs(t, err, ErrShuttingDown)
	st := svc.Status()
	require.Len(t, st, 1)
	assert.Equal(t, ActionCommitted, st[0].LastAction)
	assert.Equal(t, new(3), st[0].Current)
}

func TestServiceShardsSplitThePolicies(t *testing.T) {
	schedules := map[string]string{}
	for i := range 12 {
		schedules[fmt.Sprintf("app-%02d", i)] = "@every 30s"
	}
	files := svcFiles(schedules)
	env := newSvcEnv(t, files, svcMetrics(100))
	owner := map[string]int{}
	for shard := range 2 {
		runner := svcRunner(t, svcMetrics(100), env.repo.Config) // a cache of its own: another instance
		runner.Now = env.clock.Now
		svc, err := NewService(ServiceOptions{Runner: runner, Repos: []Repo{env.repo}, Shard: shard, Shards: 2, Clock: env.clock.clock()})
		require.NoError(t, err)
		results, err := svc.EvaluateNow(context.Background(), nil)
		require.NoError(t, err)
		require.NotEmpty(t, results, "shard %d has work", shard)
		for _, r := range results {
			prev, dup := owner[r.Policy]
			assert.False(t, dup, "%s evaluated by shards %d and %d", r.Policy, prev, shard)
			owner[r.Policy] = shard
			assert.True(t, InShard(r.Policy, shard, 2))
		}
		assert.Len(t, svc.Status(), len(results), "the status lists the shard's policies only")
	}
	var all []string
	for id := range owner {
		all = append(all, id)
	}
	sort.Strings(all)
	var want []string
	for name := range schedules {
		want = append(want, "team/"+name)
	}
	sort.Strings(want)
	assert.Equal(t, want, all, "together the shards cover every policy")
}

func TestServiceEvaluateNowAndStatus(t *testing.T) {
	env := newSvcEnv(t, svcFiles(map[string]string{"web": "@every 30s", "worker": "@every 1m"}), svcMetrics(300))
	svc := env.service(t, 0, 0, nil)
	assert.False(t, svc.Ready(), "not ready before the first cycle")

	// Asked by name before the first cycle (an Alertmanager webhook right after a restart):
	// the service learns the repository's policies first, and evaluates exactly that one.
	results, err := svc.EvaluateNow(context.Background(), []string{"web"})
	require.NoError(t, err)
	require.Len(t, results, 1)
	assert.Equal(t, "team/web", results[0].Policy)

	results, err = svc.EvaluateNow(context.Background(), nil)
	require.NoError(t, err)
	require.Len(t, results, 2)
	assert.True(t, svc.Ready(), "synced")
	env.srv.CommitAt("platform", map[string]string{"envs/web/values.yaml": "# web\nreplicaCount: 2\n"}, "back to 2", "Ops <ops@example.com>", svcStart.Add(30*time.Second))
	env.clock.advanceTo(svcStart.Add(time.Minute))

	results, err = svc.EvaluateNow(context.Background(), []string{"web"})
	require.NoError(t, err)
	require.Len(t, results, 1, "only the named policy")
	assert.Equal(t, "team/web", results[0].Policy)
	assert.Equal(t, ActionHeld, results[0].Action, "a person just set the count")

	_, err = svc.EvaluateNow(context.Background(), []string{"nope"})
	assert.ErrorIs(t, err, ErrUnknownPolicy)

	st := svc.Status()
	require.Len(t, st, 2)
	web, worker := st[0], st[1]
	assert.Equal(t, "team/web", web.ID)
	assert.Equal(t, "platform", web.Repository)
	assert.Equal(t, "envs/web/values.yaml#replicaCount", web.Target)
	assert.Equal(t, ActionHeld, web.LastAction)
	assert.Equal(t, new(2), web.Current)
	assert.Equal(t, new(2), web.Desired)
	require.NotEmpty(t, web.Holds)
	assert.Equal(t, engine.ReasonManualEditHold, web.Holds[0].Code)
	assert.Equal(t, ActionCommitted, worker.LastAction)
	assert.Equal(t, new(3), worker.Current)
	assert.NotEmpty(t, worker.Commit)
	assert.Equal(t, "@every 1m", worker.Schedule)
	assert.Equal(t, policy.ModeCommit, worker.Mode)

	ev, err := svc.History(context.Background(), "platform", "team/worker", svcStart.Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, ev, 1)
	assert.Equal(t, engine.EventDecision, ev[0].Kind)
	assert.Equal(t, 3, ev[0].To)
}

func TestServiceLearnsPolicyChangesFromTheRepository(t *testing.T) {
	env := newSvcEnv(t, svcFiles(map[string]string{"web": "@every 30s"}), svcMetrics(100))
	svc := env.service(t, 0, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()

	first := env.clock.nextWaiter(t) // after the first cycle
	require.Len(t, svc.Status(), 1)
	// A person adds a policy and deletes the first, in one commit.
	env.srv.Commit("platform", map[string]string{
		"policies/api.yaml":    svcPolicy("api", "@every 1m"),
		"envs/api/values.yaml": "replicaCount: 2\n",
		"policies/web.yaml":    "",
		"envs/web/values.yaml": "",
	}, "replace web by api", "Ops <ops@example.com>")
	env.clock.advanceTo(first)
	next := env.clock.nextWaiter(t)

	st := svc.Status()
	require.Len(t, st, 1, "the deleted policy is forgotten")
	assert.Equal(t, "team/api", st[0].ID)
	assert.Equal(t, &next, st[0].NextRun, "the new policy is scheduled")
	assert.Equal(t, first.Add(time.Minute).Truncate(time.Second).Add(Jitter("team/api", time.Minute, 5*time.Second)), next)
}

// TestServiceKeepsInvalidPoliciesOnTheStatus: a policy whose document breaks after it scaled
// keeps its row — the count Git holds, the document's file:line and its problem — and is not
// scheduled; a document whose name cannot be read gets a row of its own; the others go on.
func TestServiceKeepsInvalidPoliciesOnTheStatus(t *testing.T) {
	env := newSvcEnv(t, svcFiles(map[string]string{"web": "@every 30s", "worker": "@every 30s"}), svcMetrics(300))
	svc := env.service(t, 0, 0, nil)
	ctx := context.Background()
	_, err := svc.EvaluateNow(ctx, nil)
	require.NoError(t, err)

	env.srv.Commit("platform", map[string]string{
		"policies/web.yaml":    strings.Replace(svcPolicy("web", "@every 30s"), "maxReplicas: 10", "maxReplicas: ten", 1),
		"policies/broken.yaml": "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: PrometheusAutoscaler\nmetadata: {name: [\n",
	}, "two mistakes", "Ops <ops@example.com>")
	env.clock.advanceTo(svcStart.Add(time.Minute))
	results, err := svc.EvaluateNow(ctx, nil)
	require.NoError(t, err, "invalid documents do not fail the cycle")
	require.Len(t, results, 3)

	st := svc.Status()
	require.Len(t, st, 3)
	byID := map[string]PolicyStatus{}
	for _, s := range st {
		byID[s.ID] = s
	}
	web := byID["team/web"]
	assert.Equal(t, "policies/web.yaml:1", web.Invalid)
	assert.Equal(t, `policies/web.yaml:8: spec.maxReplicas: must be an integer, got "ten"`, web.LastError)
	assert.Nil(t, web.Current, "not evaluated: no count, not the 0 of an unset int")
	assert.Nil(t, web.Desired, "no decision")
	assert.Nil(t, web.NextRun, "not scheduled")
	unnamed := byID[""]
	assert.Equal(t, "policies/broken.yaml:3", unnamed.Invalid)
	assert.Contains(t, unnamed.LastError, "policies/broken.yaml:3: invalid YAML")
	worker := byID["team/worker"]
	assert.Empty(t, worker.Invalid)
	assert.Equal(t, new(4), worker.Current, "the others are evaluated")
	assert.Contains(t, env.srv.ReadFile("platform", "main", "envs/web/values.yaml"), "replicaCount: 3\n")

	// Fixed: scheduled and evaluated again; the unnamed row goes with its file.
	env.srv.Commit("platform", map[string]string{"policies/web.yaml": svcPolicy("web", "@every 30s"), "policies/broken.yaml": ""},
		"fix", "Ops <ops@example.com>")
	env.clock.advanceTo(svcStart.Add(2 * time.Minute))
	_, err = svc.EvaluateNow(ctx, nil)
	require.NoError(t, err)
	st = svc.Status()
	require.Len(t, st, 2)
	assert.Empty(t, st[0].Invalid)
	assert.Empty(t, st[0].LastError)
	assert.Equal(t, new(4), st[0].Current)
	require.NotNil(t, st[0].NextRun, "scheduled again")
}

// TestStatusListsHolds: a policy's status lists as holds exactly the reasons that kept its
// count — a workload switched off among them — and not the rules deciding, Steady's included.
func TestStatusListsHolds(t *testing.T) {
	r := func(c engine.ReasonCode) engine.Reason { return engine.Reason{Code: c, Message: string(c)} }
	for _, tc := range []struct {
		name    string
		reasons []engine.Reason
		holds   []engine.ReasonCode
	}{
		{name: "switched off", reasons: []engine.Reason{r(engine.ReasonSwitchedOff)}, holds: []engine.ReasonCode{engine.ReasonSwitchedOff}},
		{name: "a manual edit among the rules", reasons: []engine.Reason{r(engine.ReasonMetricValue), r(engine.ReasonManualEditHold), r(engine.ReasonBounded)},
			holds: []engine.ReasonCode{engine.ReasonManualEditHold}},
		{name: "Steady waits: no hold", reasons: []engine.Reason{r(engine.ReasonMetricValue), r(engine.ReasonSteadyWaits), r(engine.ReasonSteadyBudget), r(engine.ReasonSteadyConfirm)}},
		{name: "Steady scales: no hold", reasons: []engine.Reason{r(engine.ReasonSteadyScaleUp), r(engine.ReasonSteadyScaleDown)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st PolicyStatus
			applyResult(&st, Result{Action: ActionHeld, Reasons: tc.reasons})
			var got []engine.ReasonCode
			for _, h := range st.Holds {
				got = append(got, h.Code)
			}
			assert.Equal(t, tc.holds, got)
		})
	}
}
