package locate

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// laravelRepo is the Laravel example laid out as a GitOps repository, with the Argo CD
// Application that syncs its production environment when withApp is set.
func laravelRepo(t *testing.T, withApp bool) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../examples/laravel")))
	if withApp {
		app, err := os.ReadFile("../../deploy/argocd/laravel-prod.yaml")
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "argocd"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "argocd", "laravel-prod.yaml"), app, 0o644))
	}
	return dir
}

func TestFind(t *testing.T) {
	web := policy.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "laravel-web", Namespace: "laravel-demo"}
	cases := []struct {
		name   string
		root   string
		target policy.TargetRef
		want   policy.ReplicasLocation
		render *policy.Render
	}{
		{
			name:   "argo-cd-application",
			root:   laravelRepo(t, true),
			target: web,
			want:   policy.ReplicasLocation{File: "envs/prod/laravel-web/values.yaml", Path: "laravelWeb.replicaCount"},
			render: &policy.Render{Helm: &policy.HelmRender{
				Chart:       "chart",
				ValuesFiles: []string{"envs/prod/values.yaml", "envs/prod/laravel-web/values.yaml", "envs/prod/laravel-worker/values.yaml"},
				ReleaseName: "laravel", Namespace: "laravel-demo",
			}},
		},
		{
			name:   "chart-and-a-values-file",
			root:   laravelRepo(t, false),
			target: policy.TargetRef{Kind: "Deployment", Name: "laravel-worker", Namespace: "laravel-staging"},
			// Without an Application, the first values file (in path order) that reaches it.
			want:   policy.ReplicasLocation{File: "envs/prod/laravel-worker/values.yaml", Path: "laravelWorker.replicaCount"},
			render: &policy.Render{Helm: &policy.HelmRender{Chart: "chart", ValuesFiles: []string{"envs/prod/laravel-worker/values.yaml"}, Namespace: "laravel-staging"}},
		},
		{
			name:   "kustomization-replicas",
			root:   "testdata/repo",
			target: policy.TargetRef{Kind: "Deployment", Name: "shop-web", Namespace: "shop"},
			want:   policy.ReplicasLocation{File: "kustomize/prod/kustomization.yaml", Path: "replicas[name=shop-web].count"},
			render: &policy.Render{Kustomize: &policy.KustomizeRender{Dir: "kustomize/prod"}},
		},
		{
			name:   "manifest-document",
			root:   "testdata/repo",
			target: policy.TargetRef{Kind: "StatefulSet", Name: "api", Namespace: "shop"},
			want:   policy.ReplicasLocation{File: "manifests/api.yaml", Path: "spec.replicas", Document: &policy.DocumentSelector{Kind: "StatefulSet", Name: "api"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Find(context.Background(), tc.root, tc.target)
			require.NoError(t, err)
			assert.Equal(t, tc.want, f.Replicas)
			assert.Equal(t, tc.render, f.Render)
			assert.NotEmpty(t, f.How)
		})
	}
}

func TestFindNothing(t *testing.T) {
	_, err := Find(context.Background(), "testdata/repo", policy.TargetRef{Kind: "Deployment", Name: "nowhere", Namespace: "shop"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no file of testdata/repo sets the replicas of Deployment shop/nowhere")
}
