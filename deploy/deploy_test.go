package deploy

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/shard"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

const (
	chartDir       = "helm/gitops-autoscaler"
	laravelDir     = "../examples/laravel"
	laravelChart   = laravelDir + "/chart"
	alertsFile     = "prometheus/alerts.yaml"
	alertsTestFile = "prometheus/alerts_test.yaml"
	dashboardFile  = "grafana/gitops-autoscaler.json"
	argocdDir      = "argocd"
)

// exportedMetrics are the metrics the service exports (cmd/gitops-autoscaler); the dashboard and
// the alert rules may use these and nothing else.
var exportedMetrics = []string{
	"gitops_autoscaler_evaluations_total",
	"gitops_autoscaler_decisions_total",
	"gitops_autoscaler_commits_total",
	"gitops_autoscaler_pull_requests_total",
	"gitops_autoscaler_push_retries_total",
	"gitops_autoscaler_replayed_commits_total",
	"gitops_autoscaler_push_races_lost_total",
	"gitops_autoscaler_push_race_losing_cycles",
	"gitops_autoscaler_decisions_not_landed_total",
	"gitops_autoscaler_blind_metrics",
	"gitops_autoscaler_query_errors_total",
	"gitops_autoscaler_evaluation_duration_seconds",
	"gitops_autoscaler_current_replicas",
	"gitops_autoscaler_desired_replicas",
	"gitops_autoscaler_pull_request_open_seconds",
	"gitops_autoscaler_last_evaluation_timestamp_seconds",
	"gitops_autoscaler_shadow_live_replicas",
	"gitops_autoscaler_shadow_desired_replicas",
	"gitops_autoscaler_shadow_changes",
	"gitops_autoscaler_shadow_replica_hours",
	"gitops_autoscaler_shadow_short_seconds",
	"gitops_autoscaler_invalid_policies",
}

