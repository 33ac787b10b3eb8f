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

// notifyPoll is the GitRepository's interval in the notify scenarios: long enough that a
// sync well before it can only come from the webhook.
const notifyPoll = 20 * time.Second

// fluxSite is what a Flux user applies for one repository: its credentials, the
// GitRepository polling every interval, and the Kustomization that applies apps/web; with a
// receiver type, also a Receiver of that type for the GitRepository and its token.
func fluxSite(name, url, user, password string, interval time.Duration, receiverType, token string, helm bool) string {
	out := fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: v1
kind: Secret
metadata: {name: %[1]s-git, namespace: flux-system}
stringData: {username: %[2]q, password: %[3]q}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: %[1]s, namespace: flux-system}
spec:
  url: %[4]s
  ref: {branch: main}
  interval: %[5]s
  secretRef: {name: %[1]s-git}
`, name, user, password, url, interval)
	if helm {
		out += fmt.Sprintf(`---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: %[1]s, namespace: flux-system}
spec:
  interval: 10m
  releaseName: web
  targetNamespace: %[1]s
  storageNamespace: %[1]s
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: %[1]s}
      reconcileStrategy: Revision
  install: {disableWait: true}
  upgrade: {disableWait: true}
`, name)
	} else {
		out += fmt.Sprintf(`---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: %[1]s, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: %[1]s}
  path: ./apps/web
  interval: 10m
  retryInterval: 2s
  prune: true
`, name)
	}
	if receiverType == "" {
		return out
	}
	return out + fmt.Sprintf(`---
apiVersion: v1
kind: Secret
metadata: {name: %[1]s-receiver, namespace: flux-system}
stringData: {token: %[2]q}
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: %[1]s, namespace: flux-system}
spec:
  type: %[3]s
  events: ["push"]
  secretRef: {name: %[1]s-receiver}
  resources:
    - {apiVersion: source.toolkit.fluxcd.io/v1, kind: GitRepository, name: %[1]s}
`, name, token, receiverType)
}

// webhookPath waits for a Receiver's status.webhookPath.
func webhookPath(t testing.TB, k *cluster.Cluster, name string) string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var r struct {
			Status struct {
				WebhookPath string `json:"webhookPath"`
			} `json:"status"`
		}
		if k.Get("notification.toolkit.fluxcd.io/v1", "Receiver", "flux-system", name, &r) && r.Status.WebhookPath != "" {
			return r.Status.WebhookPath
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("receiver %s: no status.webhookPath after a minute\n%s", name, k.Logs())
	return ""
}

// site is one repository synced by Flux into its own namespace, and the autoscaler's config
// for it.
type site struct {
	name, config, cache, trace string
	s                          *gittest.Server
}

// Flux's ways to apply the web Deployment: a Kustomization of apps/web, whose replicas: the
// policy edits, or a HelmRelease of the chart charts/web from the same GitRepository, whose
// values.yaml replicaCount the policy edits.
const (
	viaKustomize = false
	viaHelm      = true
)

// helmChart is the web chart: its values.yaml holds the count.
var helmChart = map[string]string{
	"charts/web/Chart.yaml":  "apiVersion: v2\nname: web\nversion: 0.1.0\n",
	"charts/web/values.yaml": "replicaCount: 2 # managed by policies/web.yaml\nimage: registry.example.com/shop/web:1.0\n",
	"charts/web/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: {{ .Values.image | quote }}}]
`,
}

func helmPolicy(namespace string) string {
	return strings.NewReplacer(
		"namespace: shop}", "namespace: "+namespace+"}",
		"replicas: {file: apps/web/kustomization.yaml, path: 'replicas[name=web].count'}", "replicas: {file: charts/web/values.yaml, path: replicaCount}",
		"render: {kustomize: {dir: apps/web}}", "render: {helm: {chart: charts/web, releaseName: web, namespace: "+namespace+"}}",
	).Replace(clusterPolicy)
}

// newSite creates the repository (web at 2 replicas in the namespace name, by kustomize or
// Helm), applies Flux's objects for it, waits for the first sync, and writes the autoscaler's
// config with the notify entry given.
func newSite(t *testing.T, k *cluster.Cluster, s *gittest.Server, name, receiverType string, helm bool) *site {
	t.Helper()
	return newSiteFiles(t, k, s, name, receiverType, helm, nil)
}

