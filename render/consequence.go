package render

import (
	"fmt"
	"reflect"
	"strings"
)

// Kinds of consequence (Consequence.Kind): changes that follow from the replica count, which a
// verification allows and names.
const (
	// ConsequenceDisruptionBudget: a PodDisruptionBudget selecting the workload's pods
	// appears, disappears or changes (charts add one above one replica).
	ConsequenceDisruptionBudget = "DisruptionBudget"
	// ConsequenceSpreading: the workload's pod anti-affinity or topology spread constraints
	// switch on, off or change (charts spread pods once there is more than one). It changes
	// the pod template: the pods are replaced.
	ConsequenceSpreading = "Spreading"
	// ConsequencePodRestart: another change of the workload's pod template, allowed by the
	// policy's render.allowPodRestart. The pods are replaced.
	ConsequencePodRestart = "PodRestart"
)

// Consequence is one change besides spec.replicas that an edit makes and the verification
// allows, e.g. "adds PodDisruptionBudget shop/web".
type Consequence struct {
	// Kind is one of the Consequence constants.
	Kind string
	// Object names the object, e.g. "PodDisruptionBudget shop/web".
	Object string
	// Message is the line for a commit message or pull request body.
	Message string
}

// String is the message.
func (c Consequence) String() string { return c.Message }

// spreadingFields are the pod template fields that spread pods over nodes or zones.
var spreadingFields = []string{"spec.template.spec.affinity.podAntiAffinity", "spec.template.spec.topologySpreadConstraints"}

// classification is what the verifier makes of the changes of an edit.
type classification struct {
	consequences []Consequence
	podRestart   []string // pod template changes of the workload, not allowed
	other        []string // anything else
}

// classify sorts the changes of an edit into allowed consequences and refusals.
func (v verifier) classify(chs []change, workload objKey, wl Object) classification {
	var c classification
	for _, ch := range chs {
		o := ch.obj()
		name := v.display(o)
		switch {
		case ch.key == workload:
			var spread, template, rest []string
			for _, p := range ch.paths {
				switch {
				case underAny(p, spreadingFields) || onlySpreading(ch, p):
					spread = append(spread, p)
				case under(p, "spec.template"):
					template = append(template, p)
				default:
					rest = append(rest, p)
				}
			}
			for _, f := range spreadingFields {
				if msg := spreadingChange(ch, f, name); msg != "" {
					c.consequences = append(c.consequences, Consequence{Kind: ConsequenceSpreading, Object: name, Message: msg})
				}
			}
			if len(template) > 0 {
				if v.req.AllowPodRestart {
					c.consequences = append(c.consequences, Consequence{Kind: ConsequencePodRestart, Object: name,
						Message: fmt.Sprintf("changes the pod template of %s at %s (allowPodRestart: its pods are replaced)", name, strings.Join(template, ", "))})
				} else {
					for _, p := range template {
						c.podRestart = append(c.podRestart, fmt.Sprintf("changes %s at %s", name, p))
					}
				}
			}
			for _, p := range rest {
				c.other = append(c.other, fmt.Sprintf("changes %s at %s", name, p))
			}
		case isDisruptionBudget(o):
			if !selects(o, wl) {
				c.other = append(c.other, describeChange(ch, name)+", which does not select the pods of "+v.display(wl))
				continue
			}
			msg := describeChange(ch, name)
			if ch.before != nil && ch.after != nil {
				msg = "changes " + name + " (" + strings.Join(ch.paths, ", ") + ")"
			}
			c.consequences = append(c.consequences, Consequence{Kind: ConsequenceDisruptionBudget, Object: name, Message: msg})
		default:
			c.other = append(c.other, describeChange(ch, name))
		}
	}
	return c
}

// describeChange is "adds X", "removes X" or "changes X at field".
func describeChange(ch change, name string) string {
	switch {
	case ch.before == nil:
		return "adds " + name
	case ch.after == nil:
		return "removes " + name
	default:
		return "changes " + name + " at " + ch.paths[0]
	}
}

