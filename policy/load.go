package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Documents is what a set of files holds: the policies and configs found (each defaulted and
// valid), and the warnings about them.
type Documents struct {
	Policies []*Policy
	Configs  []*svcconfig.Config
	Warnings []Warning
	// Skipped are the files found in a directory that hold no document of ours (IsOurs):
	// LoadFiles passes over them.
	Skipped []string
}

// LoadPolicies decodes, defaults and validates every PrometheusAutoscaler document of one file.
// Decoding is strict: unknown fields and wrong types are errors at any depth. The error joins
// every problem found (each a *FieldError); on error no policies are returned. Warnings are
// dropped; use LoadDocuments to see them. Set-level checks (duplicate IDs, shared targets,
// Prometheus servers) are ValidateSet's. LoadEach is the isolating form: it keeps the valid
// documents of a file that has invalid ones.
func LoadPolicies(file string, data []byte) ([]*Policy, error) {
	docs, err := loadDocuments(file, data, KindPolicy)
	if err != nil {
		return nil, err
	}
	return docs.Policies, nil
}

// LoadDocuments decodes, defaults and validates every document of one file, policies and
// configs alike, telling them apart by kind.
func LoadDocuments(file string, data []byte) (*Documents, error) {
	return loadDocuments(file, data, "")
}

// LoadPolicyFiles loads the policies of files and directories. A directory contributes its
// *.yaml and *.yml files, recursively, skipping hidden entries; a file named directly is read
// whatever its extension. All problems of all files are returned together.
func LoadPolicyFiles(paths ...string) ([]*Policy, error) {
	docs, err := loadFiles(KindPolicy, paths)
	if err != nil {
		return nil, err
	}
	return docs.Policies, nil
}

// LoadFiles is LoadDocuments over files and directories (as LoadPolicyFiles). It returns the
// documents of the files that were valid along with the joined problems of the others, so a
// caller can still report warnings and counts. A file found in a directory that holds no
// document of ours (IsOurs) is skipped and listed in Skipped; a file named itself is read.
func LoadFiles(paths ...string) (*Documents, error) {
	return loadFiles("", paths)
}

func loadFiles(kind string, paths []string) (*Documents, error) {
	all := &Documents{}
	files, err := ReadYAMLFiles("policies", paths...)
	errs := []error{err}
	for _, f := range files {
		if kind == "" && f.InDirectory && !IsOurs(f.Data) {
			all.Skipped = append(all.Skipped, f.Name)
			continue
		}
		docs, err := loadDocuments(f.Name, f.Data, kind)
		if err != nil {
			errs = append(errs, err)
		}
		all.Policies = append(all.Policies, docs.Policies...)
		all.Configs = append(all.Configs, docs.Configs...)
		all.Warnings = append(all.Warnings, docs.Warnings...)
	}
	return all, errors.Join(errs...)
}

// YAMLFile is a file a path argument named, as read.
type YAMLFile struct {
	Name string
	Data []byte
	// InDirectory is set for a file found under a directory argument, not named itself.
	InDirectory bool
}

// ReadYAMLFiles reads the files that path arguments name: each path that is a file, and the
// *.yaml and *.yml files below each that is a directory (recursively, skipping hidden entries),
// in lexical order. what names the files in errors ("read policies: …"). A path or file that
// cannot be read is an error joined with the others; the files that could be read are returned
// with it, so that one bad path does not hide the rest.
func ReadYAMLFiles(what string, paths ...string) ([]YAMLFile, error) {
	var out []YAMLFile
	var errs []error
	for _, root := range paths {
		names, err := yamlFiles(root)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", what, err))
			continue
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				errs = append(errs, fmt.Errorf("read %s: %w", what, err))
				continue
			}
			out = append(out, YAMLFile{Name: name, Data: data, InDirectory: name != root})
		}
	}
	return out, errors.Join(errs...)
}

// yamlFiles lists root itself if it is a file, or the YAML files below it, in lexical order.
func yamlFiles(root string) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// loadDocuments decodes every document of data. With want set, documents of another kind are
// errors. On error the returned Documents hold the documents that were valid, and no warnings
// of invalid ones.
func loadDocuments(file string, data []byte, want string) (*Documents, error) {
	docs := &Documents{}
	var problems []*FieldError
	eachDocument(file, data, want, func(d document) {
		problems = append(problems, d.problems...)
		if len(d.problems) > 0 {
			return
		}
		if d.policy != nil {
			docs.Policies = append(docs.Policies, d.policy)
			docs.Warnings = append(docs.Warnings, d.warnings...)
		}
		if d.config != nil {
			docs.Configs = append(docs.Configs, d.config)
		}
	})
	return docs, strictyaml.Join(problems)
}

// document is one YAML document of a file as the loader saw it: a policy or a config when it
// is valid, its problems when not. An invalid policy keeps what could be decoded of it, so
// that its name can be reported.
type document struct {
	line     int
	policy   *Policy
	config   *svcconfig.Config
	problems []*FieldError
	warnings []Warning
}

// eachDocument decodes the documents of data one by one and hands each to fn. A YAML syntax
// error spoils only its own document (strictyaml.EachDocument).
func eachDocument(file string, data []byte, want string, fn func(document)) {
	strictyaml.EachDocument(file, data, func(root *yaml.Node, syntax *FieldError) {
		if syntax != nil {
			fn(document{line: syntax.Line, problems: []*FieldError{syntax}})
			return
		}
		fn(decodeDocument(file, root, want))
	})
}

// decodeDocument decodes one document's root node as the kind it declares (or must have).
func decodeDocument(file string, root *yaml.Node, want string) document {
	d := document{line: root.Line}
	problem := func(line int, field, msg string) document {
		d.problems = append(d.problems, &FieldError{File: file, Line: line, Field: field, Msg: msg})
		return d
	}
	if root.Kind != yaml.MappingNode {
		return problem(root.Line, "", "a document must be a mapping with apiVersion and kind")
	}
	kind, kindLine := strictyaml.ScalarField(root, "kind")
	if want != "" && kind != want {
		msg := fmt.Sprintf("must be %s, got %q", want, kind)
		if kind == "" {
			msg = "required: " + want
		}
		return problem(kindLine, "kind", msg)
	}
	switch kind {
	case KindPolicy:
		p, errs, warns := decodePolicy(file, root)
		d.policy, d.problems, d.warnings = p, errs, warns
	case KindConfig:
		c, errs := svcconfig.Decode(file, root)
		d.problems = errs
		if len(errs) == 0 {
			d.config = c
		}
	case "":
		return problem(kindLine, "kind", fmt.Sprintf("required: %s or %s", KindPolicy, KindConfig))
	default:
		return problem(kindLine, "kind", fmt.Sprintf("unknown kind %q, want %s or %s", kind, KindPolicy, KindConfig))
	}
	return d
}

// decodePolicy decodes, defaults and validates one policy document.
func decodePolicy(file string, root *yaml.Node) (*Policy, []*FieldError, []Warning) {
	p := &Policy{}
	d := strictyaml.NewDecoder(file)
	d.Decode(root, reflect.ValueOf(p).Elem(), "")
	p.Source = d.Source(root.Line)
	p.SetDefaults()
	c := &checker{Checker: strictyaml.Checker{Src: p.Source, Failed: d.Failed()}}
	c.policy(p)
	errs := append(d.Errors(), c.Errs...)
	if len(errs) == 0 {
		// Parse the schedules once, here, so Decide does not on every evaluation. Validation
		// has checked them, so this cannot fail.
		_ = p.Compile()
	}
	return p, errs, c.Warns
}
