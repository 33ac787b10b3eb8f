package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The cluster tier: a real kube-apiserver on a real etcd, and Flux's real source and
// kustomize controllers, take the autoscaler's commits to spec.replicas (docs/design.md §9,
// "The sync, for real"). The product never calls the Kubernetes API; the tests read it to see
// what Flux made of the commit.

const clusterRepo = "cluster-shop"

const clusterDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: registry.example.com/shop/web:1.0}]
`

func clusterKustomization(n int) string {
	return fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources: [deployment.yaml]
replicas:
  - name: web
    count: %d # managed by policies/web.yaml
`, n)
}

const clusterPolicy = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  replicas: {file: apps/web/kustomization.yaml, path: 'replicas[name=web].count'}
  render: {kustomize: {dir: apps/web}}
  minReplicas: 1
  maxReplicas: 20
  mode: Commit
  metrics:
    - name: load
      promQL: max(shop_load{app="web"})
      target: {type: AverageValue, averageValue: 100}
`

// fluxObjects are what a Flux user applies once: the repository to watch, with its
// credentials, and the Kustomization that applies apps/web.
func fluxObjects(url, user, password string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Secret
metadata: {name: git-auth, namespace: flux-system}
stringData: {username: %q, password: %q}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: shop, namespace: flux-system}
spec:
  url: %s
  ref: {branch: main}
  interval: 2s
  secretRef: {name: git-auth}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: shop}
  path: ./apps/web
  interval: 2s
  prune: true
`, user, password, url)
}

// TestFluxSyncsEveryDecisionToTheCluster: load rises, the autoscaler commits a scale-up to the
// kustomization's replicas, and Flux makes it the Deployment's spec.replicas; a person scales
// the Deployment by hand, and the Kustomization's next sync undoes it; load falls, the
// scale-down starts from Git's count and reaches the cluster the same way; a person reverts the
// scale-down, the cluster goes back with Git, and the autoscaler holds instead of undoing the
// revert.
func TestFluxSyncsEveryDecisionToTheCluster(t *testing.T) {
	k := cluster.Start(t)
	s := gittest.NewServer(t)
	s.CreateRepo(clusterRepo, map[string]string{
		"apps/web/deployment.yaml":    clusterDeployment,
		"apps/web/kustomization.yaml": clusterKustomization(2),
		"policies/web.yaml":           clusterPolicy,
	})
	k.Apply(fluxObjects(s.URL(clusterRepo), s.User(), s.Password()))
	took := k.WaitReplicas("shop", "web", 2, 2*time.Minute)
	t.Logf("first sync: %s", took.Round(100*time.Millisecond))

	at, t0 := traceEvaluator(t, s, clusterRepo, "")
	evaluate := func(when time.Time) string { out, _ := at(when.Sub(t0)); return out }

	// Load rises to 560: 6 replicas, committed and synced.
	evaluate(t0.Add(10 * time.Minute))
	require.Contains(t, s.ReadFile(clusterRepo, "main", "apps/web/kustomization.yaml"), "count: 6 # managed by policies/web.yaml")
	took = k.WaitReplicas("shop", "web", 6, 2*time.Minute)
	t.Logf("scale-up: commit to spec.replicas in %s", took.Round(100*time.Millisecond))

	// Drift: a person scales the Deployment by hand (the test, through the API server). The
	// Kustomization's next sync (every 2 s) puts back what Git says; no ignoreDifferences is
	// needed, and the autoscaler's next decision starts from Git's count.
	k.MergePatch("apps/v1", "Deployment", "shop", "web", `{"spec":{"replicas":9}}`)
	require.Equal(t, 9, k.Replicas("shop", "web"), "the drift is in the API server")
	took = k.WaitReplicas("shop", "web", 6, time.Minute)
	t.Logf("drift: undone by the Kustomization in %s", took.Round(100*time.Millisecond))

	// Load falls to 310 and stays: 4 replicas once the scale-down window has passed, from
	// Git's 6.
	out := evaluate(t0.Add(100 * time.Minute))
	require.Contains(t, out, `"from": 6,`, "the decision starts from Git")
	require.Contains(t, out, `"to": 4,`)
	require.Contains(t, s.ReadFile(clusterRepo, "main", "apps/web/kustomization.yaml"), "count: 4 # managed")
	down := s.HeadSHA(clusterRepo, "main")
	took = k.WaitReplicas("shop", "web", 4, 2*time.Minute)
	t.Logf("scale-down: commit to spec.replicas in %s", took.Round(100*time.Millisecond))

	// A person reverts the scale-down: the cluster follows Git back to 6, and the autoscaler's
	// next evaluation holds (afterRevert) instead of scaling down again.
	// (The evaluations replay the trace at instants of the past, so the revert is dated between
	// the scale-down and the next evaluation.)
	s.Revert(clusterRepo, down, "Ops Person <ops@example.com>", t0.Add(105*time.Minute))
	took = k.WaitReplicas("shop", "web", 6, 2*time.Minute)
	t.Logf("revert: commit to spec.replicas in %s", took.Round(100*time.Millisecond))
	out = evaluate(t0.Add(110 * time.Minute))
	require.Contains(t, out, `"reason": "RevertHold"`, "the evaluation after a revert holds")
	require.Contains(t, s.ReadFile(clusterRepo, "main", "apps/web/kustomization.yaml"), "count: 6 # managed")
	time.Sleep(3 * time.Second) // more than a Flux interval: nothing moves the cluster
	require.Equal(t, 6, k.Replicas("shop", "web"))
}

