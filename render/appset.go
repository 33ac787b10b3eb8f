package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
)

// An ApplicationSet of the repository is expanded here into the Applications Argo CD's
// ApplicationSet controller would generate, for the generators that need nothing but this
// repository: list, git (directories and files, read from this checkout), and matrix and
// merge of those (docs/design.md §8 "ApplicationSets"; docs/render-verification.md for users). A generator
// that needs the cluster or another service (clusters, clusterDecisionResource, scmProvider,
// pullRequest, plugin) is refused, naming it, never skipped. The generated Application is an
// objectDoc whose nodes keep the lines of spec.template, so that every problem found later
// names the ApplicationSet's file, line and spec.template field.

const (
	// MaxGeneratedApplications bounds the Applications one ApplicationSet generates, and the
	// parameter sets any of its generators (a matrix's product included) yields on the way.
	MaxGeneratedApplications = 1000
	// MaxAppSetBytes bounds the ApplicationSet's file, and each file a git files generator
	// reads.
	MaxAppSetBytes = 1 << 20
	// MaxTemplateOutput bounds what the templates of one generated Application write in all,
	// in bytes (its strings, keys and templatePatch).
	MaxTemplateOutput = 1 << 20
	// maxGeneratorDepth is Argo CD's nesting: a matrix in a matrix, no deeper.
	maxGeneratorDepth = 2
)

// generatedApp is one Application an ApplicationSet generates.
type generatedApp struct {
	name string
	doc  objectDoc
}

// appSet expands one ApplicationSet.
type appSet struct {
	r          *repo
	doc        objectDoc
	name       string
	goTemplate bool
	options    []string
	repoURLs   []string
	branch     string // the branch the checkout is of; "" when not known
	parsed     map[string]*template.Template
	budget     int                 // template output left for the Application being rendered
	patched    map[*yaml.Node]bool // nodes the templatePatch wrote, for the Application being rendered
}

// loadGeneratedApp reads the ApplicationSets of a file, generates their Applications and
// returns the one named name, as an objectDoc located in the ApplicationSet's template.
func loadGeneratedApp(r *repo, file, name string, repoURLs []string, branch string) (objectDoc, error) {
	const field = "spec.render.argocd.applicationSet"
	sets, err := loadAppSets(r, file, repoURLs, branch)
	if err != nil {
		return objectDoc{}, err
	}
	clean := sets[0].doc.file
	var hits []generatedApp
	var names []string
	for _, s := range sets {
		apps, err := s.generate()
		if err != nil {
			return objectDoc{}, err
		}
		for _, a := range apps {
			names = append(names, a.name)
			if a.name == name {
				hits = append(hits, a)
			}
		}
	}
	switch len(hits) {
	case 1:
		return hits[0].doc, nil
	case 0:
		sort.Strings(names)
		list := "none"
		if len(names) > 20 {
			list = strings.Join(names[:20], ", ") + fmt.Sprintf(" and %d more", len(names)-20)
		} else if len(names) > 0 {
			list = strings.Join(names, ", ")
		}
		return objectDoc{}, fmt.Errorf("%s: the ApplicationSet of %s generates no Application %q (it generates %s)", field, clean, name, list)
	default:
		return objectDoc{}, hits[1].doc.problem("metadata.name", "the Application name %q is generated %d times (Argo CD refuses duplicate names too)", name, len(hits))
	}
}

