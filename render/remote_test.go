package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	helmrepo "helm.sh/helm/v3/pkg/repo"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/charttest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// The remote chart tests run against real servers: a Helm repository is static files — the
// archives `helm package` makes (chartutil.Save) and the index.yaml the SDK builds
// (repo.IndexDirectory) — served by net/http, and an OCI registry is Debian's docker-registry
// (the CNCF distribution registry) started on a free loopback port, with basic auth, charts
// pushed to it with the SDK's registry client.

const (
	registryUser     = "puller"
	registryPassword = "s3cret-Registry-Pa55"
	repoPassword     = "s3cret-Repo-Pa55"
)

// chartRepoServer is a Helm repository over HTTP: /public/ is open, /private/ needs basic
// auth (puller, repoPassword). It counts the requests of each path.
type chartRepoServer struct {
	srv *httptest.Server
	mu  sync.Mutex
	hit map[string]int
}

func (s *chartRepoServer) hits(p string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hit[p]
}

// packageChart packages the testdata chart charts/plain at a version, as `helm package`, into
// dir; extra adds a file of incompressible bytes of that size and names the chart big (a
// chart too big to pull).
func packageChart(t testing.TB, dir, version string, extra int) string {
	t.Helper()
	ch, err := loader.LoadDir(filepath.Join("testdata", "repo", "charts", "plain"))
	require.NoError(t, err)
	ch.Metadata.Version = version
	if extra > 0 {
		blob := make([]byte, extra)
		_, _ = rand.Read(blob)
		ch.Files = append(ch.Files, &chart.File{Name: "blob.bin", Data: blob})
		ch.Metadata.Name = "big"
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	file, err := chartutil.Save(ch, dir)
	require.NoError(t, err)
	return file
}

// startChartRepo builds the two repositories (plain 0.1.0, 0.2.0, 1.0.0 and big 0.1.0 with
// a 3 MiB file) and serves them.
func startChartRepo(t testing.TB) *chartRepoServer {
	t.Helper()
	root := t.TempDir()
	s := &chartRepoServer{hit: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hit[r.URL.Path]++
		s.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/private/") {
			u, p, ok := r.BasicAuth()
			if !ok || u != registryUser || p != repoPassword {
				w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
				http.Error(w, "401 unauthorized", http.StatusUnauthorized)
				return
			}
		}
		http.FileServer(http.Dir(root)).ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	for _, side := range []string{"public", "private"} {
		dir := filepath.Join(root, side)
		for _, v := range []string{"0.1.0", "0.2.0", "1.0.0"} {
			packageChart(t, dir, v, 0)
		}
		packageChart(t, dir, "0.1.0", 3<<20)
		idx, err := helmrepo.IndexDirectory(dir, s.srv.URL+"/"+side)
		require.NoError(t, err)
		require.NoError(t, idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644))
	}
	return s
}

// ociRegistry is a docker-registry process with basic auth.
type ociRegistry struct {
	host   string // 127.0.0.1:port
	client *registry.Client
}

// push pushes the testdata chart at a version to charts/plain under a tag.
func (r *ociRegistry) push(t testing.TB, version, tag string) {
	t.Helper()
	data, err := os.ReadFile(packageChart(t, t.TempDir(), version, 0))
	require.NoError(t, err)
	_, err = r.client.Push(data, r.host+"/charts/plain:"+tag, registry.PushOptStrictMode(false))
	require.NoError(t, err, "push plain %s as %s", version, tag)
}

// startRegistry starts Debian's docker-registry (internal/testserver/charttest) on a free
// loopback port with htpasswd auth and pushes plain 0.1.0, 0.2.0 and 1.0.0 to charts/plain,
// and big 0.1.0 (with a 3 MiB file) to charts/big, with the SDK's registry client. Without the
// binary the test skips, or fails in CI (CI=true), where integration/install-deps.sh installs
// it.
func startRegistry(t testing.TB) *ociRegistry {
	t.Helper()
	r := charttest.StartRegistry(t, charttest.Options{User: registryUser, Password: registryPassword})
	reg := &ociRegistry{host: r.Host, client: r.Client}
	for _, v := range []string{"0.1.0", "0.2.0", "1.0.0"} {
		reg.push(t, v, v)
	}
	big, err := os.ReadFile(packageChart(t, t.TempDir(), "0.1.0", 3<<20))
	require.NoError(t, err)
	_, err = r.Client.Push(big, r.Host+"/charts/big:0.1.0")
	require.NoError(t, err, "push big")
	return reg
}

