package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderFixture makes a bare Git repository from testdata/render/repo, with the policy's second
// values file set to values2, and a config pointing at it. It returns the config path and the
// bare repository.
func renderFixture(t *testing.T, values2 string) (config, remote string) {
	t.Helper()
	return renderFixtureWith(t, map[string]string{"VALUES2": values2})
}

// renderFixtureWith is renderFixture with replacements made in the policy: the render block, or
// the Application the policy names (file: old → new, after "argocd/shop.yaml:").
func renderFixtureWith(t *testing.T, replace map[string]string) (config, remote string) {
	t.Helper()
	return renderFixtureFiles(t, replace, nil)
}

// renderFixtureFiles is renderFixtureWith with more files in the repository, by path.
func renderFixtureFiles(t *testing.T, replace, files map[string]string) (config, remote string) {
	t.Helper()
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	require.NoError(t, os.CopyFS(work, os.DirFS("testdata/render/repo")))
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	for old, new := range replace {
		file := filepath.Join(work, "policies", "web.yaml")
		if f, o, ok := strings.Cut(old, ":"); ok && strings.HasSuffix(f, ".yaml") {
			file, old = filepath.Join(work, filepath.FromSlash(f)), o
		}
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Contains(t, string(b), old)
		require.NoError(t, os.WriteFile(file, bytes.ReplaceAll(b, []byte(old), []byte(new)), 0o644))
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Platform", "GIT_AUTHOR_EMAIL=platform@example.com",
			"GIT_COMMITTER_NAME=Platform", "GIT_COMMITTER_EMAIL=platform@example.com",
			"GIT_AUTHOR_DATE=2026-11-22T09:00:00Z", "GIT_COMMITTER_DATE=2026-11-22T09:00:00Z")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-q", "-m", "shop: chart, values, policy")
	remote = filepath.Join(dir, "shop.git")
	git("clone", "-q", "--bare", work, remote)

	cfg, err := os.ReadFile("testdata/render/config.yaml")
	require.NoError(t, err)
	config = filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(config, bytes.ReplaceAll(cfg, []byte("REMOTE"), []byte(remote)), 0o644))
	return config, remote
}

