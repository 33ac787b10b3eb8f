package render

import (
	"context"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Reasons a verification refuses a decision (VerifyError.Reason).
const (
	// ReasonRenderFailed: the chart or kustomization did not render, before or after the edit.
	ReasonRenderFailed = "RenderFailed"
	// ReasonWorkloadMissing: the target workload is not in the rendered output.
	ReasonWorkloadMissing = "WorkloadMissing"
	// ReasonWorkloadAmbiguous: more than one rendered object matches the target.
	ReasonWorkloadAmbiguous = "WorkloadAmbiguous"
	// ReasonHPAConflict: a HorizontalPodAutoscaler (or KEDA ScaledObject) in the rendered
	// output also scales the workload; the two would fight.
	ReasonHPAConflict = "HPAConflict"
	// ReasonKeyOverridden: the edit does not reach the workload because something later (a
	// later values file, an overlay's patch) sets the same count.
	ReasonKeyOverridden = "KeyOverridden"
	// ReasonKeyUnused: the edit does not reach the workload and nothing seems to override it:
	// the chart or kustomization does not read the edited key.
	ReasonKeyUnused = "KeyUnused"
	// ReasonReplicasMismatch: the rendered count moves, but not from current to desired.
	ReasonReplicasMismatch = "ReplicasMismatch"
	// ReasonOtherObjectsChanged: the edit changes more than the workload's spec.replicas.
	ReasonOtherObjectsChanged = "OtherObjectsChanged"
)

// VerifyError is a refusal: the edit would not scale the workload from current to desired and
// nothing else. Reason is one of the Reason constants; Message says which object, which file
// and what to do about it. Err is the underlying error, for RenderFailed.
type VerifyError struct {
	Reason  string
	Message string
	Err     error
}

// Error implements error.
func (e *VerifyError) Error() string {
	return "render verification refused (" + e.Reason + "): " + e.Message
}

// Unwrap returns the underlying error, if any.
func (e *VerifyError) Unwrap() error { return e.Err }

// VerifyRequest is one decision's edit to verify.
type VerifyRequest struct {
	// Request names the chart or kustomization. Its Overlay, if any, applies to both renders.
	Request
	// Target is the policy's workload.
	Target policy.TargetRef
	// File is the edited file, relative to the repository root; Content its new bytes.
	File    string
	Content []byte
	// Path is the replica path inside File (policy syntax), used to explain a refusal.
	Path string
	// Current and Desired are the decision's replica counts.
	Current int
	Desired int
}

// Verification is a successful verification.
type Verification struct {
	// Workload is the target as rendered after the edit.
	Workload Object
	// Before and After are its rendered spec.replicas.
	Before int
	After  int
	// Summary is one line for the commit's reasons, e.g.
	// "rendered Deployment laravel-demo/laravel-web: spec.replicas 3 → 6".
	Summary string
	// Diff is a small unified-style diff of the workload's replicas line, for a PR body or
	// plan output.
	Diff string
}

// Verify renders the chart or kustomization before the edit (the files on disk) and after it
// (File replaced by Content, without writing it), and checks that exactly one thing changed:
// the target workload's spec.replicas, from Current to Desired. Any other outcome is a
// *VerifyError saying why.
func Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	file, err := cleanRel(req.File)
	if err != nil {
		return nil, fmt.Errorf("verify: edited file: %w", err)
	}
	afterReq := req.Request
	afterReq.Overlay = maps.Clone(req.Overlay)
	if afterReq.Overlay == nil {
		afterReq.Overlay = map[string][]byte{}
	}
	afterReq.Overlay[file] = req.Content

	// The two renders are independent: run them side by side.
	type rendered struct {
		objs []Object
		err  error
	}
	beforeDone := make(chan rendered, 1)
	go func() {
		objs, err := Render(ctx, req.Request)
		beforeDone <- rendered{objs, err}
	}()
	after, afterErr := Render(ctx, afterReq)
	b := <-beforeDone
	before, err := b.objs, b.err
	if err != nil {
		return nil, &VerifyError{Reason: ReasonRenderFailed, Message: "before the edit: " + err.Error(), Err: err}
	}
	if afterErr != nil {
		return nil, &VerifyError{Reason: ReasonRenderFailed, Message: "after the edit of " + file + ": " + afterErr.Error(), Err: afterErr}
	}

	defNS := ""
	if req.Helm != nil {
		defNS = req.Helm.Namespace
		if defNS == "" {
			defNS = DefaultNamespace
		}
	}
	v := verifier{req: req, file: file, defNS: defNS}
	return v.check(before, after)
}