// remoteGitRepo writes the GitOps repository of the tests: Argo CD Applications and Flux
// HelmReleases naming the remote charts, and the values file they take from Git.
func remoteGitRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return root
}

// argoChartApp is an Argo CD Application with a remote chart and its values from Git through
// a $values ref (the multi-source setup Argo CD's documentation recommends).
func argoChartApp(repoURL, chartName, revision string) string {
	return fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {namespace: shop}
  sources:
    - repoURL: %s
      chart: %s
      targetRevision: %q
      helm:
        valueFiles: [$values/values/web.yaml]
    - repoURL: https://git.example.com/shop/deploy.git
      targetRevision: main
      ref: values
`, repoURL, chartName, revision)
}

func newTestCharts(t testing.TB, repos []svcconfig.ChartRepository, lim svcconfig.ChartLimits) *Charts {
	t.Helper()
	cs, err := NewCharts(ChartsConfig{Dir: filepath.Join(t.TempDir(), "charts"), Repositories: repos, Limits: lim})
	require.NoError(t, err)
	return cs
}

func writeSecret(t testing.TB, value string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(f, []byte(value+"\n"), 0o600))
	return f
}

// deploymentOf returns the rendered Deployment's replicas and helm.sh/chart label.
func deploymentOf(t testing.TB, objs []Object) (int, string) {
	t.Helper()
	for _, o := range objs {
		if o.Kind == "Deployment" {
			require.NotNil(t, o.Replicas)
			meta, _ := o.Raw["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			label, _ := labels["helm.sh/chart"].(string)
			return *o.Replicas, label
		}
	}
	t.Fatalf("no Deployment rendered among %d objects", len(objs))
	return 0, ""
}

// TestRemoteCharts renders each kind of remote chart source from real servers: the pulled
// chart's version is the one asked for (or the highest a range matches), and the values come
// from the Git repository. Errors name the file, line and field, and never hold a secret.
func TestRemoteCharts(t *testing.T) {
	helmRepo := startChartRepo(t)
	reg := startRegistry(t)
	passFile := writeSecret(t, repoPassword)
	regPassFile := writeSecret(t, registryPassword)
	wrongFile := writeSecret(t, "wrong-Pa55word-xyz")
	good := []svcconfig.ChartRepository{
		{URL: helmRepo.srv.URL + "/private", Username: registryUser, PasswordFile: passFile},
		{URL: "oci://" + reg.host, Username: registryUser, PasswordFile: regPassFile, PlainHTTP: true},
	}
	wrong := []svcconfig.ChartRepository{
		{URL: helmRepo.srv.URL + "/private", Username: registryUser, PasswordFile: wrongFile},
		{URL: "oci://" + reg.host, Username: registryUser, PasswordFile: wrongFile, PlainHTTP: true},
	}
	values := "replicaCount: 4\n"
	fluxSources := fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: shop}
spec: {url: %s/public}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: oci-charts, namespace: shop}
spec: {type: oci, url: "oci://%s/charts", insecure: true}
---
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata: {name: plain, namespace: shop}
spec:
  url: oci://%s/charts/plain
  ref: {semver: ">=0.2.0 <1.0.0"}
`, helmRepo.srv.URL, reg.host, reg.host)
	fluxRelease := func(chartBlock string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: shop}\nspec:\n" + chartBlock + "  values:\n    replicaCount: 5\n"
	}
	tests := []struct {
		name     string
		files    map[string]string
		flux     bool
		repos    []svcconfig.ChartRepository
		lim      svcconfig.ChartLimits
		replicas int
		chart    string // the helm.sh/chart label: name-version
		wantErr  string
	}{
		{
			name:     "pinned",
			files:    map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "plain", "0.2.0")},
			replicas: 4, chart: "plain-0.2.0",
		},
		{
			name:     "range",
			files:    map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "plain", ">=0.1.0 <1.0.0")},
			replicas: 4, chart: "plain-0.2.0",
		},
		{
			name:     "oci pinned",
			files:    map[string]string{"argocd/app.yaml": argoChartApp("oci://"+reg.host+"/charts", "plain", "0.1.0")},
			repos:    good,
			replicas: 4, chart: "plain-0.1.0",
		},
		{
			name:     "oci range",
			files:    map[string]string{"argocd/app.yaml": argoChartApp("oci://"+reg.host+"/charts", "plain", "^0.1")},
			repos:    good,
			replicas: 4, chart: "plain-0.1.0",
		},
		{
			name: "Flux HelmRepository",
			files: map[string]string{"flux/sources.yaml": fluxSources, "flux/hr.yaml": fluxRelease(
				"  chart:\n    spec:\n      chart: plain\n      version: \"0.1.x\"\n      sourceRef: {kind: HelmRepository, name: charts}\n")},
			flux: true, replicas: 5, chart: "plain-0.1.0",
		},
		{
			name: "Flux HelmRepository of type oci",
			files: map[string]string{"flux/sources.yaml": fluxSources, "flux/hr.yaml": fluxRelease(
				"  chart:\n    spec:\n      chart: plain\n      version: \"1.0.0\"\n      sourceRef: {kind: HelmRepository, name: oci-charts}\n")},
			flux: true, repos: good, replicas: 5, chart: "plain-1.0.0",
		},
		{
			name:  "Flux OCIRepository",
			files: map[string]string{"flux/sources.yaml": fluxSources, "flux/hr.yaml": fluxRelease("  chartRef: {kind: OCIRepository, name: plain}\n")},
			flux:  true, repos: good, replicas: 5, chart: "plain-0.2.0",
		},
		{
			name: "Flux chartRef to a HelmChart of a HelmRepository",
			files: map[string]string{"flux/sources.yaml": fluxSources, "flux/hr.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: shop-web, namespace: shop}\n" +
				"spec: {chart: plain, version: \"<1.0.0\", sourceRef: {kind: HelmRepository, name: charts}}\n---\n" + fluxRelease("  chartRef: {kind: HelmChart, name: shop-web}\n")},
			flux: true, replicas: 5, chart: "plain-0.2.0",
		},
		{
			name: "Flux chartRef to a HelmChart of an oci HelmRepository in another file",
			files: map[string]string{"flux/sources.yaml": fluxSources + "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: shop-web, namespace: shop}\n" +
				"spec: {chart: plain, version: 0.1.0, sourceRef: {kind: HelmRepository, name: oci-charts}}\n", "flux/hr.yaml": fluxRelease("  chartRef: {kind: HelmChart, name: shop-web}\n")},
			flux: true, repos: good, replicas: 5, chart: "plain-0.1.0",
		},
		{
			name: "Flux chartRef to a HelmChart whose HelmRepository is not there",
			files: map[string]string{"flux/hr.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: shop-web, namespace: shop}\n" +
				"spec: {chart: plain, version: 0.1.0, sourceRef: {kind: HelmRepository, name: gone}}\n---\n" + fluxRelease("  chartRef: {kind: HelmChart, name: shop-web}\n")},
			flux:    true,
			wantErr: `flux/hr.yaml:4: spec.sourceRef: HelmRepository gone (namespace "shop") is not in this repository`,
		},
		{
			name: "Flux chartRef to a HelmChart with a values file the pulled chart does not have",
			files: map[string]string{"flux/sources.yaml": fluxSources, "flux/hr.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: shop-web, namespace: shop}\n" +
				"spec:\n  chart: plain\n  sourceRef: {kind: HelmRepository, name: charts}\n  valuesFiles: [values-prod.yaml]\n---\n" + fluxRelease("  chartRef: {kind: HelmChart, name: shop-web}\n")},
			flux:    true,
			wantErr: "flux/hr.yaml:7: spec.valuesFiles[0]: values-prod.yaml is not a file of the pulled chart plain from " + helmRepo.srv.URL + "/public (set ignoreMissingValuesFiles to skip it, as source-controller would)",
		},
		{
			name:     "auth required + credentials",
			files:    map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/private", "plain", "1.0.0")},
			repos:    good,
			replicas: 4, chart: "plain-1.0.0",
		},
		{
			name:    "auth required without credentials",
			files:   map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/private", "plain", "1.0.0")},
			wantErr: "argocd/app.yaml:9: spec.sources[0].chart: chart plain 1.0.0 from " + helmRepo.srv.URL + "/private: cannot download the index of it: failed to fetch " + helmRepo.srv.URL + "/private/index.yaml : 401 Unauthorized (no chartRepositories entry gives credentials for this URL)",
		},
		{
			name:    "wrong credentials",
			files:   map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/private", "plain", "1.0.0")},
			repos:   wrong,
			wantErr: "/private/index.yaml : 401 Unauthorized (the credentials of user puller from chartRepositories were refused)",
		},
		{
			name:    "oci wrong credentials",
			files:   map[string]string{"argocd/app.yaml": argoChartApp("oci://"+reg.host+"/charts", "plain", "0.1.0")},
			repos:   wrong,
			wantErr: "argocd/app.yaml:9: spec.sources[0].chart: chart oci://" + reg.host + "/charts/plain 0.1.0: cannot pull it: failed to perform \"FetchReference\" on source",
		},
		{
			name:    "chart too big",
			files:   map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "big", "0.1.0")},
			lim:     svcconfig.ChartLimits{MaxArchiveBytes: 1 << 20, MaxCacheBytes: 8 << 20},
			wantErr: "chart big 0.1.0 from " + helmRepo.srv.URL + "/public: cannot download it: larger than limits.charts.maxArchiveBytes (1048576 bytes): refused",
		},
		{
			name:    "oci chart too big",
			files:   map[string]string{"argocd/app.yaml": argoChartApp("oci://"+reg.host+"/charts", "big", "0.1.0")},
			repos:   good,
			lim:     svcconfig.ChartLimits{MaxArchiveBytes: 1 << 20, MaxCacheBytes: 8 << 20},
			wantErr: "chart oci://" + reg.host + "/charts/big 0.1.0: cannot pull it: larger than limits.charts.maxArchiveBytes (1048576 bytes): refused",
		},
		{
			name:    "a version the index does not have",
			files:   map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "plain", "9.9.9")},
			wantErr: "argocd/app.yaml:9: spec.sources[0].chart: chart plain 9.9.9 from " + helmRepo.srv.URL + "/public: not in the repository's index",
		},
		{
			name:    "a value file the remote chart does not have",
			files:   map[string]string{"argocd/app.yaml": strings.Replace(argoChartApp(helmRepo.srv.URL+"/public", "plain", "0.2.0"), "$values/values/web.yaml", "values-prod.yaml", 1)},
			wantErr: "argocd/app.yaml:12: spec.sources[0].helm.valueFiles[0]: values-prod.yaml is not a file of the pulled chart plain 0.2.0 from " + helmRepo.srv.URL + "/public (set ignoreMissingValueFiles to skip it, as Argo CD would)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"values/web.yaml": values}
			for k, v := range tc.files {
				files[k] = v
			}
			req := Request{Root: remoteGitRepo(t, files), Charts: newTestCharts(t, tc.repos, tc.lim)}
			if tc.flux {
				req.Flux = &policy.FluxRender{HelmRelease: "flux/hr.yaml"}
			} else {
				req.ArgoCD = &policy.ArgoCDRender{Application: "argocd/app.yaml"}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			objs, err := Render(ctx, req)
			if tc.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.wantErr)
				for _, secret := range []string{repoPassword, registryPassword, "wrong-Pa55word-xyz"} {
					require.NotContains(t, err.Error(), secret)
				}
				return
			}
			require.NoError(t, err)
			replicas, label := deploymentOf(t, objs)
			require.Equal(t, tc.replicas, replicas)
			require.Equal(t, tc.chart, label)
		})
	}
}

