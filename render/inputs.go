package render

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Everything is the one input that stands for the whole repository: Inputs' answer when it
// cannot say less.
const Everything = "."

// maxInputWalk bounds the entries Inputs looks at for symlinks under one source directory;
// past it the answer is Everything.
const maxInputWalk = 20_000

// Inputs returns the repository-relative files and directories a policy's render reads — a
// directory stands for everything under it — so that a caller can tell whether other commits
// could have changed the render (docs/design.md §6, "Push races"). It names the Argo CD
// Application or Flux HelmRelease file, a chart's directory and its values files, every
// kustomization directory of the graph and the files they name, and a directory source's
// directory. It errs on the side of more: when it cannot resolve the render, when a chart has
// a local (file://) dependency, or when a source directory holds a symlink (which may lead
// anywhere in the repository), the answer is Everything. A policy without a render reads no
// more than its target file: nil.
func Inputs(root string, repoURLs []string, p *policy.Policy) []string {
	rb := p.Spec.Render
	if rb == nil {
		return nil
	}
	r, err := newRepo(root, nil)
	if err != nil {
		return []string{Everything}
	}
	r.touched = map[string]bool{}
	req := Request{Root: root, Helm: rb.Helm, Kustomize: rb.Kustomize, ArgoCD: rb.ArgoCD, Flux: rb.Flux, RepoURLs: repoURLs}
	if req.sources() != 1 {
		return []string{Everything}
	}
	srcs, err := resolve(r, req)
	if err != nil {
		return []string{Everything}
	}
	in := map[string]bool{}
	var dirs []string
	for _, s := range srcs {
		switch s := s.(type) {
		case *helmSource:
			if s.remote == nil { // a remote chart reads no directory of this repository
				chart, err := r.readFile(path.Join(s.chart, "Chart.yaml"))
				if err != nil || strings.Contains(string(chart), "file://") {
					return []string{Everything}
				}
				dirs = append(dirs, s.chart)
			}
			for _, l := range append(append([]valuesLayer(nil), s.defaults...), s.layers...) {
				if l.file != "" {
					in[l.file] = true
				}
				if l.doc != "" {
					in[l.doc] = true
				}
			}
		case *kustomizeSource:
			roots, err := kustomizationRoots(r, s.dir)
			if err != nil {
				return []string{Everything}
			}
			dirs = append(dirs, roots...)
		case *directorySource:
			dirs = append(dirs, s.dir)
		default:
			return []string{Everything}
		}
	}
	for _, d := range dirs {
		if d == "." || d == "" || mayLeave(r, d) {
			return []string{Everything}
		}
		in[d] = true
	}
	for f := range r.touched {
		in[f] = true
	}
	for _, f := range []string{fileOf(rb.ArgoCD), fileOf(rb.Flux)} {
		if f != "" {
			in[f] = true
		}
	}
	out := make([]string, 0, len(in))
	for f := range in {
		if f == "." || f == "" {
			return []string{Everything}
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// fileOf is the file an Argo CD or Flux render block names.
func fileOf(b any) string {
	switch b := b.(type) {
	case *policy.ArgoCDRender:
		if b != nil && b.ApplicationSet != "" {
			return path.Clean(b.ApplicationSet)
		}
		if b != nil {
			return path.Clean(b.Application)
		}
	case *policy.FluxRender:
		if b != nil {
			return path.Clean(b.HelmRelease)
		}
	}
	return ""
}

// mayLeave says whether a source directory holds a symlink, or more entries than Inputs looks
// at: either way what it reads may lie anywhere in the repository.
func mayLeave(r *repo, dir string) bool {
	real, err := r.resolve(dir)
	if err != nil {
		return true
	}
	n := 0
	leave := false
	err = filepath.WalkDir(real, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if d.Type()&fs.ModeSymlink != 0 || n > maxInputWalk {
			leave = true
			return filepath.SkipAll
		}
		return nil
	})
	return leave || (err != nil && !errors.Is(err, filepath.SkipAll))
}