// spreadingChange says how one spreading field of the workload changes, or "".
func spreadingChange(ch change, field, name string) string {
	touched := false
	for _, p := range ch.paths {
		if under(p, field) || strings.HasPrefix(field, p+".") {
			touched = true
		}
	}
	old, had := lookupDotted(ch.before.Raw, field)
	cur, has := lookupDotted(ch.after.Raw, field)
	if !touched || reflect.DeepEqual(old, cur) {
		return ""
	}
	what := "pod anti-affinity"
	if strings.HasSuffix(field, "topologySpreadConstraints") {
		what = "topology spread constraints"
	}
	switch {
	case !had && has:
		return fmt.Sprintf("adds %s to %s (its pods are replaced)", what, name)
	case had && !has:
		return fmt.Sprintf("removes the %s of %s (its pods are replaced)", what, name)
	default:
		return fmt.Sprintf("changes the %s of %s (its pods are replaced)", what, name)
	}
}

// onlySpreading says whether the difference at p, an ancestor of spreading fields (affinity
// appearing as a whole), is nothing but spreading fields.
func onlySpreading(ch change, p string) bool {
	if ch.before == nil || ch.after == nil {
		return false
	}
	strip := func(raw map[string]any) any {
		v, _ := lookupDotted(raw, p)
		for _, f := range spreadingFields {
			if rest, ok := strings.CutPrefix(f, p+"."); ok {
				v = without(v, strings.Split(rest, "."))
			}
		}
		return v
	}
	isAncestor := false
	for _, f := range spreadingFields {
		if strings.HasPrefix(f, p+".") {
			isAncestor = true
		}
	}
	return isAncestor && reflect.DeepEqual(strip(ch.before.Raw), strip(ch.after.Raw))
}

// without copies a decoded value without the field at keys, dropping maps left empty; nil
// when nothing remains.
func without(v any, keys []string) any {
	m, ok := v.(map[string]any)
	if !ok || len(keys) == 0 {
		return v
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if k != keys[0] {
			out[k] = val
			continue
		}
		if len(keys) > 1 {
			if rest := without(val, keys[1:]); rest != nil {
				out[k] = rest
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func underAny(p string, fields []string) bool {
	for _, f := range fields {
		if under(p, f) {
			return true
		}
	}
	return false
}

// lookupDotted follows a dotted path of map keys.
func lookupDotted(m map[string]any, dotted string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(dotted, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = mm[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func isDisruptionBudget(o Object) bool {
	return o.Kind == "PodDisruptionBudget" && o.Group() == "policy"
}

// selects says whether a PodDisruptionBudget's selector matches the workload's pod labels
// (spec.template.metadata.labels), in the same namespace.
func selects(pdb, wl Object) bool {
	if effectiveNamespace(pdb) != effectiveNamespace(wl) && effectiveNamespace(pdb) != "" && effectiveNamespace(wl) != "" {
		return false
	}
	labels := map[string]string{}
	if l, ok := lookupDotted(wl.Raw, "spec.template.metadata.labels"); ok {
		if lm, ok := l.(map[string]any); ok {
			for k, v := range lm {
				labels[k] = fmt.Sprint(v)
			}
		}
	}
	sel, ok := lookupDotted(pdb.Raw, "spec.selector")
	if !ok {
		return false
	}
	sm, ok := sel.(map[string]any)
	if !ok {
		return false
	}
	if ml, ok := sm["matchLabels"].(map[string]any); ok {
		for k, v := range ml {
			if labels[k] != fmt.Sprint(v) {
				return false
			}
		}
	}
	exprs, _ := sm["matchExpressions"].([]any)
	for _, e := range exprs {
		em, _ := e.(map[string]any)
		key, _ := em["key"].(string)
		op, _ := em["operator"].(string)
		var values []string
		if vs, ok := em["values"].([]any); ok {
			for _, v := range vs {
				values = append(values, fmt.Sprint(v))
			}
		}
		val, has := labels[key]
		in := false
		for _, v := range values {
			if v == val {
				in = true
			}
		}
		switch op {
		case "In":
			if !has || !in {
				return false
			}
		case "NotIn":
			if has && in {
				return false
			}
		case "Exists":
			if !has {
				return false
			}
		case "DoesNotExist":
			if has {
				return false
			}
		default:
			return false
		}
	}
	return true // an empty selector selects every pod of the namespace (policy/v1)
}