type verifier struct {
	req   VerifyRequest
	file  string
	defNS string
}

func (v verifier) check(before, after []Object) (*Verification, error) {
	wb, err := v.workload(before, "before the edit")
	if err != nil {
		return nil, err
	}
	wa, err := v.workload(after, "after the edit")
	if err != nil {
		return nil, err
	}
	name := v.display(after[wa])
	for _, o := range after {
		t := o.HPATarget
		if t == nil || t.Name != after[wa].Name || t.Kind != after[wa].Kind || !sameNamespace(v.ns(o), v.ns(after[wa])) {
			continue
		}
		return nil, &VerifyError{Reason: ReasonHPAConflict, Message: fmt.Sprintf(
			"%s%s also scales %s: it and the autoscaler would fight over spec.replicas; "+
				"disable it in the chart (e.g. autoscaling.enabled: false) or drop the policy",
			v.display(o), fromSource(o), name)}
	}

	b, a := before[wb].Replicas, after[wa].Replicas
	if equalPtr(b, a) {
		return nil, v.unchanged(name, b)
	}
	if b == nil || a == nil || *b != v.req.Current || *a != v.req.Desired {
		return nil, &VerifyError{Reason: ReasonReplicasMismatch, Message: fmt.Sprintf(
			"%s: rendered spec.replicas goes %s → %s, but the decision is %d → %d "+
				"(does the chart transform the value, or does the file disagree with the render?)",
			name, show(b), show(a), v.req.Current, v.req.Desired)}
	}
	if changes := v.otherChanges(before, after, wb, wa); len(changes) > 0 {
		const show = 5
		more := ""
		if len(changes) > show {
			more = fmt.Sprintf("; and %d more", len(changes)-show)
			changes = changes[:show]
		}
		hint := ""
		if strings.Contains(strings.Join(changes, " "), "annotations") {
			hint = " (a checksum of the values in a pod annotation would restart every pod)"
		}
		return nil, &VerifyError{Reason: ReasonOtherObjectsChanged, Message: fmt.Sprintf(
			"editing %s changes more than spec.replicas of %s: %s%s%s",
			v.file, name, strings.Join(changes, "; "), more, hint)}
	}
	return &Verification{
		Workload: after[wa],
		Before:   *b,
		After:    *a,
		Summary:  fmt.Sprintf("rendered %s: spec.replicas %d → %d", name, *b, *a),
		Diff: fmt.Sprintf("--- %s (rendered, before)\n+++ %s (rendered, after)\n@@ spec @@\n-  replicas: %d\n+  replicas: %d\n",
			name, name, *b, *a),
	}, nil
}

// ns is an object's effective namespace: its own, else the release's (Helm).
func (v verifier) ns(o Object) string {
	if o.Namespace != "" {
		return o.Namespace
	}
	return v.defNS
}

func (v verifier) display(o Object) string {
	if ns := v.ns(o); ns != "" {
		return o.Kind + " " + ns + "/" + o.Name
	}
	return o.Kind + " " + o.Name
}

func (v verifier) targetName() string {
	t := v.req.Target
	if t.Namespace != "" {
		return t.Kind + " " + t.Namespace + "/" + t.Name
	}
	return t.Kind + " " + t.Name
}

