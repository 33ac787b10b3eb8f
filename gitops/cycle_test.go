package gitops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// The cycle tests run Runner against a real Git server (git http-backend with Basic auth).
// The repository starts as testdata/cycle/repo: three Commit-mode policies and their targets.

// cycleAt is the instant the cycle tests decide at; the fixture's initial commit is older.
var cycleAt = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

var cycleIdentity = svcconfig.CommitIdentity{AuthorName: "gitops-autoscaler", AuthorEmail: "autoscaler@example.com"}

// Targets of the fixture's policies.
const (
	webValues  = "envs/prod/web/values.yaml"
	apiKustom  = "envs/prod/api/kustomization.yaml"
	workerDocs = "envs/prod/worker/manifests.yaml"
	webPolicy  = "policies/web.yaml"
)

// scaleUp is a metric state that scales every fixture policy up: web 3 → 6 (560 / 100 per
// replica), api 4 → 6 (300 > 250, step 2), worker 2 → 8 (400 / 50 per replica).
var scaleUp = staticMetrics{"web_rps": 560, "api_rps": 300, "queue_backlog": 400}

// staticMetrics is a MetricSource that gives every policy the same value per metric name;
// a name it does not have is missing.
type staticMetrics map[string]float64

var _ MetricSource = staticMetrics(nil)

func (m staticMetrics) Values(_ context.Context, _ time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	out := make([][]engine.MetricValue, len(ps))
	for i, p := range ps {
		out[i] = make([]engine.MetricValue, len(p.Spec.Metrics))
		for k, spec := range p.Spec.Metrics {
			v, ok := m[spec.Name]
			out[i][k] = engine.MetricValue{Name: spec.Name, Value: v, Missing: !ok}
			if !ok {
				out[i][k].Cause = "not in the test's metrics"
			}
		}
	}
	return out
}

// cycleEnv is a Git server holding the fixture repository and a runner configured for it.
type cycleEnv struct {
	s       *gittest.Server
	runner  *Runner
	repo    Repo
	initial string            // the initial commit's sha
	files   map[string]string // the initial content
	logs    *bytes.Buffer     // the runner's JSON log
}

// newCycleEnv starts a server with the fixture repository (plus extra files) and a runner
// that authenticates with a password file, decides at cycleAt and never waits between push
// attempts.
func newCycleEnv(t *testing.T, metrics MetricSource, extra map[string]string, opts ...gittest.Option) *cycleEnv {
	t.Helper()
	files := fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))
	for k, v := range extra {
		files[k] = v
	}
	s := gittest.NewServer(t, opts...)
	initial := s.CreateRepo("platform", files)
	rc := svcconfig.Repository{
		Name: "platform", URL: s.URL("platform"), Branch: "main", Policies: []string{"policies/*.yaml"},
		Auth: &svcconfig.GitAuth{Username: s.User(), PasswordFile: secretFile(t, s.Password())},
	}
	logs := &bytes.Buffer{}
	return &cycleEnv{
		s: s, initial: initial, files: files, logs: logs,
		repo:   Repo{Config: rc},
		runner: testRunner(t, metrics, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), rc),
	}
}

// testRunner is a runner over the repositories with a fixed clock and no backoff.
func testRunner(t testing.TB, metrics MetricSource, log *slog.Logger, repos ...svcconfig.Repository) *Runner {
	cfg := &svcconfig.Config{
		APIVersion: "autoscaler.gitops.dev/v1alpha1", Kind: policy.KindConfig,
		Repositories: repos,
		Prometheus:   []svcconfig.PrometheusServer{{Name: "default", URL: "http://127.0.0.1:9"}},
		Commit:       cycleIdentity,
		CacheDir:     t.TempDir(),
	}
	cfg.SetDefaults()
	return &Runner{
		Config: cfg, Metrics: metrics, Logger: log,
		Now:     func() time.Time { return cycleAt },
		Backoff: func(int) time.Duration { return 0 },
		Sleep:   func(context.Context, time.Duration) error { return nil },
	}
}

// fixtureTree reads a directory into path → content.
func fixtureTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// secretFile writes a secret into a file of its own and returns its path.
func secretFile(t testing.TB, secret string) string {
	p := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(p, []byte(secret+"\n"), 0o600))
	return p
}

func (e *cycleEnv) cycle(t *testing.T, opts CycleOptions) *Report {
	t.Helper()
	rep, err := e.runner.Cycle(context.Background(), e.repo, opts)
	require.NoError(t, err)
	return rep
}

func (e *cycleEnv) head() string { return e.s.HeadSHA("platform", "main") }

// commitsSince lists the commits on main after sha, newest first.
func (e *cycleEnv) commitsSince(sha string) []string {
	return strings.Fields(e.s.Git("platform", "rev-list", "--first-parent", sha+"..main"))
}

func resultOf(t *testing.T, rep *Report, id string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Policy == id {
			return r
		}
	}
	require.Failf(t, "no result", "policy %s not in %+v", id, rep.Results)
	return Result{}
}

