package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func TestImportHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"import", "--help"}, &stdout, &stderr)
	assert.Equal(t, exitOK, code)
	for _, want := range []string{"--adapter-config", "--repo", "-o DIR", "ScaledObject", "HorizontalPodAutoscaler", "autoscaler.laravel.app", "handover", "Example:"} {
		assert.Contains(t, stdout.String(), want)
	}
}

// TestImportIntoRepo imports a ScaledObject for the Laravel example's web Deployment and finds
// its replica count in the repository by rendering the chart as the Argo CD Application does.
func TestImportIntoRepo(t *testing.T) {
	repo := t.TempDir()
	require.NoError(t, os.CopyFS(repo, os.DirFS("../../examples/laravel")))
	app, err := os.ReadFile("../../deploy/argocd/laravel-prod.yaml")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "argocd"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "argocd", "laravel-prod.yaml"), app, 0o644))

	manifests := filepath.Join(t.TempDir(), "cluster.yaml")
	require.NoError(t, os.WriteFile(manifests, []byte(`apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: laravel-web, namespace: laravel-demo}
spec:
  scaleTargetRef: {name: laravel-web}
  minReplicaCount: 3
  maxReplicaCount: 12
  triggers:
    - type: prometheus
      name: http_rps
      metadata: {serverAddress: "http://prometheus.monitoring:9090", query: "sum(rate(http_requests_total[2m]))", threshold: "150"}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: broken, namespace: laravel-demo}
spec:
  scaleTargetRef: {name: laravel-worker}
  triggers: [{type: kafka, metadata: {topic: jobs}}]
`), 0o644))
	out := filepath.Join(t.TempDir(), "policies")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"import", manifests, "--repo", repo, "-o", out}, &stdout, &stderr)
	assert.Equal(t, exitUsage, code, "one document could not be translated: %s", stderr.String())
	assert.Contains(t, stderr.String(), `spec.triggers[0]: trigger type "kafka" not translated`)
	assert.Contains(t, stderr.String(), "handover: kubectl delete scaledobject laravel-web -n laravel-demo")

	data, err := os.ReadFile(filepath.Join(out, "laravel-demo-laravel-web.yaml"))
	require.NoError(t, err, "the good document is written all the same")
	ps, err := policy.LoadPolicies("laravel-web.yaml", data)
	require.NoError(t, err)
	require.Len(t, ps, 1)
	p := ps[0]
	assert.Equal(t, &policy.ReplicasLocation{File: "envs/prod/laravel-web/values.yaml", Path: "laravelWeb.replicaCount"}, p.Spec.Replicas)
	require.NotNil(t, p.Spec.Render)
	require.NotNil(t, p.Spec.Render.Helm)
	assert.Equal(t, "laravel", p.Spec.Render.Helm.ReleaseName)
	assert.Equal(t, policy.ModeDryRun, p.Spec.Mode)
	require.NotNil(t, p.Spec.Shadow)
	assert.Contains(t, p.Spec.Shadow.PromQL, `horizontalpodautoscaler="keda-hpa-laravel-web"`)
	_, err = os.Stat(filepath.Join(out, "laravel-demo-broken.yaml"))
	assert.True(t, os.IsNotExist(err), "nothing is written for the broken document")
}