// TestRemoteChartCache pins the cache: a pinned chart is downloaded once however many renders
// (and concurrent renders) use it, also across a restart of the service, and a range's index
// is read once per rangeTTL. Requests are counted by the server.
func TestRemoteChartCache(t *testing.T) {
	helmRepo := startChartRepo(t)
	tests := []struct {
		name       string
		revision   string
		renders    int
		concurrent bool
		ttl        time.Duration
		archives   int // downloads of plain-0.2.0.tgz the server saw
		indexes    int // downloads of index.yaml
		// restart opens the cache directory of the previous case with a new Charts, as a
		// restarted service does.
		restart bool
	}{
		{name: "pinned, sequential", revision: "0.2.0", renders: 5, archives: 1, indexes: 1},
		{name: "pinned, concurrent", revision: "0.2.0", renders: 8, concurrent: true, archives: 1, indexes: 1},
		{name: "range within one cycle", revision: "~0.2", renders: 4, ttl: time.Hour, archives: 1, indexes: 2},
		{name: "range re-resolved each cycle", revision: "~0.2", renders: 3, ttl: time.Nanosecond, archives: 1, indexes: 4},
		{name: "pinned, after a restart of the service", revision: "0.2.0", renders: 2, restart: true, archives: 0, indexes: 0},
	}
	cacheRoot, lastDir := t.TempDir(), ""
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := helmRepo.hits("/public/plain-0.2.0.tgz")
			beforeIdx := helmRepo.hits("/public/index.yaml")
			root := remoteGitRepo(t, map[string]string{
				"values/web.yaml": "replicaCount: 3\n",
				"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "plain", tc.revision),
			})
			dir := filepath.Join(cacheRoot, strconv.Itoa(i))
			if tc.restart {
				dir = lastDir
			}
			cs, err := NewCharts(ChartsConfig{Dir: dir, Limits: svcconfig.ChartLimits{RangeTTL: policy.Duration{Duration: tc.ttl}}})
			require.NoError(t, err)
			lastDir = dir
			before, beforeIdx = helmRepo.hits("/public/plain-0.2.0.tgz"), helmRepo.hits("/public/index.yaml")
			req := Request{Root: root, ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"}, Charts: cs}
			render := func() {
				objs, err := Render(context.Background(), req)
				require.NoError(t, err)
				replicas, label := deploymentOf(t, objs)
				require.Equal(t, 3, replicas)
				require.Equal(t, "plain-0.2.0", label)
			}
			if tc.concurrent {
				var wg sync.WaitGroup
				for range tc.renders {
					wg.Go(render)
				}
				wg.Wait()
			} else {
				for range tc.renders {
					render()
				}
			}
			require.Equal(t, tc.archives, helmRepo.hits("/public/plain-0.2.0.tgz")-before, "archive downloads")
			require.Equal(t, tc.indexes, helmRepo.hits("/public/index.yaml")-beforeIdx, "index downloads")
		})
	}
}