// loadAppSets reads the ApplicationSets of a file of the repository. repoURLs and branch are
// the repository's URLs and the branch its checkout is of, when known (Request.RepoURLs,
// Request.Branch).
func loadAppSets(r *repo, file string, repoURLs []string, branch string) ([]*appSet, error) {
	const field = "spec.render.argocd.applicationSet"
	clean, err := cleanRel(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	data, err := r.readFile(clean)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if len(data) > MaxAppSetBytes {
		return nil, fmt.Errorf("%s: %s is %d bytes, over the %d bytes an ApplicationSet file may have (MaxAppSetBytes)", field, clean, len(data), MaxAppSetBytes)
	}
	var sets []*appSet
	var found []string
	for n, err := range yamlnode.Documents(data) {
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", clean, err)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		doc := objectDoc{file: clean, node: n.Content[0]}
		var head struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if err := doc.node.Decode(&head); err != nil {
			return nil, fmt.Errorf("parse %s: %w", clean, err)
		}
		found = append(found, strings.TrimSpace(head.Kind+" "+head.Metadata.Name))
		if head.Kind == "ApplicationSet" && apiGroup(head.APIVersion) == "argoproj.io" {
			sets = append(sets, &appSet{r: r, doc: doc, name: head.Metadata.Name, repoURLs: repoURLs, branch: branch})
		}
	}
	if len(sets) == 0 {
		list := "nothing"
		if len(found) > 0 {
			list = strings.Join(found, ", ")
		}
		return nil, fmt.Errorf("%s: %s holds no ApplicationSet of argoproj.io (it holds %s)", field, clean, list)
	}
	return sets, nil
}

// genResult is what one generator yields: its parameter sets and its own template, if any.
type genResult struct {
	params   []map[string]any
	template *yaml.Node // the generator's template:, merged over spec.template; nil if none
}

// generate returns every Application the ApplicationSet generates, in Argo CD's order. Every
// one is rendered, not only the one a policy names: as in Argo CD's controller, an error in
// any of them stops the ApplicationSet (its Applications are not updated), so it refuses the
// verification too.
func (s *appSet) generate() ([]generatedApp, error) {
	spec := mapGet(s.doc.node, "spec")
	if spec == nil || spec.Kind != yaml.MappingNode {
		return nil, s.doc.problem("spec", "an ApplicationSet needs a spec with generators and a template")
	}
	var head struct {
		GoTemplate        bool     `yaml:"goTemplate"`
		GoTemplateOptions []string `yaml:"goTemplateOptions"`
		TemplatePatch     *string  `yaml:"templatePatch"`
	}
	if err := spec.Decode(&head); err != nil {
		return nil, s.doc.problem("spec", "%v", err)
	}
	s.goTemplate, s.options = head.GoTemplate, head.GoTemplateOptions
	for i, o := range s.options {
		if err := checkTemplateOption(o); err != nil {
			return nil, s.doc.problem(fmt.Sprintf("spec.goTemplateOptions[%d]", i), "%v", err)
		}
	}
	tmpl := mapGet(spec, "template")
	if tmpl == nil || tmpl.Kind != yaml.MappingNode {
		return nil, s.doc.problem("spec.template", "required: the Application template")
	}
	gens := mapGet(spec, "generators")
	if gens == nil || gens.Kind != yaml.SequenceNode || len(gens.Content) == 0 {
		return nil, s.doc.problem("spec.generators", "required: a list of generators")
	}
	var apps []generatedApp
	for i, g := range gens.Content {
		field := fmt.Sprintf("spec.generators[%d]", i)
		results, err := s.transform(g, field, nil, 0)
		if err != nil {
			return nil, err
		}
		for _, res := range results {
			t := tmpl
			if res.template != nil {
				t = fillMissing(copyNode(res.template), tmpl)
			}
			for _, p := range res.params {
				if len(apps) == MaxGeneratedApplications {
					return nil, s.doc.problem("spec.generators", "generates more than %d Applications (MaxGeneratedApplications)", MaxGeneratedApplications)
				}
				app, err := s.render(t, head.TemplatePatch, p)
				if err != nil {
					return nil, err
				}
				apps = append(apps, app)
			}
		}
	}
	return apps, nil
}

// generatorKinds are the generators in the order Argo CD runs the ones of one entry.
var generatorKinds = []string{"list", "clusters", "git", "scmProvider", "clusterDecisionResource", "pullRequest", "matrix", "merge", "plugin"}

// refusedGenerators are the generators that need what render verification does not have.
var refusedGenerators = map[string]string{
	"clusters":                "reads Argo CD's cluster secrets from the Kubernetes API",
	"clusterDecisionResource": "reads a resource of the Kubernetes API",
	"scmProvider":             "lists repositories of an SCM provider's API",
	"pullRequest":             "lists pull requests of an SCM provider's API",
	"plugin":                  "calls a plugin service",
}

// transform runs one generator entry (Argo CD's generators.Transform): each generator it names,
// its parameters interpolated with params first (a matrix's second generator), then filtered
// by its selector.
func (s *appSet) transform(g *yaml.Node, field string, params map[string]any, depth int) ([]genResult, error) {
	if g.Kind != yaml.MappingNode {
		return nil, s.doc.problem(field, "a generator is a mapping naming one of %s", strings.Join(generatorKinds, ", "))
	}
	if len(params) > 0 {
		var err error
		if g, err = s.interpolate(g, params, field); err != nil {
			return nil, err
		}
	}
	present := map[string]*yaml.Node{}
	var selector *yaml.Node
	for i := 0; i+1 < len(g.Content); i += 2 {
		k, v := g.Content[i].Value, g.Content[i+1]
		switch {
		case k == "selector":
			selector = v
		case slicesContains(generatorKinds, k):
			if v.Kind != yaml.MappingNode {
				return nil, s.doc.problem(field+"."+k, "a generator's settings are a mapping")
			}
			present[k] = v
		default:
			return nil, s.doc.problem(field+"."+k, "unknown generator %q (Argo CD has %s)", k, strings.Join(generatorKinds, ", "))
		}
	}
	if len(present) == 0 {
		return nil, s.doc.problem(field, "names no generator (one of %s)", strings.Join(generatorKinds, ", "))
	}
	keep, err := s.selector(selector, field+".selector")
	if err != nil {
		return nil, err
	}
	var out []genResult
	for _, kind := range generatorKinds {
		v, ok := present[kind]
		if !ok {
			continue
		}
		kf := field + "." + kind
		if why, refused := refusedGenerators[kind]; refused {
			return nil, s.doc.problem(kf, "the %s generator %s: render verification reads this repository only, so this ApplicationSet is refused (use list, git, or a matrix or merge of them)", kind, why)
		}
		var ps []map[string]any
		switch kind {
		case "list":
			ps, err = s.list(v, kf)
		case "git":
			ps, err = s.git(v, kf)
		case "matrix":
			ps, err = s.matrix(v, kf, depth)
		case "merge":
			ps, err = s.merge(v, kf, depth)
		}
		if err != nil {
			return nil, err
		}
		if len(ps) > MaxGeneratedApplications {
			return nil, s.doc.problem(kf, "yields more than %d parameter sets (MaxGeneratedApplications)", MaxGeneratedApplications)
		}
		res := genResult{template: mapGet(v, "template")}
		for _, p := range ps {
			if keep(p) {
				res.params = append(res.params, p)
			}
		}
		out = append(out, res)
	}
	return out, nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// list is the list generator: elements (and elementsYaml) as they are with goTemplate;
// without it every value is a string, and values: {k: v} becomes values.k.
func (s *appSet) list(v *yaml.Node, field string) ([]map[string]any, error) {
	var out []map[string]any
	if el := mapGet(v, "elements"); el != nil {
		if el.Kind != yaml.SequenceNode {
			return nil, s.doc.problem(field+".elements", "must be a list")
		}
		for j, e := range el.Content {
			ef := fmt.Sprintf("%s.elements[%d]", field, j)
			var elem map[string]any
			if err := e.Decode(&elem); err != nil || e.Kind != yaml.MappingNode {
				return nil, s.doc.problem(ef, "an element is a mapping of parameters")
			}
			if s.goTemplate {
				out = append(out, elem)
				continue
			}
			params := map[string]any{}
			for k, val := range elem {
				if k == "values" {
					vals, ok := val.(map[string]any)
					if !ok {
						return nil, s.doc.problem(ef+".values", "must be a mapping of strings (Argo CD refuses it too)")
					}
					for vk, vv := range vals {
						str, ok := vv.(string)
						if !ok {
							return nil, s.doc.problem(ef+".values."+vk, "must be a string without goTemplate (Argo CD refuses it too)")
						}
						params["values."+vk] = str
					}
					continue
				}
				str, ok := val.(string)
				if !ok {
					return nil, s.doc.problem(ef+"."+k, "must be a string without goTemplate (Argo CD refuses it too)")
				}
				params[k] = str
			}
			out = append(out, params)
		}
	}
	if y := mapGet(v, "elementsYaml"); y != nil && y.Value != "" {
		var elems []map[string]any
		if err := sigsyaml.Unmarshal([]byte(y.Value), &elems); err != nil {
			return nil, s.doc.problem(field+".elementsYaml", "not a YAML list of mappings: %v", err)
		}
		out = append(out, elems...)
	}
	return out, nil
}

type gitGenerator struct {
	RepoURL     string `yaml:"repoURL"`
	Revision    string `yaml:"revision"`
	Directories []struct {
		Path    string `yaml:"path"`
		Exclude bool   `yaml:"exclude"`
	} `yaml:"directories"`
	Files []struct {
		Path    string `yaml:"path"`
		Exclude bool   `yaml:"exclude"`
	} `yaml:"files"`
	Values          map[string]string `yaml:"values"`
	PathParamPrefix string            `yaml:"pathParamPrefix"`
}

// git is the git generator over this repository's checkout (the revision the render reads,
// as for an Application's own Git sources): directories or files, as Argo CD's git.go.
func (s *appSet) git(v *yaml.Node, field string) ([]map[string]any, error) {
	var g gitGenerator
	if err := v.Decode(&g); err != nil {
		return nil, s.doc.problem(field, "%v", err)
	}
	if g.RepoURL == "" {
		return nil, s.doc.problem(field+".repoURL", "required: the Git repository the generator reads")
	}
	if len(s.repoURLs) > 0 {
		ours := false
		known := make([]string, len(s.repoURLs))
		for i, u := range s.repoURLs {
			ours = ours || normalizeRepoURL(g.RepoURL) == normalizeRepoURL(u)
			known[i] = redactURL(u)
		}
		if !ours {
			return nil, s.doc.problem(field+".repoURL", "%s is another repository than this one (%s): the git generator is expanded from this repository only, so this ApplicationSet is refused", redactURL(g.RepoURL), strings.Join(known, ", "))
		}
	}
	if err := s.checkRevision(g.Revision, field+".revision"); err != nil {
		return nil, err
	}
	var out []map[string]any
	switch {
	case len(g.Directories) > 0:
		dirs, err := s.r.listTree(true)
		if err != nil {
			return nil, s.doc.problem(field, "%v", err)
		}
		for i, d := range g.Directories {
			if _, err := path.Match(d.Path, ""); err != nil {
				return nil, s.doc.problem(fmt.Sprintf("%s.directories[%d].path", field, i), "not a valid glob %q: %v", d.Path, err)
			}
		}
		for _, dir := range dirs {
			// Argo CD's filterApps: an exclude wins over every include.
			inc, exc := false, false
			for _, d := range g.Directories {
				if ok, _ := path.Match(d.Path, dir); ok {
					if d.Exclude {
						exc = true
					} else {
						inc = true
					}
				}
			}
			if inc && !exc {
				out = append(out, s.pathParams(dir, "", g.PathParamPrefix))
			}
		}
	case len(g.Files) > 0:
		files, err := s.r.listTree(false)
		if err != nil {
			return nil, s.doc.problem(field, "%v", err)
		}
		// Argo CD takes every file an include pattern matches, then removes every file an
		// exclude pattern matches.
		res := make([]*regexp.Regexp, len(g.Files))
		for i, f := range g.Files {
			if res[i], err = pathspecRegexp(f.Path); err != nil {
				return nil, s.doc.problem(fmt.Sprintf("%s.files[%d].path", field, i), "not a valid pattern %q: %v", f.Path, err)
			}
		}
		matched := map[string]bool{}
		for _, file := range files {
			for i, f := range g.Files {
				if res[i].MatchString(file) {
					if f.Exclude {
						matched[file] = false
						break
					}
					matched[file] = true
				}
			}
		}
		for f, ok := range matched {
			if !ok {
				delete(matched, f)
			}
		}
		paths := make([]string, 0, len(matched))
		for f := range matched {
			paths = append(paths, f)
		}
		sort.Strings(paths)
		for _, file := range paths {
			ps, err := s.fileParams(file, g.PathParamPrefix)
			if err != nil {
				return nil, s.doc.problem(field+".files", "%s: %v", file, err)
			}
			out = append(out, ps...)
			if len(out) > MaxGeneratedApplications {
				return nil, s.doc.problem(field, "yields more than %d parameter sets (MaxGeneratedApplications)", MaxGeneratedApplications)
			}
		}
	default:
		return nil, s.doc.problem(field, "names neither directories nor files")
	}
	for _, p := range out {
		if err := s.appendValues(g.Values, p, field+".values"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkRevision refuses a git generator whose revision is another one than the branch this
// checkout is of: the generator would list that revision's tree, and render verification reads
// this checkout only (docs/render-verification.md, "ApplicationSets"). Empty and HEAD are
// taken to be the branch (the remote's default branch, which a service writes to in the
// common case); so are the branch's name and refs/heads/<branch>. A tag, a commit or another
// branch is refused, since whether it names this checkout's commit is not known here. With the
// branch not known (validate --repo, import --repo) nothing is checked.
func (s *appSet) checkRevision(rev, field string) error {
	if s.branch == "" {
		return nil
	}
	switch rev {
	case "", "HEAD", s.branch, "refs/heads/" + s.branch:
		return nil
	}
	return s.doc.problem(field, "%q is another revision than the branch %s this service verifies: the generator would read that revision's tree, and render verification reads this branch only, so this ApplicationSet is refused (use HEAD or %s)", rev, s.branch, s.branch)
}

// pathParams are the parameters of one directory (file "" ) or of the directory of one file,
// as Argo CD names them: path, path.basename, path.basenameNormalized, path[n] (fasttemplate)
// or .path.path, .path.basename, .path.segments (goTemplate), and with a file also filename
// and filenameNormalized.
func (s *appSet) pathParams(dir, file, prefix string) map[string]any {
	params := map[string]any{}
	if s.goTemplate {
		p := map[string]any{
			"path": dir, "basename": path.Base(dir), "basenameNormalized": sanitizeName(path.Base(dir)),
			"segments": toAnySlice(strings.Split(dir, "/")),
		}
		if file != "" {
			p["filename"], p["filenameNormalized"] = path.Base(file), sanitizeName(path.Base(file))
		}
		if prefix != "" {
			params[prefix] = map[string]any{"path": p}
		} else {
			params["path"] = p
		}
		return params
	}
	name := "path"
	if prefix != "" {
		name = prefix + ".path"
	}
	params[name] = dir
	params[name+".basename"] = path.Base(dir)
	params[name+".basenameNormalized"] = sanitizeName(path.Base(dir))
	if file != "" {
		params[name+".filename"] = path.Base(file)
		params[name+".filenameNormalized"] = sanitizeName(path.Base(file))
	}
	for k, v := range strings.Split(dir, "/") {
		if v != "" {
			params[name+"["+strconv.Itoa(k)+"]"] = v
		}
	}
	return params
}

func toAnySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// fileParams reads one file of a git files generator: a mapping, or a list of mappings, each
// one parameter set (flattened to a.b keys without goTemplate), plus the path parameters.
func (s *appSet) fileParams(file, prefix string) ([]map[string]any, error) {
	data, err := s.r.readFile(file)
	if err != nil {
		return nil, err
	}
	if len(data) > MaxAppSetBytes {
		return nil, fmt.Errorf("%d bytes, over the %d a generator file may have (MaxAppSetBytes)", len(data), MaxAppSetBytes)
	}
	var objs []map[string]any
	single := map[string]any{}
	if err := sigsyaml.Unmarshal(data, &single); err == nil {
		objs = append(objs, single)
	} else if err := sigsyaml.Unmarshal(data, &objs); err != nil {
		return nil, fmt.Errorf("unable to parse file: %w", err)
	}
	var out []map[string]any
	for _, obj := range objs {
		params := map[string]any{}
		if s.goTemplate {
			maps.Copy(params, obj)
		} else {
			for k, v := range flattenParams(obj) {
				params[k] = v
			}
		}
		maps.Copy(params, s.pathParams(path.Dir(file), file, prefix))
		out = append(out, params)
	}
	return out, nil
}

// appendValues adds a git generator's values:, each templated with the parameters so far,
// as values.<key> (or .values.<key>).
func (s *appSet) appendValues(values map[string]string, params map[string]any, field string) error {
	if len(values) == 0 {
		return nil
	}
	tmp := map[string]string{}
	s.budget = MaxTemplateOutput
	for k, v := range values {
		out, err := s.replace(v, params, s.options)
		if err != nil {
			return s.doc.problem(field+"."+k, "%v", err)
		}
		tmp[k] = out
	}
	if s.goTemplate {
		m := map[string]any{}
		for k, v := range tmp {
			m[k] = v
		}
		params["values"] = m
		return nil
	}
	for k, v := range tmp {
		params["values."+k] = v
	}
	return nil
}

// matrix is the matrix generator: every pair of the first generator's parameter sets with
// the second's, the second interpolated with the first's; with goTemplate the first's win a
// conflict, without it a conflicting key is an error, as in Argo CD's matrix.go.
func (s *appSet) matrix(v *yaml.Node, field string, depth int) ([]map[string]any, error) {
	if depth >= maxGeneratorDepth {
		return nil, s.doc.problem(field, "Argo CD nests a matrix or merge in another one level deep only")
	}
	gens := mapGet(v, "generators")
	if gens == nil || gens.Kind != yaml.SequenceNode || len(gens.Content) != 2 {
		n := 0
		if gens != nil {
			n = len(gens.Content)
		}
		return nil, s.doc.problem(field+".generators", "a matrix combines exactly two generators, found %d", n)
	}
	child := func(i int, params map[string]any) ([]map[string]any, error) {
		cf := fmt.Sprintf("%s.generators[%d]", field, i)
		res, err := s.transform(gens.Content[i], cf, params, depth+1)
		if err != nil {
			return nil, err
		}
		if len(res) > 1 {
			return nil, s.doc.problem(cf, "names more than one generator (a matrix's child is one)")
		}
		return res[0].params, nil
	}
	first, err := child(0, nil)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, a := range first {
		second, err := child(1, a)
		if err != nil {
			return nil, err
		}
		for _, b := range second {
			if len(out) == MaxGeneratedApplications {
				return nil, s.doc.problem(field, "yields more than %d parameter sets (MaxGeneratedApplications)", MaxGeneratedApplications)
			}
			if s.goTemplate {
				m := deepCopyParams(b)
				mergeParams(m, a)
				out = append(out, m)
				continue
			}
			m := maps.Clone(a)
			for k, bv := range b {
				if av, ok := a[k]; ok && av != bv {
					return nil, s.doc.problem(field, "found duplicate key %s with different value, a: %v, b: %v (Argo CD refuses it too)", k, av, bv)
				}
				m[k] = bv
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// merge is the merge generator (Argo CD's merge.go): the first generator's parameter sets,
// each updated with those of every later generator that have the same values of mergeKeys
// (top-level keys); a set whose merge key values repeat within one generator is an error. The
// sets keep the first generator's order (Argo CD's order is a map's).
func (s *appSet) merge(v *yaml.Node, field string, depth int) ([]map[string]any, error) {
	if depth >= maxGeneratorDepth {
		return nil, s.doc.problem(field, "Argo CD nests a matrix or merge in another one level deep only")
	}
	var head struct {
		MergeKeys []string `yaml:"mergeKeys"`
	}
	if err := v.Decode(&head); err != nil {
		return nil, s.doc.problem(field, "%v", err)
	}
	if len(head.MergeKeys) == 0 {
		return nil, s.doc.problem(field+".mergeKeys", "required: at least one merge key")
	}
	gens := mapGet(v, "generators")
	if gens == nil || gens.Kind != yaml.SequenceNode || len(gens.Content) < 2 {
		return nil, s.doc.problem(field+".generators", "a merge needs at least two generators")
	}
	keyOf := func(p map[string]any) string {
		k := map[string]any{}
		for _, mk := range head.MergeKeys {
			k[mk] = p[mk]
		}
		data, _ := json.Marshal(k)
		return string(data)
	}
	var base []map[string]any
	index := map[string]int{}
	for i, g := range gens.Content {
		cf := fmt.Sprintf("%s.generators[%d]", field, i)
		res, err := s.transform(g, cf, nil, depth+1)
		if err != nil {
			return nil, err
		}
		if len(res) > 1 {
			return nil, s.doc.problem(cf, "names more than one generator (a merge's child is one)")
		}
		seen := map[string]bool{}
		for _, p := range res[0].params {
			k := keyOf(p)
			if seen[k] {
				return nil, s.doc.problem(cf, "two parameter sets have the merge key values %s (Argo CD refuses it too)", k)
			}
			seen[k] = true
			if i == 0 {
				index[k] = len(base)
				base = append(base, p)
				continue
			}
			j, ok := index[k]
			if !ok {
				continue
			}
			if s.goTemplate {
				m := deepCopyParams(base[j])
				mergeParams(m, p)
				base[j] = m
			} else {
				m := maps.Clone(base[j])
				maps.Copy(m, p)
				base[j] = m
			}
		}
	}
	return base, nil
}

// mergeParams merges src into dst as mergo.Merge(WithOverride): maps merge key by key, and a
// value of src that is not empty replaces dst's.
func mergeParams(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeParams(dm, sm)
				continue
			}
		}
		if isEmptyParam(sv) {
			if _, ok := dst[k]; ok {
				continue
			}
		}
		dst[k] = sv
	}
}

func isEmptyParam(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case int:
		return v == 0
	case float64:
		return v == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

func deepCopyParams(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if mm, ok := v.(map[string]any); ok {
			out[k] = deepCopyParams(mm)
		} else {
			out[k] = v
		}
	}
	return out
}

// selector is a generator's post-selector: matchLabels and matchExpressions (In, NotIn,
// Exists, DoesNotExist) over the flattened parameters.
func (s *appSet) selector(n *yaml.Node, field string) (func(map[string]any) bool, error) {
	if n == nil {
		return func(map[string]any) bool { return true }, nil
	}
	var sel struct {
		MatchLabels      map[string]string `yaml:"matchLabels"`
		MatchExpressions []struct {
			Key      string   `yaml:"key"`
			Operator string   `yaml:"operator"`
			Values   []string `yaml:"values"`
		} `yaml:"matchExpressions"`
	}
	if err := n.Decode(&sel); err != nil {
		return nil, s.doc.problem(field, "%v", err)
	}
	for i, e := range sel.MatchExpressions {
		switch e.Operator {
		case "In", "NotIn", "Exists", "DoesNotExist":
		default:
			return nil, s.doc.problem(fmt.Sprintf("%s.matchExpressions[%d].operator", field, i), "must be In, NotIn, Exists or DoesNotExist, got %q", e.Operator)
		}
	}
	return func(p map[string]any) bool {
		flat := flattenParams(p)
		for k, v := range sel.MatchLabels {
			if got, ok := flat[k]; !ok || got != v {
				return false
			}
		}
		for _, e := range sel.MatchExpressions {
			got, ok := flat[e.Key]
			switch e.Operator {
			case "In":
				if !ok || !slicesContains(e.Values, got) {
					return false
				}
			case "NotIn":
				if ok && slicesContains(e.Values, got) {
					return false
				}
			case "Exists":
				if !ok {
					return false
				}
			case "DoesNotExist":
				if ok {
					return false
				}
			}
		}
		return true
	}, nil
}

// flattenParams flattens nested parameters to dotted keys with string values, as Argo CD's
// flatten.DotStyle (lists by index: a.0).
func flattenParams(in map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(joinKey(prefix, k), x)
			}
		case map[string]string:
			for k, x := range v {
				out[joinKey(prefix, k)] = x
			}
		case []any:
			for i, x := range v {
				walk(joinKey(prefix, strconv.Itoa(i)), x)
			}
		default:
			out[prefix] = fmt.Sprintf("%v", v)
		}
	}
	for k, v := range in {
		walk(k, v)
	}
	return out
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// render templates one Application: every string of the template (keys too) with the
// parameters, then the templatePatch, Argo CD's RenderTemplateParams and applyTemplatePatch.
// The result keeps the template's lines.
func (s *appSet) render(tmpl *yaml.Node, patch *string, params map[string]any) (generatedApp, error) {
	s.budget = MaxTemplateOutput
	out, err := s.replaceNode(tmpl, params, s.options, "spec.template", false)
	if err != nil {
		return generatedApp{}, err
	}
	if patch != nil && strings.TrimSpace(*patch) != "" {
		text, err := s.replace(*patch, params, s.options)
		if err != nil {
			return generatedApp{}, s.doc.problem("spec.templatePatch", "%v", err)
		}
		var p yaml.Node
		if err := yaml.Unmarshal([]byte(text), &p); err != nil {
			return generatedApp{}, s.doc.problem("spec.templatePatch", "the templated patch is not YAML: %v", err)
		}
		// An empty patch (a template that writes nothing for these parameters) changes nothing.
		if len(p.Content) == 0 || p.Content[0].ShortTag() == "!!null" {
			return s.finish(tmpl, out)
		}
		if p.Content[0].Kind != yaml.MappingNode {
			return generatedApp{}, s.doc.problem("spec.templatePatch", "the templated patch is not a YAML mapping")
		}
		at := mapGet(s.doc.node, "spec")
		line := at.Line
		if n := mapGet(at, "templatePatch"); n != nil {
			line = n.Line
		}
		setLines(p.Content[0], line)
		s.patched = map[*yaml.Node]bool{}
		markNodes(p.Content[0], s.patched)
		project := copyNode(mapGet(mapGet(out, "spec"), "project"))
		patchNode(out, p.Content[0])
		// As Argo CD: a patch does not change the project.
		if spec := mapGet(out, "spec"); spec != nil && spec.Kind == yaml.MappingNode {
			mapSet(spec, "project", project)
		}
	}
	return s.finish(tmpl, out)
}

// finish wraps a templated template into the generated Application.
func (s *appSet) finish(tmpl, out *yaml.Node) (generatedApp, error) {
	app := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: tmpl.Line, Column: tmpl.Column}
	str := func(v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: tmpl.Line}
	}
	app.Content = append(app.Content, str("apiVersion"), str("argoproj.io/v1alpha1"), str("kind"), str("Application"))
	meta := mapGet(out, "metadata")
	if meta == nil {
		meta = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: tmpl.Line}
	}
	spec := mapGet(out, "spec")
	if spec == nil {
		spec = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: tmpl.Line}
	}
	app.Content = append(app.Content, str("metadata"), meta, str("spec"), spec)
	var head struct {
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	}
	_ = meta.Decode(&head.Metadata)
	doc := objectDoc{file: s.doc.file, node: app, prefix: "spec.template.", generated: head.Metadata.Name, patched: s.patched}
	s.patched = nil
	if head.Metadata.Name == "" {
		return generatedApp{}, s.doc.problem("spec.template.metadata.name", "the template generates an Application without a name")
	}
	return generatedApp{name: head.Metadata.Name, doc: doc}, nil
}

