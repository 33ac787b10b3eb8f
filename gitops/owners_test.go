package gitops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The ownership tests (docs/design.md §4, "Ownership between teams") run the loop against a
// real Git server holding a repository two teams share: team a's policies live under teams/a/
// and scale apps/a/, team b's under teams/b/ and apps/b/. Every policy wants 9 replicas at
// teamLoad (900 requests per second, 100 per replica); every count starts at 2.

// teamLoad is the metric state under which every team policy wants 9 replicas.
var teamLoad = staticMetrics{"rps": 900}

// teamPolicyDoc is a Commit-mode policy of namespace ns named name that writes file at path.
// metadata.name is on line 4, spec.replicas on line 7.
func teamPolicyDoc(ns, name, file, path string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata:
  name: %s
  namespace: %s
spec:
  replicas: {file: %s, path: %q}
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
  minReplicas: 1
  maxReplicas: 30
  mode: Commit
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total[2m]))
      target: {type: AverageValue, averageValue: 100}
`, name, ns, file, path, name)
}

// teamsRepo is the shared repository on a Git server and a runner configured for it.
type teamsRepo struct {
	s      *gittest.Server
	rc     svcconfig.Repository
	runner *Runner
}

// teamsFiles is the shared repository's initial content.
func teamsFiles() map[string]string {
	return map[string]string{
		"teams/a/web.yaml":   teamPolicyDoc("a", "web", "apps/a/values.yaml", "web.replicas"),
		"teams/b/web.yaml":   teamPolicyDoc("b", "web", "apps/b/values.yaml", "web.replicas"),
		"apps/a/values.yaml": "web:\n  replicas: 2\n",
		"apps/b/values.yaml": "web:\n  replicas: 2\nworker:\n  replicas: 2\n",
	}
}

// newTeamsRepo creates the shared repository with files as its initial commit; owners are the
// repository's ownership rules (none: the default).
func newTeamsRepo(t *testing.T, files map[string]string, owners []svcconfig.Owner) *teamsRepo {
	t.Helper()
	s := gittest.NewServer(t)
	s.CreateRepo("shared", files)
	rc := svcconfig.Repository{
		Name: "shared", URL: s.URL("shared"), Branch: "main", Policies: []string{"teams/**/*.yaml"}, Owners: owners,
		Auth: &svcconfig.GitAuth{Username: s.User(), PasswordFile: secretFile(t, s.Password())},
	}
	return &teamsRepo{s: s, rc: rc, runner: testRunner(t, teamLoad, slog.New(slog.NewTextHandler(io.Discard, nil)), rc)}
}

// cycle runs one cycle of the runner (the service's kept state, or a fresh one-shot run).
func (tr *teamsRepo) cycle(t *testing.T, r *Runner) *Report {
	t.Helper()
	rep, err := r.Cycle(context.Background(), Repo{Config: tr.rc}, CycleOptions{})
	require.NoError(t, err)
	return rep
}

// oneShot is a runner with nothing kept from earlier cycles, as `evaluate` runs.
func (tr *teamsRepo) oneShot(t *testing.T) *Runner {
	return testRunner(t, teamLoad, slog.New(slog.NewTextHandler(io.Discard, nil)), tr.rc)
}

// push commits files as a person of team a.
func (tr *teamsRepo) push(t *testing.T, files map[string]string, msg string) string {
	t.Helper()
	return tr.s.Commit("shared", files, msg, "Team A <a@example.com>")
}

// written lists the files the bot's commits since sha changed, with the policy of each.
func (tr *teamsRepo) written(t *testing.T, since string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range strings.Fields(tr.s.Git("shared", "rev-list", "--first-parent", since+"..main")) {
		trl, ours := commitmsg.ParseTrailers(tr.s.RawMessage("shared", c))
		require.True(t, ours, "only the bot commits during the cycle: %s", c)
		for _, f := range strings.Fields(tr.s.Git("shared", "diff-tree", "--no-commit-id", "--name-only", "-r", c)) {
			out[f] = trl.PolicyID
		}
	}
	return out
}

// commitsTo counts the bot's commits since sha that changed file.
func (tr *teamsRepo) commitsTo(t *testing.T, since, file string) int {
	t.Helper()
	return len(strings.Fields(tr.s.Git("shared", "rev-list", "--first-parent", since+"..main", "--", file)))
}

// refusals is the cycle's refused documents, by policy@file, with their errors.
func refusals(rep *Report) map[string]string {
	out := map[string]string{}
	for _, iv := range rep.Invalid {
		out[iv.Policy+"@"+iv.File] = iv.Error()
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestPolicyCannotTargetAnotherTeamsFile is finding 6's first attack: a policy in teams/a/
// that targets teams/b's values file. With owners declared, it is refused at its
// spec.replicas.file, a document no entry covers is refused at its metadata, the bot commits
// nothing into apps/b but team b's own decision, and both teams' policies keep deciding.
func TestPolicyCannotTargetAnotherTeamsFile(t *testing.T) {
	tr := newTeamsRepo(t, teamsFiles(), []svcconfig.Owner{
		{Policies: "teams/a/**", Targets: []string{"apps/a/**"}},
		{Policies: "teams/b/**", Targets: []string{"apps/b/**"}},
	})
	head := tr.push(t, map[string]string{
		// b's worker count, which no policy of b scales: nothing else stands in the way.
		"teams/a/worker.yaml": teamPolicyDoc("a", "worker", "apps/b/values.yaml", "worker.replicas"),
		// A team the owners do not name.
		"teams/c/web.yaml":   teamPolicyDoc("c", "web", "apps/c/values.yaml", "web.replicas"),
		"apps/c/values.yaml": "web:\n  replicas: 2\n",
	}, "team a scales b's workers")

	rep := tr.cycle(t, tr.runner)

	assert.Equal(t, map[string]string{
		"apps/a/values.yaml": "a/web",
		"apps/b/values.yaml": "b/web",
	}, tr.written(t, head), "the bot wrote each team's own file for its own policy, and nothing else")
	assert.Equal(t, "web:\n  replicas: 9\nworker:\n  replicas: 2\n", tr.s.ReadFile("shared", "main", "apps/b/values.yaml"))
	assert.Equal(t, "web:\n  replicas: 2\n", tr.s.ReadFile("shared", "main", "apps/c/values.yaml"))
	assert.Equal(t, ActionCommitted, resultOf(t, rep, "a/web").Action)
	assert.Equal(t, ActionCommitted, resultOf(t, rep, "b/web").Action)

	got := refusals(rep)
	assert.Equal(t, []string{"a/worker@teams/a/worker.yaml", "c/web@teams/c/web.yaml"}, keys(got))
	assert.Equal(t, "teams/a/worker.yaml:7: spec.replicas.file: apps/b/values.yaml is not a target of the policies in teams/a/worker.yaml: "+
		"repository shared's owners let them write apps/a/** (owners[0])", got["a/worker@teams/a/worker.yaml"])
	assert.Equal(t, "teams/c/web.yaml:3: metadata: no owners entry of repository shared covers teams/c/web.yaml: "+
		"with owners declared, a policy document must be under one entry's policies", got["c/web@teams/c/web.yaml"])
	res := resultOf(t, rep, "a/worker")
	assert.Equal(t, ActionError, res.Action)
	assert.Equal(t, "teams/a/worker.yaml:1", res.Invalid)

	// A one-shot run (evaluate) reads the same from Git and refuses the same.
	again := tr.cycle(t, tr.oneShot(t))
	assert.Equal(t, got, refusals(again))
}

// TestPolicyCannotTargetAPolicyDocument is finding 6's second attack and its relatives: a
// policy that targets another team's policy document (it rewrote maxReplicas there), a file
// that holds a policy outside the policy globs, the service config, Git's own files and CI
// configuration. With no owners declared (the default) every one of them is refused at its
// spec.replicas.file; the bot writes none of those files, and the teams' own policies decide.
func TestPolicyCannotTargetAPolicyDocument(t *testing.T) {
	files := teamsFiles()
	targets := []struct {
		name, file, content, path, why string
	}{
		{name: "another team's policy", file: "teams/b/web.yaml", path: "spec.maxReplicas",
			why: "is a policy document (the repository's policies: teams/**/*.yaml)"},
		{name: "a policy outside the globs", file: "docs/example-policy.yaml", path: "spec.maxReplicas",
			content: teamPolicyDoc("b", "example", "apps/b/values.yaml", "web.replicas"),
			why:     "holds a PrometheusAutoscaler (line 2)"},
		{name: "the service config", file: "deploy/autoscaler.yaml", path: "queryConcurrency",
			content: "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\nrepositories: [{name: shared, url: .}]\nqueryConcurrency: 2\n",
			why:     "holds an AutoscalerConfig (line 2)"},
		{name: "the service config, at a path it does not have", file: "deploy/autoscaler.yaml", path: "cycleTimeout",
			why: "holds an AutoscalerConfig (line 2)"},
		{name: "a workflow", file: ".github/workflows/ci.yml", path: "jobs.build.strategy.max-parallel",
			content: "on: push\njobs:\n  build:\n    strategy: {max-parallel: 2}\n    runs-on: ubuntu-latest\n",
			why:     "is Git or CI configuration (.github/)"},
		{name: "GitLab CI", file: ".gitlab-ci.yml", path: "test.parallel", content: "test:\n  script: [make]\n  parallel: 2\n",
			why: "is Git or CI configuration (.gitlab-ci.yml)"},
		{name: "CircleCI", file: ".circleci/config.yml", path: "jobs.build.parallelism", content: "jobs:\n  build:\n    parallelism: 2\n",
			why: "is Git or CI configuration (.circleci/)"},
		{name: "Azure Pipelines", file: "azure-pipelines.yml", path: "jobs[0].strategy.parallel", content: "jobs:\n  - job: test\n    strategy: {parallel: 2}\n",
			why: "is Git or CI configuration (azure-pipelines.yml)"},
		{name: "Drone", file: ".drone.yml", path: "concurrency.limit", content: "kind: pipeline\nconcurrency: {limit: 2}\n",
			why: "is Git or CI configuration (.drone.yml)"},
		{name: "Buildkite", file: ".buildkite/pipeline.yml", path: "steps[0].parallelism", content: "steps:\n  - command: make\n    parallelism: 2\n",
			why: "is Git or CI configuration (.buildkite/)"},
		{name: "Bitbucket Pipelines", file: "bitbucket-pipelines.yml", path: "options.max-time", content: "options: {max-time: 2}\n",
			why: "is Git or CI configuration (bitbucket-pipelines.yml)"},
		{name: "a Jenkinsfile that parses as YAML", file: "apps/b/Jenkinsfile", path: "replicas", content: "replicas: 2\n",
			why: "is Git or CI configuration (Jenkinsfile)"},
	}
	for _, tt := range targets {
		if tt.content != "" {
			files[tt.file] = tt.content
		}
	}
	tr := newTeamsRepo(t, files, nil)
	intruders := map[string]string{}
	for i, tt := range targets {
		intruders[fmt.Sprintf("teams/a/t%02d.yaml", i)] = teamPolicyDoc("a", fmt.Sprintf("t%02d", i), tt.file, tt.path)
	}
	head := tr.push(t, intruders, "team a points policies at files no policy may write")
	before := map[string]string{}
	for _, tt := range targets {
		before[tt.file] = tr.s.ReadFile("shared", "main", tt.file)
	}

	rep := tr.cycle(t, tr.runner)

	assert.Equal(t, map[string]string{"apps/a/values.yaml": "a/web", "apps/b/values.yaml": "b/web"}, tr.written(t, head),
		"the bot wrote only the teams' own values files")
	got := refusals(rep)
	for i, tt := range targets {
		t.Run(tt.name, func(t *testing.T) {
			doc := fmt.Sprintf("teams/a/t%02d.yaml", i)
			assert.Equal(t, fmt.Sprintf("%s:7: spec.replicas.file: %s %s: a policy may never write it", doc, tt.file, tt.why),
				got[fmt.Sprintf("a/t%02d@%s", i, doc)])
			assert.Equal(t, before[tt.file], tr.s.ReadFile("shared", "main", tt.file), "untouched")
		})
	}
	assert.Len(t, got, len(targets), "only the intruders are refused")
	assert.Equal(t, ActionCommitted, resultOf(t, rep, "b/web").Action, "team b's policy keeps deciding")
	assert.Contains(t, tr.s.ReadFile("shared", "main", "teams/b/web.yaml"), "maxReplicas: 30\n")
}

// TestCopiedPolicyNameDoesNotSwitchOffTheOriginal is finding 6's third attack by name: a copy
// of team b's policy under teams/a/ with b's namespace and name (on a file of its own). The
// original claimed the name first in Git history and keeps deciding; the copy is refused,
// naming both files — though its path sorts first. The service and a one-shot run agree.
func TestCopiedPolicyNameDoesNotSwitchOffTheOriginal(t *testing.T) {
	tr := newTeamsRepo(t, teamsFiles(), nil)
	copied := tr.push(t, map[string]string{
		"teams/a/copy.yaml":    teamPolicyDoc("b", "web", "apps/a/other.yaml", "web.replicas"),
		"apps/a/other.yaml":    "web:\n  replicas: 2\n",
		"teams/a/unrelated.md": "a commit later than the copy's does not make the copy older\n",
	}, "team a copies b's policy")
	head := tr.push(t, map[string]string{"teams/a/unrelated.md": "still unrelated\n"}, "later")

	rep := tr.cycle(t, tr.runner)

	assert.Equal(t, map[string]string{"apps/a/values.yaml": "a/web", "apps/b/values.yaml": "b/web"}, tr.written(t, head))
	res := resultOf(t, rep, "b/web")
	require.Equal(t, ActionCommitted, res.Action, res.Error)
	assert.Equal(t, 9, res.To)
	want := map[string]string{"b/web@teams/a/copy.yaml": "teams/a/copy.yaml:4: metadata.name: policy b/web is already claimed by teams/b/web.yaml:4, " +
		"first in Git history (this document claimed it later, in commit " + copied[:12] + "); this one is refused"}
	assert.Equal(t, want, refusals(rep))
	assert.Equal(t, "web:\n  replicas: 2\n", tr.s.ReadFile("shared", "main", "apps/a/other.yaml"))

	// The original keeps deciding: the load rises again, and it follows.
	tr.runner.Metrics = staticMetrics{"rps": 1500}
	tr.runner.Now = func() time.Time { return cycleAt.Add(time.Hour) }
	rep = tr.cycle(t, tr.runner)
	assert.Equal(t, ActionCommitted, resultOf(t, rep, "b/web").Action)
	assert.Equal(t, 15, resultOf(t, rep, "b/web").To)
	assert.Equal(t, want, refusals(rep))

	// Git is the state: a one-shot run refuses the same copy.
	assert.Equal(t, want, refusals(tr.cycle(t, tr.oneShot(t))))
}

// TestCopiedTargetDoesNotSwitchOffTheOriginal is finding 6's third attack by target: a policy
// of another name under teams/a/ that writes team b's count. Team b's policy claimed the value
// first and keeps deciding; the newcomer is refused, naming both files.
func TestCopiedTargetDoesNotSwitchOffTheOriginal(t *testing.T) {
	tr := newTeamsRepo(t, teamsFiles(), nil)
	copied := tr.push(t, map[string]string{
		"teams/a/copy.yaml": teamPolicyDoc("a", "web-copy", "./apps/b/values.yaml", "web.replicas"),
	}, "team a writes b's count")

	rep := tr.cycle(t, tr.runner)

	assert.Equal(t, map[string]string{"apps/a/values.yaml": "a/web", "apps/b/values.yaml": "b/web"}, tr.written(t, copied))
	assert.Equal(t, ActionCommitted, resultOf(t, rep, "b/web").Action)
	want := map[string]string{"a/web-copy@teams/a/copy.yaml": "teams/a/copy.yaml:7: spec.replicas.path: the value it writes " +
		"(apps/b/values.yaml line 2, column 13) is already claimed by policy b/web (teams/b/web.yaml:7), first in Git history " +
		"(this document claimed it later, in commit " + copied[:12] + "); this one is refused"}
	assert.Equal(t, want, refusals(rep))
	assert.Equal(t, want, refusals(tr.cycle(t, tr.oneShot(t))), "a one-shot run agrees")
}

// workersFile is a values file with a list of workers; web's count is at line 3, column 15.
const workersFile = "workers:\n  - name: web\n    replicas: 2\n  - name: mail\n    replicas: 2\n"

// TestTwoSpellingsOfOneValueConflict is finding 6's fourth: workers[0].replicas and
// workers[name=web].replicas are one value. Once the older policy holds it, the newcomer is
// refused and only one decision is committed; when both came in one commit, neither is
// evaluated and nothing is written.
func TestTwoSpellingsOfOneValueConflict(t *testing.T) {
	files := teamsFiles()
	files["apps/b/workers.yaml"] = workersFile
	older := teamPolicyDoc("b", "workers", "apps/b/workers.yaml", "workers[name=web].replicas")
	newer := strings.Replace(teamPolicyDoc("a", "first-worker", "apps/b/workers.yaml", "workers[0].replicas"), "averageValue: 100", "averageValue: 300", 1)

	t.Run("the newcomer is refused", func(t *testing.T) {
		files := maps.Clone(files)
		files["teams/b/workers.yaml"] = older
		tr := newTeamsRepo(t, files, nil)
		head := tr.push(t, map[string]string{"teams/a/first-worker.yaml": newer}, "team a scales the first worker")

		rep := tr.cycle(t, tr.runner)

		assert.Equal(t, "b/workers", tr.written(t, head)["apps/b/workers.yaml"])
		assert.Equal(t, 1, tr.commitsTo(t, head, "apps/b/workers.yaml"), "one commit on the value")
		assert.Equal(t, strings.Replace(workersFile, "replicas: 2", "replicas: 9", 1), tr.s.ReadFile("shared", "main", "apps/b/workers.yaml"),
			"one decision, the older policy's")
		assert.Equal(t, map[string]string{"a/first-worker@teams/a/first-worker.yaml": "teams/a/first-worker.yaml:7: spec.replicas.path: " +
			"the value it writes (apps/b/workers.yaml line 3, column 15) is already claimed by policy b/workers (teams/b/workers.yaml:7), " +
			"first in Git history (this document claimed it later, in commit " + head[:12] + "); this one is refused"}, refusals(rep))
	})
	t.Run("both in one commit", func(t *testing.T) {
		tr := newTeamsRepo(t, files, nil)
		head := tr.push(t, map[string]string{"teams/b/workers.yaml": older, "teams/a/first-worker.yaml": newer}, "two policies on one value")

		rep := tr.cycle(t, tr.runner)

		assert.Zero(t, tr.commitsTo(t, head, "apps/b/workers.yaml"), "neither is evaluated")
		got := refusals(rep)
		assert.Equal(t, []string{"a/first-worker@teams/a/first-worker.yaml", "b/workers@teams/b/workers.yaml"}, keys(got))
		assert.Equal(t, "teams/b/workers.yaml:7: spec.replicas.path: the value it writes (apps/b/workers.yaml line 3, column 15) "+
			"is claimed by policy a/first-worker (teams/a/first-worker.yaml:7) too, and both claimed it in commit "+head[:12]+
			": neither is evaluated until one gives it up", got["b/workers@teams/b/workers.yaml"])
	})
}

// TestClaimsFollowTheValueAndExactRenames: the older policy keeps its claim when it spells its
// path another way or its document is moved unchanged, so a refused newcomer waiting in the
// repository never takes the value over. A one-shot run reads the same from Git.
func TestClaimsFollowTheValueAndExactRenames(t *testing.T) {
	files := teamsFiles()
	files["apps/b/workers.yaml"] = workersFile
	files["teams/b/workers.yaml"] = teamPolicyDoc("b", "workers", "apps/b/workers.yaml", "workers[name=web].replicas")
	tr := newTeamsRepo(t, files, nil)
	copied := tr.push(t, map[string]string{
		"teams/a/first-worker.yaml": teamPolicyDoc("a", "first-worker", "apps/b/workers.yaml", "workers[0].replicas"),
	}, "team a scales the first worker")
	refusedNewcomer := func(t *testing.T, rep *Report, owner string) {
		t.Helper()
		got := refusals(rep)
		assert.Equal(t, []string{"a/first-worker@teams/a/first-worker.yaml"}, keys(got))
		assert.Contains(t, got["a/first-worker@teams/a/first-worker.yaml"], "is already claimed by policy b/workers ("+owner+":7)")
		assert.Contains(t, got["a/first-worker@teams/a/first-worker.yaml"], "in commit "+copied[:12])
	}

	tr.push(t, map[string]string{"teams/b/workers.yaml": teamPolicyDoc("b", "workers", "apps/b/workers.yaml", "workers[0].replicas")},
		"team b spells its path the other way")
	refusedNewcomer(t, tr.cycle(t, tr.runner), "teams/b/workers.yaml")

	moved := tr.s.ReadFile("shared", "main", "teams/b/workers.yaml")
	tr.push(t, map[string]string{"teams/b/workers.yaml": "", "teams/b/prod/workers.yaml": moved}, "team b moves its policies")
	tr.runner.Now = func() time.Time { return cycleAt.Add(time.Minute) }
	refusedNewcomer(t, tr.cycle(t, tr.runner), "teams/b/prod/workers.yaml")
	refusedNewcomer(t, tr.cycle(t, tr.oneShot(t)), "teams/b/prod/workers.yaml")
}