// TestVerifyRemoteChart verifies decisions on remote charts as the service does before a
// commit: an edit of the values file a multi-source Application takes through $values, or of
// a HelmRelease's spec.values, is rendered with the pulled chart; a parameter of the
// Application that sets the same key is refused as an override.
func TestVerifyRemoteChart(t *testing.T) {
	helmRepo := startChartRepo(t)
	reg := startRegistry(t)
	regPassFile := writeSecret(t, registryPassword)
	repos := []svcconfig.ChartRepository{{URL: "oci://" + reg.host, Username: registryUser, PasswordFile: regPassFile, PlainHTTP: true}}
	overridden := strings.Replace(argoChartApp(helmRepo.srv.URL+"/public", "plain", "0.2.0"),
		"        valueFiles: [$values/values/web.yaml]\n",
		"        valueFiles: [$values/values/web.yaml]\n        parameters: [{name: replicaCount, value: \"2\"}]\n", 1)
	hr := fmt.Sprintf("apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: plain, namespace: shop}\nspec: {url: \"oci://%s/charts/plain\", ref: {tag: \"1.0.0\"}, insecure: true}\n---\n"+
		"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: shop}\nspec:\n  chartRef: {kind: OCIRepository, name: plain}\n  values:\n    replicaCount: 4\n", reg.host)
	tests := []struct {
		name    string
		files   map[string]string
		flux    bool
		file    string
		summary string
		reason  string
		message string
	}{
		{
			name:    "Argo CD multi-source with $values",
			files:   map[string]string{"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "plain", "0.2.0")},
			file:    "values/web.yaml",
			summary: `rendered Deployment shop/web-web: spec.replicas 4 → 6 \(pulled chart plain 0.2.0 from http://127.0.0.1:\d+/public → version 0.2.0, sha256:[0-9a-f]{64}\)`,
		},
		{
			name:    "Argo CD OCI",
			files:   map[string]string{"argocd/app.yaml": argoChartApp("oci://"+reg.host+"/charts", "plain", "0.1.0")},
			file:    "values/web.yaml",
			summary: `rendered Deployment shop/web-web: spec.replicas 4 → 6 \(pulled chart oci://127.0.0.1:\d+/charts/plain 0.1.0 → version 0.1.0, sha256:[0-9a-f]{64}\)`,
		},
		{
			name:    "Flux OCIRepository, spec.values",
			files:   map[string]string{"flux/hr.yaml": hr},
			flux:    true,
			file:    "flux/hr.yaml",
			summary: `rendered Deployment shop/web-web: spec.replicas 4 → 6 \(pulled chart oci://127.0.0.1:\d+/charts/plain 1.0.0 → version 1.0.0, sha256:[0-9a-f]{64}\)`,
		},
		{
			name:    "a parameter overrides the key",
			files:   map[string]string{"argocd/app.yaml": overridden},
			file:    "values/web.yaml",
			reason:  ReasonKeyOverridden,
			message: "it is overridden: argocd/app.yaml spec.sources[0].helm.parameters[0] (replicaCount) comes after values/web.yaml",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"values/web.yaml": "replicaCount: 4\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			req := VerifyRequest{
				Request: Request{Root: remoteGitRepo(t, files), Charts: newTestCharts(t, repos, svcconfig.ChartLimits{})},
				Target:  policy.TargetRef{Kind: "Deployment", Name: "web-web", Namespace: "shop"},
				File:    tc.file, Path: "replicaCount", Current: 4, Desired: 6,
				Content: []byte(strings.Replace(files[tc.file], "replicaCount: 4", "replicaCount: 6", 1)),
			}
			if tc.flux {
				req.Flux = &policy.FluxRender{HelmRelease: "flux/hr.yaml"}
			} else {
				req.ArgoCD = &policy.ArgoCDRender{Application: "argocd/app.yaml"}
			}
			v, err := Verify(context.Background(), req)
			if tc.reason != "" {
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.reason, ve.Reason, err.Error())
				require.Contains(t, err.Error(), tc.message)
				return
			}
			require.NoError(t, err)
			require.Regexp(t, "^"+tc.summary+"$", v.Summary)
		})
	}
}

