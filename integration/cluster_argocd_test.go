package integration

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
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

// argoWebhookSecret is argocd-secret's webhook.github.secret in the notify cases:
// argocd-server then refuses an event it does not find signed with it.
const argoWebhookSecret = "argocd-webhook-secret-of-the-test"

// TestArgoCDSyncsEveryDecisionToTheCluster: load rises, the autoscaler commits a scale-up to the
// values file, and Argo CD (automated sync) makes it the Deployment's spec.replicas; load falls,
// the same for the scale-down; a person reverts the scale-down, the cluster follows Git back,
// and the autoscaler's next evaluation holds (RevertHold) instead of undoing the revert. Each
// case measures commit to spec.replicas:
//   - by polling, as an operator who wants a 10 s poll sets it: timeout.reconciliation 10 s
//     without jitter (Argo CD's default is 120 s plus up to 60 s of jitter), and the repo
//     server's revision cache, which the install manifests set to the same period (3 minutes
//     by default), at 1 s, so that a commit waits for the resync alone;
//   - by the product's notify step (repositories[].notify: [{argocd: …}]), which calls
//     argocd-server's /api/webhook with a signed GitHub push event after each push, at Argo
//     CD's default reconciliation and revision cache: the sync must come in seconds, not at a
//     poll. The person's revert is announced as GitHub would, by the same event of their push.
func TestArgoCDSyncsEveryDecisionToTheCluster(t *testing.T) {
	// The names are folder names too: Argo CD splits helm's --values on commas.
	cases := []struct {
		name           string
		source         string
		reconciliation time.Duration // 0: Argo CD's default (and its revision cache's)
		notify         bool
		within         time.Duration // commit to spec.replicas, at most
	}{
		{name: "polling-single-source", source: "single source", reconciliation: 10 * time.Second, within: 45 * time.Second},
		{name: "notify-single-source", source: "single source", notify: true, within: 10 * time.Second},
		{name: "notify-multi-source-values", source: "multi-source $values", notify: true, within: 10 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := cluster.ArgoCDOptions{Reconciliation: tc.reconciliation}
			if tc.reconciliation > 0 {
				opts.RevisionCache = time.Second
			}
			if tc.notify {
				opts.WebhookGitHubSecret = argoWebhookSecret
			}
			k := cluster.Start(t)
			argo := k.StartArgoCD(opts)
			s := gittest.NewServer(t)
			url := newArgoRepo(t, k, s, 2, argoPolicy, argoSources[tc.source])
			took := k.WaitReplicas("shop", "web", 2, 3*time.Minute)
			t.Logf("first sync: %s", took.Round(100*time.Millisecond))

			if tc.notify {
				// The secret is in effect: argocd-server refuses an event signed with another.
				head := s.HeadSHA(argoRepo, "main")
				code, body := postGitHubPush(t, argo.ServerURL(), url, head, head, "not-the-webhook-secret")
				require.Equal(t, http.StatusBadRequest, code, "a wrongly signed event: %s", body)
				require.Contains(t, body, "HMAC verification failed")
			}
			evaluate, t0 := traceEvaluator(t, s, argoRepo, argoNotify(t, argo, tc.notify))
			// synced waits for spec.replicas to be want after a commit, within the case's bound.
			synced := func(name string, want int) {
				t.Helper()
				took := k.WaitReplicas("shop", "web", want, tc.within+time.Minute)
				t.Logf("%s: commit to spec.replicas in %s", name, took.Round(100*time.Millisecond))
				require.LessOrEqual(t, took, tc.within, "%s: commit to spec.replicas", name)
			}
			step := func(name string, at time.Duration, want int) {
				t.Helper()
				before := s.HeadSHA(argoRepo, "main")
				_, log := evaluate(at)
				require.Equal(t, argoValues(want), s.ReadFile(argoRepo, "main", argoValuesFile), "%s: only the count changes", name)
				require.NotEqual(t, before, s.HeadSHA(argoRepo, "main"), "%s: a commit", name)
				if tc.notify {
					require.Contains(t, log, "msg=notified repository="+argoRepo+" controller=argocd", "%s: argocd-server accepted the call", name)
				} else {
					require.NotContains(t, log, "msg=notif", "%s: no notify step configured", name)
				}
				synced(name, want)
			}
			step("scale-up", 10*time.Minute, 6)    // load 560: 6 replicas
			step("scale-down", 100*time.Minute, 4) // load 310 past the scale-down window: 4

			// A person reverts the scale-down (dated between it and the next evaluation, which
			// replays an instant of the past): the cluster follows Git back to 6.
			down := s.HeadSHA(argoRepo, "main")
			s.Revert(argoRepo, down, "Ops Person <ops@example.com>", t0.Add(105*time.Minute))
			reverted := s.HeadSHA(argoRepo, "main")
			require.Equal(t, argoValues(6), s.ReadFile(argoRepo, "main", argoValuesFile))
			if tc.notify {
				code, body := postGitHubPush(t, argo.ServerURL(), url, down, reverted, argoWebhookSecret)
				require.Equal(t, http.StatusOK, code, "webhook: %s", body)
			}
			synced("revert", 6)
			// The autoscaler holds: no commit, no call, and the cluster stays at 6.
			out, log := evaluate(110 * time.Minute)
			require.Contains(t, out, `"reason": "RevertHold"`, "the evaluation after a revert holds")
			require.Equal(t, reverted, s.HeadSHA(argoRepo, "main"), "nothing committed after the revert")
			require.NotContains(t, log, "msg=notif", "a hold lands nothing: nothing to notify")
			require.Equal(t, 6, k.Replicas("shop", "web"))
			if tc.notify {
				logs := argo.Logs("argocd-server")
				require.Contains(t, logs, "refreshing app 'web' from webhook", "argocd-server refreshed the Application on the push")
			}
		})
	}
}

