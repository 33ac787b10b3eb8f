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
	// Value files of a pulled chart: its root, a folder, a leading /, a way out, a pattern.
	f.Add(appHead+"  sources:\n    - {repoURL: 'https://charts.example.com', chart: web, targetRevision: 1.2.3, helm: {valueFiles: [values-prod.yaml, /envs/a.yaml, ../../x.yaml, 'values-*.yaml', $values/envs/web.yaml]}}\n    - {repoURL: 'https://git.example.com/x.git', ref: values}\n", false)
	f.Add("apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: charts}\nspec: {url: 'https://charts.example.com'}\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chart: {spec: {chart: web, sourceRef: {kind: HelmRepository, name: charts}, valuesFiles: [values.yaml, /prod/../values-prod.yaml, ../x]}}\n", true)
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

// FuzzApplicationSet feeds arbitrary ApplicationSets — generators, templates, goTemplate
// options and patches, as users write them — to the expansion and the resolution of the
// generated Application: it must never panic, every problem located in a file names the
// ApplicationSet's file, an Application found is the one asked for, and no source path leaves
// the repository.
func FuzzApplicationSet(f *testing.F) {
	seeds := []string{
		appSetHead + "  generators:\n    - list: {elements: [{cluster: eu, url: 'https://eu'}]}\n  template:\n    metadata: {name: '{{cluster}}-web'}\n    spec: {source: {path: charts/pdb}, destination: {namespace: '{{cluster}}'}}\n",
		appSetHead + "  goTemplate: true\n  goTemplateOptions: [missingkey=error]\n  generators:\n    - git: {repoURL: 'https://x/y.git', directories: [{path: 'charts/*'}, {path: charts/big, exclude: true}]}\n  template:\n    metadata: {name: '{{.path.basename | normalize}}'}\n    spec: {source: {path: '{{.path.path}}'}}\n",
		appSetHead + "  generators:\n    - matrix:\n        generators:\n          - git: {repoURL: 'https://x/y.git', files: [{path: 'envs/**/values.yaml'}]}\n          - list: {elements: [{v: '{{path}}'}]}\n  template:\n    metadata: {name: '{{path.basename}}'}\n    spec: {source: {path: '{{v}}'}}\n",
		appSetHead + "  goTemplate: true\n  templatePatch: |\n    spec: {project: x, source: {helm: {releaseName: '{{.a}}'}}}\n  generators: [{list: {elements: [{a: b}]}, selector: {matchLabels: {a: b}}}]\n  template: {metadata: {name: '{{.a}}'}, spec: {project: p, source: {path: charts/pdb}}}\n",
		appSetHead + "  generators: [{clusters: {}}]\n  template: {metadata: {name: x}, spec: {}}\n",
		appSetHead + "  goTemplate: true\n  generators:\n    - merge:\n        mergeKeys: [a]\n        generators: [{list: {elements: [{a: web, b: 1}]}}, {list: {elements: [{a: web, b: 2}]}}]\n  template: {metadata: {name: '{{.a}}'}, spec: {source: {path: charts/pdb}}}\n",
	}
	for _, s := range seeds {
		f.Add(s, "web")
	}
	f.Fuzz(func(t *testing.T, content, name string) {
		r, err := newRepo(testRepo, map[string][]byte{"apps.yaml": []byte(content)})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := loadGeneratedApp(r, "apps.yaml", name, nil, "")
		var fe *policy.FieldError
		if errors.As(err, &fe) && fe.File != "apps.yaml" {
			t.Fatalf("a problem of apps.yaml names %s: %v", fe.File, err)
		}
		if err != nil {
			return
		}
		if doc.file != "apps.yaml" || doc.generated != name || doc.prefix != "spec.template." {
			t.Fatalf("asked for %q, got %q of %s (prefix %q)", name, doc.generated, doc.file, doc.prefix)
		}
		srcs, err := resolve(r, Request{Root: testRepo, ArgoCD: &policy.ArgoCDRender{ApplicationSet: "apps.yaml", Name: name}})
		if errors.As(err, &fe) && fe.File != "apps.yaml" {
			t.Fatalf("a problem of apps.yaml names %s: %v", fe.File, err)
		}
		for _, s := range srcs {
			var p string
			switch s := s.(type) {
			case *helmSource:
				p = s.chart
			case *kustomizeSource:
				p = s.dir
			case *directorySource:
				p = s.dir
			}
			if p != "" {
				if _, err := cleanRel(p); err != nil {
					t.Fatalf("resolved a path outside the repository: %q", p)
				}
			}
		}
	})
}
