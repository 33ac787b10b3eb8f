package render

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// unchanged explains why the edit did not reach the rendered count: something applied later
// sets it (a later values file, a value or parameter of the Application, an overlay's patch),
// or nothing reads the edited key.
func (v verifier) unchanged(name string, replicas *int) error {
	head := fmt.Sprintf("the edited key %s does not reach %s: rendered spec.replicas stays %s",
		v.edited(), name, show(replicas))
	r, err := newRepo(v.afterReq.Root, v.afterReq.Overlay)
	if err != nil {
		return &VerifyError{Reason: ReasonKeyUnused, Message: head}
	}
	r.pulled = v.afterReq.pulled // a value file of a pulled chart is read from its archive
	srcs, err := resolve(r, v.afterReq)
	if err != nil {
		return &VerifyError{Reason: ReasonKeyUnused, Message: head}
	}
	for _, src := range srcs {
		by := ""
		switch s := src.(type) {
		case *helmSource:
			by = v.helmOverride(r, s)
		case *kustomizeSource:
			by = v.kustomizeOverride(r, s)
		}
		if by != "" {
			return &VerifyError{Reason: ReasonKeyOverridden, Message: head + " — it is overridden: " + by}
		}
	}
	var read []string
	for _, src := range srcs {
		switch s := src.(type) {
		case *helmSource:
			if _, ok := v.helmPosition(s); ok {
				return &VerifyError{Reason: ReasonKeyUnused, Message: head + " — the chart does not read it (is the path right, or is replicas set only when another value is off?)"}
			}
			read = append(read, s.reads()...)
		case *kustomizeSource:
			return &VerifyError{Reason: ReasonKeyUnused, Message: head + " — the kustomization does not use it (is the file one of its resources, and does the name match?)"}
		case *directorySource:
			if under(v.file, s.dir) || s.dir == "." {
				return &VerifyError{Reason: ReasonKeyUnused, Message: head + " — the directory source " + s.dir + " does not render it (is the file excluded, in a subdirectory without recurse, or not a manifest?)"}
			}
			read = append(read, s.dir+"/")
		}
	}
	return &VerifyError{Reason: ReasonKeyUnused, Message: fmt.Sprintf("%s — %s is none of the values the render reads (%s)", head, v.file, strings.Join(read, ", "))}
}

func (v verifier) edited() string {
	if v.req.Path == "" {
		return v.file
	}
	return v.file + "#" + v.req.Path
}

// reads lists what a chart render reads values from, for messages.
func (h *helmSource) reads() []string {
	var out []string
	if !h.replaceDefaults {
		out = append(out, "the chart's values.yaml")
		if h.remote != nil {
			out[len(out)-1] = "the pulled chart's values.yaml"
		}
	}
	for _, l := range append(slices.Clone(h.defaults), h.layers...) {
		if l.kind == layerFile {
			out = append(out, l.file)
		} else if l.kind == layerInline || l.kind == layerChartFile {
			out = append(out, l.String())
		}
	}
	if len(out) == 0 {
		return []string{"nothing"}
	}
	return out
}

// position is where the edited key sits among a chart render's values: in the chart's
// defaults (layer -1), a defaults file (Flux) or a user layer, and the key's path inside the
// values.
type position struct {
	inDefaults bool // the chart's values.yaml, or one of the files that replace it
	index      int  // index in defaults or layers; -1 for the chart's values.yaml
	values     policy.Path
}

// helmPosition finds the edited key among the render's values, or false when the render
// does not read the edited file (or the path inside it).
func (v verifier) helmPosition(h *helmSource) (position, bool) {
	p, err := policy.ParsePath(v.req.Path)
	if err != nil || v.req.Path == "" {
		p = nil
	}
	pos, found := position{index: -1}, false
	if h.remote == nil && !h.replaceDefaults && v.file == path.Join(h.chart, "values.yaml") {
		pos, found = position{inDefaults: true, index: -1, values: p}, true
	}
	for i, l := range h.defaults {
		if l.kind == layerFile && l.file == v.file {
			pos, found = position{inDefaults: true, index: i, values: p}, true
		}
	}
	for i, l := range h.layers {
		switch l.kind {
		case layerFile:
			if l.file == v.file {
				pos, found = position{index: i, values: p}, true
			}
		case layerInline:
			if rest, ok := cutPrefix(p, l.at); ok && l.doc == v.file {
				pos, found = position{index: i, values: rest}, true
			}
		case layerSet, layerSetString:
			if l.doc == v.file && (pathString(p) == l.at+".value" || pathString(p) == setMatchPath(l)) {
				key, err := policy.ParsePath(l.name)
				if err == nil {
					pos, found = position{index: i, values: key}, true
				}
			}
		}
	}
	return pos, found
}

// setMatchPath is the path of a parameter's value written with a list match:
// spec.source.helm.parameters[name=replicaCount].value.
func setMatchPath(l valuesLayer) string {
	at := l.at
	if open := strings.LastIndexByte(at, '['); open >= 0 {
		at = at[:open]
	}
	return at + "[name=" + l.name + "].value"
}