// workload finds the target in rendered objects: same kind (and API group, when the target
// names one), name and namespace. An object without a namespace matches when it is the only
// candidate: kustomize output often leaves the namespace to the deployment destination.
func (v verifier) workload(objs []Object, when string) (int, error) {
	t := v.req.Target
	var exact, loose []int
	for i, o := range objs {
		if o.Kind != t.Kind || o.Name != t.Name {
			continue
		}
		if t.APIVersion != "" && o.Group() != apiGroup(t.APIVersion) {
			continue
		}
		switch ns := v.ns(o); {
		case t.Namespace == "" || ns == t.Namespace:
			exact = append(exact, i)
		case ns == "":
			loose = append(loose, i)
		}
	}
	found := exact
	if len(found) == 0 {
		found = loose
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		group := ""
		if t.APIVersion != "" {
			group = " of API group " + strconv.Quote(apiGroup(t.APIVersion))
		}
		return 0, &VerifyError{Reason: ReasonWorkloadMissing, Message: fmt.Sprintf(
			"%s%s is not in the rendered output %s (rendered workloads: %s)",
			v.targetName(), group, when, v.workloadList(objs))}
	default:
		return 0, &VerifyError{Reason: ReasonWorkloadAmbiguous, Message: fmt.Sprintf(
			"%d rendered objects match %s %s; name its namespace in targetRef", len(found), v.targetName(), when)}
	}
}

