package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The Git commands run in-process against a real Git server (git http-backend, Basic auth
// with the password from the environment), with metric values from a trace file.

const (
	cliWebPolicy = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: prod}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  replicas: {file: envs/prod/web/values.yaml, path: web.replicaCount}
  minReplicas: 2
  maxReplicas: 20
  mode: Commit
  metrics:
    - name: web_rps
      promQL: sum(rate(http_requests_total{app="web"}[2m]))
      target: {type: AverageValue, averageValue: 100}
`
	cliValuesFile = "envs/prod/web/values.yaml"
	cliValuesDoc  = "# Production web tier.\nweb:\n  image: {tag: \"1.4.2\"}\n  replicaCount: 3   # managed\n"

	// At cliAt web_rps is 560: web wants 6 replicas (3 now).
	cliAt    = "2026-11-22T11:00:00Z"
	cliTrace = "timestamp,metric,value\n2026-11-22T10:58:00Z,web_rps,120\n2026-11-22T10:59:30Z,web_rps,560\n"

	cliPasswordEnv = "GITOPS_AUTOSCALER_TEST_GIT_PASSWORD"
)

var cliTime = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// cliRepo is a Git server with the platform repository, a config for it and a trace file.
type cliRepo struct {
	s       *gittest.Server
	initial string
	config  string // path of the config file
	trace   string // path of the trace file
}

// newCLIRepo creates the repository with the web policy plus extra files; url picks the
// remote the config names (the server's HTTP URL when empty).
func newCLIRepo(t *testing.T, extra map[string]string, url func(*gittest.Server) string) *cliRepo {
	t.Helper()
	s := gittest.NewServer(t)
	files := map[string]string{"policies/web.yaml": cliWebPolicy, cliValuesFile: cliValuesDoc}
	for k, v := range extra {
		files[k] = v
	}
	initial := s.CreateRepo("platform", files)
	t.Setenv(cliPasswordEnv, s.Password())
	remote := fmt.Sprintf("url: %s\n    auth: {username: %s, passwordEnv: %s}", s.URL("platform"), s.User(), cliPasswordEnv)
	if url != nil {
		remote = "url: " + url(s)
	}
	dir := write(t, map[string]string{
		"autoscaler.yaml": fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: platform
    %s
    branch: main
    policies: ["policies/*.yaml"]
prometheus:
  - {name: default, url: "http://127.0.0.1:9"}
commit: {authorName: gitops-autoscaler, authorEmail: bot@example.com}
cacheDir: %s
`, remote, t.TempDir()),
		"trace.csv": cliTrace,
	})
	return &cliRepo{s: s, initial: initial, config: filepath.Join(dir, "autoscaler.yaml"), trace: filepath.Join(dir, "trace.csv")}
}

// runCLI runs the command line in-process and returns its exit code, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func (c *cliRepo) head() string { return c.s.HeadSHA("platform", "main") }

// cliRawOutput is `evaluate -o json`, each result kept as raw fields to check the shape.
type cliRawOutput struct {
	Results []map[string]json.RawMessage `json:"results"`
}

