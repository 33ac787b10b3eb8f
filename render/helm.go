package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/strvals"
)

// helmSource is one `helm template` of a chart of the repository: the chart, its values in the
// order Helm merges them, and the release and cluster it is rendered for.
type helmSource struct {
	chart string // repository-relative chart directory, cleaned; "" for a remote chart
	// remote is the chart of a Helm repository or OCI registry the source renders instead of
	// a directory (charts.go): the service pulls it before the render, the worker reads it
	// from the cache.
	remote *chartRef
	// defaults, when replaceDefaults is set, are the values files merged into the chart's
	// default values instead of its values.yaml (Flux's spec.chart.spec.valuesFiles).
	defaults        []valuesLayer
	replaceDefaults bool
	// layers are the user-supplied values in the order Helm applies them: -f files (and values
	// written inline, which Argo CD passes as one more -f file), then --set, --set-string and
	// --set-file parameters.
	layers      []valuesLayer
	releaseName string
	namespace   string
	kubeVersion string
	apiVersions []string
	skipCRDs    bool
	skipSchema  bool
	// isUpgrade renders as an upgrade of an installed release (.Release.IsUpgrade), as Flux
	// does; `helm template` and Argo CD render an install.
	isUpgrade bool
	// from names where the settings come from, for messages: "the policy", or the Application
	// or HelmRelease file.
	from string
}

// layerKind is how a values layer is given to Helm.
type layerKind int

const (
	layerFile      layerKind = iota // a values file (-f)
	layerInline                     // values written in an Application or HelmRelease
	layerSet                        // --set name=value
	layerSetString                  // --set-string name=value
	layerSetFile                    // --set-file name=path
	layerChartFile                  // a values file inside a pulled chart (-f of the extracted chart)
)

// valuesLayer is one source of values.
type valuesLayer struct {
	kind layerKind
	// file is the repository-relative values file (layerFile) or the file read (layerSetFile).
	file string
	// optional skips a missing file instead of failing (ignoreMissingValueFiles).
	optional bool
	// values are the inline values (layerInline).
	values map[string]any
	// name and value are a parameter's (layerSet*); value is a path for layerSetFile.
	name, value string
	// doc and at say where an inline layer or a parameter is written: the file and the field
	// inside it, e.g. argocd/web.yaml and spec.source.helm.valuesObject; of a layerChartFile,
	// where the file of the chart is named (its values are in the chart, not in doc).
	doc, at string
	// chart is the pulled chart a layerChartFile is a file of, and missing the error (naming
	// the file, line and field that name it) when the chart has no such file.
	chart   *chartRef
	missing error
}

// String names the layer for messages.
func (l valuesLayer) String() string {
	switch l.kind {
	case layerFile:
		return l.file
	case layerInline:
		return l.doc + " " + l.at
	case layerChartFile:
		return fmt.Sprintf("%s of the pulled chart %s (%s %s)", l.file, l.chart.chart, l.doc, l.at)
	default:
		return fmt.Sprintf("%s %s (%s)", l.doc, l.at, l.name)
	}
}

func (h *helmSource) name() string {
	if h.remote != nil {
		return "helm " + h.remote.String()
	}
	return "helm chart " + h.chart
}

