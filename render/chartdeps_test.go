package render

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	helmrepo "helm.sh/helm/v3/pkg/repo"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// depRepo is a Helm repository served from a temporary directory holding plain 0.2.0 and
// the common library chart 0.1.0, with the index.yaml the SDK builds.
func depRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	packageChart(t, dir, "0.2.0", 0)
	common, err := loader.LoadDir(filepath.Join("testdata", "repo", "charts", "withlib", "charts", "common"))
	require.NoError(t, err)
	_, err = chartutil.Save(common, dir)
	require.NoError(t, err)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	idx, err := helmrepo.IndexDirectory(dir, srv.URL)
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644))
	return srv.URL
}

// pushCommon pushes the common library chart to the registry as charts/common:0.1.0.
func pushCommon(t *testing.T, reg *ociRegistry) {
	t.Helper()
	common, err := loader.LoadDir(filepath.Join("testdata", "repo", "charts", "withlib", "charts", "common"))
	require.NoError(t, err)
	file, err := chartutil.Save(common, t.TempDir())
	require.NoError(t, err)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	_, err = reg.client.Push(data, reg.host+"/charts/common:0.1.0", registry.PushOptStrictMode(false))
	require.NoError(t, err)
}

// lockedChart writes the shopfront chart of testdata/lockdeps into a repository with its
// dependencies' repositories filled in and a Chart.lock as `helm dependency update` writes it
// (digest included; stale makes it out of sync). vendor lists dependencies to vendor as
// archives in charts/.
func lockedChart(t *testing.T, plainRepo, commonRepo string, stale bool, vendor map[string][]byte) string {
	t.Helper()
	src := filepath.Join("testdata", "lockdeps", "shopfront")
	files := map[string]string{}
	for _, f := range []string{"Chart.yaml", "values.yaml", "templates/worker.yaml"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		files["charts/shopfront/"+f] = strings.NewReplacer("PLAIN_REPOSITORY", plainRepo, "COMMON_REPOSITORY", commonRepo).Replace(string(data))
	}
	var meta chart.Metadata
	require.NoError(t, sigsyaml.Unmarshal([]byte(files["charts/shopfront/Chart.yaml"]), &meta))
	lock := &chart.Lock{Dependencies: []*chart.Dependency{
		{Name: "plain", Version: "0.2.0", Repository: plainRepo},
		{Name: "common", Version: "0.1.0", Repository: commonRepo},
	}}
	req := meta.Dependencies
	if stale {
		req = append([]*chart.Dependency{{Name: "old", Version: "1.0.0", Repository: plainRepo}}, req...)
	}
	var err error
	lock.Digest, err = hashReq(req, lock.Dependencies)
	require.NoError(t, err)
	data, err := sigsyaml.Marshal(lock)
	require.NoError(t, err)
	files["charts/shopfront/Chart.lock"] = string(data)
	root := remoteGitRepo(t, files)
	for name, archive := range vendor {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "charts", "shopfront", "charts"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, "charts", "shopfront", "charts", name), archive, 0o644))
	}
	return root
}

