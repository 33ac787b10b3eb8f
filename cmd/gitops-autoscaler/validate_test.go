package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validPolicy = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: demo}
spec:
  targetRef: {kind: Deployment, name: web}
  replicas: {file: envs/prod/values.yaml, path: web.replicaCount}
  maxReplicas: 10
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total[2m]))
      scaleUp: {threshold: 250, step: 2}
      scaleDown: {threshold: 80, step: 1}
`

const validConfig = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: platform
    url: https://github.com/acme/platform-gitops.git
    auth: {tokenEnv: GIT_TOKEN}
prometheus:
  - {name: default, url: "http://prometheus.monitoring:9090"}
`

// argoApp is an Argo CD Application of a repository laid out by withApp.
const argoApp = `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web}
spec:
  source:
    repoURL: https://github.com/acme/platform-gitops.git
    path: charts/web
    helm:
      valueFiles: [../../envs/prod/values.yaml]
      valuesObject: {image: web:2}
  destination: {namespace: demo}
`

// withApp lays out a repository: a chart, the production values, the Application and the
// policy rendering through it.
func withApp(app string) map[string]string {
	return map[string]string{
		"charts/web/Chart.yaml":            "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"charts/web/templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: {{ .Values.web.replicaCount }}}\n",
		"envs/prod/values.yaml":            "web: {replicaCount: 2}\n",
		"envs/prod/other.yaml":             "web: {replicaCount: 2}\n",
		"argocd/web.yaml":                  app,
		"policies/web.yaml":                strings.Replace(validPolicy, "  maxReplicas: 10\n", "  render: {argocd: {application: argocd/web.yaml}}\n  maxReplicas: 10\n", 1),
	}
}