func (v verifier) workloadList(objs []Object) string {
	var names []string
	for _, o := range objs {
		if o.Replicas != nil || isWorkloadKind(o.Kind) {
			names = append(names, o.APIVersion+" "+v.display(o))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	const max = 8
	if len(names) > max {
		return strings.Join(names[:max], ", ") + fmt.Sprintf(" and %d more", len(names)-max)
	}
	return strings.Join(names, ", ")
}

func isWorkloadKind(kind string) bool {
	switch kind {
	case "Deployment", "StatefulSet", "ReplicaSet", "Rollout":
		return true
	}
	return false
}

// unchanged explains why the edit did not reach the rendered count: overridden by something
// applied later, or not read at all.
func (v verifier) unchanged(name string, replicas *int) error {
	head := fmt.Sprintf("the edited key %s does not reach %s: rendered spec.replicas stays %s",
		v.edited(), name, show(replicas))
	if by := v.overriddenBy(); by != "" {
		return &VerifyError{Reason: ReasonKeyOverridden, Message: head + " — it is overridden: " + by}
	}
	hint := "the chart does not read it (is the path right, or is replicas set only when another value is off?)"
	switch {
	case v.req.Kustomize != nil:
		hint = "the kustomization does not use it (is the file one of its resources, and does the name match?)"
	case v.req.Helm != nil && !v.helmReads():
		hint = fmt.Sprintf("%s is neither the chart's values.yaml nor one of the render's values files (%s)",
			v.file, strings.Join(v.req.Helm.ValuesFiles, ", "))
	}
	return &VerifyError{Reason: ReasonKeyUnused, Message: head + " — " + hint}
}

func (v verifier) edited() string {
	if v.req.Path == "" {
		return v.file
	}
	return v.file + "#" + v.req.Path
}

// helmReads says whether the edited file is one helm reads values from.
func (v verifier) helmReads() bool {
	if chart, err := cleanRel(v.req.Helm.Chart); err == nil && v.file == path.Join(chart, "values.yaml") {
		return true
	}
	return slices.ContainsFunc(v.req.Helm.ValuesFiles, func(f string) bool {
		c, err := cleanRel(f)
		return err == nil && c == v.file
	})
}

// overriddenBy names what overrides the edited key, or "" if nothing visibly does.
func (v verifier) overriddenBy() string {
	r, err := newRepo(v.req.Root, v.req.Overlay)
	if err != nil {
		return ""
	}
	if v.req.Helm != nil {
		return v.helmOverride(r)
	}
	return v.kustomizeOverride(r)
}

// helmOverride finds the last values file after the edited one that sets the same path.
func (v verifier) helmOverride(r *repo) string {
	if v.req.Path == "" {
		return ""
	}
	p, err := policy.ParsePath(v.req.Path)
	if err != nil {
		return ""
	}
	files := v.req.Helm.ValuesFiles
	start := -1
	for i, f := range files {
		if c, err := cleanRel(f); err == nil && c == v.file {
			start = i
		}
	}
	if start < 0 && !v.helmReads() {
		return ""
	}
	for i := len(files) - 1; i > start; i-- {
		data, err := r.readFile(files[i])
		if err != nil {
			continue
		}
		var doc any
		if yaml.Unmarshal(data, &doc) != nil {
			continue
		}
		if val, ok := lookup(doc, p); ok {
			set := "sets " + v.req.Path
			switch val.(type) {
			case map[string]any, []any:
			default: // a scalar, the count: show it; never dump a subtree of someone's values
				set += fmt.Sprintf(": %v", val)
			}
			return fmt.Sprintf("%s comes after %s in valuesFiles and %s", files[i], v.file, set)
		}
	}
	return ""
}

// kustomizeOverride finds a kustomization in the build that sets the workload's count after
// the edit: a replicas entry for it elsewhere, or a patch that sets replicas and names it.
func (v verifier) kustomizeOverride(r *repo) string {
	dir, err := cleanRel(v.req.Kustomize.Dir)
	if err != nil {
		return ""
	}
	roots, err := kustomizationRoots(r, dir)
	if err != nil {
		return ""
	}
	name := v.req.Target.Name
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

// lookup follows a policy path through a decoded YAML document.
func lookup(doc any, p policy.Path) (any, bool) {
	cur := doc
	for _, e := range p {
		switch e.Kind {
		case policy.PathKey:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[e.Key]; !ok {
				return nil, false
			}
		case policy.PathIndex:
			l, ok := cur.([]any)
			if !ok || e.Index >= len(l) {
				return nil, false
			}
			cur = l[e.Index]
		case policy.PathMatch:
			l, ok := cur.([]any)
			if !ok {
				return nil, false
			}
			found := false
			for _, it := range l {
				if m, ok := it.(map[string]any); ok && fmt.Sprint(m[e.Key]) == e.Value {
					cur, found = it, true
					break
				}
			}
			if !found {
				return nil, false
			}
		}
	}
	return cur, true
}

// otherChanges lists every difference between the renders other than the workload's
// spec.replicas: objects added, removed or changed, with the first changed field.
func (v verifier) otherChanges(before, after []Object, wb, wa int) []string {
	index := func(objs []Object, skip int) (map[string]any, map[string]Object) {
		raws := map[string]any{}
		byKey := map[string]Object{}
		for i, o := range objs {
			key := o.Group() + "/" + o.Kind + "/" + v.ns(o) + "/" + o.Name
			for n := 2; ; n++ {
				if _, dup := raws[key]; !dup {
					break
				}
				key = strings.TrimSuffix(key, "#"+strconv.Itoa(n-1)) + "#" + strconv.Itoa(n)
			}
			raw := any(o.Raw)
			if i == skip {
				raw = withoutReplicas(o.Raw)
			}
			raws[key], byKey[key] = raw, o
		}
		return raws, byKey
	}
	rb, ob := index(before, wb)
	ra, oa := index(after, wa)
	keys := slices.Collect(maps.Keys(rb))
	for k := range ra {
		if _, ok := rb[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var changes []string
	for _, k := range keys {
		b, inB := rb[k]
		a, inA := ra[k]
		switch {
		case !inA:
			changes = append(changes, "removes "+v.display(ob[k]))
		case !inB:
			changes = append(changes, "adds "+v.display(oa[k]))
		case !reflect.DeepEqual(a, b):
			changes = append(changes, fmt.Sprintf("changes %s at %s", v.display(oa[k]), firstDiff(b, a, "")))
		}
	}
	return changes
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

// firstDiff returns the dotted path of the first difference between two decoded documents.
func firstDiff(a, b any, at string) string {
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
			if !reflect.DeepEqual(am[k], bm[k]) {
				return firstDiff(am[k], bm[k], join(k))
			}
		}
	case []any:
		bl, ok := b.([]any)
		if !ok || len(am) != len(bl) {
			break
		}
		for i := range am {
			if !reflect.DeepEqual(am[i], bl[i]) {
				return firstDiff(am[i], bl[i], fmt.Sprintf("%s[%d]", at, i))
			}
		}
	}
	if at == "" {
		return "the top level"
	}
	return at
}

func equalPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show(n *int) string {
	if n == nil {
		return "absent"
	}
	return strconv.Itoa(*n)
}

func sameNamespace(a, b string) bool { return a == "" || b == "" || a == b }

func fromSource(o Object) string {
	if o.Source == "" {
		return ""
	}
	return " (from " + o.Source + ")"
}
