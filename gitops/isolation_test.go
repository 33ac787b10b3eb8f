package gitops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/benchrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// sharedRepo is a repository of n teams' policies, each scaling its own values file, all
// scaled once to benchrepo.ToReplicas by a first cycle.
type sharedRepo struct {
	s      *gittest.Server
	rc     svcconfig.Repository
	apps   []benchrepo.App
	runner *Runner
}

func newSharedRepo(t *testing.T, n int) *sharedRepo {
	t.Helper()
	spec := benchrepo.Spec{Policies: n, Layout: benchrepo.Flat, Every: 1}
	s := gittest.NewServer(t)
	benchrepo.Import(s, "shared", spec, cycleAt.Add(-48*time.Hour))
	rc := svcconfig.Repository{
		Name: "shared", URL: s.URL("shared"), Branch: "main", Policies: []string{spec.Glob()},
		Auth: &svcconfig.GitAuth{Username: s.User(), PasswordFile: secretFile(t, s.Password())},
	}
	r := testRunner(t, staticMetrics{benchrepo.HotMetric: benchrepo.HotValue}, slog.New(slog.NewTextHandler(io.Discard, nil)), rc)
	r.Now = func() time.Time { return cycleAt.Add(-time.Hour) }
	rep, err := r.Cycle(context.Background(), Repo{Config: rc}, CycleOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Results, n)
	for _, res := range rep.Results {
		require.Equal(t, ActionCommitted, res.Action, "%s: %s", res.Policy, res.Error)
	}
	return &sharedRepo{s: s, rc: rc, apps: spec.Apps(), runner: r}
}

// replicas is the count the remote's values file of an app holds.
func (sr *sharedRepo) replicas(t *testing.T, a benchrepo.App) string {
	t.Helper()
	for _, line := range strings.Split(sr.s.ReadFile("shared", "main", a.Values), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "replicaCount: "); ok {
			return strings.Fields(v)[0]
		}
	}
	require.Fail(t, "no replicaCount", a.Values)
	return ""
}

// TestOneBrokenDocumentAmongFifty: a team breaks its policy document after it scaled. The
// next cycle, where the load is gone, scales the 49 others down and leaves the broken one's
// count exactly where it was — never reverted, never sent to the floor — naming the document
// with its file and line.
func TestOneBrokenDocumentAmongFifty(t *testing.T) {
	sr := newSharedRepo(t, 50)
	broken := sr.apps[17]
	doc := sr.s.ReadFile("shared", "main", broken.Policy)
	sr.s.Commit("shared", map[string]string{broken.Policy: replaceOnce(t, doc, "maxReplicas: 50", "maxReplicas: fifty")},
		"team 17: raise the ceiling", "Team 17 <t17@example.com>")
	head := sr.s.HeadSHA("shared", "main")

	sr.runner.Metrics = staticMetrics{benchrepo.HotMetric: 0}
	sr.runner.Now = func() time.Time { return cycleAt }
	rep, err := sr.runner.Cycle(context.Background(), Repo{Config: sr.rc}, CycleOptions{})
	require.NoError(t, err, "one broken document does not fail the cycle")

	require.Len(t, rep.Results, 50)
	evaluated := 0
	for _, res := range rep.Results {
		if res.Policy == broken.ID {
			continue
		}
		assert.Equal(t, ActionCommitted, res.Action, "%s: %s", res.Policy, res.Error)
		assert.Equal(t, 1, res.To, res.Policy)
		evaluated++
	}
	assert.Equal(t, 49, evaluated)

	res := resultOf(t, rep, broken.ID)
	assert.Equal(t, ActionError, res.Action)
	assert.Equal(t, broken.Policy+":1", res.Invalid)
	assert.Equal(t, broken.Policy+`:10: spec.maxReplicas: must be an integer, got "fifty"`, res.Error)
	require.Len(t, rep.Invalid, 1)
	assert.Equal(t, broken.ID, rep.Invalid[0].Policy)

	assert.Equal(t, fmt.Sprint(benchrepo.ToReplicas), sr.replicas(t, broken), "the broken policy holds its last count")
	for _, a := range sr.apps {
		if a.ID != broken.ID {
			assert.Equal(t, "1", sr.replicas(t, a), a.ID)
		}
	}
	assert.Len(t, strings.Fields(sr.s.Git("shared", "rev-list", head+"..main")), 49, "one commit per evaluated policy")

	// Fixed, it is evaluated again like the others.
	sr.s.Commit("shared", map[string]string{broken.Policy: doc}, "team 17: fix", "Team 17 <t17@example.com>")
	sr.runner.Now = func() time.Time { return cycleAt.Add(time.Minute) }
	rep, err = sr.runner.Cycle(context.Background(), Repo{Config: sr.rc}, CycleOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Invalid)
	assert.Equal(t, ActionCommitted, resultOf(t, rep, broken.ID).Action)
	assert.Equal(t, "1", sr.replicas(t, broken))
}

// TestSetConflictsFailOnlyThePoliciesInvolved: a new document that writes another team's
// target, and one that reuses another's name, stop exactly the newcomers: the policies that
// claimed the target and the name first in Git history evaluate like the others (docs/design.md
// §4), and the newcomers hold what Git has.
func TestSetConflictsFailOnlyThePoliciesInvolved(t *testing.T) {
	sr := newSharedRepo(t, 12)
	target, named := sr.apps[3], sr.apps[5]
	docOf := func(a benchrepo.App) string { return sr.s.ReadFile("shared", "main", a.Policy) }
	sr.s.Commit("shared", map[string]string{
		// Another team's policy on app 3's values file.
		"policies/zz-intruder.yaml": replaceOnce(t, docOf(target), "name: "+strings.TrimPrefix(target.ID, "bench/")+"\n", "name: intruder\n"),
		// A second document named like app 5, on a file of its own.
		"policies/zz-twin.yaml": replaceOnce(t, docOf(named), named.Values, "values/twin.yaml"),
		"values/twin.yaml":      "app:\n  replicaCount: 2\n",
	}, "two new policies", "Team X <x@example.com>")

	sr.runner.Metrics = staticMetrics{benchrepo.HotMetric: 0}
	sr.runner.Now = func() time.Time { return cycleAt }
	rep, err := sr.runner.Cycle(context.Background(), Repo{Config: sr.rc}, CycleOptions{})
	require.NoError(t, err)

	refused := map[string]string{} // policy@file → error
	for _, iv := range rep.Invalid {
		refused[iv.Policy+"@"+iv.File] = iv.Error()
	}
	assert.Len(t, refused, 2)
	assert.Contains(t, refused["bench/intruder@policies/zz-intruder.yaml"], "is already claimed by policy "+target.ID+" ("+target.Policy)
	assert.Contains(t, refused[named.ID+"@policies/zz-twin.yaml"], "policy "+named.ID+" is already claimed by "+named.Policy)

	for _, a := range sr.apps {
		assert.Equal(t, "1", sr.replicas(t, a), a.ID)
		assert.Equal(t, ActionCommitted, resultOf(t, rep, a.ID).Action)
	}
	assert.Contains(t, sr.s.ReadFile("shared", "main", "values/twin.yaml"), "replicaCount: 2\n", "the twin holds")
	assert.Equal(t, ActionError, resultOf(t, rep, "bench/intruder").Action)
}