// TestLockedDependencies verifies an edit of a chart of our own whose dependency (plain) and
// library chart (common) are locked in Chart.lock but not vendored: they are pulled from a
// Helm repository and an OCI registry (docker-registry) as `helm dependency build` would pull
// them, the render uses them, and the commit's summary names what was pulled. A lock out of
// sync with Chart.yaml, or a render without the chart cache, is refused.
func TestLockedDependencies(t *testing.T) {
	helmURL := depRepo(t)
	reg := startRegistry(t)
	pushCommon(t, reg)
	ociURL := "oci://" + reg.host + "/charts"
	repos := []svcconfig.ChartRepository{{URL: ociURL, Username: registryUser, PasswordFile: writeSecret(t, registryPassword), PlainHTTP: true}}
	plainArchive, err := os.ReadFile(packageChart(t, t.TempDir(), "0.2.0", 0))
	require.NoError(t, err)
	tests := []struct {
		name     string
		root     func(t *testing.T) string
		noCache  bool
		summary  string // a regexp
		contains string // the refusal
	}{
		{
			name:    "plain from a Helm repository, the library from an OCI registry",
			root:    func(t *testing.T) string { return lockedChart(t, helmURL, ociURL, false, nil) },
			summary: `^rendered Deployment shop/web-web: spec\.replicas 4 → 6 \(pulled chart oci://127\.0\.0\.1:\d+/charts/common 0\.1\.0 → version 0\.1\.0, sha256:[0-9a-f]{64}; pulled chart plain 0\.2\.0 from http://127\.0\.0\.1:\d+ → version 0\.2\.0, sha256:[0-9a-f]{64}\)$`,
		},
		{
			name:    "plain from an OCI registry (pushed by startRegistry), the library from a Helm repository",
			root:    func(t *testing.T) string { return lockedChart(t, ociURL, helmURL, false, nil) },
			summary: `oci://127\.0\.0\.1:\d+/charts/plain 0\.2\.0 → version 0\.2\.0, sha256:[0-9a-f]{64}`,
		},
		{
			name: "a vendored dependency is not pulled",
			root: func(t *testing.T) string {
				return lockedChart(t, helmURL, ociURL, false, map[string][]byte{"plain-0.2.0.tgz": plainArchive})
			},
			summary: `^rendered Deployment shop/web-web: spec\.replicas 4 → 6 \(pulled chart oci://127\.0\.0\.1:\d+/charts/common 0\.1\.0 → version 0\.1\.0, sha256:[0-9a-f]{64}\)$`,
		},
		{
			name:     "Chart.lock out of sync with Chart.yaml",
			root:     func(t *testing.T) string { return lockedChart(t, helmURL, ociURL, true, nil) },
			contains: "charts/shopfront: Chart.lock is out of sync with the dependencies of Chart.yaml",
		},
		{
			name:     "no chart cache",
			root:     func(t *testing.T) string { return lockedChart(t, helmURL, ociURL, false, nil) },
			noCache:  true,
			contains: "charts/shopfront: the dependency chart plain 0.2.0 from http://127.0.0.1:",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := VerifyRequest{
				Request: Request{Root: tc.root(t), Helm: &policy.HelmRender{Chart: "charts/shopfront", ReleaseName: "web", Namespace: "shop"}},
				Target:  policy.TargetRef{Kind: "Deployment", Name: "web-web", Namespace: "shop"},
				File:    "charts/shopfront/values.yaml", Path: "plain.replicaCount", Current: 4, Desired: 6,
			}
			data, err := os.ReadFile(filepath.Join(req.Root, req.File))
			require.NoError(t, err)
			req.Content = []byte(strings.Replace(string(data), "replicaCount: 4", "replicaCount: 6", 1))
			if !tc.noCache {
				req.Charts = newTestCharts(t, repos, svcconfig.ChartLimits{})
			}
			v, err := Verify(context.Background(), req)
			if tc.contains != "" {
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, ReasonRenderFailed, ve.Reason)
				require.Contains(t, err.Error(), tc.contains)
				require.NotContains(t, err.Error(), registryPassword)
				return
			}
			require.NoError(t, err)
			require.Regexp(t, tc.summary, v.Summary)
			objs, err := Render(context.Background(), req.Request)
			require.NoError(t, err)
			var names []string
			for _, o := range objs {
				if o.Kind == "Deployment" {
					names = append(names, o.Name)
				}
			}
			require.ElementsMatch(t, []string{"web-web", "web-worker"}, names, "the dependency's and the library's Deployments")
		})
	}
}

// TestLockedDependenciesOfAPulledChart: a remote chart whose archive carries a Chart.lock but
// not the charts it locks (pushed to the registry as `helm package` without `helm dependency
// build` leaves it) gets them pulled too, and the Application's edit is verified.
func TestLockedDependenciesOfAPulledChart(t *testing.T) {
	helmURL := depRepo(t)
	reg := startRegistry(t)
	pushCommon(t, reg)
	ociURL := "oci://" + reg.host + "/charts"
	ch, err := loader.LoadDir(filepath.Join(lockedChart(t, helmURL, ociURL, false, nil), "charts", "shopfront"))
	require.NoError(t, err)
	require.NotNil(t, ch.Lock)
	require.Empty(t, ch.Dependencies(), "nothing vendored")
	file, err := chartutil.Save(ch, t.TempDir())
	require.NoError(t, err)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	_, err = reg.client.Push(data, reg.host+"/charts/shopfront:0.1.0", registry.PushOptStrictMode(false))
	require.NoError(t, err)
	repos := []svcconfig.ChartRepository{{URL: ociURL, Username: registryUser, PasswordFile: writeSecret(t, registryPassword), PlainHTTP: true}}
	files := map[string]string{
		"values/web.yaml": "plain:\n  replicaCount: 4\n",
		"argocd/app.yaml": argoChartApp(ociURL, "shopfront", "0.1.0"),
	}
	req := VerifyRequest{
		Request: Request{Root: remoteGitRepo(t, files), Charts: newTestCharts(t, repos, svcconfig.ChartLimits{}), ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"}},
		Target:  policy.TargetRef{Kind: "Deployment", Name: "web-web", Namespace: "shop"},
		File:    "values/web.yaml", Path: "plain.replicaCount", Current: 4, Desired: 6,
		Content: []byte("plain:\n  replicaCount: 6\n"),
	}
	v, err := Verify(context.Background(), req)
	require.NoError(t, err)
	require.Regexp(t, `^rendered Deployment shop/web-web: spec\.replicas 4 → 6 \(pulled chart oci://127\.0\.0\.1:\d+/charts/common 0\.1\.0 → version 0\.1\.0, sha256:[0-9a-f]{64}; pulled chart oci://127\.0\.0\.1:\d+/charts/shopfront 0\.1\.0 → version 0\.1\.0, sha256:[0-9a-f]{64}; pulled chart plain 0\.2\.0 from http://127\.0\.0\.1:\d+ → version 0\.2\.0, sha256:[0-9a-f]{64}\)$`, v.Summary)
}
