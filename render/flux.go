package render

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
)

// fluxHelmRelease is the part of a Flux HelmRelease (helm.toolkit.fluxcd.io v2, v2beta2,
// v2beta1) that decides what is rendered.
type fluxHelmRelease struct {
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Chart *struct {
			Spec fluxChartSpec `yaml:"spec"`
		} `yaml:"chart"`
		ChartRef *struct {
			Kind      string `yaml:"kind"`
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"chartRef"`
		ReleaseName     string         `yaml:"releaseName"`
		TargetNamespace string         `yaml:"targetNamespace"`
		Values          map[string]any `yaml:"values"`
		ValuesFrom      []any          `yaml:"valuesFrom"`
		PostRenderers   []any          `yaml:"postRenderers"`
		KubeConfig      any            `yaml:"kubeConfig"`
		Install         struct {
			CRDs                    string `yaml:"crds"`
			SkipCRDs                bool   `yaml:"skipCRDs"`
			DisableSchemaValidation bool   `yaml:"disableSchemaValidation"`
		} `yaml:"install"`
		Upgrade struct {
			CRDs                    string `yaml:"crds"`
			DisableSchemaValidation bool   `yaml:"disableSchemaValidation"`
		} `yaml:"upgrade"`
	} `yaml:"spec"`
}

// fluxChartSpec is a HelmRelease's spec.chart.spec, and the spec of a HelmChart (the object
// source-controller makes of it, which a chartRef may name).
type fluxChartSpec struct {
	Chart     string `yaml:"chart"`
	Version   string `yaml:"version"`
	SourceRef struct {
		Kind      string `yaml:"kind"`
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"sourceRef"`
	ValuesFiles              []string `yaml:"valuesFiles"`
	ValuesFile               string   `yaml:"valuesFile"`
	IgnoreMissingValuesFiles bool     `yaml:"ignoreMissingValuesFiles"`
}

// resolveFlux reads the HelmRelease the request names and returns the chart render
// helm-controller performs for it: the chart from a GitRepository (taken to be this
// repository), its values files (which replace the chart's values.yaml, as source-controller
// packages them), spec.values over them, release name [targetNamespace-]name shortened past 53
// characters, namespace targetNamespace or the HelmRelease's own, rendered as an upgrade of
// the installed release (as an install when Verify falls back to one: req.fluxInstall).
func resolveFlux(r *repo, req Request) ([]source, error) {
	f := req.Flux
	doc, err := loadObjectDoc(r, f.HelmRelease, "helm.toolkit.fluxcd.io", "HelmRelease", f.Name, "spec.render.flux.helmRelease")
	if err != nil {
		return nil, err
	}
	var hr fluxHelmRelease
	if err := doc.node.Decode(&hr); err != nil {
		return nil, doc.problem("spec", "%v", err)
	}
	s := &hr.Spec
	var remote *chartRef
	// cdoc and at locate the chart's spec: the HelmRelease's spec.chart.spec, or the spec of
	// the HelmChart a chartRef names.
	cdoc, at, srcNamespace := doc, "spec.chart.spec", hr.Metadata.Namespace
	if s.ChartRef != nil && s.ChartRef.Kind == "HelmChart" {
		hc, err := findFluxSource(r, doc, "HelmChart", s.ChartRef.Name, orDefault(s.ChartRef.Namespace, hr.Metadata.Namespace), "spec.chartRef")
		if err != nil {
			return nil, err
		}
		var spec struct {
			Metadata struct {
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
			Spec fluxChartSpec `yaml:"spec"`
		}
		if err := hc.node.Decode(&spec); err != nil {
			return nil, hc.problem("spec", "%v", err)
		}
		// A HelmChart's sourceRef is in the HelmChart's own namespace.
		spec.Spec.SourceRef.Namespace = ""
		cdoc, at, srcNamespace = hc, "spec", orDefault(spec.Metadata.Namespace, orDefault(s.ChartRef.Namespace, hr.Metadata.Namespace))
		s.ChartRef, s.Chart = nil, &struct {
			Spec fluxChartSpec `yaml:"spec"`
		}{Spec: spec.Spec}
	}
	switch {
	case s.ChartRef != nil:
		if s.ChartRef.Kind != "OCIRepository" {
			return nil, doc.problem("spec.chartRef.kind", "the chart comes from %s %s: render verification pulls a chartRef from an OCIRepository or a HelmChart only", s.ChartRef.Kind, s.ChartRef.Name)
		}
		remote, err = fluxOCIRepository(r, doc, hr.Metadata.Namespace, s.ChartRef.Name, s.ChartRef.Namespace)
		if err != nil {
			return nil, err
		}
	case s.Chart == nil:
		return nil, doc.problem("spec", "the HelmRelease names no chart (spec.chart or spec.chartRef)")
	case s.Chart.Spec.SourceRef.Kind == "HelmRepository":
		ref := s.Chart.Spec.SourceRef
		remote, err = fluxHelmRepository(r, cdoc, at, srcNamespace, ref.Name, ref.Namespace, s.Chart.Spec.Chart, s.Chart.Spec.Version)
		if err != nil {
			return nil, err
		}
	case s.Chart.Spec.SourceRef.Kind != "GitRepository":
		return nil, cdoc.problem(at+".sourceRef", "the chart comes from %s %s: render verification renders charts from a GitRepository (this repository), a HelmRepository or an OCIRepository", s.Chart.Spec.SourceRef.Kind, s.Chart.Spec.SourceRef.Name)
	}
	switch {
	case len(s.ValuesFrom) > 0:
		return nil, doc.problem("spec.valuesFrom", "values from ConfigMaps and Secrets live in the cluster, not in this repository: render verification cannot see them (move them into spec.values or a values file)")
	case len(s.PostRenderers) > 0:
		return nil, doc.problem("spec.postRenderers", "post-renderers change the rendered manifests after Helm; render verification does not apply them, so it cannot prove what Flux deploys")
	case s.KubeConfig != nil:
		return nil, doc.problem("spec.kubeConfig", "the release goes to a remote cluster; give that cluster's version as render.flux.kubeVersion")
	}
	chart := ""
	if remote == nil {
		chart, err = cleanRel(strings.TrimPrefix(s.Chart.Spec.Chart, "/"))
		if err != nil || s.Chart.Spec.Chart == "" {
			return nil, cdoc.problem(at+".chart", "must be the path of a chart directory inside the repository, got %q", s.Chart.Spec.Chart)
		}
		if !r.isDir(chart) {
			return nil, cdoc.problem(at+".chart", "%s is not a chart directory of this repository (a chart from a GitRepository is named by its path)", chart)
		}
	}
	namespace := hr.Metadata.Namespace
	if s.TargetNamespace != "" {
		namespace = s.TargetNamespace
	}
	release := s.ReleaseName
	if release == "" {
		release = hr.Metadata.Name
		if s.TargetNamespace != "" {
			release = s.TargetNamespace + "-" + hr.Metadata.Name
		}
	}
	h := &helmSource{
		chart: chart, remote: remote, releaseName: shortenReleaseName(release), namespace: namespace,
		kubeVersion: f.KubeVersion, apiVersions: f.APIVersions, from: doc.file, isUpgrade: !req.fluxInstall,
		// An upgrade applies no CRDs unless upgrade.crds says so (its default is Skip).
		skipCRDs:   s.Upgrade.CRDs != "Create" && s.Upgrade.CRDs != "CreateReplace",
		skipSchema: s.Upgrade.DisableSchemaValidation,
	}
	var files []string
	if s.Chart != nil {
		files = s.Chart.Spec.ValuesFiles
	}
	if s.Chart != nil && s.Chart.Spec.ValuesFile != "" { // v2beta1: merged before valuesFiles
		files = append([]string{s.Chart.Spec.ValuesFile}, files...)
	}
	for i, v := range files {
		fat := fmt.Sprintf("%s.valuesFiles[%d]", at, i)
		if s.Chart.Spec.ValuesFile != "" {
			fat = at + ".valuesFile"
			if i > 0 {
				fat = fmt.Sprintf("%s.valuesFiles[%d]", at, i-1)
			}
		}
		if remote != nil {
			// A chart from a HelmRepository: source-controller merges these files of the
			// pulled chart (relative to its root) and they replace its values.yaml.
			clean, err := cleanRel(strings.TrimPrefix(v, "/"))
			if err != nil || clean == "." || strings.ContainsAny(v, "*?[") {
				return nil, cdoc.problem(fat, "must name a values file inside the pulled chart %s (relative to its root), got %q", remote.chart, v)
			}
			h.defaults = append(h.defaults, valuesLayer{kind: layerChartFile, file: clean, optional: s.Chart.Spec.IgnoreMissingValuesFiles,
				doc: cdoc.file, at: cdoc.prefix + fat, chart: remote,
				missing: cdoc.problem(fat, "%s is not a file of the pulled %s (set ignoreMissingValuesFiles to skip it, as source-controller would)", clean, remote)})
			continue
		}
		clean, err := cleanRel(strings.TrimPrefix(v, "/"))
		if err != nil || clean == "." {
			return nil, cdoc.problem(fat, "must name a values file inside the repository (relative to its root), got %q", v)
		}
		if !s.Chart.Spec.IgnoreMissingValuesFiles && !r.exists(clean) {
			return nil, cdoc.problem(fat, "values file %s does not exist in the repository (set ignoreMissingValuesFiles to skip it, as source-controller would)", clean)
		}
		h.defaults = append(h.defaults, valuesLayer{kind: layerFile, file: clean, optional: s.Chart.Spec.IgnoreMissingValuesFiles})
	}
	h.replaceDefaults = len(h.defaults) > 0
	if len(s.Values) > 0 {
		h.layers = []valuesLayer{{kind: layerInline, values: s.Values, doc: doc.file, at: "spec.values"}}
	}
	return []source{h}, nil
}

// shortenReleaseName is helm-controller's: a name longer than 53 characters becomes its first
// 40, a dash and the first 12 hex digits of its SHA-256.
func shortenReleaseName(name string) string {
	if len(name) <= 53 {
		return name
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	return name[:40] + "-" + sum[:12]
}

// fluxHelmRepository is the chart a HelmRelease's spec.chart takes from a HelmRepository of
// this repository: spec.url (https://, or oci:// with type: oci) and the chart's name at
// spec.chart.spec.version (a semver range; empty is the latest), as source-controller pulls it.
func fluxHelmRepository(r *repo, hr objectDoc, at, hrNamespace, name, namespace, chart, version string) (*chartRef, error) {
	field := at + ".sourceRef"
	src, err := findFluxSource(r, hr, "HelmRepository", name, orDefault(namespace, hrNamespace), field)
	if err != nil {
		return nil, err
	}
	var spec struct {
		Spec struct {
			URL      string `yaml:"url"`
			Type     string `yaml:"type"`
			Insecure bool   `yaml:"insecure"`
		} `yaml:"spec"`
	}
	if err := src.node.Decode(&spec); err != nil {
		return nil, src.problem("spec", "%v", err)
	}
	if chart == "" || strings.ContainsAny(chart, "/\\") {
		return nil, hr.problem(at+".chart", "must be the chart's name in HelmRepository %s, got %q", name, chart)
	}
	ref := &chartRef{repoURL: spec.Spec.URL, chart: chart, version: version, doc: hr, field: at}
	if version == "*" {
		ref.version = ""
	}
	u, err := url.Parse(spec.Spec.URL)
	switch {
	case err != nil || u.Host == "":
		return nil, src.problem("spec.url", "must be an https:// or oci:// URL, got %q", redactURL(spec.Spec.URL))
	case spec.Spec.Type == "oci" || u.Scheme == "oci":
		if u.Scheme != "oci" {
			return nil, src.problem("spec.url", "a HelmRepository of type oci needs an oci:// URL, got %q", redactURL(spec.Spec.URL))
		}
		ref.oci, ref.plainHTTP = true, spec.Spec.Insecure
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, src.problem("spec.url", "must be an https:// or oci:// URL, got %q", redactURL(spec.Spec.URL))
	}
	return ref, nil
}

// fluxOCIRepository is the chart a HelmRelease's spec.chartRef takes from an OCIRepository of
// this repository: spec.url at spec.ref's digest, semver range or tag (latest by default).
func fluxOCIRepository(r *repo, hr objectDoc, hrNamespace, name, namespace string) (*chartRef, error) {
	src, err := findFluxSource(r, hr, "OCIRepository", name, orDefault(namespace, hrNamespace), "spec.chartRef")
	if err != nil {
		return nil, err
	}
	var spec struct {
		Spec struct {
			URL string `yaml:"url"`
			Ref struct {
				Tag    string `yaml:"tag"`
				SemVer string `yaml:"semver"`
				Digest string `yaml:"digest"`
			} `yaml:"ref"`
			Insecure bool `yaml:"insecure"`
		} `yaml:"spec"`
	}
	if err := src.node.Decode(&spec); err != nil {
		return nil, src.problem("spec", "%v", err)
	}
	u, err := url.Parse(spec.Spec.URL)
	if err != nil || u.Scheme != "oci" || u.Host == "" {
		return nil, src.problem("spec.url", "must be an oci:// URL, got %q", redactURL(spec.Spec.URL))
	}
	ref := &chartRef{repoURL: spec.Spec.URL, oci: true, plainHTTP: spec.Spec.Insecure, doc: hr, field: "spec.chartRef"}
	switch rf := spec.Spec.Ref; {
	case rf.Digest != "":
		if !strings.HasPrefix(rf.Digest, "sha256:") || len(rf.Digest) != len("sha256:")+64 {
			return nil, src.problem("spec.ref.digest", "must be sha256:<64 hex digits>, got %q", rf.Digest)
		}
		ref.digest = rf.Digest
	case rf.SemVer != "":
		ref.version = rf.SemVer
	case rf.Tag != "":
		ref.version = rf.Tag
	default:
		ref.version = "latest"
	}
	return ref, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// maxSourceScan bounds the files findFluxSource reads looking for a source object.
const maxSourceScan = 10000

// findFluxSource finds the Flux source object (source.toolkit.fluxcd.io) a HelmRelease names:
// in the HelmRelease's own file first, then in the YAML files of the repository (at most
// maxSourceScan of them), as the cluster would hold it once Flux applied the repository.
func findFluxSource(r *repo, hr objectDoc, kind, name, namespace, field string) (objectDoc, error) {
	files := []string{hr.file}
	seen := map[string]bool{hr.file: true}
	_ = filepath.WalkDir(r.realDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(p)
		if ext != ".yaml" && ext != ".yml" || !d.Type().IsRegular() {
			return nil
		}
		if rel, err := filepath.Rel(r.realDir, p); err == nil && !seen[filepath.ToSlash(rel)] {
			seen[filepath.ToSlash(rel)] = true
			files = append(files, filepath.ToSlash(rel))
		}
		if len(files) >= maxSourceScan {
			return filepath.SkipAll
		}
		return nil
	})
	for rel := range r.overlay {
		if !seen[rel] {
			files = append(files, rel)
		}
	}
	for _, f := range files {
		data, err := r.readFile(f)
		if err != nil || !bytes.Contains(data, []byte(kind)) {
			continue
		}
		for n, err := range yamlnode.Documents(data) {
			if err != nil {
				break
			}
			if n.Kind != yaml.DocumentNode || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
				continue
			}
			var head struct {
				APIVersion string `yaml:"apiVersion"`
				Kind       string `yaml:"kind"`
				Metadata   struct {
					Name      string `yaml:"name"`
					Namespace string `yaml:"namespace"`
				} `yaml:"metadata"`
			}
			if n.Content[0].Decode(&head) != nil || head.Kind != kind || apiGroup(head.APIVersion) != "source.toolkit.fluxcd.io" || head.Metadata.Name != name {
				continue
			}
			if head.Metadata.Namespace != "" && namespace != "" && head.Metadata.Namespace != namespace {
				continue
			}
			return objectDoc{file: f, node: n.Content[0]}, nil
		}
	}
	return objectDoc{}, hr.problem(field, "%s %s (namespace %q) is not in this repository: render verification reads the source from the same repository as the HelmRelease", kind, name, namespace)
}