// object is one rendered manifest: its template file and its parsed header.
type object struct {
	Source     string
	YAML       string
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// renderChart renders a chart like `helm template` (client-only, schema enforced) with the
// chart's defaults, then the given values files in order, then overrides, and returns the
// objects it produced in a stable order.
func renderChart(t *testing.T, dir string, valuesFiles []string, overrides map[string]any) ([]object, error) {
	t.Helper()
	chrt, err := loader.Load(dir)
	require.NoError(t, err, "load chart %s", dir)

	user := map[string]any{}
	for _, f := range valuesFiles {
		v, err := chartutil.ReadValuesFile(f)
		require.NoError(t, err, "read values %s", f)
		user = chartutil.CoalesceTables(v.AsMap(), user) // later files win
	}
	user = chartutil.CoalesceTables(overrides, user)

	vals, err := chartutil.ToRenderValues(chrt, user, chartutil.ReleaseOptions{
		Name: "release", Namespace: "autoscaling", IsInstall: true,
	}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(chrt, vals)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var objs []object
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, doc := range releaseutil.SplitManifests(files[name]) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			o := object{Source: name, YAML: doc}
			require.NoError(t, sigsyaml.Unmarshal([]byte(doc), &o), "parse %s:\n%s", name, doc)
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// decodeTyped decodes a manifest into its k8s.io/api struct, failing on unknown fields, so a
// typo in a template (e.g. "readinessprobe") is an error rather than a silently dropped key.
// Kinds without a typed struct here (CRDs such as ServiceMonitor) return nil.
func decodeTyped(t *testing.T, o object) any {
	t.Helper()
	var into any
	switch o.APIVersion + "/" + o.Kind {
	case "apps/v1/Deployment":
		into = &appsv1.Deployment{}
	case "apps/v1/StatefulSet":
		into = &appsv1.StatefulSet{}
	case "v1/Service":
		into = &corev1.Service{}
	case "v1/ConfigMap":
		into = &corev1.ConfigMap{}
	case "v1/ServiceAccount":
		into = &corev1.ServiceAccount{}
	case "networking.k8s.io/v1/NetworkPolicy":
		into = &networkingv1.NetworkPolicy{}
	default:
		return nil
	}
	require.NoError(t, sigsyaml.UnmarshalStrict([]byte(o.YAML), into), "strict decode %s %s from %s", o.Kind, o.Metadata.Name, o.Source)
	return into
}

func kinds(objs []object) map[string]int {
	k := map[string]int{}
	for _, o := range objs {
		k[o.Kind]++
	}
	return k
}

func find[T any](t *testing.T, objs []object, kind string) *T {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind {
			v, ok := decodeTyped(t, o).(*T)
			require.True(t, ok, "%s has no typed decoder", kind)
			return v
		}
	}
	require.Failf(t, "missing object", "no %s rendered", kind)
	return nil
}

func TestChartDefaultsRenderValidObjects(t *testing.T) {
	objs, err := renderChart(t, chartDir, nil, nil)
	require.NoError(t, err)

	got := kinds(objs)
	for _, k := range []string{"Deployment", "Service", "ConfigMap", "ServiceAccount"} {
		assert.Equal(t, 1, got[k], "kind %s", k)
	}
	assert.Zero(t, got["ServiceMonitor"], "ServiceMonitor is off by default")
	assert.Zero(t, got["NetworkPolicy"], "NetworkPolicy is off by default")
	assert.Zero(t, got["Role"]+got["ClusterRole"]+got["RoleBinding"]+got["ClusterRoleBinding"],
		"the autoscaler never calls the Kubernetes API, so it needs no RBAC")

	for _, o := range objs {
		assert.NotEmpty(t, o.APIVersion, "apiVersion of %s", o.Source)
		assert.NotEmpty(t, o.Kind, "kind of %s", o.Source)
		assert.NotEmpty(t, o.Metadata.Name, "metadata.name of %s", o.Source)
		assert.NotNil(t, decodeTyped(t, o), "%s %s has a typed decoder", o.Kind, o.Metadata.Name)
	}
}

func TestChartDeploymentIsLockedDown(t *testing.T) {
	objs, err := renderChart(t, chartDir, nil, nil)
	require.NoError(t, err)
	d := find[appsv1.Deployment](t, objs, "Deployment")
	sa := find[corev1.ServiceAccount](t, objs, "ServiceAccount")

	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, int32(1), *d.Spec.Replicas)
	pod := d.Spec.Template.Spec
	require.NotNil(t, pod.SecurityContext)
	require.NotNil(t, pod.SecurityContext.RunAsNonRoot)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot, "runAsNonRoot")
	require.NotNil(t, pod.AutomountServiceAccountToken)
	assert.False(t, *pod.AutomountServiceAccountToken, "pod gets no API token")
	require.NotNil(t, sa.AutomountServiceAccountToken)
	assert.False(t, *sa.AutomountServiceAccountToken, "ServiceAccount mounts no API token")
	assert.Equal(t, sa.Name, pod.ServiceAccountName)

	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.NotNil(t, c.SecurityContext)
	require.NotNil(t, c.SecurityContext.ReadOnlyRootFilesystem)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, "readOnlyRootFilesystem")
	require.NotNil(t, c.LivenessProbe)
	require.NotNil(t, c.LivenessProbe.HTTPGet)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	require.NotNil(t, c.ReadinessProbe)
	require.NotNil(t, c.ReadinessProbe.HTTPGet)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	assert.Equal(t, []string{"serve", "--config=/etc/gitops-autoscaler/config.yaml", "--listen=:8080"}, c.Args)

	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	assert.Equal(t, "/var/cache/gitops-autoscaler", mounts["cache"], "clone cache is writable")
	assert.Equal(t, "/etc/gitops-autoscaler", mounts["config"])
	for _, v := range pod.Volumes {
		if v.Name == "cache" {
			assert.NotNil(t, v.EmptyDir, "clone cache is an emptyDir")
		}
	}
}

