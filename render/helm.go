package render

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// renderHelm is `helm template` of a chart directory of the repository with the policy's
// values files, later files winning as with `-f a -f b`. The chart is read through the repo
// (overlay applied, symlinks confined) rather than helm's loader.Load, which follows any
// symlink; there is no network, no plugin and no post-renderer.
func renderHelm(ctx context.Context, r *repo, h *policy.HelmRender, kubeVersion string) ([]byte, error) {
	ch, err := loadChart(ctx, r, h.Chart)
	if err != nil {
		return nil, err
	}
	if deps := ch.Metadata.Dependencies; len(deps) > 0 {
		if err := action.CheckDependencies(ch, deps); err != nil {
			return nil, fmt.Errorf("check dependencies (vendor them with `helm dependency build`; nothing is fetched): %w", err)
		}
	}
	vals, err := mergeValuesFiles(r, h.ValuesFiles)
	if err != nil {
		return nil, err
	}
	if kubeVersion == "" {
		kubeVersion = DefaultKubeVersion
	}
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("kube version %q: %w", kubeVersion, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	cfg := &action.Configuration{Log: func(string, ...any) {}}
	inst := action.NewInstall(cfg)
	inst.DryRun = true
	inst.ClientOnly = true
	inst.Replace = true
	inst.IncludeCRDs = true
	inst.KubeVersion = kv
	inst.ReleaseName = h.ReleaseName
	if inst.ReleaseName == "" {
		inst.ReleaseName = DefaultReleaseName
	}
	inst.Namespace = h.Namespace
	if inst.Namespace == "" {
		inst.Namespace = DefaultNamespace
	}
	rel, err := inst.RunWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("render templates: %w", err)
	}
	var out bytes.Buffer
	out.WriteString(rel.Manifest)
	// `helm template` prints hooks too; an HPA shipped as a hook still fights the autoscaler.
	for _, hook := range rel.Hooks {
		fmt.Fprintf(&out, "\n---\n# Source: %s\n%s\n", hook.Path, hook.Manifest)
	}
	return out.Bytes(), nil
}

// loadChart reads a chart directory of the repository, honoring its .helmignore as helm does.
func loadChart(ctx context.Context, r *repo, dir string) (*chart.Chart, error) {
	clean, err := cleanRel(dir)
	if err != nil {
		return nil, fmt.Errorf("chart: %w", err)
	}
	rules := ignore.Empty()
	if data, err := r.readFile(path.Join(clean, ignore.HelmIgnore)); err == nil {
		rules, err = ignore.Parse(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", ignore.HelmIgnore, err)
		}
	}
	rules.AddDefaults()
	files, err := r.readTree(ctx, clean, func(rel string, fi fs.FileInfo) bool {
		return rules.Ignore(rel, fi)
	})
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	buffered := make([]*loader.BufferedFile, 0, len(files))
	for _, f := range files {
		buffered = append(buffered, &loader.BufferedFile{Name: f.rel, Data: f.data})
	}
	ch, err := loader.LoadFiles(buffered)
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	return ch, nil
}

// mergeValuesFiles reads values files in order and merges them as helm merges `-f` files:
// maps merge key by key, anything else is replaced by the later file.
func mergeValuesFiles(r *repo, files []string) (map[string]any, error) {
	merged := map[string]any{}
	for _, f := range files {
		data, err := r.readFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		vals, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		merged = mergeMaps(merged, vals)
	}
	return merged, nil
}

// mergeMaps is helm's merge of values files (pkg/cli/values): b wins, nested maps merge.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if bv, ok := out[k]; ok {
				if bm, ok := bv.(map[string]any); ok {
					out[k] = mergeMaps(bm, vm)
					continue
				}
			}
		}
		out[k] = v
	}
	return out
}
