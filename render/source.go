package render

import (
	"context"
	"fmt"
)

// source is one thing a request renders: a chart, a kustomization or a directory of
// manifests. A policy's helm or kustomize block is one source; an Argo CD Application with
// several sources is several, whose objects are deployed together.
type source interface {
	// name says what is rendered, for messages: "helm chart charts/web".
	name() string
	// render returns the rendered manifests, YAML documents separated by ---.
	render(ctx context.Context, r *repo) ([]byte, error)
	// namespace is where objects without a namespace land; "" when the source does not say.
	defaultNamespace() string
}

var (
	_ source = (*helmSource)(nil)
	_ source = (*kustomizeSource)(nil)
	_ source = (*directorySource)(nil)
)

// resolve turns a request into the sources it renders, reading the Application or
// HelmRelease it names (through the overlay, so an edit of that file is seen).
func resolve(r *repo, req Request) ([]source, error) {
	switch {
	case req.Helm != nil:
		h := req.Helm
		chart, err := cleanRel(h.Chart)
		if err != nil {
			return nil, fmt.Errorf("helm chart: %w", err)
		}
		src := &helmSource{
			chart: chart, releaseName: h.ReleaseName, namespace: h.Namespace,
			kubeVersion: h.KubeVersion, apiVersions: h.APIVersions, from: "the policy",
		}
		for _, f := range h.ValuesFiles {
			clean, err := cleanRel(f)
			if err != nil {
				return nil, fmt.Errorf("helm values file: %w", err)
			}
			src.layers = append(src.layers, valuesLayer{kind: layerFile, file: clean})
		}
		return []source{src}, nil
	case req.Kustomize != nil:
		dir, err := cleanRel(req.Kustomize.Dir)
		if err != nil {
			return nil, fmt.Errorf("kustomization dir: %w", err)
		}
		return []source{&kustomizeSource{dir: dir}}, nil
	case req.ArgoCD != nil:
		return resolveArgoCD(r, req)
	case req.Flux != nil:
		return resolveFlux(r, req)
	}
	return nil, fmt.Errorf("nothing to render")
}
