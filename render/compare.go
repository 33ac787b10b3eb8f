package render

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// How two renders are compared.
//
// Objects are matched by API group, kind, namespace and name. A chart that generates content
// (randAlphaNum, genCA, uuidv4, now, …) renders differently every time, and so does
// everything derived from it (a checksum/secret pod annotation). Such fields are found by
// rendering the unchanged input a second time: every field that differs between two renders
// of the same input is generated, and is left out of the comparison with the edited render —
// in every object, wherever it sits. A field that differs only between the unchanged and the
// edited render is a change. An object whose name is generated is matched by the template it
// comes from and its place among that template's objects instead of by name.

// objKey identifies an object across renders.
type objKey string

// indexed is one render, keyed.
type indexed struct {
	keys []objKey // in render order
	objs map[objKey]Object
	pos  map[objKey]int // index in the render
}

// nameKey is an object's identity by name: group/kind/namespace/name.
func nameKey(o Object) objKey {
	return objKey(o.Group() + "/" + o.Kind + "/" + effectiveNamespace(o) + "/" + o.Name)
}

// slotKey is an object's identity by origin: the template it came from and its place among
// that template's objects of its kind.
func slotKey(o Object, ordinal int) objKey {
	return objKey(o.Group() + "/" + o.Kind + "/" + effectiveNamespace(o) + "/@" + o.Source + "#" + strconv.Itoa(ordinal))
}

func effectiveNamespace(o Object) string {
	if o.Namespace != "" {
		return o.Namespace
	}
	return o.DestNamespace
}

// slots returns the slot key of every object of a render.
func slots(objs []Object) []objKey {
	count := map[string]int{}
	out := make([]objKey, len(objs))
	for i, o := range objs {
		id := o.Group() + "/" + o.Kind + "/" + o.Source
		out[i] = slotKey(o, count[id])
		count[id]++
	}
	return out
}

// index keys a render: by name, except objects whose slot is in bySlot (generated names).
// Duplicates of a key get a #n suffix, so nothing is dropped.
func index(objs []Object, bySlot map[objKey]bool) indexed {
	sl := slots(objs)
	ix := indexed{objs: map[objKey]Object{}, pos: map[objKey]int{}}
	for i, o := range objs {
		k := nameKey(o)
		if bySlot[sl[i]] {
			k = sl[i]
		}
		base := k
		for n := 2; ; n++ {
			if _, dup := ix.objs[k]; !dup {
				break
			}
			k = objKey(string(base) + "#" + strconv.Itoa(n))
		}
		ix.keys = append(ix.keys, k)
		ix.objs[k] = o
		ix.pos[k] = i
	}
	return ix
}

// noise is what two renders of the same input disagree on: generated fields by object, and
// the slots of objects whose names are generated.
type noise struct {
	fields map[objKey][]string
	bySlot map[objKey]bool
	// whole are objects present in one render of the unchanged input and not the other.
	whole map[objKey]bool
}

func (n *noise) empty() bool {
	return n == nil || (len(n.fields) == 0 && len(n.bySlot) == 0 && len(n.whole) == 0)
}

// findNoise compares two renders of the same input.
func findNoise(a, b []Object) *noise {
	n := &noise{fields: map[objKey][]string{}, bySlot: map[objKey]bool{}, whole: map[objKey]bool{}}
	// Names that are not in both renders are generated; match those objects by slot.
	ia, ib := index(a, nil), index(b, nil)
	sa, sb := slots(a), slots(b)
	for k, o := range ia.objs {
		if _, ok := ib.objs[k]; !ok {
			n.bySlot[sa[ia.pos[k]]] = true
			_ = o
		}
	}
	for k := range ib.objs {
		if _, ok := ia.objs[k]; !ok {
			n.bySlot[sb[ib.pos[k]]] = true
		}
	}
	ia, ib = index(a, n.bySlot), index(b, n.bySlot)
	for _, k := range ia.keys {
		ob, ok := ib.objs[k]
		if !ok {
			n.whole[k] = true
			continue
		}
		var paths []string
		diffPaths(ia.objs[k].Raw, ob.Raw, "", &paths)
		if len(paths) > 0 {
			n.fields[k] = paths
		}
	}
	for _, k := range ib.keys {
		if _, ok := ia.objs[k]; !ok {
			n.whole[k] = true
		}
	}
	return n
}