func cliResults(t *testing.T, out string) []gitops.Result {
	t.Helper()
	var v struct {
		Results []gitops.Result `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &v), out)
	return v.Results
}

func TestEvaluateJSON(t *testing.T) {
	c := newCLIRepo(t, nil, nil)

	code, out, errb := runCLI("evaluate", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt, "-o", "json")

	require.Equal(t, exitOK, code, errb)
	var raw cliRawOutput
	require.NoError(t, json.Unmarshal([]byte(out), &raw), out)
	require.Len(t, raw.Results, 1)
	for _, key := range []string{"policy", "target", "from", "to", "action", "commit", "reasons", "error"} {
		assert.Contains(t, raw.Results[0], key, "every result has %q", key)
	}
	res := cliResults(t, out)[0]
	assert.Equal(t, "prod/web", res.Policy)
	assert.Equal(t, cliValuesFile+"#web.replicaCount", res.Target)
	assert.Equal(t, 3, res.From)
	assert.Equal(t, 6, res.To)
	assert.Equal(t, gitops.ActionCommitted, res.Action)
	assert.Equal(t, c.head(), res.Commit)
	assert.Empty(t, res.Error)
	require.NotEmpty(t, res.Reasons)
	assert.Contains(t, res.Reasons[0].Message, "web_rps = 560")
	assert.Equal(t, strings.Replace(cliValuesDoc, "replicaCount: 3", "replicaCount: 6", 1), c.s.ReadFile("platform", "main", cliValuesFile))
	tr, ok := commitmsg.ParseTrailers(c.s.RawMessage("platform", res.Commit))
	require.True(t, ok)
	assert.True(t, cliTime.Equal(tr.EvaluatedAt), "--at is the decision's instant, not %s", tr.EvaluatedAt)
	assert.Equal(t, 1, c.s.Requests("platform", gittest.ReceivePack))

	// The same instant again: already decided, nothing new.
	code, out, errb = runCLI("evaluate", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt, "-o", "json")
	require.Equal(t, exitOK, code, errb)
	assert.Equal(t, gitops.ActionUnchanged, cliResults(t, out)[0].Action)
	assert.Equal(t, res.Commit, c.head())
}

func TestEvaluateExitCodes(t *testing.T) {
	missing := strings.NewReplacer("name: web,", "name: broken,", "envs/prod/web/", "envs/prod/missing/").Replace(cliWebPolicy)
	invalid := strings.Replace(cliWebPolicy, "maxReplicas: 20", "maxReplicas: 1", 1)
	tests := []struct {
		name  string
		extra map[string]string
		// args after the command; {config} and {trace} are replaced.
		args       []string
		wantCode   int
		wantStderr string
		// wantActions are the results' actions by policy, when results are printed.
		wantActions map[string]string
	}{
		{
			name:        "ok",
			args:        []string{"--config", "{config}", "--metrics-file", "{trace}", "--at", cliAt, "--dry-run", "-o", "json"},
			wantCode:    exitOK,
			wantActions: map[string]string{"prod/web": gitops.ActionDryRun},
		},
		{
			name:        "a policy errored",
			extra:       map[string]string{"policies/broken.yaml": missing},
			args:        []string{"--config", "{config}", "--metrics-file", "{trace}", "--at", cliAt, "-o", "json"},
			wantCode:    exitFailure,
			wantActions: map[string]string{"prod/web": gitops.ActionCommitted, "prod/broken": gitops.ActionError},
		},
		{
			// The others are evaluated; the broken document is the policy's error (validate is
			// where an invalid policy is a usage error).
			name:        "invalid policy in the repository",
			extra:       map[string]string{"policies/web.yaml": invalid, "policies/broken.yaml": missing},
			args:        []string{"--config", "{config}", "--metrics-file", "{trace}", "--at", cliAt, "-o", "json"},
			wantCode:    exitFailure,
			wantActions: map[string]string{"prod/web": gitops.ActionError, "prod/broken": gitops.ActionError},
		},
		{name: "no config", args: []string{"--metrics-file", "{trace}"}, wantCode: exitUsage, wantStderr: "--config is required"},
		{name: "unknown flag", args: []string{"--config", "{config}", "--frobnicate"}, wantCode: exitUsage, wantStderr: "frobnicate"},
		{name: "bad --at", args: []string{"--config", "{config}", "--at", "yesterday"}, wantCode: exitUsage, wantStderr: "--at"},
		{name: "bad output", args: []string{"--config", "{config}", "-o", "yaml"}, wantCode: exitUsage, wantStderr: "-o"},
		{name: "missing trace", args: []string{"--config", "{config}", "--metrics-file", "{trace}.gone"}, wantCode: exitUsage, wantStderr: "--metrics-file"},
		{name: "invalid config", args: []string{"--config", "{trace}"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLIRepo(t, tt.extra, nil)
			args := []string{"evaluate"}
			for _, a := range tt.args {
				args = append(args, strings.NewReplacer("{config}", c.config, "{trace}", c.trace).Replace(a))
			}
			code, out, errb := runCLI(args...)
			assert.Equal(t, tt.wantCode, code, "stdout: %s\nstderr: %s", out, errb)
			assert.Contains(t, errb, tt.wantStderr)
			if tt.wantActions != nil {
				got := map[string]string{}
				for _, r := range cliResults(t, out) {
					got[r.Policy] = r.Action
					if r.Action == gitops.ActionError {
						assert.NotEmpty(t, r.Error, r.Policy)
					}
				}
				assert.Equal(t, tt.wantActions, got)
			}
			if tt.wantCode == exitUsage {
				assert.Equal(t, c.initial, c.head(), "bad input changes no repository")
			}
		})
	}
}

func TestPlanPrintsTheDiffAndLeavesTheRemoteUntouched(t *testing.T) {
	c := newCLIRepo(t, nil, nil)

	code, out, errb := runCLI("plan", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt)

	require.Equal(t, exitOK, code, errb)
	assert.Contains(t, out, "prod/web  "+cliValuesFile+"#web.replicaCount  3 → 6  dry-run\n")
	assert.Contains(t, out, "    --- a/"+cliValuesFile+"\n    +++ b/"+cliValuesFile+"\n")
	assert.Contains(t, out, "    -  replicaCount: 3   # managed\n    +  replicaCount: 6   # managed\n")
	assert.Equal(t, c.initial, c.head())
	assert.Zero(t, c.s.Requests("platform", gittest.ReceivePack), "plan never pushes")

	code, _, errb = runCLI("plan", "--config", c.config, "--dry-run")
	assert.Equal(t, exitUsage, code, "plan is always a dry run: it has no --dry-run flag")
	assert.Contains(t, errb, "dry-run")
}

func TestHistoryAndScaleCommands(t *testing.T) {
	tests := []struct {
		name string
		url  func(*gittest.Server) string
	}{
		{name: "https remote with basic auth from the environment"},
		{name: "local bare repository path", url: func(s *gittest.Server) string { return s.Dir("platform") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLIRepo(t, nil, tt.url)
			code, out, errb := runCLI("evaluate", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt, "-o", "json")
			require.Equal(t, exitOK, code, errb)
			decision := cliResults(t, out)[0].Commit
			require.NotEmpty(t, decision)
			revert := c.s.Revert("platform", decision, "Bob <bob@example.com>", cliTime.Add(5*time.Minute))

			code, out, errb = runCLI("scale", "--config", c.config, "--policy", "web", "--to", "9",
				"--reason", "launch at 10:00", "--requested-by", "jane", "-o", "json")
			require.Equal(t, exitOK, code, errb)
			scaled := cliResults(t, out)[0]
			assert.Equal(t, gitops.ActionCommitted, scaled.Action)
			assert.Equal(t, 3, scaled.From)
			assert.Equal(t, 9, scaled.To)
			assert.Equal(t, c.head(), scaled.Commit)
			assert.Equal(t, strings.Replace(cliValuesDoc, "replicaCount: 3", "replicaCount: 9", 1), c.s.ReadFile("platform", "main", cliValuesFile))
			tr, ok := commitmsg.ParseTrailers(c.s.RawMessage("platform", scaled.Commit))
			require.True(t, ok)
			assert.True(t, tr.Manual)
			assert.Equal(t, "jane", tr.RequestedBy)

			code, out, errb = runCLI("history", "--config", c.config, "--policy", "prod/web", "--since", "87600h", "-o", "json")
			require.Equal(t, exitOK, code, errb)
			var h struct {
				Events []struct {
					Kind     string `json:"kind"`
					From, To int
					Commit   string `json:"commit"`
				} `json:"events"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &h), out)
			var got []string
			for _, e := range h.Events {
				got = append(got, fmt.Sprintf("%s %d→%d %s", e.Kind, e.From, e.To, e.Commit))
			}
			sort.Strings(got)
			want := []string{
				fmt.Sprintf("decision 3→6 %s", decision),
				fmt.Sprintf("manual-scale 3→9 %s", scaled.Commit),
				fmt.Sprintf("revert 6→3 %s", revert),
			}
			assert.Equal(t, want, got)

			code, out, errb = runCLI("history", "--config", c.config, "--policy", "web", "--since", "87600h")
			require.Equal(t, exitOK, code, errb)
			assert.Contains(t, out, "KIND")
			assert.Contains(t, out, "revert")
			assert.Contains(t, out, "Bob <bob@example.com>")

			code, _, errb = runCLI("scale", "--config", c.config, "--policy", "web", "--to", "9")
			assert.Equal(t, exitUsage, code, "a manual scale needs a reason")
			assert.Contains(t, errb, "--reason")
		})
	}
}