// helmOverride names the last values layer after the edited one that sets the same key, or "".
func (v verifier) helmOverride(r *repo, h *helmSource) string {
	pos, ok := v.helmPosition(h)
	if !ok || len(pos.values) == 0 {
		return ""
	}
	var later []valuesLayer
	if pos.inDefaults {
		later = append(slices.Clone(h.defaults[pos.index+1:]), h.layers...)
	} else {
		later = h.layers[pos.index+1:]
	}
	key := pathString(pos.values)
	for i := len(later) - 1; i >= 0; i-- {
		l := later[i]
		var val any
		found := false
		switch l.kind {
		case layerFile:
			data, err := r.readFile(l.file)
			if err != nil {
				continue
			}
			var doc any
			if yaml.Unmarshal(data, &doc) != nil {
				continue
			}
			val, found = lookup(doc, pos.values)
		case layerInline:
			val, found = lookup(l.values, pos.values)
		case layerChartFile:
			// Read from the pulled archive; before a pull (validate --repo) it is not known,
			// and the render comparison of the verification catches it.
			ch, err := loadPulledChart(r, l.chart)
			if err != nil {
				continue
			}
			data, ok := chartRawFile(ch, l.file)
			var doc any
			if !ok || yaml.Unmarshal(data, &doc) != nil {
				continue
			}
			val, found = lookup(doc, pos.values)
		case layerSet, layerSetString:
			if l.name == key || strings.HasPrefix(key, l.name+".") || strings.HasPrefix(key, l.name+"[") {
				val, found = l.value, true
			}
		}
		if !found {
			continue
		}
		set := "sets " + key
		switch val.(type) {
		case map[string]any, []any:
		default: // a scalar, the count: show it; never dump a subtree of someone's values
			set += fmt.Sprintf(": %v", val)
		}
		return fmt.Sprintf("%s comes after %s and %s", l, v.file, set)
	}
	return ""
}

// cutPrefix returns the rest of p after the dotted field prefix (spec.values), if p lies
// below it.
func cutPrefix(p policy.Path, prefix string) (policy.Path, bool) {
	pre, err := policy.ParsePath(prefix)
	if err != nil || len(p) <= len(pre) {
		return nil, false
	}
	for i := range pre {
		if pre[i] != p[i] {
			return nil, false
		}
	}
	return p[len(pre):], true
}

// pathString writes a path back in policy syntax.
func pathString(p policy.Path) string {
	var b strings.Builder
	for _, e := range p {
		switch e.Kind {
		case policy.PathKey:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.Key)
		case policy.PathIndex:
			b.WriteString("[" + strconv.Itoa(e.Index) + "]")
		case policy.PathMatch:
			b.WriteString("[" + e.Key + "=" + e.Value + "]")
		}
	}
	return b.String()
}

// kustomizeOverride finds a kustomization in the build that sets the workload's count after
// the edit: a replicas entry for it elsewhere, or a patch that sets replicas and names it.
func (v verifier) kustomizeOverride(r *repo, s *kustomizeSource) string {
	name := v.req.Target.Name
	for _, o := range s.replicaOverrides {
		if o.name == name {
			return fmt.Sprintf("%s sets the count of %s, after everything in the repository", o.where, name)
		}
	}
	roots, err := kustomizationRoots(r, s.dir)
	if err != nil {
		return ""
	}
	for _, root := range roots {
		file := findKustomization(r, root)
		if file == "" {
			continue
		}
		data, err := r.readFile(file)
		if err != nil {
			continue
		}
		var k struct {
			Replicas []struct {
				Name string `yaml:"name"`
			} `yaml:"replicas"`
			PatchesStrategicMerge []string `yaml:"patchesStrategicMerge"`
			Patches               []struct {
				Path   string `yaml:"path"`
				Patch  string `yaml:"patch"`
				Target *struct {
					Name string `yaml:"name"`
				} `yaml:"target"`
			} `yaml:"patches"`
		}
		if yaml.Unmarshal(data, &k) != nil {
			continue
		}
		if file != v.file && slices.ContainsFunc(k.Replicas, func(e struct {
			Name string `yaml:"name"`
		}) bool {
			return e.Name == name
		}) {
			return fmt.Sprintf("%s sets a replicas entry for %s", file, name)
		}
		patchSets := func(text string) bool {
			return strings.Contains(text, "replicas") && strings.Contains(text, name)
		}
		for _, p := range k.Patches {
			text := p.Patch
			if p.Path != "" {
				b, err := r.readFile(path.Join(root, p.Path))
				if err != nil {
					continue
				}
				text = string(b)
			}
			if p.Target != nil && p.Target.Name == name {
				text += "\n" + name
			}
			if patchSets(text) && path.Join(root, p.Path) != v.file {
				return fmt.Sprintf("a patch in %s sets replicas of %s", file, name)
			}
		}
		for _, p := range k.PatchesStrategicMerge {
			text := p
			if !strings.Contains(p, "\n") {
				b, err := r.readFile(path.Join(root, p))
				if err != nil {
					continue
				}
				text = string(b)
			}
			if patchSets(text) {
				return fmt.Sprintf("a patch in %s sets replicas of %s", file, name)
			}
		}
	}
	return ""
}