// TestChartStatefulSetShardsByOrdinal renders the chart as a StatefulSet of n pods, expands
// each pod's arguments as the kubelet would for the pod the StatefulSet names <name>-<i>, and
// parses its --shard as the binary does: every ordinal gets a distinct shard of n, and the
// shards together own every policy exactly once.
func TestChartStatefulSetShardsByOrdinal(t *testing.T) {
	ids := exampleIDs(t)
	for i := range 2000 {
		ids = append(ids, fmt.Sprintf("team-%d/app-%d", i%37, i))
	}
	for _, n := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			objs, err := renderChart(t, chartDir, nil, map[string]any{"workload": "StatefulSet", "replicaCount": n})
			require.NoError(t, err)
			assert.Zero(t, kinds(objs)["Deployment"], "a StatefulSet replaces the Deployment")
			sts := find[appsv1.StatefulSet](t, objs, "StatefulSet")
			require.NotNil(t, sts.Spec.Replicas)
			assert.Equal(t, int32(n), *sts.Spec.Replicas)
			assert.Equal(t, appsv1.ParallelPodManagement, sts.Spec.PodManagementPolicy)
			headless := findNamed[corev1.Service](t, objs, "Service", sts.Spec.ServiceName)
			assert.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP, "the governing Service is headless")
			assert.Equal(t, sts.Spec.Selector.MatchLabels, headless.Spec.Selector)

			owner := map[string]int{}
			seen := map[int]bool{}
			for ordinal := range n {
				pod := fmt.Sprintf("%s-%d", sts.Name, ordinal)
				args := podArgs(t, sts.Spec.Template, pod)
				var spec string
				for _, a := range args {
					if v, ok := strings.CutPrefix(a, "--shard="); ok {
						spec = v
					}
				}
				require.NotEmpty(t, spec, "pod %s has no --shard: %v", pod, args)
				sh, err := shard.Parse(spec)
				require.NoError(t, err, "pod %s", pod)
				if n > 1 {
					assert.Equal(t, shard.Shard{Index: ordinal, Count: n}, sh, "pod %s", pod)
				}
				assert.False(t, seen[sh.Index], "pod %s repeats shard %d", pod, sh.Index)
				seen[sh.Index] = true
				for _, id := range ids {
					if sh.Owns(id) {
						owner[id]++
					}
				}
			}
			for _, id := range ids {
				assert.Equal(t, 1, owner[id], "policy %s must belong to exactly one pod", id)
			}
		})
	}
	t.Run("a fixed shard is refused", func(t *testing.T) {
		_, err := renderChart(t, chartDir, nil, map[string]any{"workload": "StatefulSet", "replicaCount": 3, "shard": "0/3"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "a StatefulSet gives each pod the shard of its ordinal")
	})
	t.Run("an unknown workload is refused", func(t *testing.T) {
		_, err := renderChart(t, chartDir, nil, map[string]any{"workload": "DaemonSet"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "workload")
	})
}

// podArgs are the container's arguments with $(VAR) references expanded as the kubelet does
// for a pod of this name: variables from the downward API's metadata.name and from literal
// values; a reference to an undefined variable stays as written.
func podArgs(t *testing.T, tmpl corev1.PodTemplateSpec, podName string) []string {
	t.Helper()
	require.Len(t, tmpl.Spec.Containers, 1)
	c := tmpl.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			require.Equal(t, "metadata.name", e.ValueFrom.FieldRef.FieldPath, "env %s", e.Name)
			env[e.Name] = podName
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
	out := make([]string, len(c.Args))
	for i, a := range c.Args {
		out[i] = ref.ReplaceAllStringFunc(a, func(m string) string {
			if v, ok := env[m[2:len(m)-1]]; ok {
				return v
			}
			return m
		})
	}
	return out
}

// exampleIDs are the IDs of the example's policies.
func exampleIDs(t *testing.T) []string {
	t.Helper()
	ps, err := policy.LoadPolicyFiles(filepath.Join(laravelDir, "policies"))
	require.NoError(t, err)
	require.NotEmpty(t, ps)
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID()
	}
	return ids
}

func findNamed[T any](t *testing.T, objs []object, kind, name string) *T {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Metadata.Name == name {
			v, ok := decodeTyped(t, o).(*T)
			require.True(t, ok, "%s has no typed decoder", kind)
			return v
		}
	}
	require.Failf(t, "missing object", "no %s %s rendered", kind, name)
	return nil
}

func TestChartConfigMapHoldsConfigVerbatim(t *testing.T) {
	objs, err := renderChart(t, chartDir, nil, nil)
	require.NoError(t, err)
	cm := find[corev1.ConfigMap](t, objs, "ConfigMap")
	require.Contains(t, cm.Data, "config.yaml")

	var got map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(cm.Data["config.yaml"]), &got))
	var values struct {
		Config map[string]any `yaml:"config"`
	}
	raw, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &values))
	assert.Equal(t, values.Config, got)
	assert.Equal(t, policy.KindConfig, got["kind"])
	assert.Equal(t, policy.APIVersion, got["apiVersion"])
}

