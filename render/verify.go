package render

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

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
	// ReasonOtherObjectsChanged: the edit changes more than the workload's spec.replicas and
	// its consequences (Consequence).
	ReasonOtherObjectsChanged = "OtherObjectsChanged"
	// ReasonPodRestart: the edit changes the workload's pod template (e.g. a checksum of the
	// values in a pod annotation), which replaces every pod; render.allowPodRestart accepts it.
	ReasonPodRestart = "PodRestart"
)

// VerifyError is a refusal: the edit would not scale the workload from current to desired and
// nothing else. Reason is one of the Reason constants; Message says which object, which file
// and what to do about it. Err is the underlying error, for RenderFailed.
type VerifyError struct {
	Reason  string
	Message string
	Err     error
}

// RenderRefusal is the refusal's reason code: a caller that knows no render package tells a
// refusal, which says what it is, from a failure to ask for one.
func (e *VerifyError) RenderRefusal() string { return e.Reason }

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
	// AllowPodRestart accepts an edit that also changes the workload's pod template
	// (render.allowPodRestart); the change is listed as a Consequence.
	AllowPodRestart bool
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
	// Consequences are the other changes the edit makes that follow from the count and are
	// allowed (a PodDisruptionBudget appears, anti-affinity switches on), in a stable order.
	Consequences []Consequence
}

// Verify renders the chart or kustomization before the edit (the files on disk) and after it
// (File replaced by Content, without writing it), and checks that exactly one thing changed:
// the target workload's spec.replicas, from Current to Desired, besides its consequences.
// Fields the chart generates are found by rendering the unchanged input once more and are not
// compared (see compare.go). Any other outcome is a *VerifyError saying why.
func Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	file, err := cleanRel(req.File)
	if err != nil {
		return nil, fmt.Errorf("verify: edited file: %w", err)
	}
	beforeReq := req.Request
	beforeReq.revision = headRevision
	afterReq := req.Request
	afterReq.revision = editRevision
	afterReq.Overlay = maps.Clone(req.Overlay)
	if afterReq.Overlay == nil {
		afterReq.Overlay = map[string][]byte{}
	}
	afterReq.Overlay[file] = req.Content

	// Remote charts are pulled once for both renders, so that both render the same archive
	// even when a range's resolution expires in between; the summary names what was pulled.
	pulled, err := pullRemote(ctx, beforeReq)
	if err != nil {
		return nil, &VerifyError{Reason: ReasonRenderFailed, Message: err.Error(), Err: err}
	}
	beforeReq.pulled, afterReq.pulled = pulled, pulled

	// The two renders are independent: run them side by side.
	type rendered struct {
		objs []Object
		err  error
	}
	beforeDone := make(chan rendered, 1)
	go func() {
		objs, err := Render(ctx, beforeReq)
		beforeDone <- rendered{objs, err}
	}()
	after, afterErr := Render(ctx, afterReq)
	b := <-beforeDone
	before, err := b.objs, b.err
	note := ""
	if err != nil && req.Flux != nil {
		// helm-controller upgrades the installed release, and a chart's upgrade branch may read
		// that release's objects with lookup, which a render without the cluster finds empty:
		// Bitnami's charts then fail ("You must provide your current passwords when upgrading
		// the release") although helm-controller renders them. When the unchanged input fails
		// as an upgrade but renders as an install, every render is made as an install, where
		// the chart generates what it would have looked up (generated content, left out of the
		// comparison); the verification says so.
		installBefore, installAfter := beforeReq, afterReq
		installBefore.fluxInstall, installAfter.fluxInstall = true, true
		if objs, installErr := Render(ctx, installBefore); installErr == nil {
			note = "rendered as an install: as an upgrade, the chart fails without the cluster's objects: " + failure(err)
			before, err = objs, nil
			beforeReq, afterReq = installBefore, installAfter
			after, afterErr = Render(ctx, afterReq)
		}
	}
	if err != nil {
		return nil, &VerifyError{Reason: ReasonRenderFailed, Message: "before the edit: " + err.Error(), Err: err}
	}
	if afterErr != nil {
		return nil, &VerifyError{Reason: ReasonRenderFailed, Message: "after the edit of " + file + ": " + afterErr.Error(), Err: afterErr}
	}
	v := verifier{req: req, file: file, afterReq: afterReq}
	// Generated content only matters when the renders differ beyond the count, so the second
	// render of the unchanged input happens only then.
	v.again = func() ([]Object, error) { return Render(ctx, beforeReq) }
	got, err := v.check(before, after)
	if err == nil {
		if charts := pulledCharts(pulled); charts != "" {
			got.Summary += " (" + charts + ")"
		}
	}
	if note == "" {
		return got, err
	}
	if err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			ve.Message += " (" + note + ")"
		}
		return nil, err
	}
	got.Summary += " (" + note + ")"
	return got, nil
}

