//go:build corpus

package render

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmrepo "helm.sh/helm/v3/pkg/repo"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// corpusDir is a directory of real public charts, one directory each, named as in corpusCases,
// with their dependencies vendored in charts/ (directories, or the .tgz archives helm
// dependency build leaves there). The charts are fetched from their upstream repositories
// and never committed here.
var corpusDir = flag.String("corpus", os.Getenv("RENDER_CORPUS"), "directory of public charts for TestCorpus (or $RENDER_CORPUS)")

// corpusCase is one chart of the corpus, scaled the way a platform team would scale it: a
// values file of production settings (given through the overlay, so the corpus is only read)
// in which one count is edited.
type corpusCase struct {
	name     string // the subtest; the chart's directory when empty
	chart    string // directory in the corpus
	release  string
	target   policy.TargetRef
	path     string // the count in the values file
	settings string // the values file, with %d where the count goes
	from, to int
	// allowPodRestart is the policy's render.allowPodRestart.
	allowPodRestart bool
	// The outcome: consequences of a verified edit, or the refusal's reason and a part of
	// its message.
	consequences []string
	reason       string
	contains     string
}

var corpusCases = []corpusCase{
	{chart: "nginx", release: "web", target: policy.TargetRef{Kind: "Deployment", Name: "web-nginx"},
		path: "replicaCount", settings: "replicaCount: %d\n", from: 1, to: 3},
	{chart: "redis", release: "cache", target: policy.TargetRef{Kind: "StatefulSet", Name: "cache-redis-replicas"},
		path: "replica.replicaCount", settings: "architecture: replication\nreplica:\n  replicaCount: %d\n", from: 3, to: 4},
	{chart: "ingress-nginx", release: "ingress", target: policy.TargetRef{Kind: "Deployment", Name: "ingress-ingress-nginx-controller"},
		path: "controller.replicaCount", settings: "controller:\n  replicaCount: %d\n", from: 1, to: 2,
		consequences: []string{"adds PodDisruptionBudget ingress/ingress-ingress-nginx-controller"}},
	{chart: "harbor", release: "registry", target: policy.TargetRef{Kind: "Deployment", Name: "registry-harbor-core"},
		path: "core.replicas", settings: "core:\n  replicas: %d\n  podDisruptionBudget: {enabled: true}\n", from: 1, to: 2,
		consequences: []string{"adds PodDisruptionBudget registry/registry-harbor-core"}},
	{chart: "vault", release: "vault", target: policy.TargetRef{Kind: "StatefulSet", Name: "vault"},
		path: "server.ha.replicas", settings: "server:\n  ha:\n    enabled: true\n    raft: {enabled: true}\n    replicas: %d\n", from: 3, to: 5,
		consequences: []string{"changes PodDisruptionBudget vault/vault (spec.maxUnavailable)"}},
	// Above one injector, Vault's chart switches leader election on: a Role, a RoleBinding, a
	// certificate Secret and an environment variable appear, which is more than the count.
	{name: "vault-injector", chart: "vault", release: "vault", target: policy.TargetRef{Kind: "Deployment", Name: "vault-agent-injector"},
		path: "injector.replicas", settings: "injector:\n  replicas: %d\n", from: 1, to: 2,
		reason: ReasonOtherObjectsChanged, contains: "adds Role vault/vault-agent-injector-leader-elector-role"},
	// Elasticsearch lists the master-eligible pods in cluster.initial_master_nodes: every count
	// rolls the whole StatefulSet.
	{chart: "elasticsearch", release: "search", target: policy.TargetRef{Kind: "StatefulSet", Name: "elasticsearch-master"},
		path: "replicas", settings: "replicas: %d\n", from: 3, to: 4,
		reason: ReasonPodRestart, contains: "changes StatefulSet search/elasticsearch-master at spec.template.spec.containers[name=elasticsearch].env[name=cluster.initial_master_nodes].value"},
	{name: "elasticsearch-allow-pod-restart", chart: "elasticsearch", release: "search", target: policy.TargetRef{Kind: "StatefulSet", Name: "elasticsearch-master"},
		path: "replicas", settings: "replicas: %d\n", from: 3, to: 4, allowPodRestart: true,
		consequences: []string{"changes the pod template of StatefulSet search/elasticsearch-master at spec.template.spec.containers[name=elasticsearch].env[name=cluster.initial_master_nodes].value (allowPodRestart: its pods are replaced)"}},
	{chart: "kube-state-metrics", release: "ksm", target: policy.TargetRef{Kind: "Deployment", Name: "ksm-kube-state-metrics"},
		path: "replicas", settings: "replicas: %d\n", from: 1, to: 2},
	{chart: "blackbox-exporter", release: "probe", target: policy.TargetRef{Kind: "Deployment", Name: "probe-prometheus-blackbox-exporter"},
		path: "replicas", settings: "replicas: %d\n", from: 1, to: 2},
	{chart: "prometheus-adapter", release: "adapter", target: policy.TargetRef{Kind: "Deployment", Name: "adapter-prometheus-adapter"},
		path: "replicas", settings: "replicas: %d\n", from: 1, to: 2},
	{chart: "redis-exporter", release: "cache-metrics", target: policy.TargetRef{Kind: "Deployment", Name: "cache-metrics-prometheus-redis-exporter"},
		path: "replicaCount", settings: "replicaCount: %d\n", from: 1, to: 2},
	{chart: "keda", release: "keda", target: policy.TargetRef{Kind: "Deployment", Name: "keda-operator"},
		path: "operator.replicaCount", settings: "operator:\n  replicaCount: %d\n", from: 1, to: 2},
	{chart: "traefik", release: "proxy", target: policy.TargetRef{Kind: "Deployment", Name: "proxy-traefik"},
		path: "deployment.replicas", settings: "deployment:\n  replicas: %d\n", from: 1, to: 3},
	// Bitnami's sentinel mode writes the count into the sentinel start script (a ConfigMap
	// whose checksum is on the pods).
	{name: "redis-sentinel", chart: "redis", release: "cache", target: policy.TargetRef{Kind: "StatefulSet", Name: "cache-redis-node"},
		path: "replica.replicaCount", settings: "architecture: replication\nsentinel: {enabled: true}\nreplica:\n  replicaCount: %d\n", from: 3, to: 4,
		reason: ReasonOtherObjectsChanged, contains: "changes ConfigMap cache/cache-redis-scripts at data.start-sentinel.sh"},
	{chart: "postgresql", release: "db", target: policy.TargetRef{Kind: "StatefulSet", Name: "db-postgresql-read"},
		path: "readReplicas.replicaCount", settings: "architecture: replication\nreadReplicas:\n  replicaCount: %d\n", from: 1, to: 2},
	{chart: "rabbitmq", release: "mq", target: policy.TargetRef{Kind: "StatefulSet", Name: "mq-rabbitmq"},
		path: "replicaCount", settings: "replicaCount: %d\n", from: 1, to: 3},
	// With clustering.rebalance, RabbitMQ's chart adds RABBITMQ_CLUSTER_REBALANCE to the pods
	// above one replica.
	{name: "rabbitmq-rebalance", chart: "rabbitmq", release: "mq", target: policy.TargetRef{Kind: "StatefulSet", Name: "mq-rabbitmq"},
		path: "replicaCount", settings: "replicaCount: %d\nclustering: {rebalance: true}\n", from: 1, to: 3,
		reason: ReasonPodRestart, contains: "changes StatefulSet mq/mq-rabbitmq at spec.template.spec.containers[name=rabbitmq].env"},
	{chart: "grafana", release: "dash", target: policy.TargetRef{Kind: "Deployment", Name: "dash-grafana"},
		path: "replicas", settings: "replicas: %d\n", from: 1, to: 2},
	{name: "argo-cd-repo-server", chart: "argo-cd", release: "argocd", target: policy.TargetRef{Kind: "Deployment", Name: "argocd-repo-server"},
		path: "repoServer.replicas", settings: "repoServer:\n  replicas: %d\n", from: 1, to: 2},
	{name: "argo-cd-server", chart: "argo-cd", release: "argocd", target: policy.TargetRef{Kind: "Deployment", Name: "argocd-server"},
		path: "server.replicas", settings: "server:\n  replicas: %d\n", from: 1, to: 3},
	// The application controller shards by its count, which it reads from an environment
	// variable: every count rolls the StatefulSet.
	{name: "argo-cd-controller", chart: "argo-cd", release: "argocd", target: policy.TargetRef{Kind: "StatefulSet", Name: "argocd-application-controller"},
		path: "controller.replicas", settings: "controller:\n  replicas: %d\n", from: 1, to: 2,
		reason: ReasonPodRestart, contains: "changes StatefulSet argocd/argocd-application-controller at spec.template.spec.containers[name=application-controller].env[name=ARGOCD_CONTROLLER_REPLICAS].value"},
	// The redis-ha subchart: its HAProxy scales alone; its Redis servers have one announce
	// Service each and are listed in HAProxy's configuration.
	{name: "argo-cd-redis-ha-haproxy", chart: "argo-cd", release: "argocd", target: policy.TargetRef{Kind: "Deployment", Name: "argocd-redis-ha-haproxy"},
		path: "redis-ha.haproxy.replicas", settings: "redis:\n  enabled: false\nredis-ha:\n  enabled: true\n  haproxy:\n    replicas: %d\n", from: 3, to: 4},
	{name: "argo-cd-redis-ha-server", chart: "argo-cd", release: "argocd", target: policy.TargetRef{Kind: "StatefulSet", Name: "argocd-redis-ha-server"},
		path: "redis-ha.replicas", settings: "redis:\n  enabled: false\nredis-ha:\n  enabled: true\n  replicas: %d\n", from: 3, to: 5,
		reason: ReasonOtherObjectsChanged, contains: "adds Service argocd/argocd-redis-ha-announce-3"},
	{chart: "cert-manager", release: "cm", target: policy.TargetRef{Kind: "Deployment", Name: "cm-cert-manager"},
		path: "replicaCount", settings: "replicaCount: %d\npodDisruptionBudget: {enabled: true}\n", from: 1, to: 2},
	{name: "cert-manager-webhook", chart: "cert-manager", release: "cm", target: policy.TargetRef{Kind: "Deployment", Name: "cm-cert-manager-webhook"},
		path: "webhook.replicaCount", settings: "webhook:\n  replicaCount: %d\n", from: 1, to: 3},
	{chart: "podinfo", release: "info", target: policy.TargetRef{Kind: "Deployment", Name: "info-podinfo"},
		path: "replicaCount", settings: "replicaCount: %d\n", from: 1, to: 3},
	{name: "podinfo-pdb", chart: "podinfo", release: "info", target: policy.TargetRef{Kind: "Deployment", Name: "info-podinfo"},
		path: "replicaCount", settings: "replicaCount: %d\npodDisruptionBudget: {maxUnavailable: 1}\n", from: 1, to: 3,
		consequences: []string{"adds PodDisruptionBudget info/info-podinfo"}},
	{name: "podinfo-hpa", chart: "podinfo", release: "info", target: policy.TargetRef{Kind: "Deployment", Name: "info-podinfo"},
		path: "replicaCount", settings: "replicaCount: %d\nhpa: {enabled: true, cpu: 80}\n", from: 1, to: 3,
		reason: ReasonHPAConflict, contains: "HorizontalPodAutoscaler info/info-podinfo (from podinfo/templates/hpa.yaml) also scales Deployment info/info-podinfo"},
}

