package render

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// corpusDir is a directory of real public charts, one directory each, named as in corpusCases,
// with their dependencies vendored as helm dependency build leaves them (charts/*.tgz). The
// charts are fetched from their upstream repositories and never committed here.
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
}

// TestCorpus verifies one right edit of the count of each chart of a corpus of real public
// charts, and pins the outcome: verified with its consequences, or refused and why.
//
//	go test ./render/ -run TestCorpus -corpus DIR    (or RENDER_CORPUS=DIR)
func TestCorpus(t *testing.T) {
	if *corpusDir == "" {
		t.Skip("no corpus: run go test ./render/ -run TestCorpus -corpus DIR (or RENDER_CORPUS=DIR), " +
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