// newArgoRepo creates the test's repository (the chart, the values file at replicas and the
// policy) and applies the Application of the source given, with an automated sync; it returns
// the repository's URL.
func newArgoRepo(t testing.TB, k *cluster.Cluster, s *gittest.Server, replicas int, policy string, source func(url string) string) string {
	t.Helper()
	s.CreateRepo(argoRepo, map[string]string{
		"charts/web/Chart.yaml":                argoChart,
		"charts/web/values.yaml":               argoChartValues,
		"charts/web/templates/deployment.yaml": argoChartDeployment,
		argoValuesFile:                         argoValues(replicas),
		"policies/web.yaml":                    policy,
	})
	url := s.URL(argoRepo)
	k.Apply(argoObjects(url, s.User(), s.Password(), source(url)))
	return url
}

// argoNotify is the repository's notify entry for argocd-server's webhook, signed with
// argoWebhookSecret from a file ("" without notify), as traceEvaluator's repoExtra.
func argoNotify(t testing.TB, argo *cluster.ArgoCD, notify bool) string {
	t.Helper()
	if !notify {
		return ""
	}
	secretFile := filepath.Join(t.TempDir(), "argocd-webhook-secret")
	writeFile(t, secretFile, argoWebhookSecret+"\n")
	return fmt.Sprintf("    notify: [{argocd: {webhookURL: %q, secretFile: %s}}]\n", argo.ServerURL()+"/api/webhook", secretFile)
}

// postGitHubPush POSTs what GitHub sends on a person's push to Argo CD's webhook, signed with
// secret: the repository's web URL (the clone URL without .git), the branch and the commit's
// changed file. It returns argocd-server's status and the start of its answer.
func postGitHubPush(t *testing.T, server, repoURL, before, after, secret string) (int, string) {
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
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(payload)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	return resp.StatusCode, string(body)
}

// argoApplication is the part of an Application's status the tests read.
type argoApplication struct {
	Status struct {
		Sync struct {
			Status   string `json:"status"`
			Revision string `json:"revision"`
		} `json:"sync"`
	} `json:"status"`
}

// waitApplication waits until the Application web satisfies ok.
func waitApplication(t *testing.T, k *cluster.Cluster, timeout time.Duration, ok func(argoApplication) bool, msg string, args ...any) {
	t.Helper()
	var a argoApplication
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		a = argoApplication{}
		if k.Get("argoproj.io/v1alpha1", "Application", cluster.ArgoCDNamespace, "web", &a) && ok(a) {
			return
		}
	}
	t.Fatalf("Application web: not %s after %s (last status %+v)", fmt.Sprintf(msg, args...), timeout, a.Status)
}
