package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// directorySource is an Argo CD directory source: the plain manifests of a directory of the
// repository, as Argo CD's repo server reads them.
type directorySource struct {
	dir                    string // repository-relative, cleaned
	recurse                bool
	include, exclude       *regexp.Regexp // Argo CD's glob patterns, matched against the path below dir
	disableExtensionFilter bool
	destNamespace          string
}

func (d *directorySource) name() string { return "directory " + d.dir }

func (d *directorySource) defaultNamespace() string { return d.destNamespace }

// manifestExt is the extension filter of Argo CD's directory sources.
var manifestExt = regexp.MustCompile(`\.(yaml|yml|json|jsonnet)$`)

// skipRenderingMarker excludes a file from a directory source, as in Argo CD.
const skipRenderingMarker = "+argocd:skip-file-rendering"

// render reads every manifest of the directory (and below it, with recurse): YAML files with
// any number of documents, JSON files with one object. A YAML file that does not parse and
// does not look like a manifest is skipped, as Argo CD skips it; Jsonnet is refused, because
// evaluating it is running a program.
func (d *directorySource) render(ctx context.Context, r *repo) ([]byte, error) {
	files, err := r.readTree(ctx, d.dir, func(rel string, fi fs.FileInfo) bool {
		if fi.IsDir() {
			return !d.recurse || fi.Name() == ".git"
		}
		if !d.recurse && strings.Contains(rel, "/") {
			return true // an overlay file below the directory
		}
		if !d.disableExtensionFilter && !manifestExt.MatchString(fi.Name()) {
			return true
		}
		if d.exclude != nil && d.exclude.MatchString(rel) {
			return true
		}
		return d.include != nil && !d.include.MatchString(rel)
	})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	for _, f := range files {
		if bytes.Contains(f.data, []byte(skipRenderingMarker)) {
			continue
		}
		switch {
		case strings.HasSuffix(f.rel, ".jsonnet"):
			return nil, fmt.Errorf("%s/%s is Jsonnet: evaluating it is not supported; render the manifests it produces into the repository, or exclude it", d.dir, f.rel)
		case strings.HasSuffix(f.rel, ".json"):
			dec := json.NewDecoder(bytes.NewReader(f.data))
			var obj map[string]any
			if err := dec.Decode(&obj); err != nil {
				return nil, fmt.Errorf("%s/%s: %w", d.dir, f.rel, err)
			}
			if dec.More() {
				return nil, fmt.Errorf("%s/%s holds several objects; a JSON file of a directory source holds one", d.dir, f.rel)
			}
			fmt.Fprintf(&out, "---\n# Source: %s/%s\n%s\n", d.dir, f.rel, f.data)
		default:
			ok, err := looksLikeManifests(f.data)
			if err != nil {
				return nil, fmt.Errorf("%s/%s: %w", d.dir, f.rel, err)
			}
			if ok {
				fmt.Fprintf(&out, "---\n# Source: %s/%s\n%s\n", d.dir, f.rel, f.data)
			}
		}
	}
	return out.Bytes(), nil
}

// looksLikeManifests says whether a YAML file of a directory source holds Kubernetes objects:
// every document a mapping with a kind. A file that is not (a values file next to the
// manifests) is skipped, unless it looks like a manifest that fails to parse.
func looksLikeManifests(data []byte) (bool, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		bad := err != nil
		if !bad && doc != nil {
			m, ok := doc.(map[string]any)
			kind, _ := m["kind"].(string)
			bad = !ok || kind == ""
		}
		if bad {
			if bytes.Contains(data, []byte("apiVersion:")) && bytes.Contains(data, []byte("kind:")) && bytes.Contains(data, []byte("metadata:")) {
				if err == nil {
					err = errors.New("a document is not a Kubernetes object")
				}
				return false, err
			}
			return false, nil
		}
	}
}

// compileGlob turns an Argo CD include or exclude pattern into a regexp. Argo CD matches them
// without path separators: `*` matches any run of characters, `/` included; `?` one
// character; `[…]` a class; `{a,b}` either alternative.
func compileGlob(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(pattern[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("pattern %q: unclosed [", pattern)
			}
			class := pattern[i+1 : i+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end
		case '{':
			depth++
			b.WriteString("(?:")
		case '}':
			if depth == 0 {
				return nil, fmt.Errorf("pattern %q: unopened }", pattern)
			}
			depth--
			b.WriteString(")")
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(string(pattern[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("pattern %q: unclosed {", pattern)
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