// ignores says whether a changed field is generated: it is a generated field or lies below one.
func (n *noise) ignores(k objKey, p string) bool {
	if n == nil {
		return false
	}
	for _, g := range n.fields[k] {
		if p == g || strings.HasPrefix(p, g+".") || strings.HasPrefix(p, g+"[") {
			return true
		}
	}
	return false
}

// change is one object that differs between the unchanged and the edited render.
type change struct {
	key           objKey
	before, after *Object // nil when the object is added or removed
	paths         []string
}

func (c change) obj() Object {
	if c.after != nil {
		return *c.after
	}
	return *c.before
}

// changes lists the objects that differ between before and after, leaving out the target's
// spec.replicas and, with noise, the generated fields.
func changes(before, after []Object, wb, wa int, n *noise) []change {
	var bySlot map[objKey]bool
	if n != nil {
		bySlot = n.bySlot
	}
	ib, ia := index(before, bySlot), index(after, bySlot)
	keys := slices.Clone(ib.keys)
	for _, k := range ia.keys {
		if _, ok := ib.objs[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var out []change
	for _, k := range keys {
		if n != nil && n.whole[k] {
			continue
		}
		b, inB := ib.objs[k]
		a, inA := ia.objs[k]
		switch {
		case !inA:
			out = append(out, change{key: k, before: &b})
		case !inB:
			out = append(out, change{key: k, after: &a})
		default:
			rb, ra := any(b.Raw), any(a.Raw)
			if ib.pos[k] == wb && ia.pos[k] == wa {
				rb, ra = withoutReplicas(b.Raw), withoutReplicas(a.Raw)
			}
			var paths []string
			diffPaths(rb, ra, "", &paths)
			kept := paths[:0]
			for _, p := range paths {
				if !n.ignores(k, p) {
					kept = append(kept, p)
				}
			}
			if len(kept) > 0 {
				out = append(out, change{key: k, before: &b, after: &a, paths: kept})
			}
		}
	}
	return out
}

// withoutReplicas copies an object without spec.replicas, sharing everything else.
func withoutReplicas(raw map[string]any) map[string]any {
	out := maps.Clone(raw)
	if spec, ok := raw["spec"].(map[string]any); ok {
		spec = maps.Clone(spec)
		delete(spec, "replicas")
		out["spec"] = spec
	}
	return out
}

// diffPaths appends the dotted path of every difference between two decoded documents: the
// deepest field that differs, or a list whose length changes.
func diffPaths(a, b any, at string, out *[]string) {
	if reflect.DeepEqual(a, b) {
		return
	}
	join := func(k string) string {
		if at == "" {
			return k
		}
		return at + "." + k
	}
	switch am := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := slices.Collect(maps.Keys(am))
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			diffPaths(am[k], bm[k], join(k), out)
		}
		return
	case []any:
		bl, ok := b.([]any)
		if !ok || len(am) != len(bl) {
			break
		}
		for i := range am {
			diffPaths(am[i], bl[i], at+itemIndex(am[i], bl[i], i), out)
		}
		return
	}
	if at == "" {
		at = "the top level"
	}
	*out = append(*out, at)
}

// itemIndex names a list item in a path: [name=web] when the item has the same name on both
// sides (containers, env, ports, volumes), as policy paths select items, else [i].
func itemIndex(a, b any, i int) string {
	am, _ := a.(map[string]any)
	bm, _ := b.(map[string]any)
	if name, ok := am["name"].(string); ok && name != "" && !strings.ContainsAny(name, "[]=") {
		if other, _ := bm["name"].(string); other == name {
			return "[name=" + name + "]"
		}
	}
	return fmt.Sprintf("[%d]", i)
}

// firstDiff returns the dotted path of the first difference between two decoded documents.
func firstDiff(a, b any, at string) string {
	var paths []string
	diffPaths(a, b, at, &paths)
	if len(paths) == 0 {
		return "the top level"
	}
	return paths[0]
}

// under says whether p is the field f or lies below it.
func under(p, f string) bool {
	return p == f || strings.HasPrefix(p, f+".") || strings.HasPrefix(p, f+"[")
}
