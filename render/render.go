package render

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// DefaultKubeVersion is the Kubernetes version templates see in .Capabilities when neither the
// policy nor the Argo CD Application names one: the minor whose API types this build of Helm
// knows (its built-in .Capabilities.APIVersions are that release's).
const DefaultKubeVersion = "v1.37.0"

// DefaultReleaseName is the Helm release name when the policy names none, as `helm template`.
const DefaultReleaseName = "release-name"

// DefaultNamespace is the Helm release namespace when the policy names none.
const DefaultNamespace = "default"

// Request says what to render: exactly one of Helm, Kustomize, ArgoCD and Flux, from the
// repository at Root.
type Request struct {
	// Root is the repository root. Every path of the request (and of the Application or
	// HelmRelease it names) is relative to it, and nothing outside it is read.
	Root string
	// Helm renders a chart of the repository, like `helm template`.
	Helm *policy.HelmRender
	// Kustomize builds a kustomization directory of the repository, like `kustomize build`.
	Kustomize *policy.KustomizeRender
	// ArgoCD renders what an Argo CD Application of the repository deploys, as Argo CD's repo
	// server would.
	ArgoCD *policy.ArgoCDRender
	// Flux renders what a Flux HelmRelease of the repository deploys, as helm-controller would.
	Flux *policy.FluxRender
	// RepoURLs are the URLs the repository is known by (its remote, its GitHub address), when
	// known. An Argo CD source whose repoURL is none of them is another repository and is
	// refused; with none given, every Git source is taken to be this repository.
	RepoURLs []string
	// Branch is the branch the checkout at Root is of, when known. An ApplicationSet's git
	// generator that names another revision is refused; with none given, it is not checked.
	Branch string
	// Overlay maps repository-relative paths to content used instead of the file on disk (or
	// in addition to the files on disk), so an edit can be rendered without writing it.
	Overlay map[string][]byte
	// Limits bound the render (the service config's limits.render); a zero field takes its
	// default.
	Limits svcconfig.RenderLimits
	// Charts pulls the remote charts an Argo CD Application or Flux HelmRelease names (a Helm
	// repository, an OCI registry) into its cache before the render. Without it such a source
	// is refused.
	Charts *Charts

	// revision is what Argo CD's $ARGOCD_APP_REVISION expands to: Verify sets a different one
	// after the edit, because the edit's commit is a new revision.
	revision string
	// fluxInstall renders a Flux HelmRelease as an install instead of an upgrade: Verify's
	// fallback for a chart that fails as an upgrade without the cluster (see Verify).
	fluxInstall bool
	// pulled are the remote charts pulled for this render (pullRemote), by chartRef.key.
	pulled map[string]pulledChart
}

// Ref names an object by kind and name, as an autoscaler's scaleTargetRef does.
type Ref struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
}

// Object is one rendered Kubernetes object.
type Object struct {
	APIVersion string
	Kind       string
	// Namespace is as rendered: empty means the release's (Helm) or the deployment
	// destination's (kustomize) namespace, or a cluster-scoped object.
	Namespace string
	Name      string
	// DestNamespace is where the object lands when it names no namespace: the Helm release's
	// namespace or the Argo CD Application's destination; empty when the render does not say
	// (a plain kustomize build).
	DestNamespace string
	// Replicas is spec.replicas when it is an integer; nil when absent.
	Replicas *int
	// HPATarget is spec.scaleTargetRef of a HorizontalPodAutoscaler or a KEDA ScaledObject,
	// with the autoscaler's own namespace: the workload that autoscaler would scale.
	HPATarget *Ref
	// Source is the template that produced the object (Helm), when known.
	Source string
	// Raw is the whole object.
	Raw map[string]any
}

// Group is the API group of the object's apiVersion ("" for the core group).
func (o Object) Group() string { return apiGroup(o.APIVersion) }

// String names the object as "Kind namespace/name" (or "Kind name").
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