// newSiteFiles is newSite with files of the repository replaced or added by override.
func newSiteFiles(t *testing.T, k *cluster.Cluster, s *gittest.Server, name, receiverType string, helm bool, override map[string]string) *site {
	t.Helper()
	token := "receiver-token-" + name
	files := map[string]string{
		"apps/web/deployment.yaml":    clusterDeployment,
		"apps/web/kustomization.yaml": strings.Replace(clusterKustomization(2), "namespace: shop", "namespace: "+name, 1),
		"policies/web.yaml":           strings.Replace(clusterPolicy, "namespace: shop}", "namespace: "+name+"}", 1),
	}
	if helm {
		files = map[string]string{"policies/web.yaml": helmPolicy(name)}
		for f, c := range helmChart {
			files[f] = c
		}
	}
	for f, c := range override {
		files[f] = c
	}
	s.CreateRepo(name, files)
	k.Apply(fluxSite(name, s.URL(name), s.User(), s.Password(), notifyPoll, receiverType, token, helm))
	k.WaitReplicas(name, "web", 2, 2*time.Minute)

	dir := t.TempDir()
	notify := ""
	if receiverType != "" {
		tokenFile := filepath.Join(dir, "receiver-token")
		writeFile(t, tokenFile, token+"\n")
		entry := fmt.Sprintf("{flux: {receiverURL: %q, type: %s, tokenFile: %s}}", k.ReceiverURL()+webhookPath(t, k, name), receiverType, tokenFile)
		if receiverType == "generic" {
			entry = fmt.Sprintf("{flux: {receiverURL: %q}}", k.ReceiverURL()+webhookPath(t, k, name))
		}
		notify = "    notify: [" + entry + "]\n"
	}
	st := &site{name: name, s: s, config: filepath.Join(dir, "autoscaler.yaml"), cache: filepath.Join(dir, "cache"), trace: filepath.Join(dir, "trace.csv")}
	writeFile(t, st.config, configHead(t, dir, s, name, s.URL(name))+notify+`prometheus: [{name: default, url: "http://127.0.0.1:9"}]
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
`)
	return st
}

// writeTrace writes the load trace: loads[i] at t0 + i·10 minutes.
func (st *site) writeTrace(t *testing.T, t0 time.Time, loads ...float64) {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	for i, v := range loads {
		fmt.Fprintf(&b, "%s,load,%g\n", t0.Add(time.Duration(i)*10*time.Minute).Format(time.RFC3339), v)
	}
	writeFile(t, st.trace, b.String())
}

// evaluate runs one `evaluate` at instant at over the trace, and returns its output and log.
func (st *site) evaluate(t *testing.T, at time.Time) string {
	t.Helper()
	code, out, stderr := st.run(t, at)
	require.Contains(t, []int{0, 3}, code, "evaluate: %s\n%s", out, stderr)
	return out + stderr
}

// run is evaluate with its exit code, JSON and log apart.
func (st *site) run(t *testing.T, at time.Time) (code int, out, log string) {
	t.Helper()
	return runCLI(t, "evaluate", "--config", st.config, "--cache-dir", st.cache,
		"--metrics-file", st.trace, "--at", at.Format(time.RFC3339), "-o", "json", "--log-level", "info")
}

// TestFluxNotifyStartsTheSyncAtOnce: with the notify step, the autoscaler's commit reaches the
// Deployment's spec.replicas well under the GitRepository's poll interval, through a real
// notification-controller Receiver (generic, and github with the signature it checks);
// without it, only at the poll (docs/design.md §7, "Notify after a push").
func TestFluxNotifyStartsTheSyncAtOnce(t *testing.T) {
	k := cluster.Start(t)
	s := gittest.NewServer(t)
	tests := []struct {
		name     string
		receiver string // "": no notify
		// within is the most the sync may take after the commit; before, the least.
		within, before time.Duration
	}{
		{name: "notify-github", receiver: "github", within: notifyPoll / 4},
		{name: "notify-generic", receiver: "generic", within: notifyPoll / 4},
		{name: "no-notify", within: notifyPoll + 10*time.Second, before: notifyPoll / 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newSite(t, k, s, tt.name, tt.receiver, viaKustomize)
			t0 := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)
			st.writeTrace(t, t0, 200, 560, 560)
			out := st.evaluate(t, t0.Add(10*time.Minute))
			committed := time.Now()
			require.Contains(t, s.ReadFile(tt.name, "main", "apps/web/kustomization.yaml"), "count: 6 # managed", out)
			if tt.receiver != "" {
				require.Contains(t, out, "msg=notified repository="+tt.name+" controller=flux", "the webhook accepted the call")
				require.NotContains(t, out, "notify failed")
			} else {
				require.NotContains(t, out, "msg=notif")
			}
			if tt.before > 0 {
				time.Sleep(tt.before)
				require.Equal(t, 2, k.Replicas(tt.name, "web"), "without notify nothing moves before the poll")
			}
			k.WaitReplicas(tt.name, "web", 6, tt.within)
			t.Logf("%s: commit to spec.replicas in %s (GitRepository interval %s)", tt.name, time.Since(committed).Round(100*time.Millisecond), notifyPoll)
		})
	}
}
