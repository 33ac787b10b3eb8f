package render

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/types"
)

// argoSource is the part of an Argo CD ApplicationSource that decides what is rendered
// (argoproj.io/v1alpha1). Unknown fields are ignored, as the Application CRD prunes them.
type argoSource struct {
	RepoURL        string         `json:"repoURL"`
	Path           string         `json:"path"`
	TargetRevision string         `json:"targetRevision"`
	Chart          string         `json:"chart"`
	Ref            string         `json:"ref"`
	Helm           *argoHelm      `json:"helm"`
	Kustomize      *argoKustomize `json:"kustomize"`
	Directory      *argoDirectory `json:"directory"`
	Plugin         map[string]any `json:"plugin"`

	// helmFrom maps helm fields an .argocd-source*.yaml file set (parameters, valuesObject,
	// values) to that file, so that a message names the file that wins, not the Application.
	helmFrom map[string]string
}

type argoHelm struct {
	ValueFiles []string `json:"valueFiles"`
	Parameters []struct {
		Name        string `json:"name"`
		Value       string `json:"value"`
		ForceString bool   `json:"forceString"`
	} `json:"parameters"`
	FileParameters []struct {
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"fileParameters"`
	ReleaseName             string         `json:"releaseName"`
	Values                  string         `json:"values"`
	ValuesObject            map[string]any `json:"valuesObject"`
	IgnoreMissingValueFiles bool           `json:"ignoreMissingValueFiles"`
	SkipCrds                bool           `json:"skipCrds"`
	SkipSchemaValidation    bool           `json:"skipSchemaValidation"`
	Namespace               string         `json:"namespace"`
	KubeVersion             string         `json:"kubeVersion"`
	APIVersions             []string       `json:"apiVersions"`
}

type argoKustomize struct {
	NamePrefix                string            `json:"namePrefix"`
	NameSuffix                string            `json:"nameSuffix"`
	Images                    []string          `json:"images"`
	CommonLabels              map[string]string `json:"commonLabels"`
	CommonAnnotations         map[string]string `json:"commonAnnotations"`
	ForceCommonLabels         bool              `json:"forceCommonLabels"`
	ForceCommonAnnotations    bool              `json:"forceCommonAnnotations"`
	CommonAnnotationsEnvsubst bool              `json:"commonAnnotationsEnvsubst"`
	LabelWithoutSelector      bool              `json:"labelWithoutSelector"`
	LabelIncludeTemplates     bool              `json:"labelIncludeTemplates"`
	Namespace                 string            `json:"namespace"`
	Replicas                  []struct {
		Name  string          `json:"name"`
		Count json.RawMessage `json:"count"`
	} `json:"replicas"`
	Patches                 []any    `json:"patches"`
	Components              []string `json:"components"`
	IgnoreMissingComponents bool     `json:"ignoreMissingComponents"`
}

type argoDirectory struct {
	Recurse                bool           `json:"recurse"`
	Include                string         `json:"include"`
	Exclude                string         `json:"exclude"`
	DisableExtensionFilter bool           `json:"disableExtensionFilter"`
	Jsonnet                map[string]any `json:"jsonnet"`
}

// argoApp is what an Application says about where it deploys.
type argoApp struct {
	doc         objectDoc
	name        string
	project     string
	namespace   string // spec.destination.namespace
	revision    string
	repoURLs    []string // this repository's, when known
	kubeVersion string   // the policy's, standing for the cluster's
	apiVersions []string
	// refs are the sources with a ref, by "$ref".
	refs map[string]argoRef
}

type argoRef struct {
	field string // spec.sources[i]
	src   argoSource
}

// resolveArgoCD reads the Application the request names and returns the sources Argo CD
// renders for it, each configured as the repo server configures it (reposerver/repository:
// helmTemplate, kustomize Build, findManifests).
func resolveArgoCD(r *repo, req Request) ([]source, error) {
	a := req.ArgoCD
	var doc objectDoc
	var err error
	if a.ApplicationSet != "" {
		doc, err = loadGeneratedApp(r, a.ApplicationSet, a.Name, req.RepoURLs, req.Branch)
	} else {
		doc, err = loadObjectDoc(r, a.Application, "argoproj.io", "Application", a.Name, "spec.render.argocd.application")
	}
	if err != nil {
		return nil, err
	}
	var head struct {
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		Spec struct {
			Project        string         `yaml:"project"`
			Source         map[string]any `yaml:"source"`
			Sources        []any          `yaml:"sources"`
			SourceHydrator any            `yaml:"sourceHydrator"`
			Destination    struct {
				Namespace string `yaml:"namespace"`
			} `yaml:"destination"`
		} `yaml:"spec"`
	}
	if err := doc.node.Decode(&head); err != nil {
		return nil, doc.problem("spec", "%v", err)
	}
	app := &argoApp{
		doc: doc, name: head.Metadata.Name, project: head.Spec.Project,
		namespace: head.Spec.Destination.Namespace, revision: req.revision, repoURLs: req.RepoURLs,
		kubeVersion: a.KubeVersion, apiVersions: a.APIVersions, refs: map[string]argoRef{},
	}
	if app.project == "" {
		app.project = "default"
	}
	if app.revision == "" {
		app.revision = headRevision
	}
	if head.Spec.SourceHydrator != nil {
		return nil, doc.problem("spec.sourceHydrator", "Argo CD deploys the manifests its hydrator commits to another branch; render verification reads this branch only: name the hydrated path as a kustomize or helm render instead")
	}
	var raws []any
	var fields []string
	switch {
	case len(head.Spec.Sources) > 0:
		for i, s := range head.Spec.Sources {
			raws = append(raws, s)
			fields = append(fields, fmt.Sprintf("%sspec.sources[%d]", doc.prefix, i))
		}
	case head.Spec.Source != nil:
		raws, fields = []any{head.Spec.Source}, []string{doc.prefix + "spec.source"}
	default:
		return nil, doc.problem("spec", "the Application has no source (spec.source or spec.sources)")
	}
	multi := len(head.Spec.Sources) > 0
	srcs := make([]argoSource, len(raws))
	for i, raw := range raws {
		if err := fromGeneric(raw, &srcs[i]); err != nil {
			return nil, doc.problem(fields[i], "%v", err)
		}
		if multi && srcs[i].Ref != "" {
			app.refs["$"+srcs[i].Ref] = argoRef{field: fields[i], src: srcs[i]}
		}
	}
	var out []source
	for i := range srcs {
		// A ref-only source only lends its files to the others' $ref/ paths.
		if multi && srcs[i].Ref != "" && srcs[i].Path == "" && srcs[i].Chart == "" && !strings.HasPrefix(srcs[i].RepoURL, "oci://") {
			continue
		}
		s, err := app.source(r, raws[i], srcs[i], fields[i])
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, doc.problem("spec.sources", "every source is a ref-only source: nothing is rendered")
	}
	return out, nil
}

// headRevision is what $ARGOCD_APP_REVISION stands for when the request does not say.
const headRevision = "0000000000000000000000000000000000000000"

// source resolves one ApplicationSource.
func (a *argoApp) source(r *repo, raw any, src argoSource, field string) (source, error) {
	switch {
	case src.Chart != "":
		return a.remoteHelm(r, src, field)
	case strings.HasPrefix(src.RepoURL, "oci://"):
		return nil, a.doc.problem(field+".repoURL", "%s is an OCI artifact of manifests, outside this repository: render verification renders this repository and Helm charts only (an OCI Helm chart is named with chart:)", redactURL(src.RepoURL))
	}
	if err := a.sameRepo(field, src.RepoURL); err != nil {
		return nil, err
	}
	dir, err := ".", error(nil)
	if p := strings.TrimPrefix(src.Path, "/"); p != "" {
		dir, err = cleanRel(p)
	}
	if err != nil {
		return nil, a.doc.problem(field+".path", "%v", err)
	}
	if !r.isDir(dir) {
		return nil, a.doc.problem(field+".path", "%s is not a directory of this repository", dir)
	}
	// Parameter overrides committed next to the source (.argocd-source.yaml, and
	// .argocd-source-<app>.yaml), as Argo CD Image Updater writes them, patch the source.
	src, err = a.mergeSourceOverrides(r, raw, src, dir, field)
	if err != nil {
		return nil, err
	}
	kind, err := a.sourceType(r, src, dir, field)
	if err != nil {
		return nil, err
	}
	env := a.env(src)
	switch kind {
	case "Helm":
		return a.helm(r, src, dir, field, env)
	case "Kustomize":
		return a.kustomize(src, dir, field, env)
	default:
		d := &directorySource{dir: dir, destNamespace: a.namespace}
		if o := src.Directory; o != nil {
			if len(o.Jsonnet) > 0 {
				return nil, a.doc.problem(field+".directory.jsonnet", "Jsonnet is not rendered: evaluating it is running a program")
			}
			d.recurse, d.disableExtensionFilter = o.Recurse, o.DisableExtensionFilter
			if d.include, err = compileGlob(o.Include); err != nil {
				return nil, a.doc.problem(field+".directory.include", "%v", err)
			}
			if d.exclude, err = compileGlob(o.Exclude); err != nil {
				return nil, a.doc.problem(field+".directory.exclude", "%v", err)
			}
		}
		return d, nil
	}
}

// sourceType is Argo CD's: the one tool the source configures (helm, kustomize, directory;
// a plugin is refused), else discovered from the directory — a kustomization wins over a
// Chart.yaml, and anything else is a directory of manifests.
func (a *argoApp) sourceType(r *repo, src argoSource, dir, field string) (string, error) {
	var set []string
	if src.Kustomize != nil {
		set = append(set, "Kustomize")
	}
	if src.Helm != nil {
		set = append(set, "Helm")
	}
	if src.Directory != nil {
		set = append(set, "Directory")
	}
	if src.Plugin != nil {
		return "", a.doc.problem(field+".plugin", "a config management plugin runs programs of its own: render verification does not run it")
	}
	switch len(set) {
	case 1:
		return set[0], nil
	case 0:
	default:
		return "", a.doc.problem(field, "multiple application sources defined: %s (Argo CD refuses this too)", strings.Join(set, ","))
	}
	if findKustomization(r, dir) != "" {
		return "Kustomize", nil
	}
	if r.exists(path.Join(dir, "Chart.yaml")) {
		return "Helm", nil
	}
	return "Directory", nil
}

// helm configures `helm template` as Argo CD's helmTemplate does: release name from
// helm.releaseName or the Application's name; namespace from helm.namespace or the
// destination; -f for each value file in order (duplicates once, globs expanded in lexical
// order), then helm.valuesObject (or helm.values) as one more -f; --set and --set-string for
// parameters, --set-file for file parameters; --include-crds unless skipCrds.
func (a *argoApp) helm(r *repo, src argoSource, dir, field string, env map[string]string) (source, error) {
	return a.helmWith(r, src, dir, field, env, nil)
}

// remoteHelm is a source whose chart comes from a Helm repository (repoURL https://…) or an
// OCI registry (repoURL oci://host/path, or host/path as Argo CD's enableOCI repositories are
// written) at targetRevision: an exact version, or a range resolved to the highest version
// that matches it, as Argo CD's repo server resolves it. Its value files must come from this
// repository through a $ref source: the chart's own files are not this repository's.
func (a *argoApp) remoteHelm(r *repo, src argoSource, field string) (source, error) {
	ref := &chartRef{repoURL: src.RepoURL, chart: src.Chart, version: src.TargetRevision, doc: a.doc, field: field + ".chart"}
	u, err := url.Parse(src.RepoURL)
	switch {
	case src.RepoURL == "":
		return nil, a.doc.problem(field+".repoURL", "required with chart: the Helm repository or OCI registry the chart %s comes from", src.Chart)
	case err == nil && (u.Scheme == "https" || u.Scheme == "http"):
	case err == nil && u.Scheme == "oci":
		ref.oci = true
	case err == nil && u.Scheme == "" && !strings.HasPrefix(src.RepoURL, "/"):
		ref.oci, ref.repoURL = true, "oci://"+src.RepoURL
	default:
		return nil, a.doc.problem(field+".repoURL", "%s is neither a Helm repository (https://) nor an OCI registry (oci://)", redactURL(src.RepoURL))
	}
	if strings.ContainsAny(src.Chart, "/\\") || src.Chart == "." || src.Chart == ".." {
		return nil, a.doc.problem(field+".chart", "must be a chart's name, got %q", src.Chart)
	}
	switch {
	case src.Kustomize != nil:
		return nil, a.doc.problem(field+".kustomize", "a chart source renders with Helm: kustomize options do not apply to it")
	case src.Directory != nil:
		return nil, a.doc.problem(field+".directory", "a chart source renders with Helm: directory options do not apply to it")
	case src.Plugin != nil:
		return nil, a.doc.problem(field+".plugin", "a config management plugin runs programs of its own: render verification does not run it")
	}
	return a.helmWith(r, src, "", field, a.env(src), ref)
}

func helmValueFiles(src argoSource) []string {
	if src.Helm == nil {
		return nil
	}
	return src.Helm.ValueFiles
}

// helmWith configures the helm render of a chart directory of this repository (dir), or of a
// remote chart (remote, with dir "").
func (a *argoApp) helmWith(r *repo, src argoSource, dir, field string, env map[string]string, remote *chartRef) (source, error) {
	h := &helmSource{
		chart: dir, remote: remote, releaseName: a.name, namespace: a.namespace,
		kubeVersion: a.kubeVersion, apiVersions: a.apiVersions, from: a.doc.file,
	}
	o := src.Helm
	if o == nil {
		return h, nil
	}
	hf := field + ".helm"
	if o.ReleaseName != "" {
		h.releaseName = o.ReleaseName
	}
	if o.Namespace != "" {
		h.namespace = o.Namespace
	}
	if o.KubeVersion != "" {
		h.kubeVersion = o.KubeVersion
	}
	if len(o.APIVersions) > 0 {
		h.apiVersions = o.APIVersions
	}
	h.skipCRDs, h.skipSchema = o.SkipCrds, o.SkipSchemaValidation

	files, err := a.valueFiles(r, o, dir, hf, env, remote)
	if err != nil {
		return nil, err
	}
	h.layers = files
	switch {
	case len(o.ValuesObject) > 0:
		doc, at := src.setBy("valuesObject", a.doc.file, hf)
		at = a.doc.origin(at)
		h.layers = append(h.layers, valuesLayer{kind: layerInline, values: o.ValuesObject, doc: doc, at: at})
	case strings.TrimSpace(o.Values) != "":
		var vals map[string]any
		if err := yaml.Unmarshal([]byte(o.Values), &vals); err != nil {
			return nil, a.doc.problem(hf+".values", "not YAML values: %v", err)
		}
		doc, at := src.setBy("values", a.doc.file, hf)
		at = a.doc.origin(at)
		h.layers = append(h.layers, valuesLayer{kind: layerInline, values: vals, doc: doc, at: at})
	}
	// Argo CD keeps parameters in maps by name (the last of a name wins) and passes every
	// --set before every --set-string, which Helm applies in that order anyway.
	var sets, strs []valuesLayer
	last := map[string]int{}
	for i, p := range o.Parameters {
		last[p.Name] = i
	}
	for i, p := range o.Parameters {
		if last[p.Name] != i {
			continue
		}
		doc, at := src.setBy("parameters", a.doc.file, hf)
		at = a.doc.origin(at)
		l := valuesLayer{kind: layerSet, name: p.Name, value: envsubst(p.Value, env), doc: doc, at: fmt.Sprintf("%s[%d]", at, i)}
		if p.ForceString {
			l.kind = layerSetString
			strs = append(strs, l)
		} else {
			sets = append(sets, l)
		}
	}
	h.layers = append(append(h.layers, sets...), strs...)
	for i, p := range o.FileParameters {
		at := fmt.Sprintf("%s.fileParameters[%d]", hf, i)
		file, err := a.resolveFile(p.Path, dir, at+".path", env)
		if err != nil {
			return nil, err
		}
		h.layers = append(h.layers, valuesLayer{kind: layerSetFile, name: p.Name, file: file, doc: a.doc.file, at: at})
	}
	return h, nil
}

// setBy says where a helm field of the source is written: the .argocd-source*.yaml file that
// set it (at helm.<field>), else the Application (at <hf>.<field>).
func (s argoSource) setBy(field, app, hf string) (doc, at string) {
	if f, ok := s.helmFrom[field]; ok {
		return f, "helm." + field
	}
	return app, hf + "." + field
}

// valueFiles resolves helm.valueFiles as Argo CD does: relative to the chart's directory; a
// leading / relative to the repository root; $ref/… relative to the root of the source named
// by ref; globs expanded in lexical order, leaving out files listed explicitly (they keep
// their own place); each file once; missing files skipped with ignoreMissingValueFiles.
//
// Of a remote chart (remote set), a value file not named through a $ref source is a file of
// the pulled chart, relative to its root, as Argo CD's repo server reads it from the chart it
// extracted: it is read from the archive at the render (layerChartFile).
func (a *argoApp) valueFiles(r *repo, o *argoHelm, dir, hf string, env map[string]string, remote *chartRef) ([]valuesLayer, error) {
	type entry struct {
		file    string
		glob    bool
		at      string
		inChart bool
	}
	entries := make([]entry, 0, len(o.ValueFiles))
	explicit := map[string]bool{}
	for i, raw := range o.ValueFiles {
		at := fmt.Sprintf("%s.valueFiles[%d]", hf, i)
		if remote != nil && !strings.HasPrefix(raw, "$") {
			file, err := a.chartFile(raw, at, env, remote)
			if err != nil {
				return nil, err
			}
			entries = append(entries, entry{file: file, at: at, inChart: true})
			continue
		}
		file, err := a.resolveFile(raw, dir, at, env)
		if err != nil {
			return nil, err
		}
		glob := strings.ContainsAny(file, "*?[")
		if !glob {
			explicit[file] = true
		}
		entries = append(entries, entry{file: file, glob: glob, at: at})
	}
	var layers []valuesLayer
	seen := map[string]bool{}
	add := func(file string) {
		if !seen[file] {
			seen[file] = true
			layers = append(layers, valuesLayer{kind: layerFile, file: file, optional: o.IgnoreMissingValueFiles})
		}
	}
	for _, e := range entries {
		if e.inChart {
			if !seen["\x00"+e.file] {
				seen["\x00"+e.file] = true
				layers = append(layers, valuesLayer{kind: layerChartFile, file: e.file, optional: o.IgnoreMissingValueFiles,
					doc: a.doc.file, at: a.doc.origin(e.at), chart: remote,
					missing: a.doc.problem(e.at, "%s is not a file of the pulled %s (set ignoreMissingValueFiles to skip it, as Argo CD would)", e.file, remote)})
			}
			continue
		}
		if !e.glob {
			if !o.IgnoreMissingValueFiles && !r.exists(e.file) {
				return nil, a.doc.problem(e.at, "values file %s does not exist in the repository (set ignoreMissingValueFiles to skip it, as Argo CD would)", e.file)
			}
			add(e.file)
			continue
		}
		matches, err := globFiles(r, e.file)
		if err != nil {
			return nil, a.doc.problem(e.at, "%v", err)
		}
		if len(matches) == 0 && !o.IgnoreMissingValueFiles {
			return nil, a.doc.problem(e.at, "the pattern %s matches no file of the repository", e.file)
		}
		for _, m := range matches {
			if !explicit[m] {
				add(m)
			}
		}
	}
	return layers, nil
}

// chartFile resolves a value file of a remote chart: a path inside the pulled chart, relative
// to its root (a leading / is the chart's root too, as Argo CD's repo server takes it). A URL,
// a glob or a path that leaves the chart is refused.
func (a *argoApp) chartFile(raw, at string, env map[string]string, remote *chartRef) (string, error) {
	v := envsubst(raw, env)
	if u, err := url.Parse(v); err == nil && u.Scheme != "" {
		return "", a.doc.problem(at, "%s is a URL: render verification reads value files of this repository or of the pulled chart %s only", redactURL(v), remote.chart)
	}
	if strings.ContainsAny(v, "*?[") {
		return "", a.doc.problem(at, "%s is a pattern over the files of the pulled chart %s: render verification reads the chart's files by name only", v, remote.chart)
	}
	clean, err := cleanRel(strings.TrimPrefix(path.Clean("/"+v), "/"))
	if rel := path.Clean(v); err != nil || clean == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", a.doc.problem(at, "%s leaves the pulled chart %s: a value file without $ref is a file of the chart, relative to its root; a file of this repository is named through a $ref source (multi-source: $values/path)", raw, remote.chart)
	}
	return clean, nil
}

// resolveFile resolves a value file or file parameter path of the Application to a
// repository-relative path, refusing URLs and paths that leave the repository.
func (a *argoApp) resolveFile(raw, dir, at string, env map[string]string) (string, error) {
	if strings.HasPrefix(raw, "$") {
		refName, rest, _ := strings.Cut(raw, "/")
		ref, ok := a.refs[refName]
		if !ok {
			names := make([]string, 0, len(a.refs))
			for n := range a.refs {
				names = append(names, n)
			}
			sort.Strings(names)
			if len(names) == 0 {
				return "", a.doc.problem(at, "%s refers to source %s, but no source has a ref (multi-source Applications name one with ref: %s)", raw, refName, strings.TrimPrefix(refName, "$"))
			}
			return "", a.doc.problem(at, "%s refers to source %s, which is not one of the refs (%s)", raw, refName, strings.Join(names, ", "))
		}
		if ref.src.Chart != "" {
			return "", a.doc.problem(ref.field+".chart", "a ref source with a chart is not supported (Argo CD refuses it too)")
		}
		if strings.HasPrefix(ref.src.RepoURL, "oci://") {
			return "", a.doc.problem(ref.field+".repoURL", "%s is an OCI artifact, outside this repository", redactURL(ref.src.RepoURL))
		}
		if err := a.sameRepo(ref.field, ref.src.RepoURL); err != nil {
			return "", err
		}
		clean, err := cleanRel(strings.TrimPrefix(envsubst("/"+rest, env), "/"))
		if err != nil || rest == "" {
			return "", a.doc.problem(at, "%s must name a file inside the repository of %s", raw, refName)
		}
		return clean, nil
	}
	v := envsubst(raw, env)
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && len(u.Scheme) > 1 {
		return "", a.doc.problem(at, "%s is fetched over the network: render verification reads files of this repository only", redactURL(v))
	}
	joined := path.Join(dir, v)
	if strings.HasPrefix(v, "/") {
		joined = strings.TrimPrefix(path.Clean(v), "/")
	}
	clean, err := cleanRel(joined)
	if err != nil || clean == "." {
		return "", a.doc.problem(at, "%s leaves the repository (it is relative to the chart directory %s)", raw, dir)
	}
	return clean, nil
}

// sameRepo checks that a source's repoURL is this repository, when this repository's URL is
// known.
func (a *argoApp) sameRepo(field, repoURL string) error {
	if len(a.repoURLs) == 0 || repoURL == "" {
		return nil
	}
	known := make([]string, len(a.repoURLs))
	for i, u := range a.repoURLs {
		if normalizeRepoURL(repoURL) == normalizeRepoURL(u) {
			return nil
		}
		known[i] = redactURL(u)
	}
	return a.doc.problem(field+".repoURL", "%s is another repository than this one (%s): render verification renders this repository only", redactURL(repoURL), strings.Join(known, ", "))
}

// kustomize configures the build as Argo CD's kustomize Build does.
func (a *argoApp) kustomize(src argoSource, dir, field string, env map[string]string) (source, error) {
	k := &kustomizeSource{dir: dir, destNamespace: a.namespace}
	o := src.Kustomize
	if o == nil {
		return k, nil
	}
	kf := field + ".kustomize"
	e := &kustomizeEdit{
		namePrefix: o.NamePrefix, nameSuffix: o.NameSuffix, namespace: o.Namespace,
		forceLabels: o.ForceCommonLabels, labelsWithoutSelector: o.LabelWithoutSelector, labelsInTemplates: o.LabelIncludeTemplates,
		forceAnnotations: o.ForceCommonAnnotations, components: o.Components, ignoreMissingComps: o.IgnoreMissingComponents,
		doc: a.doc.file,
	}
	for _, img := range o.Images {
		e.images = append(e.images, envsubst(img, env))
	}
	for i, rep := range o.Replicas {
		n, err := intOrString(rep.Count)
		if err != nil {
			return nil, a.doc.problem(fmt.Sprintf("%s.replicas[%d].count", kf, i), "%v", err)
		}
		e.replicas = append(e.replicas, types.Replica{Name: rep.Name, Count: n})
	}
	if len(o.CommonLabels) > 0 {
		e.labels = map[string]string{}
		for k, v := range o.CommonLabels {
			e.labels[k] = envsubst(v, env)
		}
	}
	if len(o.CommonAnnotations) > 0 {
		e.annotations = map[string]string{}
		for k, v := range o.CommonAnnotations {
			if o.CommonAnnotationsEnvsubst {
				v = envsubst(v, env)
			}
			e.annotations[k] = v
		}
	}
	patches, err := patchesFrom(o.Patches)
	if err != nil {
		return nil, a.doc.problem(kf+".patches", "%v", err)
	}
	e.patches = patches
	k.edit = e
	k.replicaOverrides = make([]replicaOverride, 0, len(o.Replicas))
	for i, rep := range o.Replicas {
		k.replicaOverrides = append(k.replicaOverrides, replicaOverride{name: rep.Name, where: fmt.Sprintf("%s %s.replicas[%d]", a.doc.file, kf, i)})
	}
	return k, nil
}

// mergeSourceOverrides applies .argocd-source.yaml and .argocd-source-<app>.yaml of the
// source's directory as JSON merge patches, keeping repoURL, path, chart and targetRevision,
// as Argo CD's mergeSourceParameters does.
func (a *argoApp) mergeSourceOverrides(r *repo, raw any, src argoSource, dir, field string) (argoSource, error) {
	merged := raw
	patched := false
	from := map[string]string{}
	for _, name := range []string{".argocd-source.yaml", ".argocd-source-" + a.name + ".yaml"} {
		file := path.Join(dir, name)
		if !r.exists(file) || r.isDir(file) {
			continue
		}
		data, err := r.readFile(file)
		if err != nil {
			return src, err
		}
		var patch any
		if err := yaml.Unmarshal(data, &patch); err != nil {
			return src, fmt.Errorf("parse %s: %w", file, err)
		}
		merged = mergePatch(merged, patch)
		patched = true
		if pm, ok := patch.(map[string]any); ok {
			if helm, ok := pm["helm"].(map[string]any); ok {
				for _, k := range []string{"parameters", "valuesObject", "values"} {
					if _, ok := helm[k]; ok {
						from[k] = file
					}
				}
			}
		}
	}
	if !patched {
		return src, nil
	}
	var out argoSource
	if err := fromGeneric(merged, &out); err != nil {
		return src, a.doc.problem(field, "with the overrides of %s: %v", dir, err)
	}
	out.RepoURL, out.Path, out.Chart, out.TargetRevision = src.RepoURL, src.Path, src.Chart, src.TargetRevision
	out.helmFrom = from
	return out, nil
}

// env is the build environment Argo CD substitutes into value file paths, parameters, images
// and labels ($ARGOCD_APP_NAME, …).
func (a *argoApp) env(src argoSource) map[string]string {
	rev := a.revision
	short := func(n int) string {
		if len(rev) > n {
			return rev[:n]
		}
		return rev
	}
	return map[string]string{
		"ARGOCD_APP_NAME":                   a.name,
		"ARGOCD_APP_NAMESPACE":              a.namespace,
		"ARGOCD_APP_PROJECT_NAME":           a.project,
		"ARGOCD_APP_REVISION":               rev,
		"ARGOCD_APP_REVISION_SHORT":         short(7),
		"ARGOCD_APP_REVISION_SHORT_8":       short(8),
		"ARGOCD_APP_SOURCE_REPO_URL":        src.RepoURL,
		"ARGOCD_APP_SOURCE_PATH":            src.Path,
		"ARGOCD_APP_SOURCE_TARGET_REVISION": src.TargetRevision,
	}
}

// envsubst expands $VAR and ${VAR} from env, unknown variables to "", and $$ to $, as Argo CD.
func envsubst(s string, env map[string]string) string {
	return os.Expand(s, func(v string) string {
		if v == "$" {
			return "$"
		}
		return env[v]
	})
}

// intOrString reads a count that may be written as a number or a string.
func intOrString(raw json.RawMessage) (int64, error) {
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, fmt.Errorf("must be a number, got %s", raw)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("must be a number, got %q", s)
	}
	return n, nil
}

// fromGeneric decodes a value decoded from YAML into a struct with json tags.
func fromGeneric(v any, into any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, into)
}

// mergePatch applies an RFC 7386 JSON merge patch to a decoded document.
func mergePatch(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	out := make(map[string]any, len(dm))
	for k, v := range dm {
		out[k] = v
	}
	for k, v := range pm {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = mergePatch(out[k], v)
	}
	return out
}

// normalizeRepoURL reduces a Git URL to host/path, lowercased, without scheme, user, .git or
// trailing slash, so https://, ssh:// and scp-like forms of one repository compare equal.
func normalizeRepoURL(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		s = u.Hostname() + u.Path
	} else if at := strings.Index(s, "@"); at >= 0 && strings.Contains(s[at:], ":") && !strings.Contains(s, "://") {
		host, p, _ := strings.Cut(s[at+1:], ":")
		s = host + "/" + p
	} else {
		s = strings.TrimPrefix(s, "file://")
	}
	s = strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git")
	return strings.TrimSuffix(s, "/")
}

// redactURL drops the user information of a URL, so a credential written into a repoURL
// never reaches a message.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}