func TestChartValues(t *testing.T) {
	tests := []struct {
		name      string
		values    map[string]any
		wantErr   string // substring of the schema error; empty means it renders
		wantKinds map[string]int
		check     func(t *testing.T, objs []object)
	}{
		{
			name:    "replicaCount must be an integer",
			values:  map[string]any{"replicaCount": "three"},
			wantErr: "at '/replicaCount': got string, want integer",
		},
		{
			name:    "unknown pullPolicy",
			values:  map[string]any{"image": map[string]any{"pullPolicy": "Sometimes"}},
			wantErr: "at '/image/pullPolicy'",
		},
		{
			name:    "unknown top-level key",
			values:  map[string]any{"replicas": 2},
			wantErr: "additional properties 'replicas' not allowed",
		},
		{
			name:    "malformed shard",
			values:  map[string]any{"shard": "1-of-3"},
			wantErr: "at '/shard'",
		},
		{
			name:    "running as root is refused",
			values:  map[string]any{"podSecurityContext": map[string]any{"runAsNonRoot": false}},
			wantErr: "at '/podSecurityContext/runAsNonRoot'",
		},
		{
			name:    "config of the wrong kind",
			values:  map[string]any{"config": map[string]any{"kind": "PrometheusAutoscaler"}},
			wantErr: "at '/config/kind'",
		},
		{
			name:      "ServiceMonitor when enabled",
			values:    map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
			wantKinds: map[string]int{"ServiceMonitor": 1},
		},
		{
			name:      "NetworkPolicy when enabled",
			values:    map[string]any{"networkPolicy": map[string]any{"enabled": true}},
			wantKinds: map[string]int{"NetworkPolicy": 1, "ServiceMonitor": 0},
		},
		{
			name:      "no ServiceAccount when not created",
			values:    map[string]any{"serviceAccount": map[string]any{"create": false, "name": "shared"}},
			wantKinds: map[string]int{"ServiceAccount": 0},
			check: func(t *testing.T, objs []object) {
				d := find[appsv1.Deployment](t, objs, "Deployment")
				assert.Equal(t, "shared", d.Spec.Template.Spec.ServiceAccountName)
			},
		},
		{
			name:   "shard passed as a flag",
			values: map[string]any{"shard": "1/3"},
			check: func(t *testing.T, objs []object) {
				d := find[appsv1.Deployment](t, objs, "Deployment")
				assert.Contains(t, d.Spec.Template.Spec.Containers[0].Args, "--shard=1/3")
			},
		},
		{
			name: "existing Secrets mounted read-only as files",
			values: map[string]any{"secrets": map[string]any{
				"git":    map[string]any{"existingSecret": "git-token"},
				"github": map[string]any{"existingSecret": "github-token"},
			}},
			check: func(t *testing.T, objs []object) {
				d := find[appsv1.Deployment](t, objs, "Deployment")
				secrets := map[string]string{}
				for _, v := range d.Spec.Template.Spec.Volumes {
					if v.Secret != nil {
						secrets[v.Name] = v.Secret.SecretName
					}
				}
				assert.Equal(t, map[string]string{"secret-git": "git-token", "secret-github": "github-token"}, secrets)
				mounts := map[string]bool{}
				for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
					if strings.HasPrefix(m.Name, "secret-") {
						assert.True(t, m.ReadOnly, "%s read-only", m.Name)
						mounts[m.MountPath] = true
					}
				}
				assert.Equal(t, map[string]bool{"/var/run/secrets/git": true, "/var/run/secrets/github": true}, mounts)
			},
		},
		{
			name:   "image tag from values",
			values: map[string]any{"image": map[string]any{"tag": "0123abc"}},
			check: func(t *testing.T, objs []object) {
				d := find[appsv1.Deployment](t, objs, "Deployment")
				assert.Equal(t, "ghcr.io/gitops-autoscaler/gitops-autoscaler:0123abc", d.Spec.Template.Spec.Containers[0].Image)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := renderChart(t, chartDir, nil, tt.values)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "values don't meet the specifications of the schema")
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			got := kinds(objs)
			for k, n := range tt.wantKinds {
				assert.Equal(t, n, got[k], "kind %s", k)
			}
			for _, o := range objs {
				assert.NotEmpty(t, o.Metadata.Name, "%s has a name", o.Kind)
				decodeTyped(t, o)
			}
			if tt.check != nil {
				tt.check(t, objs)
			}
		})
	}
}

