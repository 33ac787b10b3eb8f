package render

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/charttest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// plainWithEnvValues is the testdata chart plain at 0.3.0 with two value files of its own, as
// charts ship them for environments: values-prod.yaml (replicaCount 6) and
// values-small.yaml (replicaCount 1, no other key).
func plainWithEnvValues(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.LoadDir(filepath.Join("testdata", "repo", "charts", "plain"))
	require.NoError(t, err)
	ch.Metadata.Version = "0.3.0"
	ch.Files = append(ch.Files,
		&chart.File{Name: "values-prod.yaml", Data: []byte("replicaCount: 6\nenv: {APP_ENV: prod}\n")},
		&chart.File{Name: "envs/values-small.yaml", Data: []byte("replicaCount: 1\n")})
	return ch
}

// TestRemoteChartValueFiles: value files inside a pulled chart are read as the controllers
// read them — Argo CD's valueFiles relative to the chart's root, in their place among the
// $values files; Flux's valuesFiles of a HelmRepository chart merged to replace the chart's
// values.yaml, below spec.values — from the Helm repository and from docker-registry. Paths
// that leave the chart, patterns and URLs are refused with file, line and field.
func TestRemoteChartValueFiles(t *testing.T) {
	helm := charttest.StartHelmRepo(t, charttest.Options{}, plainWithEnvValues(t))
	reg := charttest.StartRegistry(t, charttest.Options{})
	reg.Push(t, "charts", plainWithEnvValues(t), "")
	ociURL := "oci://" + reg.Host + "/charts"
	regRepos := []svcconfig.ChartRepository{{URL: ociURL, PlainHTTP: true}}
	argo := func(repoURL, valueFiles string) string {
		return strings.Replace(argoChartApp(repoURL, "plain", "0.3.0"), "[$values/values/web.yaml]", valueFiles, 1)
	}
	flux := func(valuesFiles, values string) string {
		return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: shop}
spec: {url: %s}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: shop}
spec:
  chart:
    spec:
      chart: plain
      version: 0.3.0
      sourceRef: {kind: HelmRepository, name: charts}
      valuesFiles: %s