// traceEvaluator writes the autoscaler's config for repo on s and a metrics trace (load 200,
// then 560 for 30 minutes, then 310, at 10-minute steps) that starts two hours before the
// current minute, so that every evaluation replays an instant of the past. repoExtra are more
// lines of the repository's entry (notify:, github:, each indented four spaces), or "". It
// returns a function that runs `evaluate` once at an offset into the trace and returns its
// JSON and its log (at level info), and the trace's start.
func traceEvaluator(t *testing.T, s *gittest.Server, repo, repoExtra string) (evaluate func(at time.Duration) (out, log string), traceStart time.Time) {
	t.Helper()
	run, traceStart := traceRunner(t, s, repo, repoExtra)
	return func(at time.Duration) (string, string) {
		t.Helper()
		code, out, stderr := run(at)
		require.Contains(t, []int{0, 3}, code, "evaluate: %s\n%s", out, stderr)
		return out, stderr
	}, traceStart
}

// traceRunner is traceEvaluator whose function also returns evaluate's exit code, whatever it
// is.
func traceRunner(t *testing.T, s *gittest.Server, repo, repoExtra string) (run func(at time.Duration) (code int, out, log string), traceStart time.Time) {
	t.Helper()
	traceStart = time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
	dir := t.TempDir()
	config := filepath.Join(dir, "autoscaler.yaml")
	writeFile(t, config, configHead(t, dir, s, repo, s.URL(repo))+repoExtra+`prometheus: [{name: default, url: "http://127.0.0.1:9"}]
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
`)
	trace := filepath.Join(dir, "trace.csv")
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	for i, v := range []float64{200, 560, 560, 560, 310, 310, 310, 310, 310, 310, 310, 310} {
		fmt.Fprintf(&b, "%s,load,%g\n", traceStart.Add(time.Duration(i)*10*time.Minute).Format(time.RFC3339), v)
	}
	writeFile(t, trace, b.String())
	cache := filepath.Join(dir, "cache")
	return func(at time.Duration) (int, string, string) {
		t.Helper()
		return runCLI(t, "evaluate", "--config", config, "--cache-dir", cache,
			"--metrics-file", trace, "--at", traceStart.Add(at).Format(time.RFC3339), "-o", "json", "--log-level", "info")
	}, traceStart
}

// reconcileNow asks a Flux object in flux-system to reconcile now, as `flux reconcile` does
// (the reconcile.fluxcd.io/requestedAt annotation: the tests' tool, never the product's), and
// waits until its status.lastHandledReconcileAt says it has.
func reconcileNow(t testing.TB, k *cluster.Cluster, apiVersion, kind, name string) {
	t.Helper()
	at := time.Now().UTC().Format(time.RFC3339Nano)
	k.MergePatch(apiVersion, kind, "flux-system", name, fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, at))
	var o struct {
		Status struct {
			LastHandledReconcileAt string `json:"lastHandledReconcileAt"`
		} `json:"status"`
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if k.Get(apiVersion, kind, "flux-system", name, &o) && o.Status.LastHandledReconcileAt == at {
			return
		}
	}
	t.Fatalf("%s %s: reconcile requested at %s not handled after a minute (last handled %q)\n%s", kind, name, at, o.Status.LastHandledReconcileAt, k.Logs())
}