// BenchmarkRemoteChart measures renders of a chart from a Helm repository served on
// loopback: the first pull (a fresh cache each time: index, archive, render), a render from
// the cache, and 100 policies rendering one shared chart at once from a fresh cache (the
// chart is downloaded once: downloads/op).
func BenchmarkRemoteChart(b *testing.B) {
	helmRepo := startChartRepo(b)
	root := remoteGitRepo(b, map[string]string{
		"values/web.yaml": "replicaCount: 3\n",
		"argocd/app.yaml": argoChartApp(helmRepo.srv.URL+"/public", "plain", "0.2.0"),
	})
	render := func(b *testing.B, cs *Charts) {
		objs, err := Render(context.Background(), Request{Root: root, ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"}, Charts: cs})
		if err != nil {
			b.Fatal(err)
		}
		if replicas, _ := deploymentOf(b, objs); replicas != 3 {
			b.Fatalf("replicas = %d", replicas)
		}
	}
	b.Run("first pull", func(b *testing.B) {
		for b.Loop() {
			render(b, newTestCharts(b, nil, svcconfig.ChartLimits{}))
		}
	})
	b.Run("cached", func(b *testing.B) {
		cs := newTestCharts(b, nil, svcconfig.ChartLimits{})
		render(b, cs)
		for b.Loop() {
			render(b, cs)
		}
	})
	b.Run("100 policies, one chart", func(b *testing.B) {
		before := helmRepo.hits("/public/plain-0.2.0.tgz")
		for b.Loop() {
			cs := newTestCharts(b, nil, svcconfig.ChartLimits{})
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() { render(b, cs) })
			}
			wg.Wait()
		}
		b.ReportMetric(float64(helmRepo.hits("/public/plain-0.2.0.tgz")-before)/float64(b.N), "downloads/op")
	})
}