func remoteHead(t *testing.T, remote string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", remote, "rev-parse", "main").Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

type evalOutput struct {
	Results []struct {
		Policy   string `json:"policy"`
		From     int    `json:"from"`
		To       int    `json:"to"`
		Action   string `json:"action"`
		Commit   string `json:"commit"`
		Error    string `json:"error"`
		Rendered string `json:"rendered"`
		Reasons  []struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"reasons"`
	} `json:"results"`
}

// TestEvaluateRenderVerification runs evaluate end to end on a real Helm chart: a decision whose
// edited key reaches the workload is committed with the rendered change among its reasons; one
// whose key a later values file overrides is refused — the remote is untouched and the JSON
// result says why.
func TestEvaluateRenderVerification(t *testing.T) {
	const helmBlock = "helm: {chart: chart, valuesFiles: [envs/web.yaml, VALUES2], releaseName: shop}"
	argocd := func(more map[string]string) map[string]string {
		m := map[string]string{helmBlock: "argocd: {application: argocd/shop.yaml}"}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		replace    map[string]string
		wantAction string
		wantCode   int
		wantText   []string // in the error (refused) or a reason (committed)
	}{
		{
			name:       "edit reaches the workload; the budget that appears is named",
			replace:    map[string]string{"VALUES2": "envs/other.yaml"},
			wantAction: "committed",
			wantCode:   exitOK,
			wantText:   []string{"rendered Deployment shop/web: spec.replicas 2 → 5\nalso: adds PodDisruptionBudget shop/web\n"},
		},
		{
			name:       "later values file overrides the key",
			replace:    map[string]string{"VALUES2": "envs/override.yaml"},
			wantAction: "error",
			wantCode:   exitFailure,
			wantText:   []string{"envs/override.yaml", "Deployment shop/web"},
		},
		{
			name:       "rendered as the Argo CD Application renders it",
			replace:    argocd(nil),
			wantAction: "committed",
			wantCode:   exitOK,
			wantText:   []string{"rendered Deployment shop/web: spec.replicas 2 → 5\nalso: adds PodDisruptionBudget shop/web\n"},
		},
		{
			name: "a parameter of the Application pins the count",
			replace: argocd(map[string]string{"argocd/shop.yaml:valueFiles: [../envs/web.yaml, ../envs/other.yaml]": "valueFiles: [../envs/web.yaml, ../envs/other.yaml]\n" +
				"      parameters: [{name: web.replicaCount, value: '3'}]"}),
			wantAction: "error",
			wantCode:   exitFailure,
			wantText:   []string{"KeyOverridden", "argocd/shop.yaml spec.source.helm.parameters[0] (web.replicaCount) comes after envs/web.yaml and sets web.replicaCount: 3"},
		},
		{
			name:       "a values file the Application does not read",
			replace:    argocd(map[string]string{"argocd/shop.yaml:valueFiles: [../envs/web.yaml, ../envs/other.yaml]": "valueFiles: [../envs/other.yaml]"}),
			wantAction: "error",
			wantCode:   exitFailure,
			wantText:   []string{"KeyUnused", "envs/web.yaml is none of the values the render reads (the chart's values.yaml, envs/other.yaml)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config, remote := renderFixtureWith(t, tt.replace)
			before := remoteHead(t, remote)
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"evaluate", "--config", config, "--cache-dir", t.TempDir(),
				"--metrics-file", "testdata/render/trace.csv", "--at", "2026-11-22T10:00:00Z", "-o", "json"}, &out, &errb)
			require.Equal(t, tt.wantCode, code, "stderr: %s\nstdout: %s", errb.String(), out.String())

			var got evalOutput
			require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
			require.Len(t, got.Results, 1)
			r := got.Results[0]
			assert.Equal(t, "shop/web", r.Policy)
			assert.Equal(t, tt.wantAction, r.Action)
			assert.Equal(t, 2, r.From)
			after := remoteHead(t, remote)
			if tt.wantAction == "error" {
				assert.Equal(t, before, after, "a refused verification must leave the remote untouched")
				assert.Empty(t, r.Commit)
				for _, s := range tt.wantText {
					assert.Contains(t, r.Error, s)
				}
				assert.Equal(t, 1, strings.Count(r.Error, "render verification refused"), "the refusal is said once: %s", r.Error)
				return
			}
			assert.Equal(t, 5, r.To)
			assert.NotEqual(t, before, after)
			assert.Equal(t, r.Commit, after)
			msg, err := exec.Command("git", "--git-dir", remote, "log", "-1", "--format=%B", "main").Output()
			require.NoError(t, err)
			for _, s := range tt.wantText {
				assert.Contains(t, string(msg), s)
			}
			diff, err := exec.Command("git", "--git-dir", remote, "diff", before, after).Output()
			require.NoError(t, err)
			assert.Contains(t, string(diff), "-  replicaCount: 2 # scaled by policy shop/web\n+  replicaCount: 5 # scaled by policy shop/web\n")
		})
	}
}

// TestPlanShowsRenderedDiff checks that plan prints the file diff and the rendered workload's
// change, and leaves the remote untouched.
func TestPlanShowsRenderedDiff(t *testing.T) {
	config, remote := renderFixture(t, "envs/other.yaml")
	before := remoteHead(t, remote)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"plan", "--config", config, "--cache-dir", t.TempDir(),
		"--metrics-file", "testdata/render/trace.csv", "--at", "2026-11-22T10:00:00Z"}, &out, &errb)
	require.Equal(t, exitOK, code, "stderr: %s", errb.String())
	text := out.String()
	assert.Contains(t, text, "shop/web  envs/web.yaml#web.replicaCount  2 → 5  dry-run")
	assert.Contains(t, text, "+++ b/envs/web.yaml")
	assert.Contains(t, text, "+  replicaCount: 5 # scaled by policy shop/web")
	assert.Contains(t, text, "spec.replicas", "the rendered workload diff is shown")
	assert.Equal(t, before, remoteHead(t, remote), "plan must not push")
}

// TestRunawayChartDoesNotStopAnotherPolicy: one team's chart that loops (issue 22, finding 2)
// is stopped at limits.render.timeout and refused as RenderFailed, naming the limit; the other
// team's policy in the same repository and the same cycle is verified and committed.
func TestRunawayChartDoesNotStopAnotherPolicy(t *testing.T) {
	files := map[string]string{
		"loop/Chart.yaml":  "apiVersion: v2\nname: loop\nversion: 0.1.0\n",
		"loop/values.yaml": "web: {replicaCount: 1}\n",
		"loop/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: loop}
spec:
  replicas: {{ .Values.web.replicaCount }}
  template:
    metadata:
      annotations:
        spin: {{ range until 100000 }}{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}{{ end }}"done"
`,
		"envs/loop.yaml": "web:\n  replicaCount: 2\n",
		"policies/loop.yaml": `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: loop, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: loop}
  replicas: {file: envs/loop.yaml, path: web.replicaCount}
  render:
    helm: {chart: loop, valuesFiles: [envs/loop.yaml]}
  minReplicas: 1
  maxReplicas: 10
  mode: Commit
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total[2m]))
      target: {type: AverageValue, averageValue: 100}
`,
	}
	config, remote := renderFixtureFiles(t, map[string]string{"VALUES2": "envs/other.yaml"}, files)
	cfg, err := os.ReadFile(config)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(config, append(cfg, "limits:\n  render: {timeout: 3s, maxCPUSeconds: 60}\n"...), 0o644))
	before := remoteHead(t, remote)

	var out, errb bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"evaluate", "--config", config, "--cache-dir", t.TempDir(),
		"--metrics-file", "testdata/render/trace.csv", "--at", "2026-11-22T10:00:00Z", "-o", "json"}, &out, &errb)
	assert.Less(t, time.Since(start), 30*time.Second, "the runaway render must not hold the cycle")
	require.Equal(t, exitFailure, code, "stderr: %s\nstdout: %s", errb.String(), out.String())

	var got evalOutput
	require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
	results := map[string]int{}
	for i, r := range got.Results {
		results[r.Policy] = i
	}
	require.Len(t, results, 2, out.String())
	loop, web := got.Results[results["shop/loop"]], got.Results[results["shop/web"]]
	assert.Equal(t, "error", loop.Action)
	assert.Contains(t, loop.Error, "RenderFailed")
	assert.Contains(t, loop.Error, "render helm chart loop: ran past its deadline of 3s (limits.render.timeout) and was stopped")
	assert.Equal(t, "committed", web.Action, web.Error)
	assert.Equal(t, 5, web.To)
	assert.NotEqual(t, before, remoteHead(t, remote))
	diff, err := exec.Command("git", "--git-dir", remote, "diff", "--stat", before, "main").Output()
	require.NoError(t, err)
	assert.Contains(t, string(diff), "envs/web.yaml")
	assert.NotContains(t, string(diff), "envs/loop.yaml", "the refused policy commits nothing")
}