// replaceNode copies a node with every string scalar (and mapping key) templated. inValues
// marks a git generator's values:, which keep a template that needs a parameter not known yet
// (Argo CD's RenderGeneratorParams).
func (s *appSet) replaceNode(n *yaml.Node, params map[string]any, options []string, field string, inValues bool) (*yaml.Node, error) {
	if n == nil {
		return nil, nil
	}
	c := *n
	c.Content = nil
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return &c, nil
		}
		out, err := s.replace(n.Value, params, options)
		if err != nil {
			if inValues && isMissingKey(err) {
				return &c, nil
			}
			return nil, s.doc.problem(field, "%v", err)
		}
		if out != n.Value {
			c.Value, c.Style, c.Tag = out, yaml.DoubleQuotedStyle, "!!str"
		}
		return &c, nil
	case yaml.AliasNode:
		return nil, s.doc.problem(field, "YAML aliases are not expanded in an ApplicationSet")
	}
	for i, child := range n.Content {
		f := field
		if n.Kind == yaml.MappingNode && i%2 == 1 {
			f = field + "." + n.Content[i-1].Value
		} else if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		values := inValues || (n.Kind == yaml.MappingNode && i%2 == 1 && n.Content[i-1].Value == "values" && strings.HasSuffix(field, ".git"))
		cc, err := s.replaceNode(child, params, options, f, values)
		if err != nil {
			return nil, err
		}
		c.Content = append(c.Content, cc)
	}
	return &c, nil
}