// write puts files into a fresh directory and returns it.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func TestValidateCommand(t *testing.T) {
	noReplicas := strings.Replace(validPolicy, "  replicas: {file: envs/prod/values.yaml, path: web.replicaCount}\n", "", 1)
	invalid := strings.NewReplacer("threshold: 80", "threshold: 300", "maxReplicas: 10", "maxReplicas: 0").Replace(validPolicy)
	tests := []struct {
		name       string
		files      map[string]string
		args       []string // relative to the directory of files
		wantCode   int
		wantStdout string
		wantStderr []string // exact lines; {dir} is the directory
	}{
		{name: "valid policy", files: map[string]string{"p.yaml": validPolicy}, args: []string{"p.yaml"},
			wantCode: exitOK, wantStdout: "ok: 1 policy, 0 configs\n"},
		{name: "directory with config and policies", files: map[string]string{
			"config.yaml": validConfig, "policies/web.yaml": validPolicy,
			"policies/team/worker.yml": strings.Replace(validPolicy, "name: web,", "name: worker,", 1),
		}, args: []string{"."}, wantCode: exitUsage, wantStderr: []string{
			"{dir}/policies/web.yaml:6: spec.replicas.path: policy demo/web writes the same file and path as demo/worker ({dir}/policies/team/worker.yml:6); the two would flip-flop",
		}},
		{name: "warnings only", files: map[string]string{"p.yaml": noReplicas}, args: []string{"p.yaml"},
			wantCode: exitOK, wantStdout: "ok: 1 policy, 0 configs\n", wantStderr: []string{
				"{dir}/p.yaml:4: warning: spec.replicas: not set: validate accepts the policy, but evaluate and serve need spec.replicas (file and path) to know where the count lives in Git",
			}},
		{name: "every error, one per line", files: map[string]string{"p.yaml": invalid}, args: []string{"p.yaml"},
			wantCode: exitUsage, wantStderr: []string{
				"{dir}/p.yaml:7: spec.maxReplicas: must be at least 1, got 0",
				"{dir}/p.yaml:12: spec.metrics[0].scaleDown.threshold: 300 must be below scaleUp.threshold 250",
			}},
		{name: "config and policy: unknown server", files: map[string]string{
			"config.yaml": validConfig,
			"p.yaml":      strings.Replace(validPolicy, "  maxReplicas: 10\n", "  maxReplicas: 10\n  prometheus: {server: thanos}\n", 1),
		}, args: []string{"config.yaml", "p.yaml"}, wantCode: exitUsage, wantStderr: []string{
			`{dir}/p.yaml:8: spec.prometheus.server: unknown Prometheus server "thanos": the config defines: default`,
		}},
		{name: "config alone", files: map[string]string{"config.yaml": validConfig}, args: []string{"config.yaml"},
			wantCode: exitOK, wantStdout: "ok: 0 policies, 1 config\n"},
		{name: "missing file", args: []string{"nope.yaml"}, wantCode: exitUsage, wantStderr: []string{
			"read policies: stat {dir}/nope.yaml: no such file or directory",
		}},
		{name: "--repo: replicas.file among the Application's value files", files: withApp(argoApp), args: []string{"--repo", ".", "policies/web.yaml"},
			wantCode: exitOK, wantStdout: "ok: 1 policy, 0 configs\n"},
		{name: "--repo: replicas.file the Application does not read", files: withApp(strings.Replace(argoApp, "values.yaml", "other.yaml", 1)),
			args: []string{"--repo", ".", "policies/web.yaml"}, wantCode: exitUsage, wantStderr: []string{
				"{dir}/policies/web.yaml:6: spec.replicas.file: envs/prod/values.yaml is not among the files the render reads (helm chart charts/web reads the chart's values.yaml, envs/prod/other.yaml, argocd/web.yaml spec.source.helm.valuesObject): an edit of it cannot reach the workload",
			}},
		{name: "--repo: a chart of a Helm repository, with value files named as this repository's", files: withApp(strings.Replace(argoApp, "path: charts/web", "chart: web\n    targetRevision: 1.0.0", 1)),
			args: []string{"--repo", ".", "policies/web.yaml"}, wantCode: exitUsage, wantStderr: []string{
				// A remote chart renders (docs/render-verification.md), but Argo CD reads a
				// single source's value files from the pulled chart, not from this repository.
				"argocd/web.yaml:10: spec.source.helm.valueFiles[0]: ../../envs/prod/values.yaml leaves the pulled chart web: a value file without $ref is a file of the chart, relative to its root; a file of this repository is named through a $ref source (multi-source: $values/path)",
			}},
		{name: "no path", args: nil, wantCode: exitUsage},
		{name: "unknown flag", args: []string{"--strict"}, wantCode: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := write(t, tt.files)
			args := []string{"validate"}
			for _, a := range tt.args {
				if !strings.HasPrefix(a, "-") {
					a = filepath.Join(dir, a)
				}
				args = append(args, a)
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr.String())
			assert.Equal(t, tt.wantStdout, stdout.String())
			switch {
			case tt.wantStderr != nil:
				want := strings.ReplaceAll(strings.Join(tt.wantStderr, "\n")+"\n", "{dir}", dir)
				assert.Equal(t, want, stderr.String())
			case tt.wantCode == exitUsage:
				assert.Contains(t, stderr.String(), "Usage: gitops-autoscaler validate [--repo DIR] PATH...")
			default:
				assert.Empty(t, stderr.String())
			}
		})
	}
}

func TestValidateHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"validate", "--help"}, &stdout, &stderr)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout.String(), "Usage: gitops-autoscaler validate [--repo DIR] PATH...")
	assert.Contains(t, stdout.String(), "Example:")
	assert.Empty(t, stderr.String())

	stdout.Reset()
	run(context.Background(), []string{"help"}, &stdout, &stderr)
	assert.Contains(t, stdout.String(), "validate", "listed among the commands")
}

func TestValidateNeverPrintsSecrets(t *testing.T) {
	const secret = "s3cr3t-t0ken"
	cfg := strings.Replace(validConfig, "https://github.com/", "https://bot:"+secret+"@github.com/", 1)
	cfg = strings.Replace(cfg, "auth: {tokenEnv: GIT_TOKEN}", "auth: {token: "+secret+"}", 1)
	dir := write(t, map[string]string{"config.yaml": cfg})
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"validate", filepath.Join(dir, "config.yaml")}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "repositories[0].url: must not carry a password")
	assert.Contains(t, stderr.String(), "repositories[0].auth.token: unknown field")
	assert.NotContains(t, stderr.String()+stdout.String(), secret)
}