// TestRemoteChartCacheBounded pins limits.charts.maxCacheBytes: pulling a third chart into a
// cache that holds two evicts the one used longest ago, which is downloaded again when next
// needed, and the cache never holds more than the limit.
func TestRemoteChartCacheBounded(t *testing.T) {
	helmRepo := startChartRepo(t)
	fi, err := os.Stat(packageChart(t, t.TempDir(), "0.1.0", 0))
	require.NoError(t, err)
	limit := int(fi.Size())*5/2 + 64
	cs := newTestCharts(t, nil, svcconfig.ChartLimits{MaxCacheBytes: limit, MaxArchiveBytes: limit})
	clock := time.Now()
	cs.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	pull := func(version string) {
		ref := chartRef{repoURL: helmRepo.srv.URL + "/public", chart: "plain", version: version}
		p, err := cs.pull(context.Background(), ref)
		require.NoError(t, err)
		require.FileExists(t, p.Path)
		require.Equal(t, version, p.Version)
	}
	size := func() int {
		entries, err := os.ReadDir(filepath.Join(cs.dir, "sha256"))
		require.NoError(t, err)
		n := 0
		for _, e := range entries {
			info, err := e.Info()
			require.NoError(t, err)
			n += int(info.Size())
		}
		return n
	}
	tests := []struct {
		name      string
		version   string
		downloads int // of plain-<version>.tgz, by the server's count, after this pull
	}{
		{name: "first chart", version: "0.1.0", downloads: 1},
		{name: "second chart", version: "0.2.0", downloads: 1},
		{name: "first again, from the cache", version: "0.1.0", downloads: 1},
		{name: "third chart evicts the second", version: "1.0.0", downloads: 1},
		{name: "second again, pulled again", version: "0.2.0", downloads: 2},
		{name: "first still cached", version: "0.1.0", downloads: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pull(tc.version)
			require.Equal(t, tc.downloads, helmRepo.hits("/public/plain-"+tc.version+".tgz"))
			require.LessOrEqual(t, size(), limit)
		})
	}
}

