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

// Where a sync-check policy keeps the count and how its change is rendered: a Flux
// Kustomization's replicas:, or the values file of Argo CD's Helm Application.
const (
	kustomizeTarget = `replicas: {file: apps/web/kustomization.yaml, path: 'replicas[name=web].count'}
  render: {kustomize: {dir: apps/web}}`
	argoTarget = `replicas: {file: ` + argoValuesFile + `, path: replicaCount}
  render: {helm: {chart: charts/web, valuesFiles: [` + argoValuesFile + `], releaseName: web, namespace: shop}}`
)

// syncCheckPolicy scales web on the site's load, holds while kube-state-metrics (scraped by
// the real Prometheus) reports another count than Git, and may scale up at once. target is
// kustomizeTarget or argoTarget.
func syncCheckPolicy(ns, target string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: %[1]s}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  %[2]s
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
`, ns, target)
}

// syncCheckRig is what a sync-check scenario needs around the controller: a cluster with
// kube-state-metrics, the suite's real Prometheus scraping it and the site's load exporter,
// and the autoscaler's config reading that Prometheus.
type syncCheckRig struct {
	k      *cluster.Cluster
	exp    *promtest.Exporter
	prom   *promtest.Prometheus
	ns     string // the web Deployment's namespace, and the load's site label
	config string
}

// newSyncCheckRig starts the cluster (with kube-state-metrics), the exporter at load 200 and
// Prometheus, and waits for the load's series.
func newSyncCheckRig(t *testing.T, ns string) *syncCheckRig {
	t.Helper()
	r := &syncCheckRig{k: cluster.Start(t, cluster.WithKubeStateMetrics()), exp: promtest.NewExporter(t), ns: ns}
	r.prom = promtest.Start(t, promtest.WithScrapeTarget("ksm", r.k.KubeStateMetrics()), promtest.WithScrapeTarget("load", r.exp.HostPort()))
	r.exp.Set("shop_load", r.labels(), 200)
	r.prom.WaitForSeries(t, fmt.Sprintf(`shop_load{site=%q}`, ns))
	return r
}

func (r *syncCheckRig) labels() map[string]string { return map[string]string{"site": r.ns} }

// writeConfig writes the autoscaler's config for repo on s, reading the rig's Prometheus;
// repoExtra are more lines of the repository's entry (its notify:).
func (r *syncCheckRig) writeConfig(t *testing.T, s *gittest.Server, repo, repoExtra string) {
	t.Helper()
	dir := t.TempDir()
	r.config = filepath.Join(dir, "autoscaler.yaml")
	writeFile(t, r.config, configHead(t, dir, s, repo, s.URL(repo))+repoExtra+fmt.Sprintf(`prometheus: [{name: default, url: %q}]
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
cacheDir: %s
`, r.prom.URL(), filepath.Join(dir, "cache")))
}

// live waits until kube-state-metrics, through Prometheus, reports n replicas.
func (r *syncCheckRig) live(t *testing.T, n int) {
	t.Helper()
	r.prom.WaitForSeries(t, fmt.Sprintf(`kube_deployment_spec_replicas{namespace=%q,deployment="web"} == %d`, r.ns, n))
	// An evaluation queries at its instant truncated to the second: let that instant be
	// after the sample just seen.
	time.Sleep(1100 * time.Millisecond)
}

// evaluate sets the load, waits for Prometheus to have it, and runs one `evaluate`.
func (r *syncCheckRig) evaluate(t *testing.T, rps float64) gitops.Result {
	t.Helper()
	r.exp.Set("shop_load", r.labels(), rps)
	r.prom.WaitForSeries(t, fmt.Sprintf(`shop_load{site=%q} == %g`, r.ns, rps))
	time.Sleep(1100 * time.Millisecond) // as in live
	code, out, stderr := runCLI(t, "evaluate", "--config", r.config, "-o", "json")
	require.Contains(t, []int{0, 3}, code, "evaluate: %s\n%s", out, stderr)
	var rep struct{ Results []gitops.Result }
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, 1, out)
	return rep.Results[0]
}

// notSynced is the message of a result's NotSynced reason, "" without one.
func notSynced(r gitops.Result) string {
	for _, reason := range r.Reasons {
		if reason.Code == engine.ReasonNotSynced {
			return reason.Message
		}
	}
	return ""
}

// TestFluxSuspendedHoldsWithNotSynced: the sync check for real. kube-state-metrics reads the
// API server and the suite's real Prometheus scrapes it. While Flux's Kustomization is
// suspended, the cluster keeps the old count after a decision, so the next decision holds
// with NotSynced and commits nothing; once Flux resumes and the count is live, the
// autoscaler resumes.
func TestFluxSuspendedHoldsWithNotSynced(t *testing.T) {
	const name = "sync-check"
	r := newSyncCheckRig(t, name)
	k := r.k
	s := gittest.NewServer(t)
	s.CreateRepo(name, map[string]string{
		"apps/web/deployment.yaml":    clusterDeployment,
		"apps/web/kustomization.yaml": strings.Replace(clusterKustomization(2), "namespace: shop", "namespace: "+name, 1),
		"policies/web.yaml":           syncCheckPolicy(name, kustomizeTarget),
	})
	const token = "sync-check-receiver-token"
	k.Apply(fluxSite(name, s.URL(name), s.User(), s.Password(), notifyPoll, "github", token, viaKustomize))
	k.WaitReplicas(name, "web", 2, 2*time.Minute)
	tokenFile := filepath.Join(t.TempDir(), "receiver-token")
	writeFile(t, tokenFile, token+"\n")
	r.writeConfig(t, s, name, fmt.Sprintf("    notify: [{flux: {receiverURL: %q, type: github, tokenFile: %s}}]\n", k.ReceiverURL()+webhookPath(t, k, name), tokenFile))
	r.live(t, 2)

	// Load rises: 6, synced, live.
	res := r.evaluate(t, 560)
	require.Equal(t, gitops.ActionCommitted, res.Action, "%+v", res)
	require.Equal(t, 6, res.To)
	k.WaitReplicas(name, "web", 6, notifyPoll)
	r.live(t, 6)

	// Flux is suspended; load rises again: 9 is committed (the cluster runs what Git had), and
	// the cluster stays at 6.
	k.MergePatch("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", name, `{"spec":{"suspend":true}}`)
	res = r.evaluate(t, 860)
	require.Equal(t, gitops.ActionCommitted, res.Action, "%+v", res)
	require.Equal(t, 9, res.To)
	head := s.HeadSHA(name, "main")
	time.Sleep(3 * time.Second) // the notify step's sync would be done by now
	require.Equal(t, 6, k.Replicas(name, "web"), "a suspended Kustomization applies nothing")

	// The next decision holds: the cluster runs 6, Git has 9.
	res = r.evaluate(t, 1200)
	require.Equal(t, gitops.ActionHeld, res.Action, "%+v", res)
	require.Contains(t, notSynced(res), "cluster runs 6, Git has 9", "%+v", res.Reasons)
	require.Equal(t, head, s.HeadSHA(name, "main"), "no commit while the last change is not live")

	// Flux resumes: 9 becomes live, and the autoscaler resumes with 12.
	k.MergePatch("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system", name, `{"spec":{"suspend":false}}`)
	k.WaitReplicas(name, "web", 9, notifyPoll+10*time.Second)
	r.live(t, 9)
	res = r.evaluate(t, 1200)
	require.Equal(t, gitops.ActionCommitted, res.Action, "%+v", res)
	require.Equal(t, 12, res.To)
	k.WaitReplicas(name, "web", 12, notifyPoll)
}

// TestArgoCDSyncOffHoldsWithNotSynced: the sync check for real against Argo CD. With the
// Application's automated sync turned off, the autoscaler's next commit is seen by Argo CD (the
// notify step refreshes the Application: OutOfSync at that revision) but not applied, so the
// decision after it holds with NotSynced from kube-state-metrics and commits nothing; with the
// automated sync back on, Argo CD applies it and the autoscaler goes on.
func TestArgoCDSyncOffHoldsWithNotSynced(t *testing.T) {
	const ns = "shop" // argoObjects' destination
	r := newSyncCheckRig(t, ns)
	k := r.k
	argo := k.StartArgoCD(cluster.ArgoCDOptions{WebhookGitHubSecret: argoWebhookSecret})
	s := gittest.NewServer(t)
	newArgoRepo(t, k, s, 2, syncCheckPolicy(ns, argoTarget), argoSources["single source"])
	k.WaitReplicas(ns, "web", 2, 3*time.Minute)
	r.writeConfig(t, s, argoRepo, argoNotify(t, argo, true))
	r.live(t, 2)
	const within = 30 * time.Second // with notify, at Argo CD's default 3-minute revision cache

	// Load rises: 6, synced, live.
	res := r.evaluate(t, 560)
	require.Equal(t, gitops.ActionCommitted, res.Action, "%+v", res)
	require.Equal(t, 6, res.To)
	k.WaitReplicas(ns, "web", 6, within)
	r.live(t, 6)

	// The automated sync is turned off; load rises again: 9 is committed, Argo CD sees it and
	// leaves the Application OutOfSync, and the cluster stays at 6.
	k.MergePatch("argoproj.io/v1alpha1", "Application", cluster.ArgoCDNamespace, "web", `{"spec":{"syncPolicy":null}}`)
	res = r.evaluate(t, 860)
	require.Equal(t, gitops.ActionCommitted, res.Action, "%+v", res)
	require.Equal(t, 9, res.To)
	head := s.HeadSHA(argoRepo, "main")
	waitApplication(t, k, within, func(a argoApplication) bool {
		return a.Status.Sync.Status == "OutOfSync" && a.Status.Sync.Revision == head
	}, "OutOfSync at the decision's commit %s", head)
	require.Equal(t, 6, k.Replicas(ns, "web"), "without automated sync Argo CD applies nothing")

	// The next decision holds: the cluster runs 6, Git has 9.
	res = r.evaluate(t, 1200)
	require.Equal(t, gitops.ActionHeld, res.Action, "%+v", res)
	require.Contains(t, notSynced(res), "cluster runs 6, Git has 9", "%+v", res.Reasons)
	require.Equal(t, head, s.HeadSHA(argoRepo, "main"), "no commit while the last change is not live")

	// The automated sync is back on: 9 becomes live, and the autoscaler goes on with 12.
	k.MergePatch("argoproj.io/v1alpha1", "Application", cluster.ArgoCDNamespace, "web", `{"spec":{"syncPolicy":{"automated":{}}}}`)
	took := k.WaitReplicas(ns, "web", 9, within)
	t.Logf("automated sync back on: spec.replicas 9 in %s", took.Round(100*time.Millisecond))
	r.live(t, 9)
	res = r.evaluate(t, 1200)
	require.Equal(t, gitops.ActionCommitted, res.Action, "%+v", res)
	require.Equal(t, 12, res.To)
	k.WaitReplicas(ns, "web", 12, within)
}
