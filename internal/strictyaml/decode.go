package strictyaml

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// maxDecodeNodes bounds the work of decoding one document, so that aliases cannot blow a small file
// up into an enormous one ("billion laughs").
const maxDecodeNodes = 100_000

// Decoder decodes a YAML node tree into Go values strictly, recording the line of every field
// and an error for every unknown field, duplicate key and wrong type. The fields of a struct
// are named by their yaml tags; a Duration is read from a Go duration string.
type Decoder struct {
	file   string
	errs   []*FieldError
	lines  map[string]int
	nulls  map[string]bool
	failed map[string]bool
	budget int
}

// NewDecoder is a decoder for one document of file.
func NewDecoder(file string) *Decoder {
	return &Decoder{file: file, lines: map[string]int{}, nulls: map[string]bool{}, failed: map[string]bool{}, budget: maxDecodeNodes}
}

func (d *Decoder) fail(line int, field, format string, args ...any) {
	d.failed[field] = true
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Field: field, Msg: SingleLine(fmt.Sprintf(format, args...))})
}

// Errors are the problems decoding found, in the order found.
func (d *Decoder) Errors() []*FieldError { return d.errs }

// Failed are the fields whose decoding failed, for a Checker not to check them again.
func (d *Decoder) Failed() map[string]bool { return d.failed }

var durationType = reflect.TypeFor[Duration]()

// Decode fills v from n. The path names v in messages; its line is recorded by the caller,
// which knows the key's line.
func (d *Decoder) Decode(n *yaml.Node, v reflect.Value, path string) {
	n, ok := d.resolve(n, path)
	if !ok {
		return
	}
	if IsNull(n) {
		d.nulls[path] = true // null means "not set", for every type
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.fail(n.Line, path, "must be a duration such as 90s or 10h, got %s", describeNode(n, path))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.fail(n.Line, path, "must be a duration such as 90s or 10h, got %s", describeNode(n, path))
			return
		}
		v.Set(reflect.ValueOf(Duration{dur}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		// A scalar that fails to decode stays unset rather than becoming a zero that later
		// checks would compare against; a struct keeps the fields that did decode.
		elem := reflect.New(v.Type().Elem())
		before := len(d.errs)
		d.Decode(n, elem.Elem(), path)
		if len(d.errs) == before || elem.Elem().Kind() == reflect.Struct {
			v.Set(elem)
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n.Line, path, "must be a mapping, got %s", describeNode(n, path))
			return
		}
		fields := yamlFields(v.Type())
		for _, kv := range d.pairs(n, path) {
			name := kv.key.Value
			fp := fieldPath(path, name)
			i, known := fields[name]
			if !known {
				msg, meant := unknownField(name, fields)
				d.fail(kv.key.Line, fp, "%s", msg)
				if meant != "" {
					// The field the user probably meant is not missing: it is misspelt.
					d.failed[fieldPath(path, meant)] = true
				}
				continue
			}
			d.lines[fp] = kv.key.Line
			d.Decode(kv.value, v.FieldByIndex(i), fp)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, path, "must be a list, got %s", describeNode(n, path))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			d.lines[ip] = item.Line
			d.Decode(item, s.Index(i), ip)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n.Line, path, "must be a mapping, got %s", describeNode(n, path))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for _, kv := range d.pairs(n, path) {
			kp := MapKeyPath(path, kv.key.Value)
			d.lines[kp] = kv.key.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.Decode(kv.value, elem, kp)
			m.SetMapIndex(reflect.ValueOf(kv.key.Value).Convert(v.Type().Key()), elem)
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.fail(n.Line, path, "must be a string, got %s", describeNode(n, path))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		var x int
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil {
			d.fail(n.Line, path, "must be an integer, got %s", describeNode(n, path))
			return
		}
		v.SetInt(int64(x))
	case reflect.Float64:
		var x float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&x) != nil {
			d.fail(n.Line, path, "must be a number, got %s", describeNode(n, path))
			return
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			d.fail(n.Line, path, "must be a finite number, got %s", describeNode(n, path))
			return
		}
		v.SetFloat(x)
	case reflect.Bool:
		var x bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&x) != nil {
			d.fail(n.Line, path, "must be true or false, got %s", describeNode(n, path))
			return
		}
		v.SetBool(x)
	default:
		// Only reachable if a document type gains a field kind this decoder does not know.
		d.fail(n.Line, path, "cannot decode into %s", v.Type())
	}
}