func hasReason(rs []engine.Reason, code engine.ReasonCode) (engine.Reason, bool) {
	for _, r := range rs {
		if r.Code == code {
			return r, true
		}
	}
	return engine.Reason{}, false
}

// replaceOnce replaces old by new in s, requiring exactly one occurrence.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	require.Equal(t, 1, strings.Count(s, old), "fixture must contain %q once", old)
	return strings.Replace(s, old, new, 1)
}

func TestCycleCommitsAndPushesOncePerRepository(t *testing.T) {
	e := newCycleEnv(t, scaleUp, nil)
	rep := e.cycle(t, CycleOptions{})

	tests := []struct {
		policy, file, before, after string
		from, to                    int
		metrics                     string
	}{
		{policy: "prod/api", file: apiKustom, before: "count: 4 # the API", after: "count: 6 # the API", from: 4, to: 6, metrics: "api_rps=300"},
		{policy: "prod/web", file: webValues, before: "replicaCount: 3   #", after: "replicaCount: 6   #", from: 3, to: 6, metrics: "web_rps=560"},
		{policy: "prod/worker", file: workerDocs, before: "replicas: 2\n", after: "replicas: 8\n", from: 2, to: 8, metrics: "queue_backlog=400"},
	}
	require.Len(t, rep.Results, len(tests))
	assert.Equal(t, 0, rep.PushRetries)
	assert.Equal(t, e.head(), rep.Head)
	pushed := e.commitsSince(e.initial)
	assert.Len(t, pushed, len(tests), "one commit per decision")

	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			res := resultOf(t, rep, tt.policy)
			require.Equal(t, ActionCommitted, res.Action, "error: %s", res.Error)
			assert.Equal(t, tt.from, res.From)
			assert.Equal(t, tt.to, res.To)
			assert.Contains(t, pushed, res.Commit, "the result's commit is on the remote base branch")

			// Exactly one file, and in it only the replica scalar's bytes changed.
			assert.Equal(t, tt.file+"\n", e.s.Git("platform", "diff-tree", "--no-commit-id", "--name-only", "-r", res.Commit))
			want := replaceOnce(t, e.files[tt.file], tt.before, tt.after)
			assert.Equal(t, want, e.s.ReadFile("platform", "main", tt.file))

			// The §6 message: subject, reasons, trailers.
			msg := e.s.RawMessage("platform", res.Commit)
			subject, body, ok := strings.Cut(msg, "\n\n")
			require.True(t, ok)
			assert.Equal(t, fmt.Sprintf("autoscale(%s): %d → %d replicas", tt.policy, tt.from, tt.to), subject)
			require.NotEmpty(t, res.Reasons)
			for _, r := range res.Reasons {
				assert.Contains(t, body, r.Message+"\n")
			}
			tr, ok := commitmsg.ParseTrailers(msg)
			require.True(t, ok, "trailers of %q", msg)
			loc := policy.ReplicasLocation{File: tt.file}
			loc.Path, _ = strings.CutPrefix(res.Target, tt.file+"#")
			assert.Equal(t, commitmsg.Trailers{
				PolicyID: tt.policy, Target: res.Target, From: tt.from, To: tt.to, Metrics: tt.metrics,
				EvaluatedAt: cycleAt, DecisionID: commitmsg.DecisionID(tt.policy, loc, tt.from, tt.to),
			}, tr)
			log := e.s.Log("platform", res.Commit)
			require.NotEmpty(t, log)
			assert.Equal(t, "gitops-autoscaler <autoscaler@example.com>", log[0].Author)
			assert.True(t, log[0].Time.Equal(cycleAt))
		})
	}

	assert.Equal(t, 1, e.s.Requests("platform", gittest.UploadPack), "one fetch (the clone) for the cycle")
	assert.Equal(t, 1, e.s.Requests("platform", gittest.ReceivePack), "all the cycle's commits in one push")
	assert.Equal(t, 1, e.s.PackRequests("platform", gittest.ReceivePack))

	// The next cycle fetches once more; with nothing to change it does not push.
	e.runner.Now = func() time.Time { return cycleAt.Add(time.Minute) }
	next := e.cycle(t, CycleOptions{Only: []string{"prod/web", "worker"}})
	for _, r := range next.Results {
		assert.Equal(t, ActionUnchanged, r.Action, r.Policy)
	}
	assert.Equal(t, 2, e.s.Requests("platform", gittest.UploadPack))
	assert.Equal(t, 1, e.s.Requests("platform", gittest.ReceivePack))
}

