package render

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// FuzzResolveSources feeds arbitrary Applications and HelmReleases — what users commit — to
// the resolution of render sources: it must never panic, never name a path outside the
// repository, and every error that points into the file names that file.
func FuzzResolveSources(f *testing.F) {
	for _, seed := range []string{"argocd/shop.yaml", "argocd/shop-pinned.yaml", "argocd/environments.yaml", "argocd/manifests.yaml", "flux/shop.yaml"} {
		data, err := os.ReadFile(filepath.Join(testRepo, seed))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data), strings.HasPrefix(seed, "flux/"))
	}
	f.Add(appHead+"  sources:\n    - {path: charts/pdb, helm: {valueFiles: ['$values/../x', '/**/*.yaml']}}\n    - {ref: values}\n", false)
	f.Add(appHead+"  sources:\n    - {repoURL: 'https://charts.example.com', chart: web, targetRevision: '>=1.0 <2', helm: {valueFiles: [$values/envs/web.yaml], parameters: [{name: replicaCount, value: '2'}]}}\n    - {repoURL: 'https://git.example.com/x.git', ref: values}\n", false)
	f.Add(appHead+"  source: {repoURL: 'registry.example.com/charts', chart: web, targetRevision: 1.2.3}\n", false)
	f.Add("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts}\nspec: {type: oci, url: 'oci://r.example.com/charts'}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chart: {spec: {chart: web, version: '1.x', sourceRef: {kind: HelmRepository, name: charts}}}\n  values: {replicaCount: 2}\n", true)
	f.Add("apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: web}\nspec: {url: 'oci://r.example.com/charts/web', ref: {digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'}}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chartRef: {kind: OCIRepository, name: web}\n", true)
	f.Fuzz(func(t *testing.T, content string, flux bool) {
		req := Request{Root: testRepo, ArgoCD: &policy.ArgoCDRender{Application: "app.yaml"}}
		if flux {
			req = Request{Root: testRepo, Flux: &policy.FluxRender{HelmRelease: "app.yaml"}}
		}
		r, err := newRepo(testRepo, map[string][]byte{"app.yaml": []byte(content)})
		if err != nil {
			t.Fatal(err)
		}
		srcs, err := resolve(r, req)
		var fe *policy.FieldError
		if errors.As(err, &fe) && fe.File != "app.yaml" {
			t.Fatalf("a problem of app.yaml names %s: %v", fe.File, err)
		}
		for _, s := range srcs {
			var paths []string
			switch s := s.(type) {
			case *helmSource:
				if s.remote == nil {
					paths = append(paths, s.chart)
				} else if s.chart != "" || s.remote.doc.file != "app.yaml" {
					t.Fatalf("a remote chart with a chart directory %q, or named in %s", s.chart, s.remote.doc.file)
				}
				for _, l := range append(append([]valuesLayer(nil), s.defaults...), s.layers...) {
					if l.file != "" {
						paths = append(paths, l.file)
					}
				}
			case *kustomizeSource:
				paths = append(paths, s.dir)
			case *directorySource:
				paths = append(paths, s.dir)
			}
			for _, p := range paths {
				if _, err := cleanRel(p); err != nil {
					t.Fatalf("resolved a path outside the repository: %q", p)
				}
			}
		}
	})
}
