package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidateAndImportPointedAtARepository is item 7 of issue 21: validate and import walk a
// whole GitOps repository — chart, templates that are not YAML before rendering, Argo CD
// Applications — skipping what is not theirs and saying how many; validate --repo checks that
// every file the documents name exists, without reading a secret.
func TestValidateAndImportPointedAtARepository(t *testing.T) {
	const secret = "s3cr3t-token-value"
	repo := withApp(argoApp) // a chart (Chart.yaml, a template with {{ }}), values, an Application, a policy
	repo["charts/web/templates/_helpers.yaml"] = "{{- define \"web.name\" -}}\n{{ .Chart.Name }}\n{{- end }}\n"
	repo["keda/web.yaml"] = `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: demo}
spec:
  scaleTargetRef: {name: web}
  triggers:
    - type: prometheus
      metadata: {serverAddress: "http://prometheus:9090", query: "sum(rate(http_requests_total[2m]))", threshold: "100"}
`
	config := func(tokenFile string) string {
		return strings.Replace(validConfig, "auth: {tokenEnv: GIT_TOKEN}", "auth: {tokenFile: "+tokenFile+"}", 1)
	}
	cases := []struct {
		name     string
		files    map[string]string // replace or add to repo; "" deletes
		args     func(dir string) []string
		code     int
		stdout   string
		stderr   []string // substrings; {dir} is the repository
		noStderr []string
	}{
		{name: "validate DIR skips the chart, its templates and the Application", args: func(dir string) []string { return []string{"validate", dir} },
			code: exitOK, stdout: "ok: 1 policy, 0 configs; skipped 7 YAML files with no PrometheusAutoscaler or AutoscalerConfig (not ours)\n"},
		{name: "a file named itself is still checked", args: func(dir string) []string { return []string{"validate", filepath.Join(dir, "charts/web/Chart.yaml")} },
			code: exitUsage, stderr: []string{"{dir}/charts/web/Chart.yaml:1: kind: required"}},
		{name: "validate --repo: replicas.file that does not exist", files: map[string]string{"envs/prod/values.yaml": ""},
			args: func(dir string) []string { return []string{"validate", "--repo", dir, filepath.Join(dir, "policies")} },
			code: exitUsage, stderr: []string{"{dir}/policies/web.yaml:6: spec.replicas.file: envs/prod/values.yaml does not exist in the repository {dir}"}},
		{name: "validate --repo: a token file that does not exist", files: map[string]string{"autoscaler.yaml": config("{dir}/no-such-token")},
			args: func(dir string) []string {
				return []string{"validate", "--repo", dir, filepath.Join(dir, "autoscaler.yaml"), filepath.Join(dir, "policies")}
			},
			code: exitUsage, stderr: []string{"{dir}/autoscaler.yaml:6: repositories[0].auth.tokenFile: {dir}/no-such-token does not exist (checked for existence only, never read)"}},
		{name: "validate --repo: a host's token file that does not exist", files: map[string]string{"autoscaler.yaml": strings.Replace(validConfig,
			"auth: {tokenEnv: GIT_TOKEN}", "auth: {tokenEnv: GIT_TOKEN}\n    github: {owner: acme, repo: platform-gitops, tokenFile: {dir}/no-such-gh-token}", 1)},
			args: func(dir string) []string {
				return []string{"validate", "--repo", dir, filepath.Join(dir, "autoscaler.yaml"), filepath.Join(dir, "policies")}
			},
			code: exitUsage, stderr: []string{"{dir}/autoscaler.yaml:7: repositories[0].github.tokenFile: {dir}/no-such-gh-token does not exist (checked for existence only, never read)"}},
		{name: "validate --repo: a token file that exists is never read aloud", files: map[string]string{"autoscaler.yaml": config("{dir}/token"), "token": secret,
			"envs/prod/values.yaml": ""},
			args: func(dir string) []string {
				return []string{"validate", "--repo", dir, filepath.Join(dir, "autoscaler.yaml"), filepath.Join(dir, "policies")}
			},
			code: exitUsage, stderr: []string{"spec.replicas.file: envs/prod/values.yaml does not exist"}, noStderr: []string{"tokenFile", secret}},
		{name: "import DIR skips the chart's templates and other kinds", args: func(dir string) []string { return []string{"import", dir} },
			code: exitOK, stdout: "kind: PrometheusAutoscaler",
			stderr: []string{"keda/web.yaml", "skipped 6 documents of other kinds and 1 file not YAML before rendering (chart templates)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range repo {
				files[k] = v
			}
			dir := t.TempDir()
			for k, v := range tc.files {
				if v == "" {
					delete(files, k)
					continue
				}
				files[k] = strings.ReplaceAll(v, "{dir}", dir)
			}
			dir = writeTo(t, dir, files)
			code, out, errb := runCLI(tc.args(dir)...)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errb)
			if tc.code == exitOK || tc.stdout != "" {
				assert.Contains(t, out, tc.stdout)
			}
			for _, want := range tc.stderr {
				assert.Contains(t, errb, strings.ReplaceAll(want, "{dir}", dir))
			}
			for _, not := range tc.noStderr {
				assert.NotContains(t, errb+out, not)
			}
		})
	}
}

// writeTo puts files into dir and returns it.
func writeTo(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	}
	return dir
}

// TestEvaluateNamesTheFieldOfATargetItCannotRead is item 7's last line: evaluate never prints
// "0 → 0 error" without the file, line and field that named what it could not read.
func TestEvaluateNamesTheFieldOfATargetItCannotRead(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{name: "replicas.file missing", from: "envs/prod/web/values.yaml", to: "envs/prod/web/nope.yaml",
			want: "policies/web.yaml:6: spec.replicas.file: "},
		{name: "replicas.path missing", from: "path: web.replicaCount", to: "path: web.replicas",
			want: "policies/web.yaml:6: spec.replicas.path: envs/prod/web/values.yaml: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLIRepo(t, map[string]string{"policies/web.yaml": strings.Replace(cliWebPolicy, tc.from, tc.to, 1)}, nil)
			code, out, errb := runCLI("evaluate", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt)
			assert.Equal(t, exitFailure, code, errb)
			assert.NotContains(t, out, "0 → 0")
			assert.Contains(t, out, "prod/web  ")
			assert.Contains(t, out, tc.want)
			assert.Equal(t, c.initial, c.head(), "nothing committed")
		})
	}
}