func TestCycleRedecidesOnTheNewHeadAfterAPushRace(t *testing.T) {
	e := newCycleEnv(t, scaleUp, nil)
	tagged := replaceOnce(t, e.files[webValues], `tag: "1.4.2"`, `tag: "1.5.0"`)
	capped := replaceOnce(t, e.files[webPolicy], "maxReplicas: 20", "maxReplicas: 5")
	var once sync.Once
	var theirs string
	// A person pushes between our fetch and our push: a new image tag in the very file we
	// edit, and a lower maxReplicas in the policy.
	e.s.SetBeforeReceivePack(func(string) {
		once.Do(func() {
			theirs = e.s.CommitAt("platform", map[string]string{webValues: tagged, webPolicy: capped},
				"web: release 1.5.0, cap at 5", "Ann <ann@example.com>", cycleAt.Add(-30*time.Second))
		})
	})

	rep := e.cycle(t, CycleOptions{})

	require.NotEmpty(t, theirs, "the concurrent push happened")
	assert.GreaterOrEqual(t, rep.PushRetries, 1)
	web := resultOf(t, rep, "prod/web")
	require.Equal(t, ActionCommitted, web.Action, web.Error)
	assert.Equal(t, 3, web.From)
	assert.Equal(t, 5, web.To, "re-decided under the policy of the new head")
	bounded, ok := hasReason(web.Reasons, engine.ReasonBounded)
	if assert.True(t, ok, "%v", web.Reasons) {
		assert.Contains(t, bounded.Message, "5")
	}

	// Their commit survives, ours sit on top of it, and nothing was force-pushed.
	ours := e.commitsSince(theirs)
	assert.Len(t, ours, 3)
	assert.Contains(t, ours, web.Commit)
	assert.Equal(t, []string{theirs, e.initial}, strings.Fields(e.s.Git("platform", "rev-list", "--first-parent", "main~3")))
	assert.Equal(t, replaceOnce(t, tagged, "replicaCount: 3", "replicaCount: 5"), e.s.ReadFile("platform", "main", webValues),
		"our edit was made on their version of the file, not replayed from ours")
	assert.Equal(t, capped, e.s.ReadFile("platform", "main", webPolicy))
	assert.Equal(t, 2, e.s.Requests("platform", gittest.UploadPack), "clone, then one re-fetch after the race")
	assert.Equal(t, 2, e.s.Requests("platform", gittest.ReceivePack))
}

func TestCycleHoldsAfterAPersonActed(t *testing.T) {
	tests := []struct {
		name string
		// act is what a person does after our 3 → 6 decision at cycleAt (ours is its sha);
		// it returns their commit.
		act      func(t *testing.T, e *cycleEnv, ours string) string
		code     engine.ReasonCode
		current  int
		mentions func(ours, theirs string) []string
	}{
		{
			name: "git revert of our commit",
			act: func(_ *testing.T, e *cycleEnv, ours string) string {
				return e.s.Revert("platform", ours, "Bob <bob@example.com>", cycleAt.Add(5*time.Minute))
			},
			code:     engine.ReasonRevertHold,
			current:  3,
			mentions: func(ours, theirs string) []string { return []string{ours[:12], theirs[:12], "Bob <bob@example.com>"} },
		},
		{
			name: "manual edit of the count",
			act: func(t *testing.T, e *cycleEnv, _ string) string {
				edited := replaceOnce(t, e.s.ReadFile("platform", "main", webValues), "replicaCount: 6", "replicaCount: 9")
				return e.s.CommitAt("platform", map[string]string{webValues: edited}, "web: 9 for the launch",
					"Ann <ann@example.com>", cycleAt.Add(5*time.Minute))
			},
			code:     engine.ReasonManualEditHold,
			current:  9,
			mentions: func(_, theirs string) []string { return []string{theirs[:12], "Ann <ann@example.com>", "set 9"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, scaleUp, nil)
			first := resultOf(t, e.cycle(t, CycleOptions{Only: []string{"prod/web"}}), "prod/web")
			require.Equal(t, ActionCommitted, first.Action, first.Error)
			theirs := tt.act(t, e, first.Commit)
			pushes := e.s.Requests("platform", gittest.ReceivePack)

			// Ten minutes later the metrics still want 6: the policy keeps its hands off.
			e.runner.Now = func() time.Time { return cycleAt.Add(10 * time.Minute) }
			res := resultOf(t, e.cycle(t, CycleOptions{Only: []string{"prod/web"}}), "prod/web")

			assert.Equal(t, ActionHeld, res.Action)
			assert.Equal(t, tt.current, res.From, "their value is the current count")
			assert.Equal(t, tt.current, res.To)
			assert.Empty(t, res.Commit)
			hold, ok := hasReason(res.Reasons, tt.code)
			require.True(t, ok, "%v", res.Reasons)
			for _, m := range tt.mentions(first.Commit, theirs) {
				assert.Contains(t, hold.Message, m)
			}
			assert.Equal(t, theirs, e.head(), "no new commit")
			assert.Equal(t, pushes, e.s.Requests("platform", gittest.ReceivePack), "no push")
		})
	}
}