// interpolate templates a generator with the parameters of a matrix's first generator.
func (s *appSet) interpolate(g *yaml.Node, params map[string]any, field string) (*yaml.Node, error) {
	s.budget = MaxTemplateOutput
	return s.replaceNode(g, params, s.options, field, false)
}

func isMissingKey(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "map has no entry for key") || strings.Contains(msg, "can't evaluate field")
}

// fastTemplated is Argo CD's test for a string to template without goTemplate: {{ … }} on one
// line.
var fastTemplated = regexp.MustCompile(`{{.*}}`)

// replace templates one string as Argo CD's Render.Replace: text/template with Sprig's
// functions (less env, expandenv and getHostByName) and the goTemplateOptions, or else
// fasttemplate's {{ key }} with the key's string value, leaving unknown keys as they are.
func (s *appSet) replace(text string, params map[string]any, options []string) (string, error) {
	if s.goTemplate {
		key := strings.Join(options, ",") + "\x00" + text
		t, ok := s.parsed[key]
		if !ok {
			var err error
			t, err = template.New("").Funcs(templateFuncs).Option(options...).Parse(text)
			if err != nil {
				return "", fmt.Errorf("failed to parse template %s: %w", text, err)
			}
			if s.parsed == nil {
				s.parsed = map[string]*template.Template{}
			}
			s.parsed[key] = t
		}
		w := &boundedWriter{left: &s.budget}
		if err := t.Execute(w, params); err != nil {
			return "", fmt.Errorf("failed to execute go template %s: %w", text, err)
		}
		return w.buf.String(), nil
	}
	if !fastTemplated.MatchString(text) {
		return text, nil
	}
	var b strings.Builder
	rest := text
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			b.WriteString(rest)
			break
		}
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			return "", fmt.Errorf("invalid template: cannot find end tag }} in %q", text)
		}
		b.WriteString(rest[:open])
		tag := rest[open+2 : open+2+end]
		if v, ok := params[strings.TrimSpace(tag)].(string); ok && strings.TrimSpace(tag) != "" {
			b.WriteString(v)
		} else {
			b.WriteString("{{" + tag + "}}")
		}
		rest = rest[open+2+end+2:]
	}
	if s.budget -= b.Len(); s.budget < 0 {
		return "", errTemplateOutput
	}
	return b.String(), nil
}