// requirePromtool returns promtool's path, skipping the test when it is missing — except in CI,
// where a missing promtool fails (the Makefile's deps target installs it).
func requirePromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not on PATH (CI=true): run `make deps`")
		}
		t.Skip("promtool not on PATH")
	}
	return p
}

func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := requirePromtool(t)
	tests := []struct {
		name string
		args []string
	}{
		{name: "check rules", args: []string{"check", "rules", alertsFile}},
		{name: "unit tests of the rules", args: []string{"test", "rules", alertsTestFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(promtool, tt.args...).CombinedOutput()
			assert.NoError(t, err, "promtool %s:\n%s", strings.Join(tt.args, " "), out)
		})
	}
}

func TestAlertRulesUseOnlyExportedMetrics(t *testing.T) {
	raw, err := os.ReadFile(alertsFile)
	require.NoError(t, err)
	var doc struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	require.NotEmpty(t, doc.Groups)
	alerts := map[string]bool{}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			assert.Empty(t, unknownMetrics(r.Expr), "alert %s", r.Alert)
			assert.NotEmpty(t, r.Labels["severity"], "alert %s has a severity", r.Alert)
			assert.NotEmpty(t, r.Annotations["summary"], "alert %s has a summary", r.Alert)
		}
	}
	for _, a := range []string{
		"GitOpsAutoscalerQueryErrors", "GitOpsAutoscalerNoSuccessfulEvaluations",
		"GitOpsAutoscalerPushesFailing", "GitOpsAutoscalerPullRequestWaiting",
		"GitOpsAutoscalerEvaluationErrors", "GitOpsAutoscalerLosingPushRaces",
	} {
		assert.True(t, alerts[a], "alert %s defined", a)
	}
}

var metricRef = regexp.MustCompile(`gitops_autoscaler_[a-z_]+`)

// unknownMetrics lists the gitops_autoscaler_ metrics expr uses that the service does not
// export (a histogram's _bucket, _sum and _count series count as the histogram).
func unknownMetrics(expr string) []string {
	var unknown []string
	for _, m := range metricRef.FindAllString(expr, -1) {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasSuffix(m, "_seconds"+suffix) {
				base = strings.TrimSuffix(m, suffix)
			}
		}
		found := false
		for _, e := range exportedMetrics {
			found = found || e == base
		}
		if !found {
			unknown = append(unknown, m)
		}
	}
	return unknown
}

func TestUnknownMetrics(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{name: "counter", expr: `rate(gitops_autoscaler_commits_total[5m])`},
		{name: "histogram bucket", expr: `histogram_quantile(0.9, rate(gitops_autoscaler_evaluation_duration_seconds_bucket[5m]))`},
		{name: "misspelled", expr: `gitops_autoscaler_commit_total`, want: []string{"gitops_autoscaler_commit_total"}},
		{name: "bucket of a gauge", expr: `gitops_autoscaler_current_replicas_bucket`, want: []string{"gitops_autoscaler_current_replicas_bucket"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, unknownMetrics(tt.expr))
		})
	}
}

func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var dash map[string]any
	require.NoError(t, json.Unmarshal(raw, &dash), "dashboard is JSON")

	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	require.NotEmpty(t, exprs)

	used := map[string]bool{}
	for _, e := range exprs {
		assert.Empty(t, unknownMetrics(e), "expr %q", e)
		for _, m := range metricRef.FindAllString(e, -1) {
			used[m] = true
		}
	}
	for _, m := range []string{
		"gitops_autoscaler_current_replicas", "gitops_autoscaler_desired_replicas",
		"gitops_autoscaler_decisions_total", "gitops_autoscaler_query_errors_total",
		"gitops_autoscaler_push_retries_total", "gitops_autoscaler_pull_request_open_seconds",
		"gitops_autoscaler_evaluation_duration_seconds_bucket",
		"gitops_autoscaler_shadow_live_replicas", "gitops_autoscaler_shadow_desired_replicas",
		"gitops_autoscaler_shadow_changes",
	} {
		assert.True(t, used[m], "dashboard shows %s", m)
	}

	templating, ok := dash["templating"].(map[string]any)
	require.True(t, ok, "dashboard has templating")
	vars, _ := templating["list"].([]any)
	names := map[string]bool{}
	for _, v := range vars {
		if m, ok := v.(map[string]any); ok {
			names[m["name"].(string)] = true
		}
	}
	assert.True(t, names["policy"], "policy template variable")
}

