package render

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeMu serializes kustomize builds: kustomize keeps its OpenAPI schema in package-level
// state that every build sets.
var kustomizeMu sync.Mutex

// memRoot is where the repository is mounted in the in-memory file system kustomize reads.
// Paths above it do not exist there, so `..` past the repository root finds nothing.
const memRoot = "/repo"

// kustomizationFiles are the names kustomize looks for in a directory, in its order.
var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomizeSource is one `kustomize build` of a directory of the repository.
type kustomizeSource struct {
	dir string // repository-relative, cleaned
	// edit, when set, rewrites the directory's kustomization before the build, as Argo CD's
	// `kustomize edit` calls do for an Application's kustomize options.
	edit *kustomizeEdit
	// destNamespace is where objects without a namespace land (the Argo CD destination).
	destNamespace string
	// replicaOverrides are the Application's kustomize.replicas entries, which set counts
	// after everything in the repository.
	replicaOverrides []replicaOverride
}

// replicaOverride is a count set for a workload by name from outside the kustomization.
type replicaOverride struct {
	name  string
	where string
}

func (k *kustomizeSource) name() string { return "kustomization " + k.dir }

func (k *kustomizeSource) defaultNamespace() string { return k.destNamespace }

func (k *kustomizeSource) render(ctx context.Context, r *repo) ([]byte, error) {
	if k.edit != nil {
		edited, err := k.edit.apply(r, k.dir)
		if err != nil {
			return nil, err
		}
		r = edited
	}
	return renderKustomize(ctx, r, k.dir)
}

