package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// syncCheckPolicy scales web on the site's load, holds while kube-state-metrics (scraped by
// the real Prometheus) reports another count than Git, and may scale up at once.
func syncCheckPolicy(ns string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: %[1]s}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  replicas: {file: apps/web/kustomization.yaml, path: 'replicas[name=web].count'}
  render: {kustomize: {dir: apps/web}}
  minReplicas: 1
  maxReplicas: 50
  mode: Commit
  behavior:
    scaleUp: {policies: [{type: Percent, value: 1000, periodSeconds: 1}]}
  metrics:
    - name: load
      promQL: max(shop_load{site="%[1]s"})
      target: {type: AverageValue, averageValue: 100}
  syncCheck:
    promQL: kube_deployment_spec_replicas{namespace="%[1]s",deployment="web"}
`, ns)
}

// TestFluxSuspendedHoldsWithNotSynced: the sync check for real. kube-state-metrics reads the
// API server and the suite's real Prometheus scrapes it. While Flux's Kustomization is
// suspended, the cluster keeps the old count after a decision, so the next decision holds
// with NotSynced and commits nothing; once Flux resumes and the count is live, the
// autoscaler resumes.
func TestFluxSuspendedHoldsWithNotSynced(t *testing.T) {
	k := cluster.Start(t, cluster.WithKubeStateMetrics())
	exp := promtest.NewExporter(t)
	prom := promtest.Start(t, promtest.WithScrapeTarget("ksm", k.KubeStateMetrics()), promtest.WithScrapeTarget("load", exp.HostPort()))
	s := gittest.NewServer(t)
	const name = "sync-check"
	load := map[string]string{"site": name}
	exp.Set("shop_load", load, 200)
	prom.WaitForSeries(t, fmt.Sprintf(`shop_load{site=%q}`, name))

	s.CreateRepo(name, map[string]string{
		"apps/web/deployment.yaml":    clusterDeployment,
		"apps/web/kustomization.yaml": strings.Replace(clusterKustomization(2), "namespace: shop", "namespace: "+name, 1),
		"policies/web.yaml":           syncCheckPolicy(name),
	})
	const token = "sync-check-receiver-token"
	k.Apply(fluxSite(name, s.URL(name), s.User(), s.Password(), notifyPoll, "github", token, viaKustomize))
	k.WaitReplicas(name, "web", 2, 2*time.Minute)

	dir := t.TempDir()
	password, tokenFile, config := filepath.Join(dir, "git-password"), filepath.Join(dir, "receiver-token"), filepath.Join(dir, "autoscaler.yaml")
	writeFile(t, password, s.Password()+"\n")
	writeFile(t, tokenFile, token+"\n")
	writeFile(t, config, fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: %s
    url: %s
    policies: ["policies/*.yaml"]
    auth: {username: %s, passwordFile: %s}
    notify: [{flux: {receiverURL: %q, type: github, tokenFile: %s}}]
prometheus: [{name: default, url: %q}]
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
cacheDir: %s
`, name, s.URL(name), s.User(), password, k.ReceiverURL()+webhookPath(t, k, name), tokenFile, prom.URL(), filepath.Join(dir, "cache")))

	// live waits until kube-state-metrics, through Prometheus, reports n replicas.
	live := func(n int) {
		t.Helper()
		prom.WaitForSeries(t, fmt.Sprintf(`kube_deployment_spec_replicas{namespace=%q,deployment="web"} == %d`, name, n))
		// An evaluation queries at its instant truncated to the second: let that instant be
		// after the sample just seen.
		time.Sleep(1100 * time.Millisecond)
	}
	evaluate := func(rps float64) gitops.Result {
		t.Helper()
		exp.Set("shop_load", load, rps)
		prom.WaitForSeries(t, fmt.Sprintf(`shop_load{site=%q} == %g`, name, rps))
		time.Sleep(1100 * time.Millisecond) // as in live
		code, out, stderr := runCLI(t, "evaluate", "--config", config, "-o", "json")
		require.Contains(t, []int{0, 3}, code, "evaluate: %s\n%s", out, stderr)
		var rep struct{ Results []gitops.Result }
		require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
		require.Len(t, rep.Results, 1, out)
		return rep.Results[0]
	}
	live(2)

	// Load rises: 6, synced, live.
	r := evaluate(560)
	require.Equal(t, gitops.ActionCommitted, r.Action, "%+v", r)
	require.Equal(t, 6, r.To)
	k.WaitReplicas(name, "web", 6, notifyPoll)
	live(6)

	// Flux is suspended; load rises again: 9 is committed (the cluster runs what Git had), and
	// the cluster stays at 6.
	k.MergePatch("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", name, `{"spec":{"suspend":true}}`)
	r = evaluate(860)
	require.Equal(t, gitops.ActionCommitted, r.Action, "%+v", r)
	require.Equal(t, 9, r.To)
	head := s.HeadSHA(name, "main")
	time.Sleep(3 * time.Second) // the notify step's sync would be done by now
	require.Equal(t, 6, k.Replicas(name, "web"), "a suspended Kustomization applies nothing")

	// The next decision holds: the cluster runs 6, Git has 9.
	r = evaluate(1200)
	require.Equal(t, gitops.ActionHeld, r.Action, "%+v", r)
	var notSynced string
	for _, reason := range r.Reasons {
		if reason.Code == engine.ReasonNotSynced {
			notSynced = reason.Message
		}
	}
	require.Contains(t, notSynced, "cluster runs 6, Git has 9", "%+v", r.Reasons)
	require.Equal(t, head, s.HeadSHA(name, "main"), "no commit while the last change is not live")

	// Flux resumes: 9 becomes live, and the autoscaler resumes with 12.
	k.MergePatch("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", name, `{"spec":{"suspend":false}}`)
	k.WaitReplicas(name, "web", 9, notifyPoll+10*time.Second)
	live(9)
	r = evaluate(1200)
	require.Equal(t, gitops.ActionCommitted, r.Action, "%+v", r)
	require.Equal(t, 12, r.To)
	k.WaitReplicas(name, "web", 12, notifyPoll)
}
