package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/charttest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The ApplicationSet tests run the built binary's `evaluate` against a real Prometheus, the
// real Git server, and the real servers a remote chart comes from: a Helm repository (behind
// basic auth) and Debian's docker-registry. The repository holds an ApplicationSet whose Git
// directory generator makes one Application per envs/<env>/web directory; each pulls the web
// chart from outside and takes its values from this repository through a $values source.

const (
	chartUser     = "puller"
	chartPassword = "s3cret-Chart-Pa55"
	appSetFile    = "argocd/apps.yaml"
)

// webChart is the chart the generated Applications pull: a Deployment web whose replicas
// are web.replicaCount.
func webChart() *chart.Chart {
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "web", Version: "1.4.2"},
		Values:   map[string]any{"web": map[string]any{"replicaCount": 1, "image": "nginx"}},
		Templates: []*chart.File{{Name: "templates/deployment.yaml", Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ .Values.web.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: {{ .Values.web.image | quote }}}]
`)}},
	}
}

// appSetYAML is the ApplicationSet: a Git directory generator over envs/*/web, a chart source
// (repoURL and chart as given) and the $values source of this repository. parameters, when
// set, is a helm.parameters list the template adds to the chart source.
func appSetYAML(gitURL, chartRepoURL, chartName, parameters string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web, namespace: argocd}
spec:
  generators:
    - git:
        repoURL: %s
        revision: HEAD
        directories: [{path: 'envs/*/web'}]
  template:
    metadata: {name: '{{path[1]}}-web'}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc, namespace: '{{path[1]}}'}
      sources:
        - repoURL: %s
          chart: %s
          targetRevision: 1.4.2
          helm:
            valueFiles: ['$values/{{path}}/values.yaml']%s
        - repoURL: %s
          targetRevision: main
          ref: values
`, gitURL, chartRepoURL, chartName, parameters, gitURL)
}

// appSetFixture is the GitOps repository with the ApplicationSet and the policy of the
// generated Application prod-web, on the real Git server, and the service config: the Git
// server, a seeded Prometheus, and the chart repository's credentials from a file.
func appSetFixture(t *testing.T, chartRepoURL, chartName, parameters string) *fixture {
	t.Helper()
	at := historyBase()
	prom := seeded(t, gauge("web_requests_per_second", webLabels, at.Add(-10*time.Minute), at.Add(10*time.Minute), func(time.Time) float64 { return 500 }))
	s := gittest.NewServer(t)
	pol := strings.Replace(policyYAML(rpsMetric, ""), "  mode: Commit\n",
		"  mode: Commit\n  render:\n    argocd: {applicationSet: "+appSetFile+", name: prod-web}\n", 1)
	s.CreateRepo(repoName, map[string]string{
		valuesFile:                     valuesYAML(3),
		"envs/staging/web/values.yaml": valuesYAML(1),
		"policies/web.yaml":            pol,
		appSetFile:                     appSetYAML(s.URL(repoName), chartRepoURL, chartName, parameters),
	})
	dir := t.TempDir()
	chartPasswordFile := filepath.Join(dir, "chart-password")
	require.NoError(t, os.WriteFile(chartPasswordFile, []byte(chartPassword+"\n"), 0o600))
	plain := ""
	if strings.HasPrefix(chartRepoURL, "oci://") {
		plain = ", plainHTTP: true"
	}
	cfg := configHead(t, dir, s, repoName, s.URL(repoName)) + fmt.Sprintf(`chartRepositories:
  - {url: %q, username: %s, passwordFile: %s%s}
prometheus:
  - name: default
    url: %s
    timeout: 5s
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
`, chartRepoURL, chartUser, chartPasswordFile, plain, prom.URL())
	file := filepath.Join(dir, "autoscaler.yaml")
	require.NoError(t, os.WriteFile(file, []byte(cfg), 0o600))
	return &fixture{git: s, config: file}
}

// digestRE finds the pulled chart's digest in a commit message or a reason.
var digestRE = regexp.MustCompile(`pulled [^\n]*web[^\n]* → version 1\.4\.2, (sha256:[0-9a-f]{64})`)