func TestEvaluateTextShowsTheShadowComparison(t *testing.T) {
	shadowPolicy := strings.NewReplacer("name: web,", "name: web-next,", "envs/prod/web/", "envs/prod/web-next/", "mode: Commit",
		"mode: DryRun\n  shadow: {promQL: 'kube_horizontalpodautoscaler_status_desired_replicas{horizontalpodautoscaler=\"web\"}'}").Replace(cliWebPolicy)
	c := newCLIRepo(t, map[string]string{"policies/web-next.yaml": shadowPolicy, "envs/prod/web-next/values.yaml": cliValuesDoc}, nil)
	// The live HPA: 3, then 4 at 10:59, 5 at 10:59:30 — two changes; ours goes 3 → 2 on the calm
	// 120 at 10:58, then 2 → 6 on 560 at 10:59:30.
	trace := filepath.Join(write(t, map[string]string{"trace.csv": cliTrace +
		"2026-11-22T10:58:00Z,shadow,3\n2026-11-22T10:59:00Z,shadow,4\n2026-11-22T10:59:30Z,shadow,5\n"}), "trace.csv")

	code, out, errb := runCLI("evaluate", "--config", c.config, "--metrics-file", trace, "--at", cliAt, "--dry-run")

	require.Equal(t, exitOK, code, errb)
	assert.Contains(t, out, "prod/web-next  envs/prod/web-next/values.yaml#web.replicaCount  3 → 6  dry-run\n")
	assert.Contains(t, out, "    shadow: live 5, ours 6; changes in 2m30s: live 2, ours 2; replica-hours: live 0.2, ours 0.2\n")
	assert.NotContains(t, strings.SplitAfter(out, "prod/web-next")[0], "shadow:", "only the shadow policy has the line")
}
