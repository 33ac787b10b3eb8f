package locate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/edit"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

// probe is the count a candidate is set to while proving it: a number no real file holds.
const probe = 7919

// Found is where the count lives, and how to render it for verification.
type Found struct {
	Replicas policy.ReplicasLocation
	// Render is the chart or kustomization that was rendered to prove it; nil for a plain
	// manifest.
	Render *policy.Render
	// How says, in a sentence, what was proven, e.g. "rendering chart with …: laravelWeb.replicaCount
	// of envs/prod/laravel-web/values.yaml reaches Deployment laravel-demo/laravel-web".
	How string
}

// Find looks through the repository at root for target's replica count. It tries, in order,
// the Helm sources of Argo CD Applications, the repository's charts with each values file,
// its kustomizations, and plain manifests. The error says what was tried when nothing is found.
func Find(ctx context.Context, root string, target policy.TargetRef) (*Found, error) {
	repo, err := scan(root)
	if err != nil {
		return nil, err
	}
	// First where the rendered namespace is the target's, then where it is left to the
	// deployment (a kustomize base without a namespace).
	var tried []string
	for _, strict := range []bool{true, false} {
		r := *repo
		r.strict = strict
		for _, s := range r.sources() {
			f, note := s.find(ctx, &r, target)
			if f != nil {
				return f, nil
			}
			if note != "" && !strict {
				tried = append(tried, note)
			}
		}
	}
	msg := fmt.Sprintf("no file of %s sets the replicas of %s %s", root, target.Kind, targetName(target))
	if len(tried) > 0 {
		msg += " (" + strings.Join(tried, "; ") + ")"
	}
	return nil, errors.New(msg)
}

// repository is what scan found: YAML documents by file, charts and kustomizations.
type repository struct {
	root           string
	files          map[string][]doc // repo-relative path → its documents
	order          []string
	charts         []string
	kustomizations []string
	// strict asks rendered objects to carry the target's namespace.
	strict bool
}

type doc struct {
	node *yaml.Node
	kind string
	name string
	ns   string
}