// TestApplicationSetRemoteChartThroughEvaluate: the policy names the Application prod-web that
// the ApplicationSet generates. `evaluate` pulls the chart the generated Application names —
// from a Helm repository with basic auth, and from docker-registry over OCI — renders it with
// the edited values file, and commits the scale-up with the render's proof, naming the chart's
// version and digest (the sha256 of the archive pulled, the same bytes the test pushed). When the
// template overrides the key with a helm parameter, the decision is refused as KeyOverridden
// naming the ApplicationSet's file and the template's field; nothing is committed, and no branch is
// made. The chart password appears in no output.
func TestApplicationSetRemoteChartThroughEvaluate(t *testing.T) {
	repo := charttest.StartHelmRepo(t, charttest.Options{User: chartUser, Password: chartPassword})
	repoDigest := repo.Add(t, webChart())
	reg := charttest.StartRegistry(t, charttest.Options{User: chartUser, Password: chartPassword})
	regDigest := reg.Push(t, "charts", webChart(), "")

	const override = "\n            parameters: [{name: web.replicaCount, value: '4'}]"
	sources := []struct {
		name, url, chart, digest string
	}{
		{name: "Helm repository", url: repo.URL, chart: "web", digest: repoDigest},
		{name: "OCI registry", url: "oci://" + reg.Host + "/charts", chart: "web", digest: regDigest},
	}
	for _, src := range sources {
		t.Run(src.name+": verified with the pulled chart and committed", func(t *testing.T) {
			f := appSetFixture(t, src.url, src.chart, "")
			initial := f.head(t)
			code, out, stderr := runCLI(t, "evaluate", "--config", f.config, "--cache-dir", t.TempDir(), "-o", "json",
				"--at", historyBase().Format(time.RFC3339))
			require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			noSecret(t, out+stderr)
			res := oneResult(t, out)
			require.Equal(t, gitops.ActionCommitted, res.Action, "%s\n%s", out, stderr)
			assert.Equal(t, 3, res.From)
			assert.Equal(t, 6, res.To)
			assert.Equal(t, 6, f.replicas(t))
			head := f.head(t)
			require.NotEqual(t, initial, head)
			msg := f.git.RawMessage(repoName, head)
			assert.Contains(t, msg, "rendered Deployment prod/web: spec.replicas 3 → 6")
			m := digestRE.FindStringSubmatch(msg)
			require.NotNil(t, m, "the commit names the pulled chart and its digest:\n%s", msg)
			assert.Equal(t, src.digest, m[1], "the digest of the archive the server holds")
			assert.Contains(t, m[0], src.url, "the commit names where the chart came from")
			noSecret(t, msg)
			f.trailers(t, head) // the decision's trailers are there
			assert.Equal(t, 1, f.decisions(t))
		})
		t.Run(src.name+": the template overrides the key: refused, nothing committed", func(t *testing.T) {
			f := appSetFixture(t, src.url, src.chart, override)
			initial := f.head(t)
			code, out, stderr := runCLI(t, "evaluate", "--config", f.config, "--cache-dir", t.TempDir(), "-o", "json",
				"--at", historyBase().Format(time.RFC3339))
			assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			noSecret(t, out+stderr)
			res := oneResult(t, out)
			assert.Equal(t, gitops.ActionError, res.Action)
			assert.Contains(t, res.Error, "KeyOverridden")
			// The ApplicationSet's file and the template's field that wins over the edit.
			assert.Contains(t, res.Error, appSetFile+" spec.template.spec.sources[0].helm.parameters[0] (web.replicaCount) comes after "+valuesFile+" and sets web.replicaCount: 4")
			assert.Equal(t, initial, f.head(t), "nothing committed")
			assert.Equal(t, []string{"main"}, f.git.Branches(repoName), "no branch made")
			assert.Equal(t, 3, f.replicas(t))
		})
	}
	// serve and evaluate pass the repository's branch to the render: a generator that would
	// read another revision's tree is refused before anything is pulled or committed.
	t.Run("the git generator names another revision: refused with file, line and field", func(t *testing.T) {
		f := appSetFixture(t, repo.URL, "web", "")
		f.git.Commit(repoName, map[string]string{
			appSetFile: strings.Replace(appSetYAML(f.git.URL(repoName), repo.URL, "web", ""), "revision: HEAD", "revision: staging", 1),
		}, "apps: read the staging branch", "Platform <platform@example.com>")
		initial := f.head(t)
		code, out, stderr := runCLI(t, "evaluate", "--config", f.config, "--cache-dir", t.TempDir(), "-o", "json",
			"--at", historyBase().Format(time.RFC3339))
		assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		res := oneResult(t, out)
		assert.Equal(t, gitops.ActionError, res.Action)
		assert.Contains(t, res.Error, appSetFile+`:8: spec.generators[0].git.revision: "staging" is another revision than the branch main this service verifies`)
		assert.Equal(t, initial, f.head(t), "nothing committed")
		assert.Equal(t, []string{"main"}, f.git.Branches(repoName), "no branch made")
	})
}

// noSecret checks that the chart password appears in text neither as it is nor in the basic
// auth header's encoding.
func noSecret(t *testing.T, text string) {
	t.Helper()
	for _, s := range []string{chartPassword, base64.StdEncoding.EncodeToString([]byte(chartUser + ":" + chartPassword))} {
		assert.NotContains(t, text, s)
	}
}

// oneResult parses evaluate's JSON output, which must hold one result.
func oneResult(t *testing.T, out string) gitops.Result {
	t.Helper()
	var got struct {
		Results []gitops.Result `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got.Results, 1, out)
	return got.Results[0]
}