func TestCycleDryRunAndPlanLeaveTheRemoteUntouched(t *testing.T) {
	tests := []struct {
		name string
		opts CycleOptions
		diff string
	}{
		{name: "dry run", opts: CycleOptions{DryRun: true}},
		{name: "plan", opts: CycleOptions{DryRun: true, Diff: true}, diff: "--- a/envs/prod/web/values.yaml\n" +
			"+++ b/envs/prod/web/values.yaml\n" +
			"@@ -3,3 +3,3 @@\n" +
			`   image: {repository: "ghcr.io/acme/web", tag: "1.4.2"}` + "\n" +
			"-  replicaCount: 3   # managed by gitops-autoscaler\n" +
			"+  replicaCount: 6   # managed by gitops-autoscaler\n" +
			" \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, scaleUp, nil)
			rep := e.cycle(t, tt.opts)

			require.Len(t, rep.Results, 3)
			for _, r := range rep.Results {
				assert.Equal(t, ActionDryRun, r.Action, r.Policy)
				assert.Empty(t, r.Commit, r.Policy)
				assert.NotEqual(t, r.From, r.To, r.Policy)
			}
			web := resultOf(t, rep, "prod/web")
			assert.Equal(t, 6, web.To)
			assert.Equal(t, tt.diff, web.Diff)
			assert.Equal(t, e.initial, e.head(), "remote head unchanged")
			assert.Equal(t, e.initial, rep.Head)
			assert.Zero(t, e.s.Requests("platform", gittest.ReceivePack), "no push")
			ws := e.runner.workspaces["platform"]
			require.NotNil(t, ws)
			assert.Equal(t, ws.Base(), ws.Head(), "no local commit either")
		})
	}
}

func TestCycleRefusesPathsThatLeaveTheRepository(t *testing.T) {
	outside := t.TempDir()
	outsideValues := "web:\n  replicaCount: 3\n"
	require.NoError(t, os.WriteFile(filepath.Join(outside, "values.yaml"), []byte(outsideValues), 0o644))
	escapePolicy := func(file string) string {
		return replaceOnce(t, replaceOnce(t, fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))[webPolicy],
			"name: web\n", "name: escape\n"), "file: "+webValues, "file: "+file)
	}
	tests := []struct {
		name     string
		file     string
		symlinks map[string]string // link → target, committed as symlinks
		// resultErr is in the policy's error result: the loader refuses its document
		// (invalid), or the workspace refuses to read.
		resultErr []string
		invalid   bool
	}{
		{name: "dot-dot", file: "../outside/values.yaml", resultErr: []string{"policies/escape.yaml:", "spec.replicas.file"}, invalid: true},
		{name: "absolute", file: filepath.Join(outside, "values.yaml"), resultErr: []string{"policies/escape.yaml:", "spec.replicas.file"}, invalid: true},
		{
			name: "symlinked file", file: "envs/prod/escape/values.yaml",
			symlinks:  map[string]string{"envs/prod/escape/values.yaml": filepath.Join(outside, "values.yaml")},
			resultErr: []string{"envs/prod/escape/values.yaml", "symlink"},
		},
		{
			name: "symlinked directory", file: "envs/prod/escape/values.yaml",
			symlinks:  map[string]string{"envs/prod/escape": "../../../../../../../../../../.." + outside},
			resultErr: []string{"envs/prod/escape/values.yaml", "symlink"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, scaleUp, map[string]string{"policies/escape.yaml": escapePolicy(tt.file)})
			for link, target := range tt.symlinks {
				pushSymlink(t, e.s, link, target)
			}
			head := e.head()

			rep, err := e.runner.Cycle(context.Background(), e.repo, CycleOptions{})
			require.NoError(t, err)
			res := resultOf(t, rep, "prod/escape")
			assert.Equal(t, ActionError, res.Action)
			assert.Empty(t, res.Commit)
			for _, m := range tt.resultErr {
				assert.Contains(t, res.Error, m)
			}
			if tt.invalid {
				assert.True(t, strings.HasPrefix(res.Invalid, "policies/escape.yaml:"), res.Invalid)
				require.Len(t, rep.Invalid, 1)
			} else {
				assert.NotContains(t, res.Error, outside, "errors name repository paths, not the machine's")
			}
			// The other policies are not held back by one bad path.
			assert.Equal(t, ActionCommitted, resultOf(t, rep, "prod/web").Action)
			for _, c := range e.commitsSince(head) {
				tr, _ := commitmsg.ParseTrailers(e.s.RawMessage("platform", c))
				assert.NotEqual(t, "prod/escape", tr.PolicyID)
			}
			b, err := os.ReadFile(filepath.Join(outside, "values.yaml"))
			require.NoError(t, err)
			assert.Equal(t, outsideValues, string(b), "nothing outside the repository was written")
		})
	}
}