// TestRemoteChartEscapingArchive serves a chart archive with an entry that leaves the chart's
// directory: the render is refused and nothing is written outside the cache.
func TestRemoteChartEscapingArchive(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range map[string]string{
		"evil/Chart.yaml":                     "apiVersion: v2\nname: evil\nversion: 0.1.0\n",
		"evil/templates/../../../escape.yaml": "kind: ConfigMap\n",
	} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "evil-0.1.0.tgz"), buf.Bytes(), 0o644))
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	idx := helmrepo.NewIndexFile()
	require.NoError(t, idx.MustAdd(&chart.Metadata{APIVersion: "v2", Name: "evil", Version: "0.1.0"}, "evil-0.1.0.tgz", srv.URL, ""))
	require.NoError(t, idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644))

	root := remoteGitRepo(t, map[string]string{"values/web.yaml": "{}\n", "argocd/app.yaml": argoChartApp(srv.URL, "evil", "0.1.0")})
	_, err := Render(context.Background(), Request{Root: root, ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"}, Charts: newTestCharts(t, nil, svcconfig.ChartLimits{})})
	require.Error(t, err)
	require.Contains(t, err.Error(), "chart illegally references parent directory")
	require.NoFileExists(t, filepath.Join(filepath.Dir(root), "escape.yaml"))
}

// TestVerifyRemoteChartMovedTag moves an OCI tag to another chart between two verifications:
// the second pulls the new archive (the tag is resolved again after rangeTTL, to its new
// digest), renders it, and its summary — the commit's reason — names the new version and
// digest.
func TestVerifyRemoteChartMovedTag(t *testing.T) {
	reg := startRegistry(t)
	repos := []svcconfig.ChartRepository{{URL: "oci://" + reg.host, Username: registryUser, PasswordFile: writeSecret(t, registryPassword), PlainHTTP: true}}
	cs := newTestCharts(t, repos, svcconfig.ChartLimits{RangeTTL: policy.Duration{Duration: time.Nanosecond}})
	hr := fmt.Sprintf("apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: plain, namespace: shop}\nspec: {url: \"oci://%s/charts/plain\", ref: {tag: stable}}\n---\n"+
		"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: shop}\nspec:\n  chartRef: {kind: OCIRepository, name: plain}\n  values:\n    replicaCount: 4\n", reg.host)
	root := remoteGitRepo(t, map[string]string{"flux/hr.yaml": hr})
	digests := map[string]bool{}
	for _, tc := range []struct {
		name    string
		version string
	}{
		{name: "stable is 0.1.0", version: "0.1.0"},
		{name: "stable moved to 1.0.0", version: "1.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.push(t, tc.version, "stable")
			v, err := Verify(context.Background(), VerifyRequest{
				Request: Request{Root: root, Flux: &policy.FluxRender{HelmRelease: "flux/hr.yaml"}, Charts: cs},
				Target:  policy.TargetRef{Kind: "Deployment", Name: "web-web", Namespace: "shop"},
				File:    "flux/hr.yaml", Path: "spec.values.replicaCount", Current: 4, Desired: 6,
				Content: []byte(strings.Replace(hr, "replicaCount: 4", "replicaCount: 6", 1)),
			})
			require.NoError(t, err)
			m := regexp.MustCompile(`pulled chart oci://\S+/charts/plain stable → version (\S+), (sha256:[0-9a-f]{64})\)$`).FindStringSubmatch(v.Summary)
			require.NotNil(t, m, v.Summary)
			require.Equal(t, tc.version, m[1])
			require.False(t, digests[m[2]], "the digest %s was pulled before", m[2])
			digests[m[2]] = true
			_, label := deploymentOf(t, []Object{v.Workload})
			require.Equal(t, "plain-"+tc.version, label)
		})
	}
}

