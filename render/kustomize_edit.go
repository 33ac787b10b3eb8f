package render

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/pkg/util"
	"sigs.k8s.io/kustomize/api/types"
	sigsyaml "sigs.k8s.io/yaml"
)

// kustomizeEdit is what Argo CD changes in a kustomization before it builds it, from an
// Application's spec.source.kustomize: it runs `kustomize edit set nameprefix`, `set
// namesuffix`, `set image`, `set replicas`, `add label`, `add annotation`, `set namespace`,
// appends patches and runs `add component`, in that order. apply does the same to the
// kustomization's content in memory.
type kustomizeEdit struct {
	namePrefix, nameSuffix string
	images                 []string // [old=]new[:tag][@digest], as `kustomize edit set image` takes them
	replicas               []types.Replica
	labels                 map[string]string
	forceLabels            bool
	labelsWithoutSelector  bool
	labelsInTemplates      bool
	annotations            map[string]string
	forceAnnotations       bool
	namespace              string
	patches                []types.Patch
	components             []string
	ignoreMissingComps     bool
	// doc names the Application, for messages.
	doc string
}

// apply returns a repo in which the kustomization of dir carries the edit.
func (e *kustomizeEdit) apply(r *repo, dir string) (*repo, error) {
	file := findKustomization(r, dir)
	if file == "" {
		return nil, fmt.Errorf("%s sets kustomize options, but %s has no kustomization file", e.doc, dir)
	}
	data, err := r.readFile(file)
	if err != nil {
		return nil, err
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("parse %s: %w", file, err)
	}
	k.FixKustomization()
	fail := func(err error) (*repo, error) {
		return nil, fmt.Errorf("apply the kustomize options of %s to %s: %w", e.doc, file, err)
	}
	if e.namePrefix != "" {
		k.NamePrefix = e.namePrefix
	}
	if e.nameSuffix != "" {
		k.NameSuffix = e.nameSuffix
	}
	if len(e.images) > 0 {
		if err := setImages(&k, e.images); err != nil {
			return fail(err)
		}
	}
	if len(e.replicas) > 0 {
		setReplicas(&k, e.replicas)
	}
	if len(e.labels) > 0 {
		if err := e.addLabels(&k); err != nil {
			return fail(err)
		}
	}
	if len(e.annotations) > 0 {
		if k.CommonAnnotations == nil {
			k.CommonAnnotations = map[string]string{}
		}
		if err := addMetadata(k.CommonAnnotations, e.annotations, e.forceAnnotations, "annotation", "forceCommonAnnotations"); err != nil {
			return fail(err)
		}
	}
	if e.namespace != "" {
		k.Namespace = e.namespace
	}
	k.Patches = append(k.Patches, e.patches...)
	for _, c := range e.components {
		if e.ignoreMissingComps && !r.exists(path.Join(dir, c)) {
			continue
		}
		if !slices.Contains(k.Components, c) {
			k.Components = append(k.Components, c)
		}
	}
	out, err := sigsyaml.Marshal(&k)
	if err != nil {
		return fail(err)
	}
	return r.with(file, out), nil
}

// setImages is `kustomize edit set image`: each argument replaces the entry of its image name
// ("*" keeps the entry's new name, tag or digest); entries end up sorted by name.
func setImages(k *types.Kustomization, args []string) error {
	byName := map[string]types.Image{}
	for _, arg := range args {
		img, err := parseImageArg(arg)
		if err != nil {
			return err
		}
		byName[img.Name] = img
	}
	for _, old := range k.Images {
		img, ok := byName[old.Name]
		if !ok {
			byName[old.Name] = old
			continue
		}
		if img.NewName == "*" {
			img.NewName = old.NewName
		}
		if img.NewTag == "*" {
			img.NewTag = old.NewTag
		}
		if img.Digest == "*" {
			img.Digest = old.Digest
		}
		byName[old.Name] = img
	}
	images := make([]types.Image, 0, len(byName))
	for _, img := range byName {
		for _, f := range []*string{&img.NewName, &img.NewTag, &img.Digest} {
			if *f == "*" {
				*f = ""
			}
		}
		images = append(images, img)
	}
	sort.Slice(images, func(i, j int) bool { return images[i].Name < images[j].Name })
	k.Images = images
	return nil
}

// parseImageArg reads one argument of `kustomize edit set image`.
func parseImageArg(arg string) (types.Image, error) {
	key, value, hasKey := strings.Cut(arg, "=")
	if !hasKey {
		key, value = "", arg
	}
	name, tag, digest := util.SplitImageName(value)
	if name == arg {
		return types.Image{}, fmt.Errorf("image %q: use <image>=<newimage>[:<newtag>][@<digest>], <image>:<newtag>[@<digest>] or <image>@<digest>", arg)
	}
	img := types.Image{NewTag: tag, Digest: digest}
	if key == "" {
		img.Name = name
	} else {
		img.Name, img.NewName = key, name
	}
	return img, nil
}

// setReplicas is `kustomize edit set replicas`: each entry replaces the one of its name.
func setReplicas(k *types.Kustomization, set []types.Replica) {
	byName := map[string]types.Replica{}
	for _, r := range set {
		byName[r.Name] = r
	}
	for _, old := range k.Replicas {
		if _, ok := byName[old.Name]; !ok {
			byName[old.Name] = old
		}
	}
	out := make([]types.Replica, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	k.Replicas = out
}

// addLabels is `kustomize edit add label`: into commonLabels, or, without selectors, into a
// labels entry of the same settings.
func (e *kustomizeEdit) addLabels(k *types.Kustomization) error {
	if !e.labelsWithoutSelector {
		if e.labelsInTemplates {
			return fmt.Errorf("labelIncludeTemplates needs labelWithoutSelector")
		}
		if k.CommonLabels == nil {
			k.CommonLabels = map[string]string{}
		}
		return addMetadata(k.CommonLabels, e.labels, e.forceLabels, "label", "forceCommonLabels")
	}
	idx := -1
	for i, l := range k.Labels {
		if !l.IncludeSelectors && l.IncludeTemplates == e.labelsInTemplates {
			idx = i
			break
		}
	}
	if idx < 0 {
		k.Labels = append(k.Labels, types.Label{Pairs: map[string]string{}, IncludeTemplates: e.labelsInTemplates})
		idx = len(k.Labels) - 1
	}
	if k.Labels[idx].Pairs == nil {
		k.Labels[idx].Pairs = map[string]string{}
	}
	return addMetadata(k.Labels[idx].Pairs, e.labels, e.forceLabels, "label", "forceCommonLabels")
}

// addMetadata adds entries to a label or annotation map; an existing key is an error unless
// forced, as in `kustomize edit add`.
func addMetadata(into, add map[string]string, force bool, kind, forceField string) error {
	keys := make([]string, 0, len(add))
	for k := range add {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := into[k]; ok && !force {
			return fmt.Errorf("%s %s is already in the kustomization; Argo CD's `kustomize edit add %s` fails on it unless the Application sets %s", kind, k, kind, forceField)
		}
		into[k] = add[k]
	}
	return nil
}

// patchesFrom converts the Application's kustomize.patches (decoded YAML) to kustomize's type.
func patchesFrom(raw []any) ([]types.Patch, error) {
	out := make([]types.Patch, 0, len(raw))
	for i, p := range raw {
		data, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("patches[%d]: %w", i, err)
		}
		var patch types.Patch
		if err := json.Unmarshal(data, &patch); err != nil {
			return nil, fmt.Errorf("patches[%d]: %w", i, err)
		}
		out = append(out, patch)
	}
	return out, nil
}