// pushSymlink commits a symlink to the repository's main branch, as a person would.
func pushSymlink(t *testing.T, s *gittest.Server, link, target string) {
	t.Helper()
	dir := s.Clone("platform")
	full := filepath.Join(dir, filepath.FromSlash(link))
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(t, os.Symlink(target, full))
	for _, args := range [][]string{
		{"add", "--", link},
		{"-c", "user.name=Mallory", "-c", "user.email=mallory@example.com", "commit", "--quiet", "-m", "add " + link},
		{"push", "--quiet", "origin", "HEAD:refs/heads/main"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
}

func TestCycleRerunMakesNoNewCommit(t *testing.T) {
	e := newCycleEnv(t, scaleUp, nil)
	first := e.cycle(t, CycleOptions{})
	for _, r := range first.Results {
		require.Equal(t, ActionCommitted, r.Action, "%s: %s", r.Policy, r.Error)
	}
	head := e.head()

	// The same instant, the same metrics: the decisions are already in Git.
	again := e.cycle(t, CycleOptions{})

	for _, r := range again.Results {
		assert.Contains(t, []string{ActionUnchanged, ActionHeld}, r.Action, "%s: %+v", r.Policy, r.Reasons)
		assert.Empty(t, r.Commit, r.Policy)
		assert.Equal(t, resultOf(t, first, r.Policy).To, r.To, r.Policy)
	}
	assert.Equal(t, head, e.head(), "no new commit, empty or not")
	assert.Equal(t, 1, e.s.Requests("platform", gittest.ReceivePack))
}

func TestScaleAndHistory(t *testing.T) {
	e := newCycleEnv(t, scaleUp, nil)
	ctx := context.Background()
	decision := resultOf(t, e.cycle(t, CycleOptions{Only: []string{"web"}}), "prod/web")
	require.Equal(t, ActionCommitted, decision.Action, decision.Error)
	revert := e.s.Revert("platform", decision.Commit, "Bob <bob@example.com>", cycleAt.Add(5*time.Minute))
	edited := replaceOnce(t, e.files[webValues], "replicaCount: 3", "replicaCount: 7")
	edit := e.s.CommitAt("platform", map[string]string{webValues: edited}, "web: 7", "Ann <ann@example.com>", cycleAt.Add(10*time.Minute))

	e.runner.Now = func() time.Time { return cycleAt.Add(20 * time.Minute) }
	rep, err := e.runner.Scale(ctx, e.repo, ManualScale{Policy: "web", To: 10, Reason: "launch at 10:00", RequestedBy: "jane"})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	scaled := rep.Results[0]
	assert.Equal(t, ActionCommitted, scaled.Action)
	assert.Equal(t, 7, scaled.From)
	assert.Equal(t, 10, scaled.To)
	assert.Equal(t, scaled.Commit, e.head())
	assert.Equal(t, []string{scaled.Commit}, e.commitsSince(edit))
	assert.Equal(t, replaceOnce(t, edited, "replicaCount: 7", "replicaCount: 10"), e.s.ReadFile("platform", "main", webValues))
	msg := e.s.RawMessage("platform", scaled.Commit)
	assert.True(t, strings.HasPrefix(msg, "scale(prod/web): 7 → 10 replicas (manual)\n\nmanual scale: launch at 10:00\n"), msg)
	tr, ok := commitmsg.ParseTrailers(msg)
	require.True(t, ok)
	assert.True(t, tr.Manual)
	assert.Equal(t, "jane", tr.RequestedBy)
	assert.Equal(t, 7, tr.From)
	assert.Equal(t, 10, tr.To)

	events, p, err := e.runner.History(ctx, e.repo, "prod/web", cycleAt.Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, "prod/web", p.ID())
	type ev struct {
		Kind     engine.EventKind
		From, To int
		Commit   string
	}
	var got []ev
	for _, x := range events {
		got = append(got, ev{x.Kind, x.From, x.To, x.Commit})
	}
	assert.Equal(t, []ev{
		{engine.EventDecision, 3, 6, decision.Commit},
		{engine.EventRevert, 6, 3, revert},
		{engine.EventManualEdit, 3, 7, edit},
		{engine.EventManualScale, 7, 10, scaled.Commit},
	}, got)

	t.Run("out of bounds", func(t *testing.T) {
		head := e.head()
		_, err := e.runner.Scale(ctx, e.repo, ManualScale{Policy: "web", To: 21, Reason: "too many"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "[2, 20]")
		assert.Equal(t, head, e.head())
	})

	// A name the repository does not carry is ErrUnknownPolicy, so that the CLI goes on to
	// its next repository; the message still names the policy and the repository.
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{name: "scale", call: func() error {
			_, err := e.runner.Scale(ctx, e.repo, ManualScale{Policy: "nope", To: 3, Reason: "x"})
			return err
		}},
		{name: "history", call: func() error {
			_, _, err := e.runner.History(ctx, e.repo, "prod/nope", cycleAt.Add(-time.Hour))
			return err
		}},
	} {
		t.Run("unknown policy: "+tc.name, func(t *testing.T) {
			head := e.head()
			err := tc.call()
			require.ErrorIs(t, err, ErrUnknownPolicy)
			assert.Contains(t, err.Error(), "no policy")
			assert.Contains(t, err.Error(), "nope")
			assert.Equal(t, head, e.head(), "nothing committed")
		})
	}
}

func TestCycleNeverLeaksSecrets(t *testing.T) {
	const (
		password      = "pw-Q7r2-never-print-me"
		token         = "tok-Zx81-never-print-me"
		wrongPassword = "pw-wrong-Lm44-never-print-me"
		wrongToken    = "tok-wrong-Pp09-never-print-me"
	)
	secrets := []string{password, token, wrongPassword, wrongToken}
	files := fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))
	// A policy whose file is missing: one error result with its message.
	files["policies/broken.yaml"] = replaceOnce(t, replaceOnce(t, files[webPolicy], "name: web\n", "name: broken\n"),
		"file: "+webValues, "file: envs/prod/missing/values.yaml")

	basic := gittest.NewServer(t, gittest.WithBasicAuth("autoscaler", password))
	basic.CreateRepo("platform", files)
	// A token goes as the password of the user x-access-token (GitHub, GitLab and Gitea accept it).
	tokened := gittest.NewServer(t, gittest.WithBasicAuth("x-access-token", token))
	tokened.CreateRepo("platform", files)
	repoWith := func(name string, s *gittest.Server, auth svcconfig.GitAuth) svcconfig.Repository {
		return svcconfig.Repository{Name: name, URL: s.URL("platform"), Branch: "main", Policies: []string{"policies/*.yaml"}, Auth: &auth}
	}
	good := []svcconfig.Repository{
		repoWith("basic", basic, svcconfig.GitAuth{Username: "autoscaler", PasswordFile: secretFile(t, password)}),
		repoWith("token", tokened, svcconfig.GitAuth{TokenSource: svcconfig.TokenSource{TokenFile: secretFile(t, token)}}),
	}
	bad := []svcconfig.Repository{
		repoWith("basic", basic, svcconfig.GitAuth{Username: "autoscaler", PasswordFile: secretFile(t, wrongPassword)}),
		repoWith("token", tokened, svcconfig.GitAuth{TokenSource: svcconfig.TokenSource{TokenFile: secretFile(t, wrongToken)}}),
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var seen []string // everything the autoscaler said or wrote
	ctx := context.Background()
	for _, set := range []struct {
		repos   []svcconfig.Repository
		wantErr bool
	}{{good, false}, {bad, true}} {
		r := testRunner(t, scaleUp, log, set.repos...)
		for _, rc := range set.repos {
			rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})
			if set.wantErr {
				require.Error(t, err, rc.Name)
				seen = append(seen, err.Error(), fmt.Sprintf("%v %+v %#v", err, err, err))
			} else {
				require.NoError(t, err, rc.Name)
				assert.Equal(t, ActionCommitted, resultOf(t, rep, "prod/web").Action)
				assert.Equal(t, ActionError, resultOf(t, rep, "prod/broken").Action)
			}
			j, jerr := json.Marshal(rep)
			require.NoError(t, jerr)
			seen = append(seen, string(j), fmt.Sprintf("%+v", rep))
		}
		// The clones' Git config on disk must not hold a credential either.
		cfgs, err := filepath.Glob(filepath.Join(r.Config.CacheDir, "*", ".git", "config"))
		require.NoError(t, err)
		for _, c := range cfgs {
			b, err := os.ReadFile(c)
			require.NoError(t, err)
			seen = append(seen, string(b))
		}
		seen = append(seen, fmt.Sprintf("%+v", r.Config))
	}
	for _, s := range []*gittest.Server{basic, tokened} {
		for _, c := range s.Log("platform", "main") {
			seen = append(seen, c.Message, c.Author)
		}
	}
	seen = append(seen, logs.String())
	require.Contains(t, logs.String(), "evaluation failed", "the broken policy was logged")

	all := strings.Join(seen, "\n")
	for _, secret := range secrets {
		assert.NotContains(t, all, secret)
	}
}