// TestVerifyRemoteChartOffline stops the Helm repository after a first verification: a range
// due to be resolved again uses the version it resolved to last, from the cache, and the
// summary says so; a chart never pulled fails with a clear RenderFailed.
func TestVerifyRemoteChartOffline(t *testing.T) {
	helmRepo := startChartRepo(t)
	url := helmRepo.srv.URL
	cs := newTestCharts(t, nil, svcconfig.ChartLimits{RangeTTL: policy.Duration{Duration: time.Nanosecond}})
	verify := func(revision string) (*Verification, error) {
		app := argoChartApp(url+"/public", "plain", revision)
		root := remoteGitRepo(t, map[string]string{"values/web.yaml": "replicaCount: 4\n", "argocd/app.yaml": app})
		return Verify(context.Background(), VerifyRequest{
			Request: Request{Root: root, ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"}, Charts: cs},
			Target:  policy.TargetRef{Kind: "Deployment", Name: "web-web", Namespace: "shop"},
			File:    "values/web.yaml", Path: "replicaCount", Current: 4, Desired: 6,
			Content: []byte("replicaCount: 6\n"),
		})
	}
	tests := []struct {
		name     string
		stop     bool
		revision string
		summary  string // a regular expression the summary matches
		reason   string
		message  string
	}{
		{name: "online", revision: "~0.2", summary: `→ version 0\.2\.0, sha256:[0-9a-f]{64}\)$`},
		{name: "repository stopped: the cached resolution, said so", stop: true, revision: "~0.2",
			summary: `→ version 0\.2\.0, sha256:[0-9a-f]{64}; offline: the repository is unreachable, so the version resolved \d+s ago was used: chart plain ~0\.2 from http://127\.0\.0\.1:\d+/public: cannot download the index of it: .*connection refused\)$`},
		{name: "repository stopped: a chart never pulled", revision: "~1.0", reason: ReasonRenderFailed,
			message: "argocd/app.yaml:9: spec.sources[0].chart: chart plain ~1.0 from " + url + "/public: cannot download the index of it:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stop {
				helmRepo.srv.Close()
			}
			v, err := verify(tc.revision)
			if tc.reason != "" {
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.reason, ve.Reason)
				require.Contains(t, err.Error(), tc.message)
				return
			}
			require.NoError(t, err)
			require.Regexp(t, tc.summary, v.Summary)
		})
	}
}