// renderKustomize is `kustomize build` of a directory of the repository. It first walks the
// kustomization graph (resources, bases, components) to refuse any remote reference — krusty
// would clone it with the git binary or fetch it over HTTP — and any path that leaves the
// repository; then it copies the directories the graph reaches into an in-memory file system
// and builds there, plugins disabled, so the build cannot read anything else.
func renderKustomize(ctx context.Context, r *repo, dir string) ([]byte, error) {
	clean, err := cleanRel(dir)
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	roots, err := kustomizationRoots(r, clean)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	for _, root := range roots {
		files, err := r.readTree(ctx, root, func(_ string, fi fs.FileInfo) bool {
			return fi.IsDir() && fi.Name() == ".git"
		})
		if err != nil {
			return nil, err
		}
		if err := mem.MkdirAll(path.Join(memRoot, root)); err != nil {
			return nil, fmt.Errorf("copy %s: %w", root, err)
		}
		for _, f := range files {
			p := path.Join(memRoot, root, f.rel)
			if err := mem.MkdirAll(path.Dir(p)); err != nil {
				return nil, fmt.Errorf("copy %s: %w", root, err)
			}
			if err := mem.WriteFile(p, f.data); err != nil {
				return nil, fmt.Errorf("copy %s: %w", root, err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	opts := krusty.MakeDefaultOptions()
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	resources, err := krusty.MakeKustomizer(opts).Run(mem, path.Join(memRoot, clean))
	if err != nil {
		return nil, fmt.Errorf("build: %s", strings.ReplaceAll(err.Error(), memRoot+"/", ""))
	}
	out, err := resources.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return out, nil
}

// kustomizationRefs are the fields of a kustomization that name other files or directories.
type kustomizationRefs struct {
	Resources             []string `yaml:"resources"`
	Bases                 []string `yaml:"bases"`
	Components            []string `yaml:"components"`
	Crds                  []string `yaml:"crds"`
	Configurations        []string `yaml:"configurations"`
	Generators            []string `yaml:"generators"`
	Transformers          []string `yaml:"transformers"`
	Validators            []string `yaml:"validators"`
	PatchesStrategicMerge []string `yaml:"patchesStrategicMerge"`
	Patches               []struct {
		Path string `yaml:"path"`
	} `yaml:"patches"`
	PatchesJSON6902 []struct {
		Path string `yaml:"path"`
	} `yaml:"patchesJson6902"`
	Replacements []struct {
		Path string `yaml:"path"`
	} `yaml:"replacements"`
	ConfigMapGenerator []generatorRefs   `yaml:"configMapGenerator"`
	SecretGenerator    []generatorRefs   `yaml:"secretGenerator"`
	OpenAPI            map[string]string `yaml:"openapi"`
}

type generatorRefs struct {
	Files []string `yaml:"files"`
	Envs  []string `yaml:"envs"`
	Env   string   `yaml:"env"`
}

// findKustomization returns the kustomization file of a directory, or "" if it has none.
func findKustomization(r *repo, dir string) string {
	for _, name := range kustomizationFiles {
		p := path.Join(dir, name)
		if r.exists(p) && !r.isDir(p) {
			return p
		}
	}
	return ""
}

// kustomizationRoots walks the kustomization graph from dir and returns every kustomization
// directory it reaches, dir first. A remote reference or a path leaving the repository is an
// error naming the kustomization that holds it.
func kustomizationRoots(r *repo, dir string) ([]string, error) {
	var roots []string
	seen := map[string]bool{}
	var visit func(dir string) error
	visit = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		roots = append(roots, dir)
		file := findKustomization(r, dir)
		if file == "" {
			if len(roots) == 1 {
				return fmt.Errorf("no kustomization.yaml in %s", dir)
			}
			return nil // kustomize reports it, with its own words
		}
		data, err := r.readFile(file)
		if err != nil {
			return err
		}
		var k kustomizationRefs
		if err := yaml.Unmarshal(data, &k); err != nil {
			return fmt.Errorf("parse %s: %w", file, err)
		}
		check := func(ref string) (string, error) {
			if isRemoteRef(ref) {
				return "", fmt.Errorf("%s: remote reference %q: remote bases and URLs are never fetched; vendor it into the repository", file, ref)
			}
			p, err := cleanRel(path.Join(dir, ref))
			if err != nil || path.IsAbs(ref) {
				return "", fmt.Errorf("%s: reference %q leaves the repository root", file, ref)
			}
			if _, err := r.resolve(p); err != nil {
				return "", fmt.Errorf("%s: reference %q: %w", file, ref, err)
			}
			return p, nil
		}
		// Directories: other kustomizations to walk.
		for _, list := range [][]string{k.Resources, k.Bases, k.Components, k.Generators, k.Transformers, k.Validators} {
			for _, ref := range list {
				p, err := check(ref)
				if err != nil {
					return err
				}
				if r.isDir(p) {
					if err := visit(p); err != nil {
						return err
					}
				}
			}
		}
		// Files.
		var files []string
		files = append(files, k.Crds...)
		files = append(files, k.Configurations...)
		for _, p := range k.PatchesStrategicMerge {
			if !strings.Contains(p, "\n") { // otherwise an inline patch
				files = append(files, p)
			}
		}
		for _, p := range k.Patches {
			files = append(files, p.Path)
		}
		for _, p := range k.PatchesJSON6902 {
			files = append(files, p.Path)
		}
		for _, p := range k.Replacements {
			files = append(files, p.Path)
		}
		for _, g := range append(k.ConfigMapGenerator, k.SecretGenerator...) {
			for _, f := range g.Files {
				_, src, ok := strings.Cut(f, "=")
				if !ok {
					src = f
				}
				files = append(files, src)
			}
			files = append(files, g.Envs...)
			files = append(files, g.Env)
		}
		files = append(files, k.OpenAPI["path"])
		for _, f := range files {
			if f == "" {
				continue
			}
			if _, err := check(f); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(dir); err != nil {
		return nil, err
	}
	return roots, nil
}

// isRemoteRef says whether kustomize would treat a reference as remote: a URL (any scheme, as
// http(s) files are fetched and git URLs cloned), a git:: or SCP-style (user@host:) address,
// or a github.com path. It errs on the side of "remote".
func isRemoteRef(ref string) bool {
	lower := strings.ToLower(ref)
	if strings.Contains(lower, "://") || strings.HasPrefix(lower, "git::") || strings.HasPrefix(lower, "github.com") {
		return true
	}
	first, _, _ := strings.Cut(ref, "/")
	return strings.Contains(first, "@")
}