func scan(root string) (*repository, error) {
	r := &repository{root: root, files: map[string][]doc{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		dir := path.Dir(rel)
		switch d.Name() {
		case "Chart.yaml":
			r.charts = append(r.charts, dir)
			return nil
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
			r.kustomizations = append(r.kustomizations, dir)
		}
		if strings.Contains("/"+rel, "/templates/") {
			return nil // chart templates are not YAML until rendered
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r.files[rel] = parseDocs(data)
		r.order = append(r.order, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan repository: %w", err)
	}
	sort.Strings(r.order)
	return r, nil
}

func parseDocs(data []byte) []doc {
	var out []doc
	for n, err := range yamlnode.Documents(data) {
		if err != nil {
			return nil // not YAML we can read: not a candidate
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			out = append(out, doc{})
			continue
		}
		m := n.Content[0]
		d := doc{node: m, kind: str(m, "kind")}
		if md := yamlnode.MappingValue(m, "metadata"); md != nil {
			d.name, d.ns = str(md, "name"), str(md, "namespace")
		}
		out = append(out, d)
	}
	return out
}

// source is one way the workload may be rendered.
type source interface {
	find(ctx context.Context, r *repository, target policy.TargetRef) (*Found, string)
}

func (r *repository) sources() []source {
	var out []source
	for _, f := range r.order {
		for _, d := range r.files[f] {
			if d.kind == "Application" && d.node != nil {
				if app := argoHelm(d); app != nil {
					out = append(out, app)
				}
			}
		}
	}
	for _, c := range r.charts {
		out = append(out, chartSource{chart: c})
	}
	for _, k := range r.kustomizations {
		out = append(out, kustomizeSource{dir: k})
	}
	out = append(out, manifestSource{})
	return out
}

// helmSource renders a chart with values files, as an Argo CD Application does.
type helmSource struct {
	app  string
	helm policy.HelmRender
}

func argoHelm(d doc) *helmSource {
	spec := yamlnode.MappingValue(d.node, "spec")
	src := yamlnode.MappingValue(spec, "source")
	h := yamlnode.MappingValue(src, "helm")
	chart := str(src, "path")
	if h == nil || chart == "" {
		return nil
	}
	s := &helmSource{app: d.name, helm: policy.HelmRender{Chart: path.Clean(chart), ReleaseName: str(h, "releaseName"), Namespace: str(yamlnode.MappingValue(spec, "destination"), "namespace")}}
	if s.helm.ReleaseName == "" {
		s.helm.ReleaseName = d.name // Argo CD's default release name
	}
	if vf := yamlnode.MappingValue(h, "valueFiles"); vf != nil {
		for _, it := range vf.Content {
			s.helm.ValuesFiles = append(s.helm.ValuesFiles, path.Clean(path.Join(chart, it.Value)))
		}
	}
	return s
}

func (s *helmSource) find(ctx context.Context, r *repository, target policy.TargetRef) (*Found, string) {
	h := s.helm
	files := append([]string(nil), h.ValuesFiles...)
	files = append(files, path.Join(h.Chart, "values.yaml"))
	return helmProbe(ctx, r, h, files, target, "Argo CD Application "+s.app)
}

// chartSource renders a chart of the repository with one values file at a time.
type chartSource struct{ chart string }

func (s chartSource) find(ctx context.Context, r *repository, target policy.TargetRef) (*Found, string) {
	base := policy.HelmRender{Chart: s.chart, Namespace: target.Namespace}
	for _, f := range r.order {
		if strings.HasPrefix(f, s.chart+"/") || !valuesLike(r.files[f]) {
			continue
		}
		h := base
		h.ValuesFiles = []string{f}
		if found, _ := helmProbe(ctx, r, h, []string{f}, target, "chart "+s.chart); found != nil {
			return found, ""
		}
	}
	return helmProbe(ctx, r, base, []string{path.Join(s.chart, "values.yaml")}, target, "chart "+s.chart)
}

// helmProbe renders h; when the target is there, it tries each numeric key of the candidate
// files (last first) that holds the rendered count.
func helmProbe(ctx context.Context, r *repository, h policy.HelmRender, candidates []string, target policy.TargetRef, what string) (*Found, string) {
	req := render.Request{Root: r.root, Helm: &h}
	objs, err := render.Render(ctx, req)
	if err != nil {
		return nil, fmt.Sprintf("%s does not render: %v", what, err)
	}
	w := r.workload(objs, target, h.Namespace)
	if w == nil || w.Replicas == nil {
		return nil, ""
	}
	for i := len(candidates) - 1; i >= 0; i-- {
		file := candidates[i]
		data, err := os.ReadFile(filepath.Join(r.root, filepath.FromSlash(file)))
		if err != nil {
			continue
		}
		for _, p := range numericLeaves(data, *w.Replicas) {
			loc := policy.ReplicasLocation{File: file, Path: p}
			edited, _, err := edit.SetReplicas(data, loc, probe)
			if err != nil {
				continue
			}
			req.Overlay = map[string][]byte{file: edited}
			after, err := render.Render(ctx, req)
			if err != nil {
				continue
			}
			if aw := r.workload(after, target, h.Namespace); aw != nil && aw.Replicas != nil && *aw.Replicas == probe {
				hr := h
				return &Found{
					Replicas: loc,
					Render:   &policy.Render{Helm: &hr},
					How:      fmt.Sprintf("rendering %s (chart %s): %s of %s reaches %s", what, h.Chart, p, file, w),
				}, ""
			}
		}
	}
	return nil, fmt.Sprintf("%s renders %s, but no values key of %s reaches its replicas", what, w, strings.Join(candidates, ", "))
}

// kustomizeSource builds a kustomization.
type kustomizeSource struct{ dir string }

func (s kustomizeSource) find(ctx context.Context, r *repository, target policy.TargetRef) (*Found, string) {
	req := render.Request{Root: r.root, Kustomize: &policy.KustomizeRender{Dir: s.dir}}
	objs, err := render.Render(ctx, req)
	if err != nil {
		return nil, fmt.Sprintf("kustomization %s does not build: %v", s.dir, err)
	}
	w := r.workload(objs, target, "")
	if w == nil || w.Replicas == nil {
		return nil, ""
	}
	var cands []policy.ReplicasLocation
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		f := path.Join(s.dir, name)
		for _, d := range r.files[f] {
			if reps := yamlnode.MappingValue(d.node, "replicas"); reps != nil {
				for _, it := range reps.Content {
					if str(it, "name") == target.Name {
						cands = append(cands, policy.ReplicasLocation{File: f, Path: fmt.Sprintf("replicas[name=%s].count", target.Name)})
					}
				}
			}
		}
	}
	for _, f := range r.order {
		if strings.HasPrefix(f, s.dir+"/") || s.dir == "." {
			cands = append(cands, manifestCandidates(r, f, target)...)
		}
	}
	for _, loc := range cands {
		data, err := os.ReadFile(filepath.Join(r.root, filepath.FromSlash(loc.File)))
		if err != nil {
			continue
		}
		edited, _, err := edit.SetReplicas(data, loc, probe)
		if err != nil {
			continue
		}
		req.Overlay = map[string][]byte{loc.File: edited}
		after, err := render.Render(ctx, req)
		if err != nil {
			continue
		}
		if aw := r.workload(after, target, ""); aw != nil && aw.Replicas != nil && *aw.Replicas == probe {
			return &Found{Replicas: loc, Render: &policy.Render{Kustomize: &policy.KustomizeRender{Dir: s.dir}},
				How: fmt.Sprintf("building kustomization %s: %s of %s reaches %s", s.dir, loc.Path, loc.File, w)}, ""
		}
	}
	return nil, fmt.Sprintf("kustomization %s builds %s, but none of its files sets its replicas", s.dir, w)
}

// manifestSource is a plain manifest in the repository.
type manifestSource struct{}

func (manifestSource) find(_ context.Context, r *repository, target policy.TargetRef) (*Found, string) {
	for _, f := range r.order {
		for _, loc := range manifestCandidates(r, f, target) {
			data, err := os.ReadFile(filepath.Join(r.root, filepath.FromSlash(f)))
			if err != nil {
				continue
			}
			edited, _, err := edit.SetReplicas(data, loc, probe)
			if err != nil {
				continue
			}
			objs, err := render.ParseManifests(edited)
			if err != nil {
				continue
			}
			if w := r.workload(objs, target, ""); w != nil && w.Replicas != nil && *w.Replicas == probe {
				return &Found{Replicas: loc, How: fmt.Sprintf("manifest %s: spec.replicas of %s", f, w)}, ""
			}
		}
	}
	return nil, ""
}

// manifestCandidates are the spec.replicas fields of file's documents that are the target.
func manifestCandidates(r *repository, file string, target policy.TargetRef) []policy.ReplicasLocation {
	docs := r.files[file]
	var out []policy.ReplicasLocation
	for _, d := range docs {
		if d.kind != target.Kind || d.name != target.Name || !sameNS(d.ns, target.Namespace) {

			continue
		}
		if yamlnode.MappingValue(yamlnode.MappingValue(d.node, "spec"), "replicas") == nil {
			continue
		}
		loc := policy.ReplicasLocation{File: file, Path: "spec.replicas"}
		if len(docs) > 1 {
			loc.Document = &policy.DocumentSelector{Kind: d.kind, Name: d.name}
		}
		out = append(out, loc)
	}
	return out
}

// workload is the rendered target: its kind and name, and its namespace when both know one.
func (r *repository) workload(objs []render.Object, target policy.TargetRef, defNS string) *render.Object {
	for i := range objs {
		o := &objs[i]
		ns := o.Namespace
		if ns == "" {
			ns = defNS
		}
		nsOK := sameNS(ns, target.Namespace)
		if r.strict {
			nsOK = ns == target.Namespace
		}
		if o.Kind == target.Kind && o.Name == target.Name && nsOK {
			return o
		}
	}
	return nil
}

func sameNS(a, b string) bool { return a == "" || b == "" || a == b }

// valuesLike says whether a file's documents look like Helm values rather than manifests.
func valuesLike(docs []doc) bool {
	if len(docs) != 1 || docs[0].node == nil {
		return false
	}
	return yamlnode.MappingValue(docs[0].node, "apiVersion") == nil && yamlnode.MappingValue(docs[0].node, "kind") == nil
}

// numericLeaves lists the dot paths of integer scalars equal to want, keys with "replica" in
// their name first.
func numericLeaves(data []byte, want int) []string {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
		return nil
	}
	var named, other []string
	var walk func(n *yaml.Node, p string)
	walk = func(n *yaml.Node, p string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if strings.ContainsAny(k, ".[]=") {
				continue // not addressable by a dot path
			}
			kp := k
			if p != "" {
				kp = p + "." + k
			}
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && v.Value == fmt.Sprint(want) {
				if strings.Contains(strings.ToLower(k), "replica") {
					named = append(named, kp)
				} else {
					other = append(other, kp)
				}
			}
			walk(v, kp)
		}
	}
	walk(root.Content[0], "")
	return append(named, other...)
}

func str(m *yaml.Node, key string) string {
	if v := yamlnode.MappingValue(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

func targetName(t policy.TargetRef) string {
	if t.Namespace == "" {
		return t.Name
	}
	return t.Namespace + "/" + t.Name
}
