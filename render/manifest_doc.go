package render

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// objectDoc is one Kubernetes object read from a file of the repository (an Argo CD
// Application, a Flux HelmRelease), kept as a YAML node so that problems name their line.
type objectDoc struct {
	file string
	node *yaml.Node // the document's mapping
	// prefix is where the object sits in its file: "spec.template." for an Application an
	// ApplicationSet generates (appset.go), whose nodes keep the template's lines; "" else.
	prefix string
	// generated is the name of the generated Application, for messages; "" when committed.
	generated string
	// patched are the nodes an ApplicationSet's templatePatch wrote (appset.go).
	patched map[*yaml.Node]bool
}

// origin is where a field of the document is written, for messages: the field, or, when an
// ApplicationSet's templatePatch wrote it, "spec.templatePatch: field" — a field of no file
// an edit could reach.
func (d objectDoc) origin(field string) string {
	rel := strings.TrimPrefix(field, d.prefix)
	if n := d.lookup(rel); n != nil && d.patched[n] {
		return "spec.templatePatch: " + rel
	}
	return field
}

// problem is a *policy.FieldError at a field of the document: file:line: field: message. The
// field may be given with or without the document's prefix.
func (d objectDoc) problem(field, format string, args ...any) error {
	rel := strings.TrimPrefix(field, d.prefix)
	line := 0
	if n := d.lookup(rel); n != nil {
		line = n.Line
	} else if d.node != nil {
		line = d.node.Line
	}
	msg := fmt.Sprintf(format, args...)
	if d.generated != "" {
		msg += fmt.Sprintf(" (in the Application %s the ApplicationSet generates)", d.generated)
	}
	return &policy.FieldError{File: d.file, Line: line, Field: d.prefix + rel, Msg: msg}
}

// lookup finds the node of a dotted field path (spec.sources[1].helm.valueFiles[0]), or the
// deepest ancestor that exists when it does not.
func (d objectDoc) lookup(field string) *yaml.Node {
	cur := d.node
	var found *yaml.Node
	for _, part := range splitField(field) {
		if cur == nil {
			break
		}
		var next, at *yaml.Node
		if i, err := strconv.Atoi(part); err == nil && cur.Kind == yaml.SequenceNode {
			if i < len(cur.Content) {
				next, at = cur.Content[i], cur.Content[i]
			}
		} else if cur.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(cur.Content); j += 2 {
				if cur.Content[j].Value == part {
					next, at = cur.Content[j+1], cur.Content[j] // a field's line is its key's
					break
				}
			}
		}
		if next == nil {
			break
		}
		found, cur = at, next
	}
	return found
}

// splitField splits spec.sources[1].helm into spec, sources, 1, helm.
func splitField(field string) []string {
	var parts []string
	for _, p := range strings.Split(field, ".") {
		for {
			open := strings.IndexByte(p, '[')
			if open < 0 {
				break
			}
			if open > 0 {
				parts = append(parts, p[:open])
			}
			end := strings.IndexByte(p[open:], ']')
			if end < 0 {
				break
			}
			parts = append(parts, p[open+1:open+end])
			p = p[open+end+1:]
		}
		if p != "" {
			parts = append(parts, p)
		}
	}
	return parts
}

// loadObjectDoc reads the object of a kind (and, when name is set, that name) from a file of
// the repository, which may hold several documents. group is the API group the kind must
// have (argoproj.io, helm.toolkit.fluxcd.io); field names the policy field, for messages.
func loadObjectDoc(r *repo, file, group, kind, name, field string) (objectDoc, error) {
	clean, err := cleanRel(file)
	if err != nil {
		return objectDoc{}, fmt.Errorf("%s: %w", field, err)
	}
	data, err := r.readFile(clean)
	if err != nil {
		return objectDoc{}, fmt.Errorf("%s: %w", field, err)
	}
	var matches []objectDoc
	var found []string
	for n, err := range yamlnode.Documents(data) {
		if err != nil {
			return objectDoc{}, fmt.Errorf("parse %s: %w", clean, err)
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
			return objectDoc{}, fmt.Errorf("parse %s: %w", clean, err)
		}
		found = append(found, strings.TrimSpace(head.Kind+" "+head.Metadata.Name))
		if head.Kind == "ApplicationSet" && kind == "Application" && apiGroup(head.APIVersion) == group {
			if name == "" || head.Metadata.Name == name {
				return objectDoc{}, doc.problem("kind", "%s is an ApplicationSet: name it with render.argocd.applicationSet, and the Application it generates with render.argocd.name", clean)
			}
		}
		if head.Kind != kind || apiGroup(head.APIVersion) != group {
			continue
		}
		if name != "" && head.Metadata.Name != name {
			continue
		}
		matches = append(matches, doc)
	}
	what := kind
	if name != "" {
		what = kind + " " + strconv.Quote(name)
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		list := "nothing"
		if len(found) > 0 {
			list = strings.Join(found, ", ")
		}
		return objectDoc{}, fmt.Errorf("%s: %s holds no %s of %s (it holds %s)", field, clean, what, group, list)
	default:
		return objectDoc{}, fmt.Errorf("%s: %s holds %d objects of kind %s; name one in %s", field, clean, len(matches), kind, strings.TrimSuffix(field, "."+lastField(field))+".name")
	}
}

func lastField(field string) string {
	parts := strings.Split(field, ".")
	return parts[len(parts)-1]
}