// pulledCharts names the remote charts a verification rendered, with the version and the
// digest of the archive, for the commit: "pulled chart web >=1.0 <2 from https://… → version
// 1.4.2, sha256:…".
func pulledCharts(pulled map[string]pulledChart) string {
	var out []string
	for _, p := range pulled {
		s := fmt.Sprintf("pulled %s → version %s, %s", p.Ref, p.Version, p.Digest)
		if p.Offline != "" {
			s += "; offline: " + p.Offline
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// failure is a render error on one line, up to the end of its first sentence: a template's
// fail message spans lines and goes on with advice.
func failure(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

// headRevision and editRevision are the commits $ARGOCD_APP_REVISION names before and after
// the edit: the edit is a commit of its own, so anything derived from the revision changes.
const editRevision = "1111111111111111111111111111111111111111"

type verifier struct {
	req  VerifyRequest
	file string
	// afterReq is the request with the edit applied, to explain a refusal from the sources.
	afterReq Request
	// again renders the unchanged input once more, to find generated fields; nil when the
	// renders are known to be deterministic.
	again func() ([]Object, error)
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
	wl := after[wa]
	name := v.display(wl)
	for _, o := range after {
		t := o.HPATarget
		if t == nil || t.Name != wl.Name || t.Kind != wl.Kind || !sameNamespace(v.ns(o), v.ns(wl)) {
			continue
		}
		return nil, &VerifyError{Reason: ReasonHPAConflict, Message: fmt.Sprintf(
			"%s%s also scales %s: it and the autoscaler would fight over spec.replicas; "+
				"disable it in the chart (e.g. autoscaling.enabled: false) or drop the policy",
			v.display(o), fromSource(o), name)}
	}

	b, a := before[wb].Replicas, wl.Replicas
	if equalPtr(b, a) {
		return nil, v.unchanged(name, b)
	}
	if b == nil || a == nil || *b != v.req.Current || *a != v.req.Desired {
		return nil, &VerifyError{Reason: ReasonReplicasMismatch, Message: fmt.Sprintf(
			"%s: rendered spec.replicas goes %s → %s, but the decision is %d → %d "+
				"(does the chart transform the value, or does the file disagree with the render?)",
			name, show(b), show(a), v.req.Current, v.req.Desired)}
	}
	chs := changes(before, after, wb, wa, nil)
	if len(chs) > 0 && v.again != nil {
		again, err := v.again()
		if err != nil {
			return nil, &VerifyError{Reason: ReasonRenderFailed, Message: "rendering the unchanged input again: " + err.Error(), Err: err}
		}
		if n := findNoise(before, again); !n.empty() {
			chs = changes(before, after, wb, wa, n)
		}
	}
	wkey := objKey("")
	for _, ch := range chs {
		if ch.before != nil && ch.after != nil && ch.after.Kind == wl.Kind && ch.after.Name == wl.Name && ch.after.Group() == wl.Group() && effectiveNamespace(*ch.after) == effectiveNamespace(wl) {
			wkey = ch.key
		}
	}
	c := v.classify(chs, wkey, wl)
	if err := v.refusal(c, name); err != nil {
		return nil, err
	}
	return &Verification{
		Workload:     wl,
		Before:       *b,
		After:        *a,
		Summary:      fmt.Sprintf("rendered %s: spec.replicas %d → %d", name, *b, *a),
		Diff:         fmt.Sprintf("--- %s (rendered, before)\n+++ %s (rendered, after)\n@@ spec @@\n-  replicas: %d\n+  replicas: %d\n", name, name, *b, *a),
		Consequences: c.consequences,
	}, nil
}

// refusal turns what must not change into a *VerifyError: other objects or fields first, then
// pod template changes of the workload.
func (v verifier) refusal(c classification, name string) error {
	list := func(items []string) string {
		const show = 5
		if len(items) > show {
			return strings.Join(items[:show], "; ") + fmt.Sprintf("; and %d more", len(items)-show)
		}
		return strings.Join(items, "; ")
	}
	if len(c.other) > 0 {
		all := append(slices.Clone(c.other), c.podRestart...)
		return &VerifyError{Reason: ReasonOtherObjectsChanged, Message: fmt.Sprintf(
			"editing %s changes more than spec.replicas of %s: %s", v.file, name, list(all))}
	}
	if len(c.podRestart) > 0 {
		return &VerifyError{Reason: ReasonPodRestart, Message: fmt.Sprintf(
			"editing %s changes the pod template of %s, which replaces every pod on each change of the count: %s "+
				"(the template derives something from the values or the count, such as a checksum of the values in a pod annotation; set render.allowPodRestart: true to accept it)",
			v.file, name, list(c.podRestart))}
	}
	return nil
}

// ns is an object's effective namespace: its own, else the one its render puts it in.
func (v verifier) ns(o Object) string { return effectiveNamespace(o) }

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