// TestCorpus verifies one right edit of the count of each chart of a corpus of real public
// charts, and pins the outcome: verified with its consequences, or refused and why. The charts
// are fetched content, never committed, so the test is built only with the corpus tag, by its
// own target, and fails without its directory:
//
//	make test-corpus DIR=…    (= go test -tags corpus ./render/ -run TestCorpus -corpus DIR)
func TestCorpus(t *testing.T) {
	if *corpusDir == "" {
		t.Fatal("no corpus: run make test-corpus DIR=… (or go test -tags corpus ./render/ -run TestCorpus -corpus DIR), " +
			"DIR holding the public charts named in corpusCases, dependencies vendored under charts/")
	}
	root, err := filepath.Abs(*corpusDir)
	require.NoError(t, err)
	verified := 0
	for _, tc := range corpusCases {
		name := tc.name
		if name == "" {
			name = tc.chart
		}
		t.Run(name, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(root, tc.chart, "Chart.yaml")); err != nil {
				t.Fatalf("%s is not in the corpus: %v", tc.chart, err)
			}
			values := "prod-" + tc.chart + ".yaml"
			count := func(n int) []byte { return []byte(strings.ReplaceAll(tc.settings, "%d", itoa(n))) }
			target := tc.target
			target.Namespace = tc.release
			req := VerifyRequest{
				Request: Request{
					Root:    root,
					Helm:    &policy.HelmRender{Chart: tc.chart, ValuesFiles: []string{values}, ReleaseName: tc.release, Namespace: tc.release},
					Overlay: map[string][]byte{values: count(tc.from)},
				},
				Target: target, File: values, Path: tc.path, Content: count(tc.to),
				Current: tc.from, Desired: tc.to, AllowPodRestart: tc.allowPodRestart,
			}
			v, err := Verify(context.Background(), req)
			if err == nil {
				var lines []string
				for _, c := range v.Consequences {
					lines = append(lines, c.String())
				}
				t.Logf("verified: %s; consequences: %q", v.Summary, lines)
				verified++
				assert.Empty(t, tc.reason, "expected a refusal")
				assert.Equal(t, tc.consequences, lines)
				return
			}
			var ve *VerifyError
			require.True(t, errors.As(err, &ve), "%v", err)
			t.Logf("refused (%s): %s", ve.Reason, ve.Message)
			assert.Equal(t, tc.reason, ve.Reason, ve.Message)
			assert.Contains(t, ve.Message, tc.contains)
		})
	}
	t.Logf("%d of %d cases verify", verified, len(corpusCases))
}

