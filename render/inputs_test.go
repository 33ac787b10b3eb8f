package render

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// TestInputs: what a policy's render reads, for telling whether other commits could have
// changed its render after a push race — and the whole repository when it cannot say less.
func TestInputs(t *testing.T) {
	const head = "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: PrometheusAutoscaler\nmetadata: {name: web}\nspec:\n" +
		"  targetRef: {kind: Deployment, name: shop-web}\n  maxReplicas: 5\n  metrics: [{name: rps, promQL: 'sum(rate(x[1m]))', target: {type: AverageValue, averageValue: 10}}]\n"
	tests := []struct {
		name   string
		policy string
		want   []string
	}{
		{
			name:   "no render",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n",
			want:   nil,
		},
		{
			name:   "a chart and a values file",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {helm: {chart: charts/pdb, valuesFiles: [envs/prod/shop/values.yaml]}}\n",
			want:   []string{"charts/pdb", "charts/pdb/Chart.yaml", "envs/prod/shop/values.yaml"},
		},
		{
			name:   "an Argo CD Application",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/shop.yaml}}\n",
			want: []string{"argocd/shop.yaml", "charts/pdb", "charts/pdb/.argocd-source-shop.yaml", "charts/pdb/.argocd-source.yaml",
				"charts/pdb/Chart.yaml", "envs/prod/shop/values.yaml"},
		},
		{
			name:   "an Application an ApplicationSet generates",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {applicationSet: argocd/appset.yaml, name: shop}}\n",
			want: []string{"argocd/appset.yaml", "charts/pdb", "charts/pdb/.argocd-source-shop.yaml", "charts/pdb/.argocd-source.yaml",
				"charts/pdb/Chart.yaml", "envs/prod/shop/values.yaml"},
		},
		{
			name:   "a Flux HelmRelease",
			policy: head + "  replicas: {file: flux/shop.yaml, path: spec.values.replicaCount}\n  render: {flux: {helmRelease: flux/shop.yaml}}\n",
			want:   []string{"charts/pdb", "charts/pdb/Chart.yaml", "charts/pdb/values.yaml", "envs/prod/shop/flux.yaml", "flux/shop.yaml"},
		},
		{
			name:   "an Application that is not there",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/nope.yaml}}\n",
			want:   []string{Everything},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := policy.LoadPolicies("p.yaml", []byte(tc.policy))
			require.NoError(t, err)
			require.Len(t, ps, 1)
			assert.Equal(t, tc.want, Inputs(testRepo, nil, ps[0]))
		})
	}
}

// TestInputsSaysEverythingWhenAChartMayReadBeyondItsDirectory: a local dependency or a
// symlink may lead anywhere in the repository.
func TestInputsSaysEverythingWhenAChartMayReadBeyondItsDirectory(t *testing.T) {
	const p = "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: PrometheusAutoscaler\nmetadata: {name: web}\nspec:\n" +
		"  targetRef: {kind: Deployment, name: web}\n  maxReplicas: 5\n  metrics: [{name: rps, promQL: 'sum(rate(x[1m]))', target: {type: AverageValue, averageValue: 10}}]\n" +
		"  replicas: {file: charts/web/values.yaml, path: replicaCount}\n  render: {helm: {chart: charts/web}}\n"
	tests := []struct {
		name  string
		setup func(t *testing.T, chart string)
		want  []string
	}{
		{name: "a plain chart", setup: func(*testing.T, string) {}, want: []string{"charts/web", "charts/web/Chart.yaml"}},
		{
			name: "a local dependency",
			setup: func(t *testing.T, chart string) {
				require.NoError(t, os.WriteFile(filepath.Join(chart, "Chart.yaml"),
					[]byte("apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n  - {name: common, version: 1.0.0, repository: \"file://../common\"}\n"), 0o644))
			},
			want: []string{Everything},
		},
		{
			name: "a symlink in the chart",
			setup: func(t *testing.T, chart string) {
				require.NoError(t, os.Symlink("../../shared/_helpers.tpl", filepath.Join(chart, "templates", "_helpers.tpl")))
			},
			want: []string{Everything},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			chart := filepath.Join(root, "charts", "web")
			require.NoError(t, os.MkdirAll(filepath.Join(chart, "templates"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(chart, "Chart.yaml"), []byte("apiVersion: v2\nname: web\nversion: 1.0.0\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(chart, "values.yaml"), []byte("replicaCount: 2\n"), 0o644))
			tc.setup(t, chart)
			ps, err := policy.LoadPolicies("p.yaml", []byte(p))
			require.NoError(t, err)
			assert.Equal(t, tc.want, Inputs(root, nil, ps[0]))
		})
	}
}