// recSource is a RecommendationSource that answers with recs, or fails with err.
type recSource struct {
	recs []engine.Recommendation
	err  error
}

func (s recSource) Recommendations(context.Context, *policy.Policy, time.Time, time.Duration, func(time.Time) int) ([]engine.Recommendation, error) {
	return s.recs, s.err
}

// TestCycleStabilizationWindowUnknownHolds pins that a stabilization window that cannot be
// read (its range queries failed) is never taken as empty: the policy keeps its count instead
// of scaling down at once.
func TestCycleStabilizationWindowUnknownHolds(t *testing.T) {
	withWindow := replaceOnce(t, fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))[webPolicy],
		"  mode: Commit\n", "  mode: Commit\n  behavior:\n    scaleDown: {stabilizationWindowSeconds: 300}\n")
	tests := []struct {
		name       string
		source     recSource
		wantTo     int
		wantAction string
		wantReason string
	}{
		{name: "window read: scale down", source: recSource{}, wantTo: 2, wantAction: ActionCommitted},
		{name: "window unknown: hold", source: recSource{err: fmt.Errorf("range query: connection refused")},
			wantTo: 3, wantAction: ActionUnchanged, wantReason: "stabilization window unknown (range query: connection refused)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, staticMetrics{"web_rps": 100}, map[string]string{webPolicy: withWindow})
			e.runner.Recommendations = tt.source
			head := e.head()
			r := resultOf(t, e.cycle(t, CycleOptions{Only: []string{"web"}}), "prod/web")
			assert.Equal(t, 3, r.From)
			assert.Equal(t, tt.wantTo, r.To, "%+v", r.Reasons)
			assert.Equal(t, tt.wantAction, r.Action, r.Error)
			if tt.wantReason == "" {
				assert.NotEqual(t, head, e.head())
				return
			}
			assert.Equal(t, head, e.head(), "no commit")
			var messages []string
			for _, reason := range r.Reasons {
				messages = append(messages, reason.Message)
			}
			assert.Contains(t, strings.Join(messages, "\n"), tt.wantReason)
		})
	}
}