// resolve follows aliases and spends one unit of the node budget.
func (d *Decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if hops > 100 {
			return nil, false
		}
		n = n.Alias
	}
	if n == nil {
		return nil, false
	}
	d.budget--
	if d.budget == 0 {
		d.fail(n.Line, path, "document too large: more than %d values after expanding aliases", maxDecodeNodes)
	}
	return n, d.budget > 0
}

type keyValue struct{ key, value *yaml.Node }

// pairs lists a mapping's entries: its own keys, then what `<<` merge keys bring in, which the
// own keys override (YAML merge semantics). Duplicate own keys and non-string keys are errors.
func (d *Decoder) pairs(n *yaml.Node, path string) []keyValue {
	var own, merged []keyValue
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(val, path, 0)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "keys must be strings, got %s", describeNode(k, path))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k.Line, MapKeyPath(path, k.Value), "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, keyValue{k, val})
	}
	for _, kv := range merged {
		if _, dup := seen[kv.key.Value]; !dup {
			seen[kv.key.Value] = kv.key.Line
			own = append(own, kv)
		}
	}
	return own
}

// mergePairs is what the value of a `<<` key brings in: a mapping, or a list of mappings of
// which the earlier win.
func (d *Decoder) mergePairs(n *yaml.Node, path string, depth int) []keyValue {
	n, ok := d.resolve(n, path)
	if !ok || depth > 10 {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var all []keyValue
		for _, item := range n.Content {
			item, ok := d.resolve(item, path)
			if !ok {
				return all
			}
			if item.Kind != yaml.MappingNode {
				d.fail(item.Line, path, "a merge key (<<) takes mappings, got %s", describeNode(item, path))
				continue
			}
			all = append(all, d.pairs(item, path)...)
		}
		return all
	default:
		d.fail(n.Line, path, "a merge key (<<) takes mappings, got %s", describeNode(n, path))
		return nil
	}
}

// yamlFields maps the yaml names of a struct's fields to their index paths. The fields of an
// embedded struct tagged `yaml:",inline"` are the outer struct's own, as yaml.v3 reads them.
func yamlFields(t reflect.Type) map[string][]int {
	fields := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.Anonymous && name == "" && opts == "inline" && f.Type.Kind() == reflect.Struct {
			for n, sub := range yamlFields(f.Type) {
				fields[n] = append([]int{i}, sub...)
			}
			continue
		}
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = []int{i}
	}
	return fields
}

// unknownField explains an unknown key: a likely misspelling, or the rule that secrets are
// only ever read from files or the environment.
func unknownField(name string, fields map[string][]int) (msg, meant string) {
	lower := strings.ToLower(name)
	for _, secret := range []string{"token", "password", "bearertoken", "secret"} {
		if lower == secret {
			return "unknown field: secrets are read only from files or the environment; use the field's File or Env form", ""
		}
	}
	best, bestDist := "", 3
	for f := range fields {
		if dist := editDistance(lower, strings.ToLower(f)); dist < bestDist || (dist == bestDist && f < best) {
			best, bestDist = f, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field (did you mean %s?)", best), best
	}
	return "unknown field", ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func fieldPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var plainKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// MapKeyPath names an entry of a free-form map: headers.X-Scope-OrgID, or labels["a.b/c"] when
// the key would not read as one path element.
func MapKeyPath(path, key string) string {
	if plainKeyRE.MatchString(key) {
		return fieldPath(path, key)
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

// describeNode names a node's value for a type error. Values under headers are never echoed: a
// header may carry a credential.
func describeNode(n *yaml.Node, path string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if strings.Contains(path, "headers") {
			return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return strconv.Quote(v)
	}
	return "an unsupported value"
}