func apiGroup(apiVersion string) string {
	g, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

// Render renders the chart or kustomization the request names and parses the output into
// objects. The renderers run walled off: in a worker process under req.Limits (sandbox.go;
// in process, under the timeout alone, where workers are not supported), so a render that
// reaches a limit is stopped and fails with a *LimitError naming it; a panic comes back as an
// error, the context's deadline is honored, nothing outside Root is read (but the remote
// charts req.Charts pulls first, from its cache), and nothing else is fetched or executed.
func Render(ctx context.Context, req Request) ([]Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if n := req.sources(); n != 1 {
		return nil, errors.New("render: exactly one of helm, kustomize, argocd and flux must be set")
	}
	pulled, err := pullRemote(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	req.pulled = pulled
	var srcs []renderedSource
	if workersSupported {
		srcs, err = poolFor(req.Limits).render(ctx, req)
	} else {
		srcs, err = renderInProcess(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	return parseSources(srcs)
}

// pullRemote pulls the remote charts an Argo CD or Flux request names, in the service's own
// process (the render workers fetch nothing and hold no credential), and returns them by
// chartRef.key for the worker. A request whose sources do not resolve is left to the render,
// which reports it as before.
func pullRemote(ctx context.Context, req Request) (map[string]pulledChart, error) {
	if req.ArgoCD == nil && req.Flux == nil && req.Helm == nil {
		return req.pulled, nil
	}
	r, err := newRepo(req.Root, req.Overlay)
	if err != nil {
		return req.pulled, nil
	}
	srcs, err := resolve(r, req)
	if err != nil {
		return req.pulled, nil
	}
	pulled := maps.Clone(req.pulled) // the caller's map is never written
	for _, s := range srcs {
		h, ok := s.(*helmSource)
		if !ok || h.remote == nil {
			continue
		}
		ref := h.remote
		if _, ok := pulled[ref.key()]; ok {
			continue // pulled for this verification already (Verify)
		}
		if req.Charts == nil {
			return nil, ref.doc.problem(ref.field, "%s is outside this repository: it is pulled by the service, with the chart cache and chartRepositories of its config; this render has none", ref)
		}
		p, err := req.Charts.pull(ctx, *ref)
		if err != nil {
			return nil, ref.doc.problem(ref.field, "%v", err)
		}
		if pulled == nil {
			pulled = map[string]pulledChart{}
		}
		pulled[ref.key()] = p
	}
	// The locked dependencies that a chart does not vendor (chartdeps.go).
	for _, s := range srcs {
		h, ok := s.(*helmSource)
		if !ok {
			continue
		}
		deps, err := pullDependencies(ctx, req.Charts, r, h, pulled)
		if err != nil {
			if h.remote != nil {
				return nil, h.remote.doc.problem(h.remote.field, "%v", err)
			}
			return nil, err
		}
		if len(deps) > 0 && pulled == nil {
			pulled = map[string]pulledChart{}
		}
		maps.Copy(pulled, deps)
	}
	return pulled, nil
}

// renderInProcess renders in this process where workers are not supported: under the render
// timeout and the output cap, but not the memory and CPU limits.
func renderInProcess(ctx context.Context, req Request) ([]renderedSource, error) {
	lim := req.Limits
	lim.SetDefaults()
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout.Duration)
	defer cancel()
	return walled(ctx, func() ([]renderedSource, error) { return renderSources(ctx, req, lim.MaxOutputBytes) })
}

// walled runs a renderer: a panic becomes an error, and when ctx ends first the caller gets
// ctx's error at once while the abandoned renderer finishes on its own (the libraries cannot
// be interrupted; they only compute).
func walled(ctx context.Context, fn func() ([]renderedSource, error)) ([]renderedSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	type result struct {
		srcs []renderedSource
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res = result{err: fmt.Errorf("render: renderer panicked: %v", p)}
			}
			done <- res
		}()
		res.srcs, res.err = fn()
	}()
	select {
	case res := <-done:
		return res.srcs, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("render: %w", ctx.Err())
	}
}

// renderSources renders every source of the request, their manifests together at most
// maxOutput bytes. It is the part of a render that runs the renderers: in a worker, or in
// process.
func renderSources(ctx context.Context, req Request, maxOutput int) ([]renderedSource, error) {
	if n := req.sources(); n != 1 {
		return nil, errors.New("render: exactly one of helm, kustomize, argocd and flux must be set")
	}
	r, err := newRepo(req.Root, req.Overlay)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	r.pulled = req.pulled
	srcs, err := resolve(r, req)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var out []renderedSource
	total := 0
	for _, s := range srcs {
		manifest, err := s.render(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", s.name(), err)
		}
		if total += len(manifest); total > maxOutput {
			return nil, &LimitError{What: s.name(), Limit: "maxOutputBytes",
				Msg: fmt.Sprintf("the output is larger than %d bytes (limits.render.maxOutputBytes)", maxOutput)}
		}
		out = append(out, renderedSource{Name: s.name(), Namespace: s.defaultNamespace(), Manifest: manifest})
	}
	return out, nil
}

// parseSources parses rendered sources into objects: the part of a render that runs in the
// service's process.
func parseSources(srcs []renderedSource) ([]Object, error) {
	var objs []Object
	for _, s := range srcs {
		parsed, err := ParseManifests(s.Manifest)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", s.Name, err)
		}
		for _, o := range parsed {
			if isTestHook(o) {
				continue // not deployed state: Argo CD and Flux never apply helm test hooks
			}
			if !clusterScoped[o.Group()+"/"+o.Kind] {
				o.DestNamespace = s.Namespace
			}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// sources counts the render sources the request sets.
func (req Request) sources() int {
	n := 0
	for _, set := range []bool{req.Helm != nil, req.Kustomize != nil, req.ArgoCD != nil, req.Flux != nil} {
		if set {
			n++
		}
	}
	return n
}

// clusterScoped are the built-in kinds (by group/kind) that live outside any namespace, so a
// release namespace never applies to them.
var clusterScoped = map[string]bool{
	"/Namespace": true, "/Node": true, "/PersistentVolume": true,
	"rbac.authorization.k8s.io/ClusterRole": true, "rbac.authorization.k8s.io/ClusterRoleBinding": true,
	"apiextensions.k8s.io/CustomResourceDefinition": true, "apiregistration.k8s.io/APIService": true,
	"admissionregistration.k8s.io/ValidatingWebhookConfiguration": true, "admissionregistration.k8s.io/MutatingWebhookConfiguration": true,
	"admissionregistration.k8s.io/ValidatingAdmissionPolicy": true, "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding": true,
	"scheduling.k8s.io/PriorityClass": true, "storage.k8s.io/StorageClass": true, "storage.k8s.io/CSIDriver": true,
	"storage.k8s.io/VolumeAttachment": true, "networking.k8s.io/IngressClass": true, "node.k8s.io/RuntimeClass": true,
	"policy/PodSecurityPolicy": true, "flowcontrol.apiserver.k8s.io/FlowSchema": true, "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration": true,
	"certificates.k8s.io/CertificateSigningRequest": true,
}

// isTestHook says whether an object is a helm test hook (helm.sh/hook: test, test-success or
// test-failure, possibly among other hooks): `helm test` runs it, an install never does.
func isTestHook(o Object) bool {
	meta, _ := o.Raw["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	hooks, _ := ann["helm.sh/hook"].(string)
	for _, h := range strings.Split(hooks, ",") {
		switch strings.TrimSpace(h) {
		case "test", "test-success", "test-failure":
			return true
		}
	}
	return false
}

// ParseManifests parses multi-document YAML (the output of `helm template` or `kustomize
// build`) into objects. Empty documents are skipped; a `kind: List` is flattened into its items.
func ParseManifests(manifest []byte) ([]Object, error) {
	var objs []Object
	i := 0
	for node, err := range yamlnode.Documents(manifest) {
		i++
		if err != nil {
			return nil, fmt.Errorf("parse rendered document %d: %w", i, err)
		}
		source := sourceComment(node)
		var raw any
		if err := node.Decode(&raw); err != nil {
			return nil, fmt.Errorf("parse rendered document %d (%s): %w", i, source, err)
		}
		if raw == nil {
			continue
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parse rendered document %d (%s): not a mapping", i, source)
		}
		if kind, _ := m["kind"].(string); strings.HasSuffix(kind, "List") {
			if items, ok := m["items"].([]any); ok {
				for _, it := range items {
					im, ok := it.(map[string]any)
					if !ok {
						return nil, fmt.Errorf("parse rendered document %d (%s): list item is not a mapping", i, source)
					}
					objs = append(objs, newObject(im, source))
				}
				continue
			}
		}
		objs = append(objs, newObject(m, source))
	}
	return objs, nil
}

// sourceComment finds helm's "# Source: chart/templates/x.yaml" comment of a document.
func sourceComment(n *yaml.Node) string {
	comments := []string{n.HeadComment}
	if len(n.Content) > 0 {
		comments = append(comments, n.Content[0].HeadComment)
		if len(n.Content[0].Content) > 0 {
			comments = append(comments, n.Content[0].Content[0].HeadComment)
		}
	}
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source:"); ok {
				return strings.TrimSpace(s)
			}
		}
	}
	return ""
}

func newObject(m map[string]any, source string) Object {
	o := Object{Raw: m, Source: source}
	o.APIVersion, _ = m["apiVersion"].(string)
	o.Kind, _ = m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	spec, _ := m["spec"].(map[string]any)
	if n, ok := asInt(spec["replicas"]); ok {
		o.Replicas = &n
	}
	if isAutoscaler(o.APIVersion, o.Kind) {
		if ref, ok := spec["scaleTargetRef"].(map[string]any); ok {
			t := &Ref{Namespace: o.Namespace}
			t.APIVersion, _ = ref["apiVersion"].(string)
			t.Kind, _ = ref["kind"].(string)
			t.Name, _ = ref["name"].(string)
			if t.Kind == "" && apiGroup(o.APIVersion) == "keda.sh" {
				t.Kind = "Deployment" // KEDA's default target kind
			}
			o.HPATarget = t
		}
	}
	return o
}

// isAutoscaler says whether an object is something that would scale a workload behind Git's
// back: a HorizontalPodAutoscaler, or a KEDA ScaledObject (which manages one).
func isAutoscaler(apiVersion, kind string) bool {
	g := apiGroup(apiVersion)
	return (kind == "HorizontalPodAutoscaler" && g == "autoscaling") || (kind == "ScaledObject" && g == "keda.sh")
}

// asInt reads an integer the YAML decoder produced: int, int64, uint64 or a whole float64.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		if n > math.MaxInt32 {
			return 0, false
		}
		return int(n), true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 {
			return int(n), true
		}
	}
	return 0, false
}