// A manual scale is applied as a decision is: a policy that asks for render verification is
// not scaled unverified.
func TestScaleNeedsTheVerificationADecisionNeeds(t *testing.T) {
	rendered := replaceOnce(t, fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))[webPolicy],
		"  mode: Commit\n", "  mode: Commit\n  render:\n    kustomize: {dir: envs/prod/api}\n")
	e := newCycleEnv(t, scaleUp, map[string]string{webPolicy: rendered})
	head := e.head()

	_, err := e.runner.Scale(context.Background(), e.repo, ManualScale{Policy: "web", To: 10, Reason: "launch"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scale prod/web: render verification is configured but no renderer is available")
	assert.Equal(t, head, e.head(), "nothing pushed")
	assert.Zero(t, e.s.Requests("platform", gittest.ReceivePack))

	res := resultOf(t, e.cycle(t, CycleOptions{Only: []string{"web"}}), "prod/web")
	assert.Equal(t, ActionError, res.Action, "a decision is refused the same way")
	assert.Contains(t, res.Error, "render verification is configured but no renderer is available")
}

// A manual scale that loses a push race is made again on the new head, as a cycle is.
func TestScaleRedoesItsCommitAfterAPushRace(t *testing.T) {
	e := newCycleEnv(t, scaleUp, nil)
	tagged := replaceOnce(t, e.files[webValues], `tag: "1.4.2"`, `tag: "1.5.0"`)
	var once sync.Once
	var theirs string
	e.s.SetBeforeReceivePack(func(string) {
		once.Do(func() {
			theirs = e.s.CommitAt("platform", map[string]string{webValues: tagged}, "web: release 1.5.0",
				"Ann <ann@example.com>", cycleAt.Add(-30*time.Second))
		})
	})

	rep, err := e.runner.Scale(context.Background(), e.repo, ManualScale{Policy: "web", To: 10, Reason: "launch", RequestedBy: "jane"})
	require.NoError(t, err)
	require.NotEmpty(t, theirs, "the concurrent push happened")
	assert.Equal(t, 1, rep.PushRetries)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, ActionCommitted, rep.Results[0].Action)
	assert.Equal(t, []string{rep.Results[0].Commit}, e.commitsSince(theirs), "their commit stays, ours on top")
	assert.Equal(t, replaceOnce(t, tagged, "replicaCount: 3", "replicaCount: 10"), e.s.ReadFile("platform", "main", webValues),
		"made again on their version of the file")
}

// shadowAt is a ShadowSource with fixed series at one-minute steps up to the instant asked
// for, which counts what it is asked.
type shadowAt struct {
	mu    sync.Mutex
	calls []string
	live  []float64
	rps   float64
}

func (s *shadowAt) Shadow(_ context.Context, p *policy.Policy, now time.Time, window time.Duration) engine.ShadowSeries {
	s.mu.Lock()
	s.calls = append(s.calls, fmt.Sprintf("%s %s %s", p.ID(), now.Format(time.RFC3339), window))
	s.mu.Unlock()
	out := engine.ShadowSeries{Start: now.Add(-time.Duration(len(s.live)-1) * time.Minute), Step: time.Minute}
	for _, v := range s.live {
		out.Live = append(out.Live, engine.MetricValue{Name: "shadow", Value: v})
		out.Metrics = append(out.Metrics, []engine.MetricValue{{Name: "web_rps", Value: s.rps}})
	}
	return out
}

const shadowPolicyDoc = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web-shadow, namespace: prod}
spec:
  targetRef: {kind: Deployment, name: web-shadow}
  replicas: {file: envs/prod/web-shadow.yaml, path: replicaCount}
  minReplicas: 2
  maxReplicas: 20
  mode: DryRun
  schedule: "@every 1m"
  shadow:
    promQL: kube_horizontalpodautoscaler_status_desired_replicas{horizontalpodautoscaler="web-shadow"}
  metrics:
    - name: web_rps
      promQL: sum(rate(http_requests_total{app="web-shadow"}[2m]))
      target: {type: AverageValue, averageValue: 100}