func TestArgoCDApplications(t *testing.T) {
	entries, err := os.ReadDir(argocdDir)
	require.NoError(t, err)
	apps := map[string]map[string]any{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(argocdDir, e.Name()))
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, "parse %s", e.Name())
			if doc == nil {
				continue
			}
			assert.Equal(t, "argoproj.io/v1alpha1", doc["apiVersion"], e.Name())
			assert.Equal(t, "Application", doc["kind"], e.Name())
			meta, _ := doc["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			require.NotEmpty(t, name, "%s: metadata.name", e.Name())
			apps[name] = doc
		}
	}
	// Where each Application's repository is in this tree: the autoscaler's chart is in this
	// repository; the Laravel example's repository is a copy of examples/laravel.
	roots := map[string]string{"gitops-autoscaler": "..", "laravel-prod": laravelDir}
	require.Len(t, apps, len(roots))

	for name, app := range apps {
		root, ok := roots[name]
		require.True(t, ok, "unexpected Application %s", name)
		t.Run(name, func(t *testing.T) {
			spec, _ := app["spec"].(map[string]any)
			require.NotNil(t, spec)
			assert.NotContains(t, spec, "ignoreDifferences",
				"the replica count lives in Git: Argo CD and the autoscaler never fight")
			sync, _ := spec["syncPolicy"].(map[string]any)
			auto, _ := sync["automated"].(map[string]any)
			require.NotNil(t, auto, "automated sync")
			assert.Equal(t, true, auto["selfHeal"], "selfHeal")
			assert.Equal(t, true, auto["prune"], "prune")

			source, _ := spec["source"].(map[string]any)
			require.NotNil(t, source)
			path, _ := source["path"].(string)
			require.NotEmpty(t, path)
			_, err := os.Stat(filepath.Join(root, path, "Chart.yaml"))
			assert.NoError(t, err, "source.path %s is a chart", path)
			helm, _ := source["helm"].(map[string]any)
			files, _ := helm["valueFiles"].([]any)
			for _, f := range files {
				_, err := os.Stat(filepath.Join(root, path, f.(string)))
				assert.NoError(t, err, "valueFiles %s exists", f)
			}
		})
	}
}

// laravelValuesFiles are the values files of an environment, in the order Argo CD and the
// policies' render blocks pass them.
func laravelValuesFiles(env string) []string {
	return []string{
		filepath.Join(laravelDir, "envs", env, "values.yaml"),
		filepath.Join(laravelDir, "envs", env, "laravel-web", "values.yaml"),
		filepath.Join(laravelDir, "envs", env, "laravel-worker", "values.yaml"),
	}
}

func TestLaravelChartRendersForEachEnv(t *testing.T) {
	for _, env := range []string{"staging", "prod"} {
		t.Run(env, func(t *testing.T) {
			files := laravelValuesFiles(env)
			objs, err := renderChart(t, laravelChart, files, nil)
			require.NoError(t, err)

			var values struct {
				LaravelWeb struct {
					ReplicaCount int `yaml:"replicaCount"`
				} `yaml:"laravelWeb"`
				LaravelWorker struct {
					ReplicaCount int `yaml:"replicaCount"`
				} `yaml:"laravelWorker"`
			}
			for _, f := range files {
				raw, err := os.ReadFile(f)
				require.NoError(t, err)
				require.NoError(t, yaml.Unmarshal(raw, &values))
			}

			replicas := map[string]int32{}
			for _, o := range objs {
				assert.NotEmpty(t, o.Metadata.Name, "%s has a name", o.Kind)
				typed := decodeTyped(t, o)
				if d, ok := typed.(*appsv1.Deployment); ok {
					require.NotNil(t, d.Spec.Replicas, d.Name)
					replicas[d.Name] = *d.Spec.Replicas
				}
			}
			assert.Equal(t, int32(values.LaravelWeb.ReplicaCount), replicas["laravel-web"], "web replicas follow laravelWeb.replicaCount")
			assert.Equal(t, int32(values.LaravelWorker.ReplicaCount), replicas["laravel-worker"], "worker replicas follow laravelWorker.replicaCount")
			assert.Contains(t, replicas, "mysqld-exporter")
			assert.Contains(t, replicas, "redis-exporter")
			assert.Contains(t, kinds(objs), "Service")
		})
	}
}