%s`, helm.URL, valuesFiles, values)
	}
	tests := []struct {
		name     string
		app      string // argocd/app.yaml
		hr       string // flux/hr.yaml, instead
		repos    []svcconfig.ChartRepository
		replicas int
		env      string // the ConfigMap's APP_ENV
		wantErr  string
	}{
		{name: "argo: the chart's file, then the Git file wins", app: argo(helm.URL, "[values-prod.yaml, $values/values/web.yaml]"), replicas: 4, env: "prod"},
		{name: "argo: the Git file, then the chart's file wins", app: argo(helm.URL, "[$values/values/web.yaml, values-prod.yaml]"), replicas: 6, env: "prod"},
		{name: "argo: a file in a folder of the chart, a leading / is the chart's root", app: argo(helm.URL, "[/envs/values-small.yaml]"), replicas: 1, env: "production"},
		{name: "argo oci: the chart's file", app: argo(ociURL, "[$values/values/web.yaml, values-prod.yaml]"), repos: regRepos, replicas: 6, env: "prod"},
		{
			name: "argo: a missing file of the chart", app: argo(helm.URL, "[$values/values/web.yaml, values-gone.yaml]"),
			wantErr: "argocd/app.yaml:12: spec.sources[0].helm.valueFiles[1]: values-gone.yaml is not a file of the pulled chart plain 0.3.0 from " + helm.URL + " (set ignoreMissingValueFiles",
		},
		{
			name: "argo: a missing file of the chart, ignored", app: strings.Replace(argo(helm.URL, "[$values/values/web.yaml, values-gone.yaml]"), "      helm:\n", "      helm:\n        ignoreMissingValueFiles: true\n", 1),
			replicas: 4, env: "production",
		},
		{
			name: "argo: a path that leaves the chart", app: argo(helm.URL, "[../values-prod.yaml]"),
			wantErr: "argocd/app.yaml:12: spec.sources[0].helm.valueFiles[0]: ../values-prod.yaml leaves the pulled chart plain",
		},
		{
			name: "argo: a file whose name starts with two dots is inside the chart", app: argo(helm.URL, "[..values.yaml]"),
			wantErr: "argocd/app.yaml:12: spec.sources[0].helm.valueFiles[0]: ..values.yaml is not a file of the pulled chart plain",
		},
		{
			name: "argo: a pattern over the chart's files", app: argo(helm.URL, "['values-*.yaml']"),
			wantErr: "argocd/app.yaml:12: spec.sources[0].helm.valueFiles[0]: values-*.yaml is a pattern over the files of the pulled chart plain",
		},
		{
			name: "argo: a URL", app: argo(helm.URL, "['https://example.com/values.yaml']"),
			wantErr: "argocd/app.yaml:12: spec.sources[0].helm.valueFiles[0]: https://example.com/values.yaml is a URL",
		},
		{name: "flux: valuesFiles replace values.yaml, spec.values win", hr: flux("[values.yaml, values-prod.yaml]", "  values:\n    replicaCount: 5\n"), replicas: 5, env: "prod"},
		{
			// source-controller: the merged files replace values.yaml, which is not read unless
			// listed, so the chart's service.port is missing.
			name: "flux: valuesFiles without values.yaml drop the chart's defaults", hr: flux("[values-prod.yaml]", ""),
			wantErr: "<.Values.service.port>: nil pointer evaluating interface {}.port",
		},
		{name: "flux: valuesFiles alone", hr: flux("[values.yaml, envs/values-small.yaml]", ""), replicas: 1, env: "production"},
		{
			name: "flux: a missing file of the chart", hr: flux("[values.yaml, values-gone.yaml]", ""),
			wantErr: "flux/hr.yaml:15: spec.chart.spec.valuesFiles[1]: values-gone.yaml is not a file of the pulled chart plain 0.3.0 from " + helm.URL + " (set ignoreMissingValuesFiles",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"values/web.yaml": "replicaCount: 4\n"}
			req := Request{Charts: newTestCharts(t, tc.repos, svcconfig.ChartLimits{})}
			if tc.hr != "" {
				files["flux/hr.yaml"] = tc.hr
				req.Flux = &policy.FluxRender{HelmRelease: "flux/hr.yaml"}
			} else {
				files["argocd/app.yaml"] = tc.app
				req.ArgoCD = &policy.ArgoCDRender{Application: "argocd/app.yaml"}
			}
			req.Root = remoteGitRepo(t, files)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			objs, err := Render(ctx, req)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			replicas, label := deploymentOf(t, objs)
			require.Equal(t, tc.replicas, replicas)
			require.Equal(t, "plain-0.3.0", label)
			env := ""
			for _, o := range objs {
				if o.Kind == "ConfigMap" {
					data, _ := o.Raw["data"].(map[string]any)
					env, _ = data["APP_ENV"].(string)
				}
			}
			require.Equal(t, tc.env, env)
		})
	}
}

// TestVerifyRemoteChartValueFile: a value file of the pulled chart after the edited Git file
// that sets the key is refused as KeyOverridden, naming the chart's file and the field that
// names it; before the Git file it is verified and committed.
func TestVerifyRemoteChartValueFile(t *testing.T) {
	helm := charttest.StartHelmRepo(t, charttest.Options{}, plainWithEnvValues(t))
	tests := []struct {
		name, valueFiles string
		reason, message  string
	}{
		{name: "the Git file last: verified", valueFiles: "[values-prod.yaml, $values/values/web.yaml]"},
		{
			name: "the chart's file last: overridden", valueFiles: "[$values/values/web.yaml, values-prod.yaml]",
			reason:  ReasonKeyOverridden,
			message: "it is overridden: values-prod.yaml of the pulled chart plain (argocd/app.yaml spec.sources[0].helm.valueFiles[1]) comes after values/web.yaml and sets replicaCount: 6",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				"values/web.yaml": "replicaCount: 4\n",
				"argocd/app.yaml": strings.Replace(argoChartApp(helm.URL, "plain", "0.3.0"), "[$values/values/web.yaml]", tc.valueFiles, 1),
			}
			v, err := Verify(context.Background(), VerifyRequest{
				Request: Request{Root: remoteGitRepo(t, files), Charts: newTestCharts(t, nil, svcconfig.ChartLimits{}),
					ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"}},
				Target: policy.TargetRef{Kind: "Deployment", Name: "web-web", Namespace: "shop"},
				File:   "values/web.yaml", Path: "replicaCount", Current: 4, Desired: 5,
				Content: []byte("replicaCount: 5\n"),
			})
			if tc.reason != "" {
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.reason, ve.Reason, err.Error())
				require.Contains(t, err.Error(), tc.message)
				return
			}
			require.NoError(t, err)
			require.Contains(t, v.Summary, "rendered Deployment shop/web-web: spec.replicas 4 → 5 (pulled chart plain 0.3.0 from "+helm.URL)
		})
	}
}