var errTemplateOutput = fmt.Errorf("the templates of one Application write more than %d bytes (MaxTemplateOutput)", MaxTemplateOutput)

// boundedWriter stops a template's execution once the Application's output budget is spent.
type boundedWriter struct {
	buf  bytes.Buffer
	left *int
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if *w.left -= len(p); *w.left < 0 {
		return 0, errTemplateOutput
	}
	return w.buf.Write(p)
}

// checkTemplateOption accepts what text/template's Option accepts (it panics on the rest).
func checkTemplateOption(o string) error {
	switch o {
	case "missingkey=default", "missingkey=invalid", "missingkey=zero", "missingkey=error":
		return nil
	}
	return fmt.Errorf("unknown template option %q (missingkey=default, invalid, zero or error)", o)
}

// templateFuncs are Argo CD's: Sprig's generic functions less env, expandenv and
// getHostByName, plus normalize, slugify (slugify.go), toYaml, fromYaml and fromYamlArray.
// repeat, until and untilStep are bounded by MaxTemplateOutput.
var templateFuncs = func() template.FuncMap {
	m := sprig.GenericFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	m["normalize"] = sanitizeName
	m["slugify"] = slugify
	m["toYaml"] = func(v any) (string, error) {
		data, err := sigsyaml.Marshal(v)
		return strings.TrimSuffix(string(data), "\n"), err
	}
	m["fromYaml"] = func(s string) (map[string]any, error) {
		out := map[string]any{}
		err := sigsyaml.Unmarshal([]byte(s), &out)
		return out, err
	}
	m["fromYamlArray"] = func(s string) ([]any, error) {
		var out []any
		err := sigsyaml.Unmarshal([]byte(s), &out)
		return out, err
	}
	repeat := m["repeat"].(func(int, string) string)
	m["repeat"] = func(n int, s string) (string, error) {
		if n > 0 && len(s) > 0 && n > MaxTemplateOutput/len(s) {
			return "", errTemplateOutput
		}
		return repeat(n, s), nil
	}
	until := m["until"].(func(int) []int)
	m["until"] = func(n int) ([]int, error) {
		if n > MaxTemplateOutput || n < -MaxTemplateOutput {
			return nil, errTemplateOutput
		}
		return until(n), nil
	}
	untilStep := m["untilStep"].(func(int, int, int) []int)
	m["untilStep"] = func(start, stop, step int) ([]int, error) {
		if step == 0 || (stop-start)/step > MaxTemplateOutput {
			return nil, errTemplateOutput
		}
		return untilStep(start, stop, step), nil
	}
	return m
}()

