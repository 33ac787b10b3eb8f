package render

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func TestCheckPolicy(t *testing.T) {
	const head = "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: PrometheusAutoscaler\nmetadata: {name: web}\nspec:\n" +
		"  targetRef: {kind: Deployment, name: shop-web}\n  maxReplicas: 5\n  metrics: [{name: rps, promQL: 'sum(rate(x[1m]))', target: {type: AverageValue, averageValue: 10}}]\n"
	tests := []struct {
		name   string
		policy string
		want   string // "" when the policy checks out
	}{
		{
			name:   "a values file of the Application",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/shop.yaml}}\n",
		},
		{
			name:   "the Application itself",
			policy: head + "  replicas: {file: argocd/shop.yaml, path: 'spec.sources[0].helm.valuesObject.replicaCount'}\n  render: {argocd: {application: argocd/shop.yaml}}\n",
		},
		{
			name:   "a file the Application does not read",
			policy: head + "  replicas: {file: envs/prod/shop/flux.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/shop.yaml}}\n",
			want:   "p.yaml:8: spec.replicas.file: envs/prod/shop/flux.yaml is not among the files the render reads (helm chart charts/pdb reads the chart's values.yaml, envs/prod/shop/values.yaml, argocd/shop.yaml spec.sources[0].helm.valuesObject): an edit of it cannot reach the workload",
		},
		{
			name:   "a values file of an Application an ApplicationSet generates",
			policy: head + "  replicas: {file: envs/prod/web/values.yaml, path: replicaCount}\n  render: {argocd: {applicationSet: argocd/appset.yaml, name: web}}\n",
		},
		{
			name:   "a values file of another Application of the ApplicationSet",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {applicationSet: argocd/appset.yaml, name: web}}\n",
			want:   "p.yaml:8: spec.replicas.file: envs/prod/shop/values.yaml is not among the files the render reads (helm chart charts/pdb reads the chart's values.yaml, envs/prod/web/values.yaml): an edit of it cannot reach the workload",
		},
		{
			name:   "a name the ApplicationSet does not generate",
			policy: head + "  replicas: {file: envs/prod/web/values.yaml, path: replicaCount}\n  render: {argocd: {applicationSet: argocd/appset.yaml, name: api}}\n",
			want:   `p.yaml:9: spec.render.argocd.applicationSet: the ApplicationSet of argocd/appset.yaml generates no Application "api" (it generates shop, web)`,
		},
		{
			name:   "the HelmRelease and its values files",
			policy: head + "  replicas: {file: flux/shop.yaml, path: spec.values.replicaCount}\n  render: {flux: {helmRelease: flux/shop.yaml}}\n",
		},
		{
			name:   "a chart's values.yaml that Flux's valuesFiles replace",
			policy: head + "  replicas: {file: charts/testhook/values.yaml, path: replicaCount}\n  render: {flux: {helmRelease: flux/shop.yaml}}\n",
			want:   "spec.replicas.file: charts/testhook/values.yaml is not among the files the render reads (helm chart charts/pdb reads charts/pdb/values.yaml, envs/prod/shop/flux.yaml, flux/shop.yaml spec.values)",
		},
		{
			name:   "a values file the policy's helm block leaves out",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {helm: {chart: charts/pdb}}\n",
			want:   "spec.replicas.file: envs/prod/shop/values.yaml is not among the files the render reads (helm chart charts/pdb reads the chart's values.yaml)",
		},
		{
			name:   "a kustomization of the Application's graph",
			policy: head + "  replicas: {file: kustomize/base/deployment.yaml, path: spec.replicas}\n  render: {argocd: {application: argocd/environments.yaml, name: laravel-prod}}\n",
		},
		{
			name:   "an absolute value file path of the Application, whose parameter overrides the key (the override check)",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/shop-pinned.yaml}}\n",
			want:   "p.yaml:8: spec.replicas.path: override check (KeyOverridden): argocd/shop-pinned.yaml spec.source.helm.parameters[0] (replicaCount) comes after envs/prod/shop/values.yaml and sets replicaCount: 2, so a commit to envs/prod/shop/values.yaml would change nothing",
		},
		{
			name:   "a values file under a HelmRelease's spec.values that sets the key (the override check)",
			policy: head + "  replicas: {file: envs/prod/shop/flux.yaml, path: replicaCount}\n  render: {flux: {helmRelease: flux/shop.yaml}}\n",
			want:   "p.yaml:8: spec.replicas.path: override check (KeyOverridden): flux/shop.yaml spec.values comes after envs/prod/shop/flux.yaml and sets replicaCount: 2, so a commit to envs/prod/shop/flux.yaml would change nothing",
		},
		{
			name:   "a key nothing later sets passes the override check",
			policy: head + "  replicas: {file: envs/prod/shop/flux.yaml, path: worker.replicaCount}\n  render: {flux: {helmRelease: flux/shop.yaml}}\n",
		},
		{
			name:   "a values file of an Application with a remote chart",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/remote-chart.yaml}}\n",
		},
		{
			name:   "a file an Application with a remote chart does not read",
			policy: head + "  replicas: {file: envs/prod/shop/flux.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/remote-chart.yaml}}\n",
			want:   "p.yaml:8: spec.replicas.file: envs/prod/shop/flux.yaml is not among the files the render reads (helm chart shop >=1.2.0 <2.0.0 from https://charts.example.com reads the pulled chart's values.yaml, envs/prod/shop/values.yaml)",
		},
		{
			name:   "an Application that is not there",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {argocd: {application: argocd/nope.yaml}}\n",
			want:   "p.yaml:9: spec.render.argocd.application: read argocd/nope.yaml: no such file or directory",
		},
		{
			name:   "two Applications in the file",
			policy: head + "  replicas: {file: kustomize/prod/kustomization.yaml, path: 'replicas[name=laravel-web].count'}\n  render: {argocd: {application: argocd/environments.yaml}}\n",
			want:   "spec.render.argocd.application: argocd/environments.yaml holds 2 objects of kind Application; name one in spec.render.argocd.name",
		},
		{
			name:   "a chart path that is no chart",
			policy: head + "  replicas: {file: envs/prod/shop/values.yaml, path: replicaCount}\n  render: {helm: {chart: envs/prod, valuesFiles: [envs/prod/shop/values.yaml]}}\n",
			want:   "p.yaml:9: spec.render.helm.chart: envs/prod has no Chart.yaml: it is not a chart",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := policy.LoadPolicies("p.yaml", []byte(tc.policy))
			require.NoError(t, err)
			require.Len(t, ps, 1)
			err = CheckPolicy(testRepo, nil, ps[0])
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var fe *policy.FieldError
			assert.True(t, errors.As(err, &fe))
		})
	}
}
