package gitops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// busyPolicies is the size of TestBusyRepositoryEveryDecisionLands' repository.
const busyPolicies = 100

// busyPolicy is a policy of the busy repository: its own values file, verified by a render
// of its own chart.
const busyPolicy = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: %[1]s, namespace: busy}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  replicas: {file: apps/%[1]s/values.yaml, path: app.replicaCount}
  render: {helm: {chart: apps/%[1]s}}
  minReplicas: 1
  maxReplicas: 50
  mode: Commit
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total{app="%[1]s"}[2m]))
      target: {type: AverageValue, averageValue: 100}
`

// slowVerifier stands for the render verification of a decision, which costs a render of the
// policy's chart (tens of milliseconds for a real chart): it takes cost and proves nothing.
// It says that each render reads its chart's directory, as render.Inputs does.
type slowVerifier struct {
	cost  time.Duration
	calls *atomic.Int64
}

func (v slowVerifier) Verify(context.Context, string, *policy.Policy, string, []byte, int, int) (Verification, error) {
	v.calls.Add(1)
	time.Sleep(v.cost)
	return Verification{Summary: "rendered"}, nil
}

func (v slowVerifier) Inputs(_ string, p *policy.Policy) []string {
	return []string{p.Spec.Render.Helm.Chart}
}

// TestBusyRepositoryEveryDecisionLands: a person pushes an unrelated commit every 3 s while
// a cycle of 100 policies runs, each of which scales and whose decision costs a 60 ms render:
// 6 s of deciding. Every decision of the cycle lands, every person's commit is kept, and the
// commits a race lost are replayed, not decided again (docs/design.md §6, "Push races"). A
// loop that decided every policy again after each race would lose every race: its 6 s from
// fetch to push always hold one of their pushes.
func TestBusyRepositoryEveryDecisionLands(t *testing.T) {
	s := gittest.NewServer(t)
	s.CreateRepo("busy", map[string]string{"README.md": "busy\n"})
	files := make(map[string]string, 3*busyPolicies)
	for i := 1; i <= busyPolicies; i++ {
		name := fmt.Sprintf("p%04d", i)
		files["policies/"+name+".yaml"] = fmt.Sprintf(busyPolicy, name)
		files["apps/"+name+"/Chart.yaml"] = "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n"
		files["apps/"+name+"/values.yaml"] = "# " + name + "\napp:\n  image: {tag: \"1.0\"}\n  replicaCount: 2  # managed\n"
	}
	base := s.Import("busy", []gittest.ImportCommit{{
		Files: files, Message: "100 services", Author: "Admin <admin@example.com>", When: cycleAt.Add(-48 * time.Hour),
	}})
	rc := svcconfig.Repository{
		Name: "busy", URL: s.URL("busy"), Branch: "main", Policies: []string{"policies/*.yaml"},
		Auth: &svcconfig.GitAuth{Username: s.User(), PasswordFile: secretFile(t, s.Password())},
	}
	r := testRunner(t, staticMetrics{"rps": 560}, slog.New(slog.NewTextHandler(io.Discard, nil)), rc)
	var renders atomic.Int64
	r.Verifier = slowVerifier{cost: 60 * time.Millisecond, calls: &renders}
	r.MaxPushAttempts = 8
	ctx := context.Background()
	_, err := r.Workspace(ctx, rc) // the clone, before the person starts
	require.NoError(t, err)

	// The person pushes from the moment the cycle starts until it ends, from a clone of their
	// own: fetch, commit, push every 3 s; a push that loses a race with ours is tried again
	// at the next tick.
	bare := strings.TrimSpace(s.Git("busy", "rev-parse", "--absolute-git-dir"))
	person := filepath.Join(t.TempDir(), "person")
	personGit(t, "", "clone", "--quiet", bare, person)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var theirs, failed []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			sha, err := personPush(person, n)
			if err != nil {
				failed = append(failed, err.Error())
				continue
			}
			theirs = append(theirs, sha)
		}
	}()
	start := time.Now()
	rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})
	took := time.Since(start)
	close(done)
	wg.Wait()
	t.Logf("cycle: %s, %d push retries, %d commits replayed, %d renders; the person pushed %d commits, %d lost a race",
		took, rep.PushRetries, rep.Replayed, renders.Load(), len(theirs), len(failed))
	require.NoError(t, err)

	committed := 0
	for _, res := range rep.Results {
		if res.Action == ActionCommitted {
			committed++
		}
	}
	assert.Equal(t, busyPolicies, committed, "every decision landed")
	assert.Equal(t, busyPolicies, strings.Count(s.Git("busy", "log", "--format=%an", "--author=gitops-autoscaler", base+"..main"), "\n"))
	assert.Equal(t, int64(busyPolicies), renders.Load(), "every policy decided (and rendered) once")
	assert.Equal(t, rep.PushRetries*busyPolicies, rep.Replayed, "every race replayed every commit")
	for _, sha := range theirs {
		assert.Contains(t, s.Git("busy", "branch", "--contains", sha), "main", "their commit %s is kept", sha)
	}
}

// personGit runs git in dir for the test, failing it on an error.
func personGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
}

// personPush makes the person's n-th commit on the remote's head and pushes it; it returns
// the commit's sha, or the error of the step that failed (a lost race included).
func personPush(dir string, n int) (string, error) {
	run := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
			"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %v: %w: %s", args, err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	steps := [][]string{
		{"fetch", "--quiet", "origin", "main"},
		{"reset", "--quiet", "--hard", "origin/main"},
	}
	for _, s := range steps {
		if _, err := run(s...); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(fmt.Sprintf("busy\nrelease %d\n", n)), 0o644); err != nil {
		return "", err
	}
	for _, s := range [][]string{{"commit", "--quiet", "-am", fmt.Sprintf("release %d", n)}, {"push", "--quiet", "origin", "HEAD:main"}} {
		if _, err := run(s...); err != nil {
			return "", err
		}
	}
	return run("rev-parse", "HEAD")
}
