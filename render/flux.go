package render

import (
	"crypto/sha256"
	"fmt"
	"strings"
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
			Spec struct {
				Chart     string `yaml:"chart"`
				SourceRef struct {
					Kind string `yaml:"kind"`
					Name string `yaml:"name"`
				} `yaml:"sourceRef"`
				ValuesFiles              []string `yaml:"valuesFiles"`
				ValuesFile               string   `yaml:"valuesFile"`
				IgnoreMissingValuesFiles bool     `yaml:"ignoreMissingValuesFiles"`
			} `yaml:"spec"`
		} `yaml:"chart"`
		ChartRef *struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
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
	switch {
	case s.ChartRef != nil:
		return nil, doc.problem("spec.chartRef", "the chart comes from %s %s, an artifact outside this repository: render verification renders charts of this repository only (use spec.chart with a GitRepository source)", s.ChartRef.Kind, s.ChartRef.Name)
	case s.Chart == nil:
		return nil, doc.problem("spec", "the HelmRelease names no chart (spec.chart)")
	case s.Chart.Spec.SourceRef.Kind != "GitRepository":
		return nil, doc.problem("spec.chart.spec.sourceRef", "the chart comes from %s %s, outside this repository: render verification renders charts of this repository only (nothing is fetched)", s.Chart.Spec.SourceRef.Kind, s.Chart.Spec.SourceRef.Name)
	case len(s.ValuesFrom) > 0:
		return nil, doc.problem("spec.valuesFrom", "values from ConfigMaps and Secrets live in the cluster, not in this repository: render verification cannot see them (move them into spec.values or a values file)")
	case len(s.PostRenderers) > 0:
		return nil, doc.problem("spec.postRenderers", "post-renderers change the rendered manifests after Helm; render verification does not apply them, so it cannot prove what Flux deploys")
	case s.KubeConfig != nil:
		return nil, doc.problem("spec.kubeConfig", "the release goes to a remote cluster; give that cluster's version as render.flux.kubeVersion")
	}
	chart, err := cleanRel(strings.TrimPrefix(s.Chart.Spec.Chart, "/"))
	if err != nil || s.Chart.Spec.Chart == "" {
		return nil, doc.problem("spec.chart.spec.chart", "must be the path of a chart directory inside the repository, got %q", s.Chart.Spec.Chart)
	}
	if !r.isDir(chart) {
		return nil, doc.problem("spec.chart.spec.chart", "%s is not a chart directory of this repository (a chart from a GitRepository is named by its path)", chart)
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
		chart: chart, releaseName: shortenReleaseName(release), namespace: namespace,
		kubeVersion: f.KubeVersion, apiVersions: f.APIVersions, from: doc.file, isUpgrade: !req.fluxInstall,
		// An upgrade applies no CRDs unless upgrade.crds says so (its default is Skip).
		skipCRDs:   s.Upgrade.CRDs != "Create" && s.Upgrade.CRDs != "CreateReplace",
		skipSchema: s.Upgrade.DisableSchemaValidation,
	}
	files := s.Chart.Spec.ValuesFiles
	if s.Chart.Spec.ValuesFile != "" { // v2beta1: merged before valuesFiles
		files = append([]string{s.Chart.Spec.ValuesFile}, files...)
	}
	for i, v := range files {
		at := fmt.Sprintf("spec.chart.spec.valuesFiles[%d]", i)
		if s.Chart.Spec.ValuesFile != "" {
			at = "spec.chart.spec.valuesFile"
			if i > 0 {
				at = fmt.Sprintf("spec.chart.spec.valuesFiles[%d]", i-1)
			}
		}
		clean, err := cleanRel(strings.TrimPrefix(v, "/"))
		if err != nil || clean == "." {
			return nil, doc.problem(at, "must name a values file inside the repository (relative to its root), got %q", v)
		}
		if !s.Chart.Spec.IgnoreMissingValuesFiles && !r.exists(clean) {
			return nil, doc.problem(at, "values file %s does not exist in the repository (set ignoreMissingValuesFiles to skip it, as source-controller would)", clean)
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
