package render

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// CheckPolicy checks a policy's render block against its repository at root, without
// rendering: the Application or HelmRelease it names exists and says what to render from this
// repository, and the policy's replicas.file is among the values (or manifests) that render
// reads — otherwise no edit of it could reach the workload. repoURLs are the repository's
// URLs, when known (see Request.RepoURLs). A problem comes back as a *policy.FieldError
// located in the policy or in the Application or HelmRelease file.
func CheckPolicy(root string, repoURLs []string, p *policy.Policy) (err error) {
	r := p.Spec.Render
	if r == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("render: check panicked: %v", v)
		}
	}()
	req := Request{Root: root, Helm: r.Helm, Kustomize: r.Kustomize, ArgoCD: r.ArgoCD, Flux: r.Flux, RepoURLs: repoURLs}
	field := "spec.render"
	switch {
	case r.Helm != nil:
		field = "spec.render.helm.chart"
	case r.Kustomize != nil:
		field = "spec.render.kustomize.dir"
	case r.ArgoCD != nil && r.ArgoCD.ApplicationSet != "":
		field = "spec.render.argocd.applicationSet"
	case r.ArgoCD != nil:
		field = "spec.render.argocd.application"
	case r.Flux != nil:
		field = "spec.render.flux.helmRelease"
	}
	problem := func(field, format string, args ...any) error {
		return &policy.FieldError{File: p.Source.File, Line: p.Source.LineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if req.sources() != 1 {
		return nil // validation reports it
	}
	repo, err := newRepo(root, nil)
	if err != nil {
		return problem(field, "%v", err)
	}
	srcs, err := resolve(repo, req)
	if err != nil {
		var fe *policy.FieldError
		if errors.As(err, &fe) {
			return fe
		}
		return problem(field, "%s", strings.TrimPrefix(err.Error(), field+": "))
	}
	for _, s := range srcs {
		if h, ok := s.(*helmSource); ok && h.remote == nil && !repo.exists(path.Join(h.chart, "Chart.yaml")) {
			return problem(field, "%s has no Chart.yaml: it is not a chart", h.chart)
		}
	}
	loc := p.Spec.Replicas
	if loc == nil {
		return nil
	}
	file, err := cleanRel(loc.File)
	if err != nil {
		return nil // validation reports it
	}
	var reads []string
	var readers []source
	for _, s := range srcs {
		ok, what := readsFile(repo, s, file)
		if ok {
			readers = append(readers, s)
		}
		reads = append(reads, what...)
	}
	if len(readers) == 0 {
		return problem("spec.replicas.file", "%s is not among the files the render reads (%s): an edit of it cannot reach the workload", file, strings.Join(reads, "; "))
	}
	// The override check (KeyOverridden), without rendering: a later source of the render —
	// a later values file, the Application's valuesObject, values or parameters, an
	// .argocd-source*.yaml, a HelmRelease's spec.values, a kustomize replicas entry or patch —
	// sets the same key, so a commit to the file would change nothing.
	v := verifier{req: VerifyRequest{Target: p.Spec.TargetRef, Path: loc.Path}, file: file}
	for _, s := range readers {
		by := ""
		switch s := s.(type) {
		case *helmSource:
			by = v.helmOverride(repo, s)
		case *kustomizeSource:
			by = v.kustomizeOverride(repo, s)
		}
		if by != "" {
			return problem("spec.replicas.path", "%s (%s): %s, so a commit to %s would change nothing", OverrideCheck, ReasonKeyOverridden, by, file)
		}
	}
	return nil
}

// OverrideCheck names the check that a later source of the render does not set the key the
// policy edits, in validate's messages and --help.
const OverrideCheck = "override check"

// readsFile says whether a source reads a file, and else what it reads.
func readsFile(r *repo, s source, file string) (bool, []string) {
	switch s := s.(type) {
	case *helmSource:
		if s.remote == nil && !s.replaceDefaults && file == path.Join(s.chart, "values.yaml") {
			return true, nil
		}
		for _, l := range append(append([]valuesLayer(nil), s.defaults...), s.layers...) {
			if (l.kind == layerFile && l.file == file) || (l.kind != layerFile && l.kind != layerChartFile && l.doc == file) {
				return true, nil
			}
		}
		return false, []string{s.name() + " reads " + strings.Join(s.reads(), ", ")}
	case *kustomizeSource:
		roots, err := kustomizationRoots(r, s.dir)
		if err != nil {
			return true, nil // the render will say what is wrong
		}
		for _, root := range roots {
			if root == "." || strings.HasPrefix(file, root+"/") {
				return true, nil
			}
		}
		return false, []string{s.name() + " reads " + strings.Join(roots, ", ")}
	case *directorySource:
		rel, ok := strings.CutPrefix(file, s.dir+"/")
		if s.dir == "." {
			rel, ok = file, true
		}
		if ok && (s.recurse || !strings.Contains(rel, "/")) &&
			(s.exclude == nil || !s.exclude.MatchString(rel)) && (s.include == nil || s.include.MatchString(rel)) {
			return true, nil
		}
		return false, []string{s.name() + " reads its manifests"}
	}
	return true, nil
}