// examplePolicy is the part of a policy document this test checks against the example's files.
type examplePolicy struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas struct {
			File string `yaml:"file"`
			Path string `yaml:"path"`
		} `yaml:"replicas"`
		Render struct {
			Helm struct {
				Chart       string   `yaml:"chart"`
				ValuesFiles []string `yaml:"valuesFiles"`
			} `yaml:"helm"`
		} `yaml:"render"`
		Metrics []struct {
			Name string `yaml:"name"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

// examplePolicies reads every policy document under examples/, keyed by "file#name".
func examplePolicies(t *testing.T) map[string]examplePolicy {
	t.Helper()
	out := map[string]examplePolicy{}
	err := filepath.WalkDir("../examples", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.ToSlash(path), "/policies/") ||
			!(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for {
			var p examplePolicy
			err := dec.Decode(&p)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			out[path+"#"+p.Metadata.Name] = p
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func TestExamplePoliciesAreWellFormed(t *testing.T) {
	policies := examplePolicies(t)
	require.GreaterOrEqual(t, len(policies), 3, "web and queue policies for the example")
	targets := map[string]string{}
	for id, p := range policies {
		t.Run(id, func(t *testing.T) {
			assert.Contains(t, []string{policy.APIVersion, policy.LegacyAPIVersion}, p.APIVersion)
			assert.Equal(t, policy.KindPolicy, p.Kind)
			assert.NotEmpty(t, p.Metadata.Name)
			assert.NotEmpty(t, p.Spec.Metrics)

			// Paths are relative to the GitOps repository, which is examples/laravel.
			target := p.Spec.Replicas.File + "#" + p.Spec.Replicas.Path
			assert.NotContains(t, targets, target, "two policies write %s", target)
			targets[target] = id
			raw, err := os.ReadFile(filepath.Join(laravelDir, p.Spec.Replicas.File))
			require.NoError(t, err, "replicas.file")
			var values map[string]any
			require.NoError(t, yaml.Unmarshal(raw, &values))
			var cur any = values
			for _, key := range strings.Split(p.Spec.Replicas.Path, ".") {
				m, ok := cur.(map[string]any)
				require.True(t, ok, "replicas.path %s: %s is not a map", p.Spec.Replicas.Path, key)
				cur = m[key]
			}
			assert.IsType(t, 0, cur, "replicas.path %s holds an integer", p.Spec.Replicas.Path)

			if h := p.Spec.Render.Helm; h.Chart != "" {
				_, err := os.Stat(filepath.Join(laravelDir, h.Chart, "Chart.yaml"))
				assert.NoError(t, err, "render.helm.chart")
				assert.Contains(t, h.ValuesFiles, p.Spec.Replicas.File, "the edited file is rendered")
				for _, f := range h.ValuesFiles {
					_, err := os.Stat(filepath.Join(laravelDir, f))
					assert.NoError(t, err, "render.helm.valuesFiles %s", f)
				}
			}
		})
	}
}

// TestTraceCoversExamplePolicies checks that the demo trace has a series for every metric the
// example policies name: a metric missing from the trace would be "missing" to the decision
// engine and block every scale-down of the demo.
func TestTraceCoversExamplePolicies(t *testing.T) {
	f, err := os.Open(filepath.Join(laravelDir, "trace.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	inTrace := map[string]bool{}
	for _, r := range rows[1:] {
		inTrace[r[1]] = true
	}
	for id, p := range examplePolicies(t) {
		for _, m := range p.Spec.Metrics {
			assert.True(t, inTrace[m.Name], "%s: metric %s has no series in trace.csv", id, m.Name)
		}
	}
}

func TestExampleConfigs(t *testing.T) {
	for _, f := range []string{
		filepath.Join(laravelDir, "autoscaler.yaml"),
		"../examples/jenkins/autoscaler.yaml",
	} {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			var cfg struct {
				APIVersion   string `yaml:"apiVersion"`
				Kind         string `yaml:"kind"`
				Repositories []struct {
					URL      string   `yaml:"url"`
					Policies []string `yaml:"policies"`
				} `yaml:"repositories"`
			}
			require.NoError(t, yaml.Unmarshal(raw, &cfg))
			assert.Equal(t, policy.APIVersion, cfg.APIVersion)
			assert.Equal(t, policy.KindConfig, cfg.Kind)
			require.Len(t, cfg.Repositories, 1)
			assert.NotEmpty(t, cfg.Repositories[0].URL)
			// The globs find the example's policies in a repository laid out as examples/laravel.
			matches, err := filepath.Glob(filepath.Join(laravelDir, cfg.Repositories[0].Policies[0]))
			require.NoError(t, err)
			assert.NotEmpty(t, matches, "policies glob %s", cfg.Repositories[0].Policies[0])
		})
	}
}

// TestExamplePoliciesValidate runs the product's own loader and validator over the example: the
// policies decode strictly and validate, and as a set they fit the demo's service config (no
// duplicate IDs, no two policies on one target, only known Prometheus servers).
func TestExamplePoliciesValidate(t *testing.T) {
	policies, err := policy.LoadPolicyFiles(filepath.Join(laravelDir, "policies"))
	require.NoError(t, err)
	assert.Len(t, policies, len(examplePolicies(t)))

	for _, f := range []string{filepath.Join(laravelDir, "autoscaler.yaml"), "../examples/jenkins/autoscaler.yaml"} {
		t.Run(filepath.Base(filepath.Dir(f)), func(t *testing.T) {
			cfg, err := svcconfig.LoadConfigFile(f)
			require.NoError(t, err)
			assert.NoError(t, policy.ValidateSet(cfg, policies))
			// The owners the config declares let every example policy write its target.
			_, refused := policy.CheckRepoSet(cfg, policies, policy.RepoView{Repository: &cfg.Repositories[0],
				Document: func(p *policy.Policy) string {
					rel, err := filepath.Rel(laravelDir, p.Source.File)
					require.NoError(t, err)
					return filepath.ToSlash(rel)
				}})
			assert.Empty(t, refused)
		})
	}
}

// TestExamplePolicyTargetsRender renders each example policy's chart the way the autoscaler's
// verification step does (render.Render, rooted at the example's repository) and checks that
// the policy's target workload is there with the replica count its replicas.file holds — so
// the commit-time check can find the workload, and no HPA competes for it.
func TestExamplePolicyTargetsRender(t *testing.T) {
	policies, err := policy.LoadPolicyFiles(filepath.Join(laravelDir, "policies"))
	require.NoError(t, err)
	root, err := filepath.Abs(laravelDir)
	require.NoError(t, err)
	rendered := 0
	for _, p := range policies {
		if p.Spec.Render == nil || p.Spec.Render.Helm == nil {
			continue
		}
		rendered++
		t.Run(p.ID(), func(t *testing.T) {
			objs, err := render.Render(t.Context(), render.Request{Root: root, Helm: p.Spec.Render.Helm})
			require.NoError(t, err)

			raw, err := os.ReadFile(filepath.Join(root, p.Spec.Replicas.File))
			require.NoError(t, err)
			var values map[string]any
			require.NoError(t, yaml.Unmarshal(raw, &values))
			want := values
			keys := strings.Split(p.Spec.Replicas.Path, ".")
			for _, k := range keys[:len(keys)-1] {
				want, _ = want[k].(map[string]any)
			}

			var found *render.Object
			for i, o := range objs {
				assert.Nil(t, o.HPATarget, "no HPA or ScaledObject in the example (%s)", o)
				if o.Kind == p.Spec.TargetRef.Kind && o.Name == p.Spec.TargetRef.Name {
					found = &objs[i]
				}
			}
			require.NotNil(t, found, "target %s/%s rendered", p.Spec.TargetRef.Kind, p.Spec.TargetRef.Name)
			require.NotNil(t, found.Replicas)
			assert.Equal(t, want[keys[len(keys)-1]], *found.Replicas)
		})
	}
	assert.Positive(t, rendered, "some example policy verifies by rendering")
}
