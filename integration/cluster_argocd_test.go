package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// Argo CD in the cluster tier (docs/design.md §9, "The sync, for real"): a real Argo CD
// (repo server, application controller, API server) syncs a Helm chart of the test's Git
// server, with a values file the autoscaler edits, to a real kube-apiserver.

const argoRepo = "argo-shop"

const (
	argoChart = `apiVersion: v2
name: web
version: 0.1.0
`
	argoChartValues = `replicaCount: 1
image: registry.example.com/shop/web:1.0
`
	argoChartDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: {{ .Values.image | quote }}}]
`
	argoValuesFile = "envs/prod/web/values.yaml"
	argoPolicy     = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  replicas: {file: envs/prod/web/values.yaml, path: replicaCount}
  render: {helm: {chart: charts/web, valuesFiles: [envs/prod/web/values.yaml], releaseName: web, namespace: shop}}
  minReplicas: 1
  maxReplicas: 20
  mode: Commit
  metrics:
    - name: load
      promQL: max(shop_load{app="web"})
      target: {type: AverageValue, averageValue: 100}
`
)

func argoValues(n int) string {
	return fmt.Sprintf("# The web tier in prod; replicaCount is managed by policies/web.yaml.\nreplicaCount: %d # gitops-autoscaler\n", n)
}

// argoObjects are what an Argo CD user applies once: the repository's credentials and the
// Application, with an automated sync policy.
func argoObjects(url, user, password, source string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Secret
metadata:
  name: repo-shop
  namespace: argocd
  labels: {argocd.argoproj.io/secret-type: repository}
stringData: {type: git, url: %q, username: %q, password: %q}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
%s
  destination: {server: "https://kubernetes.default.svc", namespace: shop}
  syncPolicy: {automated: {}}
`, url, user, password, source)
}

// argoSources are the Application's source(s): the chart with the values file by a relative
// path, or (multi-source) the chart with the values file of a second source, $values.
var argoSources = map[string]func(url string) string{
	"single source": func(url string) string {
		return fmt.Sprintf(`  source:
    repoURL: %q
    targetRevision: main
    path: charts/web
    helm: {releaseName: web, valueFiles: [../../%s]}`, url, argoValuesFile)
	},
	"multi-source $values": func(url string) string {
		return fmt.Sprintf(`  sources:
    - repoURL: %[1]q
      targetRevision: main
      path: charts/web
      helm: {releaseName: web, valueFiles: [$values/%[2]s]}
    - repoURL: %[1]q
      targetRevision: main
      ref: values`, url, argoValuesFile)
	},
}

// TestArgoCDSyncsEveryDecisionToTheCluster: load rises, the autoscaler commits a scale-up to the
// values file, and Argo CD (automated sync) makes it the Deployment's spec.replicas; load falls,
// the same for the scale-down. Each case measures commit to spec.replicas:
//   - by polling, with timeout.reconciliation set to 10 s for the test (Argo CD's default is
//     120 s plus up to 60 s of jitter, and the repo server caches a branch's revision for 3
//     minutes; the setting shortens both, as Argo CD's install manifests pass it to both);
//   - by argocd-server's webhook, a GitHub push payload POSTed to /api/webhook after each
//     commit, with the default reconciliation: the sync must come in far less than a poll.
func TestArgoCDSyncsEveryDecisionToTheCluster(t *testing.T) {
	// The names are folder names too: Argo CD splits helm's --values on commas.
	cases := []struct {
		name           string
		source         string
		reconciliation time.Duration // 0: Argo CD's default
		webhook        bool
		within         time.Duration // commit to spec.replicas, at most
	}{
		{name: "polling-single-source", source: "single source", reconciliation: 10 * time.Second, within: 2 * time.Minute},
		{name: "webhook-single-source", source: "single source", webhook: true, within: 30 * time.Second},
		{name: "webhook-multi-source-values", source: "multi-source $values", webhook: true, within: 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := cluster.Start(t)
			argo := k.StartArgoCD(cluster.ArgoCDOptions{Reconciliation: tc.reconciliation})
			s := gittest.NewServer(t)
			s.CreateRepo(argoRepo, map[string]string{
				"charts/web/Chart.yaml":                argoChart,
				"charts/web/values.yaml":               argoChartValues,
				"charts/web/templates/deployment.yaml": argoChartDeployment,
				argoValuesFile:                         argoValues(2),
				"policies/web.yaml":                    argoPolicy,
			})
			url := s.URL(argoRepo)
			k.Apply(argoObjects(url, s.User(), s.Password(), argoSources[tc.source](url)))
			took := k.WaitReplicas("shop", "web", 2, 3*time.Minute)
			t.Logf("first sync: %s", took.Round(100*time.Millisecond))

			evaluate, _ := traceEvaluator(t, s, argoRepo)
			step := func(name string, at time.Duration, want int) {
				t.Helper()
				before := s.HeadSHA(argoRepo, "main")
				evaluate(at)
				require.Equal(t, argoValues(want), s.ReadFile(argoRepo, "main", argoValuesFile), "%s: only the count changes", name)
				after := s.HeadSHA(argoRepo, "main")
				require.NotEqual(t, before, after, "%s: a commit", name)
				if tc.webhook {
					postGitHubPush(t, argo.ServerURL(), url, before, after)
				}
				took := k.WaitReplicas("shop", "web", want, tc.within+time.Minute)
				t.Logf("%s: commit to spec.replicas in %s", name, took.Round(100*time.Millisecond))
				require.LessOrEqual(t, took, tc.within, "%s: commit to spec.replicas", name)
			}
			step("scale-up", 10*time.Minute, 6)    // load 560: 6 replicas
			step("scale-down", 100*time.Minute, 4) // load 310 past the scale-down window: 4
			if tc.webhook {
				require.Contains(t, argo.Logs("argocd-server"), "refreshing app 'web' from webhook",
					"argocd-server refreshed the Application on the push")
			}
		})
	}
}

// postGitHubPush POSTs what GitHub sends on a push to Argo CD's webhook: the repository's web
// URL (the clone URL without .git), the branch and the commits' changed files.
func postGitHubPush(t *testing.T, server, repoURL, before, after string) {
	t.Helper()
	web := strings.TrimSuffix(repoURL, ".git")
	payload, err := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": before, "after": after,
		"repository": map[string]any{
			"name": argoRepo, "full_name": "test/" + argoRepo, "html_url": web,
			"clone_url": repoURL, "default_branch": "main",
		},
		"commits":     []map[string]any{{"id": after, "modified": []string{argoValuesFile}, "added": []string{}, "removed": []string{}}},
		"head_commit": map[string]any{"id": after, "modified": []string{argoValuesFile}},
	})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, server+"/api/webhook", bytes.NewReader(payload))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "webhook: %s", body)
}