// corpusRemote are the corpus charts TestCorpusRemote pulls: a chart with a PodDisruptionBudget
// consequence, a Bitnami chart with the common library chart vendored, and podinfo.
var corpusRemote = flag.String("corpus-remote", "ingress-nginx,redis,podinfo", "charts of the corpus TestCorpusRemote packages, serves and pulls (comma-separated)")

// TestCorpusRemote packages charts of the corpus as `helm package` does, serves them from a
// Helm repository (net/http over an SDK-built index.yaml) and pushes them to Debian's
// docker-registry, then verifies each chart's corpus case through an Argo CD Application that
// pulls the chart — from the repository, then over OCI — with its values from Git ($values):
// the outcome must be the one TestCorpus pins for the chart in the repository.
func TestCorpusRemote(t *testing.T) {
	if *corpusDir == "" {
		t.Fatal("no corpus: run make test-corpus DIR=… (see TestCorpus)")
	}
	root, err := filepath.Abs(*corpusDir)
	require.NoError(t, err)
	reg := startRegistry(t)
	repoDir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(repoDir)))
	defer srv.Close()
	names := map[string]string{} // corpus directory → chart name
	for _, dir := range strings.Split(*corpusRemote, ",") {
		ch, err := loader.LoadDir(filepath.Join(root, dir))
		require.NoError(t, err, "load %s from the corpus", dir)
		file, err := chartutil.Save(ch, repoDir)
		require.NoError(t, err)
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		_, err = reg.client.Push(data, reg.host+"/corpus/"+ch.Metadata.Name+":"+ch.Metadata.Version)
		require.NoError(t, err, "push %s", dir)
		names[dir] = ch.Metadata.Name + "@" + ch.Metadata.Version
		t.Logf("%s: chart %s %s, archive %d bytes", dir, ch.Metadata.Name, ch.Metadata.Version, len(data))
	}
	idx, err := helmrepo.IndexDirectory(repoDir, srv.URL)
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(repoDir, "index.yaml"), 0o644))
	repos := []svcconfig.ChartRepository{{URL: "oci://" + reg.host, Username: registryUser, PasswordFile: writeSecret(t, registryPassword), PlainHTTP: true}}
	cs := newTestCharts(t, repos, svcconfig.ChartLimits{})
	verified, cases := 0, 0
	for _, tc := range corpusCases {
		nameVersion, ok := names[tc.chart]
		if !ok {
			continue
		}
		chartName, version, _ := strings.Cut(nameVersion, "@")
		for _, from := range []struct {
			kind, repoURL string
			appSet        bool
		}{{"helm repository", srv.URL, false}, {"oci", "oci://" + reg.host + "/corpus", false}, {"helm repository through an ApplicationSet", srv.URL, true}} {
			cases++
			name := tc.name
			if name == "" {
				name = tc.chart
			}
			t.Run(name+" from "+from.kind, func(t *testing.T) {
				count := func(n int) string { return strings.ReplaceAll(tc.settings, "%d", itoa(n)) }
				app := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd}
spec:
  destination: {namespace: %s}
  sources:
    - repoURL: %s
      chart: %s
      targetRevision: %q
      helm: {releaseName: %s, valueFiles: [$values/values/prod.yaml]}
    - {repoURL: "https://git.example.com/deploy.git", ref: values}
`, tc.release, tc.release, from.repoURL, chartName, version, tc.release)
				argo := &policy.ArgoCDRender{Application: "argocd/app.yaml"}
				if from.appSet {
					// The same Application, generated by a list generator's goTemplate.
					spec := strings.SplitN(app, "spec:\n", 2)[1]
					app = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: corpus, namespace: argocd}\nspec:\n" +
						"  goTemplate: true\n  generators:\n    - list: {elements: [{release: " + tc.release + "}]}\n" +
						"  template:\n    metadata: {name: '{{.release}}'}\n    spec:\n" + indent(spec, "    ")
					argo = &policy.ArgoCDRender{ApplicationSet: "argocd/app.yaml", Name: tc.release}
				}
				gitRoot := remoteGitRepo(t, map[string]string{"argocd/app.yaml": app, "values/prod.yaml": count(tc.from)})
				target := tc.target
				target.Namespace = tc.release
				start := time.Now()
				v, err := Verify(context.Background(), VerifyRequest{
					Request: Request{Root: gitRoot, ArgoCD: argo, Charts: cs},
					Target:  target, File: "values/prod.yaml", Path: tc.path, Content: []byte(count(tc.to)),
					Current: tc.from, Desired: tc.to, AllowPodRestart: tc.allowPodRestart,
				})
				if err == nil {
					var lines []string
					for _, c := range v.Consequences {
						lines = append(lines, c.String())
					}
					t.Logf("verified in %s: %s; consequences: %q", time.Since(start).Round(time.Millisecond), v.Summary, lines)
					verified++
					assert.Empty(t, tc.reason, "expected a refusal")
					assert.Equal(t, tc.consequences, lines)
					return
				}
				var ve *VerifyError
				require.True(t, errors.As(err, &ve), "%v", err)
				t.Logf("refused (%s): %s", ve.Reason, ve.Message)
				assert.Equal(t, tc.reason, ve.Reason, ve.Message)
				assert.Contains(t, ve.Message, tc.contains)
			})
		}
	}
	require.NotZero(t, cases, "no corpus case names the charts %s", *corpusRemote)
	t.Logf("%d of %d remote cases verify", verified, cases)
}

// indent puts prefix before every line of s that is not empty.
func indent(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