`

func TestCycleComparesShadowPoliciesOnce(t *testing.T) {
	e := newCycleEnv(t, scaleUp, map[string]string{"policies/web-shadow.yaml": shadowPolicyDoc, "envs/prod/web-shadow.yaml": "replicaCount: 4\n"})
	src := &shadowAt{live: []float64{4, 5, 4, 5, 6}, rps: 560}
	e.runner.Shadow = src
	var once sync.Once
	e.s.SetBeforeReceivePack(func(string) {
		once.Do(func() {
			e.s.CommitAt("platform", map[string]string{"README.md": "a person's change\n"}, "docs", "Ann <ann@example.com>", cycleAt.Add(-30*time.Second))
		})
	})

	rep := e.cycle(t, CycleOptions{})

	require.Equal(t, 1, rep.PushRetries, "the race made the cycle decide twice")
	assert.Equal(t, []string{"prod/web-shadow 2026-11-22T11:00:00Z 24h0m0s"}, src.calls,
		"one comparison per shadow policy and cycle, over the shadow window, kept across attempts")
	sh := resultOf(t, rep, "prod/web-shadow")
	require.Empty(t, sh.Error)
	require.NotNil(t, sh.Shadow)
	require.NotNil(t, sh.Shadow.Live)
	require.NotNil(t, sh.Shadow.Ours)
	assert.Equal(t, 6, *sh.Shadow.Live)
	assert.Equal(t, 6, *sh.Shadow.Ours, "560 at 100 a replica")
	assert.Equal(t, 4, sh.Shadow.LiveChanges)
	assert.Equal(t, 1, sh.Shadow.OurChanges)
	assert.Equal(t, ActionDryRun, sh.Action)
	for _, id := range []string{"prod/web", "prod/api", "prod/worker"} {
		assert.Nil(t, resultOf(t, rep, id).Shadow, "%s has no spec.shadow", id)
	}
}

func TestCycleComparesAShadowPolicyWhoseTargetFails(t *testing.T) {
	// The comparison needs Prometheus only: a target that cannot be read fails the decision,
	// not the comparison.
	e := newCycleEnv(t, scaleUp, map[string]string{"policies/web-shadow.yaml": shadowPolicyDoc})
	e.runner.Shadow = &shadowAt{live: []float64{3, 3}, rps: 250}
	rep := e.cycle(t, CycleOptions{})
	sh := resultOf(t, rep, "prod/web-shadow")
	assert.Equal(t, ActionError, sh.Action)
	require.NotNil(t, sh.Shadow)
	require.NotNil(t, sh.Shadow.Ours)
	assert.Equal(t, 3, *sh.Shadow.Ours)
}

// seasonSource is a SeasonSource that records what it was asked and answers with seasons, or
// fails with err.
type seasonSource struct {
	seasons engine.Seasons
	err     error
	asked   *[]string
}

func (s seasonSource) Seasons(_ context.Context, p *policy.Policy, now time.Time, replicasAt func(time.Time) int) (engine.Seasons, error) {
	*s.asked = append(*s.asked, fmt.Sprintf("%s at %s, count a day ago %d", p.ID(), now.Format(time.RFC3339), replicasAt(now.Add(-engine.SeasonDay))))
	return s.seasons, s.err
}

// TestCycleGivesSteadyItsMemory: the loop reads a Steady policy's memory — its needs a day and
// a week ago — for the evaluation's instant, at the counts Git held, and only a Steady
// policy's; a memory that cannot be read is logged and the policy still decides, on the trend
// alone.
func TestCycleGivesSteadyItsMemory(t *testing.T) {
	steady := replaceOnce(t, fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))[webPolicy],
		"  mode: Commit\n", "  mode: Commit\n  strategy: {type: Steady}\n")
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("read fails: %v", fail), func(t *testing.T) {
			e := newCycleEnv(t, staticMetrics{"web_rps": 1000}, map[string]string{webPolicy: steady})
			var asked []string
			src := seasonSource{asked: &asked}
			if fail {
				src.err = fmt.Errorf("range query: connection refused")
			}
			e.runner.Seasons = src
			r := resultOf(t, e.cycle(t, CycleOptions{}), "prod/web")
			assert.Equal(t, ActionCommitted, r.Action, "%s %+v", r.Error, r.Reasons)
			require.Len(t, asked, 1, "only the Steady policy remembers: %q", asked)
			assert.Equal(t, fmt.Sprintf("prod/web at %s, count a day ago 3", r.EvaluatedAt.Format(time.RFC3339)), asked[0])
			if fail {
				assert.Contains(t, e.logs.String(), "steady memory unavailable")
				assert.Contains(t, e.logs.String(), "connection refused")
			} else {
				assert.NotContains(t, e.logs.String(), "steady memory unavailable")
			}
		})
	}
}