// render is `helm template`. The chart is read through the repo (overlay applied, symlinks
// confined) rather than helm's loader.Load, which follows any symlink; there is no network, no
// plugin and no post-renderer.
func (h *helmSource) render(ctx context.Context, r *repo) ([]byte, error) {
	var ch *chart.Chart
	var err error
	if h.remote != nil {
		ch, err = loadPulledChart(r, h.remote)
	} else {
		ch, err = loadChart(ctx, r, h.chart)
	}
	if err != nil {
		return nil, err
	}
	where := h.chart
	if h.remote != nil {
		where = h.remote.String()
	}
	if err := addLockedDependencies(r, ch, where); err != nil {
		return nil, err
	}
	if deps := ch.Metadata.Dependencies; len(deps) > 0 {
		if err := action.CheckDependencies(ch, deps); err != nil {
			return nil, fmt.Errorf("check dependencies (vendor them with `helm dependency build`, or lock them in Chart.lock to a Helm repository or OCI registry): %w", err)
		}
	}
	if h.replaceDefaults {
		defaults, err := mergeLayers(r, ch, h.defaults)
		if err != nil {
			return nil, err
		}
		ch.Values = defaults
	}
	vals, err := mergeLayers(r, ch, h.layers)
	if err != nil {
		return nil, err
	}
	kubeVersion := h.kubeVersion
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
	inst.IncludeCRDs = !h.skipCRDs
	inst.SkipSchemaValidation = h.skipSchema
	inst.IsUpgrade = h.isUpgrade
	inst.KubeVersion = kv
	inst.APIVersions = chartutil.VersionSet(h.apiVersions)
	inst.ReleaseName = h.releaseName
	if inst.ReleaseName == "" {
		inst.ReleaseName = DefaultReleaseName
	}
	inst.Namespace = h.namespace
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

func (h *helmSource) defaultNamespace() string {
	if h.namespace == "" {
		return DefaultNamespace
	}
	return h.namespace
}

// loadPulledChart loads a remote chart's archive from the chart cache, where the service
// pulled it before the render. Helm's loader unpacks it in memory and refuses an entry that
// is absolute or leaves the chart's directory.
func loadPulledChart(r *repo, ref *chartRef) (*chart.Chart, error) {
	p, ok := r.pulled[ref.key()]
	if !ok {
		return nil, fmt.Errorf("%s was not pulled before the render", ref)
	}
	data, err := os.ReadFile(p.Path)
	if err != nil {
		return nil, fmt.Errorf("%s: chart cache: %w", ref, err)
	}
	if sum := sha256.Sum256(data); "sha256:"+hex.EncodeToString(sum[:]) != p.Digest {
		return nil, fmt.Errorf("%s: the cached archive does not match its digest %s", ref, p.Digest)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("load %s (%s): %w", ref, p.Digest, err)
	}
	return ch, nil
}

// loadChart reads a chart directory of the repository, honoring its .helmignore as helm does.
// Dependencies vendored as archives (charts/*.tgz, as `helm dependency build` leaves them) are
// unpacked in memory by helm's loader, which refuses absolute and `..` entries.
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

// mergeLayers merges values layers as `helm template` merges its flags: -f files (and inline
// values) in order, maps merging key by key and anything else replaced by the later layer;
// then --set, --set-string and --set-file parameters in order. ch is the chart rendered, whose
// files a layerChartFile names.
func mergeLayers(r *repo, ch *chart.Chart, layers []valuesLayer) (map[string]any, error) {
	merged := map[string]any{}
	for _, l := range layers {
		switch l.kind {
		case layerChartFile:
			data, ok := chartRawFile(ch, l.file)
			if !ok {
				if l.optional {
					continue
				}
				return nil, l.missing
			}
			vals, err := chartutil.ReadValues(data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l, err)
			}
			merged = mergeMaps(merged, vals)
		case layerFile:
			if l.optional && !r.exists(l.file) {
				continue
			}
			data, err := r.readFile(l.file)
			if err != nil {
				return nil, fmt.Errorf("values file: %w", err)
			}
			vals, err := chartutil.ReadValues(data)
			if err != nil {
				return nil, fmt.Errorf("values file %s: %w", l.file, err)
			}
			merged = mergeMaps(merged, vals)
		case layerInline:
			merged = mergeMaps(merged, l.values)
		case layerSet:
			if err := strvals.ParseInto(l.name+"="+escapeSetValue(l.value), merged); err != nil {
				return nil, fmt.Errorf("%s: %w", l, err)
			}
		case layerSetString:
			if err := strvals.ParseIntoString(l.name+"="+escapeSetValue(l.value), merged); err != nil {
				return nil, fmt.Errorf("%s: %w", l, err)
			}
		case layerSetFile:
			read := func(rs []rune) (any, error) {
				data, err := r.readFile(string(rs))
				if err != nil {
					return nil, err
				}
				return string(data), nil
			}
			if err := strvals.ParseIntoFile(l.name+"="+l.file, merged, read); err != nil {
				return nil, fmt.Errorf("%s: %w", l, err)
			}
		}
	}
	return merged, nil
}

// chartRawFile is a file of a loaded chart by its path inside the chart, as the archive holds
// it (values.yaml and templates included).
func chartRawFile(ch *chart.Chart, name string) ([]byte, bool) {
	for _, f := range ch.Raw {
		if f.Name == name {
			return f.Data, true
		}
	}
	return nil, false
}

// escapeSetValue escapes the commas of a parameter's value as Argo CD does before it passes
// the value to --set, so a comma is part of the value rather than a separator; a value in
// braces is Helm's list syntax and is left alone.
func escapeSetValue(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	var prev rune
	for _, c := range v {
		if c == ',' && prev != '\\' {
			b.WriteString(`\,`)
		} else {
			b.WriteRune(c)
		}
		prev = c
	}
	return b.String()
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