var invalidDNSNameChars = regexp.MustCompile("[^-a-z0-9.]")

// sanitizeName is Argo CD's SanitizeName (normalize): lowercase, other characters than
// a-z, 0-9, '-' and '.' become '-', at most 253 characters, no leading or trailing '-' or '.'.
func sanitizeName(name string) string {
	name = invalidDNSNameChars.ReplaceAllString(strings.ToLower(name), "-")
	if len(name) > 253 {
		name = name[:253]
	}
	return strings.Trim(name, "-.")
}

// pathspecRegexp is git ls-files' pathspec: * and ? match any character, / included;
// [...] a class; a pattern without wildcards matches that path and everything under it.
func pathspecRegexp(p string) (*regexp.Regexp, error) {
	p = strings.TrimPrefix(p, "./")
	if !strings.ContainsAny(p, "*?[\\") {
		return regexp.Compile("^" + regexp.QuoteMeta(strings.TrimSuffix(p, "/")) + "(/.*)?$")
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		case '[':
			end := strings.IndexByte(p[i+1:], ']')
			if end < 0 {
				return nil, errors.New("unterminated [")
			}
			class := p[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// listTree lists the repository's directories (dirs) or files, relative and sorted, as Argo
// CD's repo server lists a checkout: hidden directories (.git among them) left out, symlinks
// not followed, at most maxInputWalk entries.
func (r *repo) listTree(dirs bool) ([]string, error) {
	var out []string
	n := 0
	err := filepath.WalkDir(r.realDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return pathless(err)
		}
		if n++; n > maxInputWalk {
			return fmt.Errorf("the repository has more than %d entries to list", maxInputWalk)
		}
		rel, err := filepath.Rel(r.realDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && strings.HasPrefix(d.Name(), ".") {
				if d.Name() == ".git" || dirs {
					return filepath.SkipDir
				}
			}
			if dirs && rel != "." {
				out = append(out, rel)
			}
			return nil
		}
		if !dirs && d.Type().IsRegular() {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !dirs {
		for f := range r.overlay {
			if !slicesContains(out, f) {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// mapGet is a mapping's value at key, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mapSet sets (or, with v nil, deletes) a mapping's key.
func mapSet(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			if v == nil {
				n.Content = append(n.Content[:i], n.Content[i+2:]...)
			} else {
				n.Content[i+1] = v
			}
			return
		}
	}
	if v != nil {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: v.Line}, v)
	}
}

func copyNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = copyNode(x)
	}
	return &c
}

func markNodes(n *yaml.Node, set map[*yaml.Node]bool) {
	set[n] = true
	for _, c := range n.Content {
		markNodes(c, set)
	}
}

func setLines(n *yaml.Node, line int) {
	n.Line = line
	for _, c := range n.Content {
		setLines(c, line)
	}
}

// fillMissing fills what dst (a generator's template) leaves empty from src (spec.template),
// recursively through mappings, as mergo.Merge does for Argo CD's mergeGeneratorTemplate.
func fillMissing(dst, src *yaml.Node) *yaml.Node {
	if dst.Kind != yaml.MappingNode || src.Kind != yaml.MappingNode {
		if isEmptyNode(dst) {
			return copyNode(src)
		}
		return dst
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		k := src.Content[i].Value
		if d := mapGet(dst, k); d != nil {
			mapSet(dst, k, fillMissing(d, src.Content[i+1]))
		} else {
			dst.Content = append(dst.Content, copyNode(src.Content[i]), copyNode(src.Content[i+1]))
		}
	}
	return dst
}

func isEmptyNode(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value == "" || n.ShortTag() == "!!null" || n.Value == "false" || n.Value == "0"
	case yaml.SequenceNode, yaml.MappingNode:
		return len(n.Content) == 0
	}
	return false
}

// patchNode applies a templatePatch as Kubernetes' strategic merge patch does on the
// Application type, which has no merge keys: mappings merge, null deletes, anything else
// (lists included) replaces.
func patchNode(dst, patch *yaml.Node) {
	for i := 0; i+1 < len(patch.Content); i += 2 {
		k, pv := patch.Content[i].Value, patch.Content[i+1]
		switch d := mapGet(dst, k); {
		case pv.ShortTag() == "!!null":
			mapSet(dst, k, nil)
		case d != nil && d.Kind == yaml.MappingNode && pv.Kind == yaml.MappingNode:
			patchNode(d, pv)
		default:
			mapSet(dst, k, pv)
		}
	}
}

// GeneratedApplication is an Application an ApplicationSet of the repository generates.
type GeneratedApplication struct {
	Name string
	// Node is the Application as a YAML mapping (apiVersion, kind, metadata, spec); its nodes
	// keep the lines of the ApplicationSet's template.
	Node *yaml.Node
}

// ApplicationSetApplications expands the ApplicationSets of a file of the repository at root
// as render verification does (the generators that need nothing but the repository; the
// others are an error naming them), for `import --repo` to look through the Applications they
// generate. repoURLs are the repository's URLs, when known (see Request.RepoURLs); the git
// generators' revision is not checked, since no branch is given.
func ApplicationSetApplications(root, file string, repoURLs []string) ([]GeneratedApplication, error) {
	r, err := newRepo(root, nil)
	if err != nil {
		return nil, err
	}
	sets, err := loadAppSets(r, file, repoURLs, "")
	if err != nil {
		return nil, err
	}
	var out []GeneratedApplication
	for _, s := range sets {
		apps, err := s.generate()
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			out = append(out, GeneratedApplication{Name: a.name, Node: a.doc.node})
		}
	}
	return out, nil
}
