package convert

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// source is one input document being translated: it remembers which fields were read, so that
// every field left over becomes a warning instead of vanishing.
type source struct {
	file  string
	data  []byte
	root  *yaml.Node
	used  map[string]bool
	warns []policy.Warning
}

// value is one node of a source document and its field path (spec.triggers[0].metadata.query).
type value struct {
	src  *source
	n    *yaml.Node // nil when the field is absent
	path string
}

func newSource(file string, root *yaml.Node) *source {
	return &source{file: file, root: root, used: map[string]bool{}}
}

func (s *source) top() value { return value{src: s, n: s.root} }

// field is the child of a mapping; absent (n nil) when the key is not there.
func (v value) field(key string) value {
	child := value{src: v.src, path: joinPath(v.path, key)}
	if v.n == nil || v.n.Kind != yaml.MappingNode {
		return child
	}
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		if v.n.Content[i].Value == key {
			child.n = deref(v.n.Content[i+1])
			return child
		}
	}
	return child
}

// items are the elements of a sequence.
func (v value) items() []value {
	if v.n == nil || v.n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]value, len(v.n.Content))
	for i, c := range v.n.Content {
		out[i] = value{src: v.src, n: deref(c), path: fmt.Sprintf("%s[%d]", v.path, i)}
	}
	return out
}

// keys are the keys of a mapping, in document order.
func (v value) keys() []string {
	if v.n == nil || v.n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(v.n.Content); i += 2 {
		out = append(out, v.n.Content[i].Value)
	}
	return out
}

func (v value) present() bool {
	return v.n != nil && !(v.n.Kind == yaml.ScalarNode && v.n.ShortTag() == "!!null")
}

// line is where the field is written, or the nearest enclosing line.
func (v value) line() int {
	if v.n != nil {
		return v.n.Line
	}
	return v.src.root.Line
}

// use marks the field, and everything below it, as translated.
func (v value) use() value {
	v.src.used[v.path] = true
	return v
}

// str reads a scalar as a string and marks it used; "" when absent.
func (v value) str() string {
	if !v.present() || v.n.Kind != yaml.ScalarNode {
		return ""
	}
	v.use()
	return v.n.Value
}

// number reads a scalar (a number, or a string holding one, as KEDA's metadata does).
func (v value) number() (float64, bool, error) {
	if !v.present() {
		return 0, false, nil
	}
	v.use()
	if v.n.Kind != yaml.ScalarNode {
		return 0, false, fmt.Errorf("must be a number")
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.n.Value), 64)
	if err != nil {
		return 0, false, fmt.Errorf("must be a number, got %q", v.n.Value)
	}
	return f, true, nil
}

// integer reads a whole number.
func (v value) integer() (int, bool, error) {
	f, ok, err := v.number()
	if err != nil || !ok {
		return 0, ok, err
	}
	if f != float64(int(f)) {
		return 0, false, fmt.Errorf("must be a whole number, got %q", v.n.Value)
	}
	return int(f), true, nil
}

// boolean reads true/false (or the strings KEDA's metadata uses).
func (v value) boolean() (bool, bool, error) {
	if !v.present() {
		return false, false, nil
	}
	v.use()
	b, err := strconv.ParseBool(strings.TrimSpace(v.n.Value))
	if err != nil || v.n.Kind != yaml.ScalarNode {
		return false, false, fmt.Errorf("must be true or false, got %q", v.n.Value)
	}
	return b, true, nil
}

// warn records a warning about this field and marks it as dealt with.
func (v value) warn(format string, args ...any) {
	v.use()
	v.src.warns = append(v.src.warns, policy.Warning{File: v.src.file, Line: v.line(), Field: v.path, Msg: fmt.Sprintf(format, args...)})
}

// leftovers warns about every field under v that nothing translated.
func (v value) leftovers() {
	var walk func(x value)
	walk = func(x value) {
		if x.src.used[x.path] || !x.present() {
			return
		}
		switch x.n.Kind {
		case yaml.MappingNode:
			for _, k := range x.keys() {
				walk(x.field(k))
			}
		case yaml.SequenceNode:
			for _, it := range x.items() {
				walk(it)
			}
		default:
			x.warn("not translated: the policy has no equivalent, so it is left out")
		}
	}
	walk(v)
}

// sortedWarnings are the source's warnings in line order.
func (s *source) sortedWarnings() []policy.Warning {
	out := append([]policy.Warning(nil), s.warns...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode && hops < 100; hops++ {
		n = n.Alias
	}
	return n
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
