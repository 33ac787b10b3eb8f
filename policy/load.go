package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
)

// FieldError is one problem in a document. Its Error is exactly `file:line: field: message`
// (without the field for problems of the document as a whole), the form editors and CI logs
// link to. Loaders return all problems at once, joined with errors.Join.
type FieldError struct {
	File  string
	Line  int
	Field string // e.g. spec.metrics[1].scaleUp.threshold
	Msg   string
}

// Error is `file:line: field: message`.
func (e *FieldError) Error() string { return formatProblem(e.File, e.Line, e.Field, e.Msg) }

// Warning is something a document may do but probably did not mean, such as a policy without
// spec.replicas. It does not make the document invalid.
type Warning struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// String is `file:line: warning: field: message`.
func (w Warning) String() string {
	return formatProblem(w.File, w.Line, "warning", formatProblem("", 0, w.Field, w.Msg))
}

func formatProblem(file string, line int, field, msg string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		if line > 0 {
			b.WriteString(":" + strconv.Itoa(line))
		}
		b.WriteString(": ")
	}
	if field != "" {
		b.WriteString(field + ": ")
	}
	b.WriteString(msg)
	return b.String()
}

// Documents is what a set of files holds: the policies and configs found (each defaulted and
// valid), and the warnings about them.
type Documents struct {
	Policies []*Policy
	Configs  []*Config
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
	return docs, joinProblems(problems)
}

// document is one YAML document of a file as the loader saw it: a policy or a config when it
// is valid, its problems when not. An invalid policy keeps what could be decoded of it, so
// that its name can be reported.
type document struct {
	line     int
	policy   *Policy
	config   *Config
	problems []*FieldError
	warnings []Warning
}

// eachDocument decodes the documents of data one by one and hands each to fn. A YAML syntax
// error spoils only its own document: the file is split at its document markers (a line that
// starts with "---", which YAML forbids inside any scalar), and each part is parsed on its own.
func eachDocument(file string, data []byte, want string, fn func(document)) {
	for _, part := range splitDocuments(data) {
		for doc, err := range yamlnode.Documents(part.data) {
			if err != nil {
				fe := syntaxError(file, err)
				if fe.Line > 0 {
					fe.Line += part.offset
				} else {
					fe.Line = part.offset + 1
				}
				fn(document{line: fe.Line, problems: []*FieldError{fe}})
				break // the rest of this part is unreadable; the next part is not
			}
			shiftLines(doc, part.offset)
			if len(doc.Content) == 0 || isNullNode(doc.Content[0]) {
				continue // an empty document, e.g. after a trailing ---
			}
			fn(decodeDocument(file, doc.Content[0], want))
		}
	}
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
	kind, kindLine := scalarField(root, "kind")
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
		c, errs := decodeConfig(file, root)
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

// documentPart is a slice of a file that holds one document (or, before the first marker,
// whatever precedes it), and the number of lines before it.
type documentPart struct {
	data   []byte
	offset int
}

// splitDocuments cuts data before every line that starts a document ("---" at the start of a
// line, followed by a space, a tab or the line's end).
func splitDocuments(data []byte) []documentPart {
	var parts []documentPart
	start, startLine, line := 0, 0, 0
	for i := 0; i < len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if end >= 0 {
			next = i + end + 1
		}
		if i > start && isDocumentMarker(data[i:next]) {
			parts = append(parts, documentPart{data: data[start:i], offset: startLine})
			start, startLine = i, line
		}
		i = next
		line++
	}
	return append(parts, documentPart{data: data[start:], offset: startLine})
}

func isDocumentMarker(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r')
}

// shiftLines adds the lines before a part to every node's line.
func shiftLines(n *yaml.Node, offset int) {
	if offset == 0 || n == nil {
		return
	}
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset)
	}
}

// joinProblems sorts problems by file and line (stable, so one line's problems keep the order
// the rules found them) and joins them.
func joinProblems(problems []*FieldError) error {
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): `)

// syntaxError turns a YAML parser error into a FieldError with its line.
func syntaxError(file string, err error) *FieldError {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &FieldError{File: file, Line: line, Msg: "invalid YAML: " + singleLine(msg)}
}

// decodePolicy decodes, defaults and validates one policy document.
func decodePolicy(file string, root *yaml.Node) (*Policy, []*FieldError, []Warning) {
	p := &Policy{}
	d := newDecoder(file)
	d.decode(root, reflect.ValueOf(p).Elem(), "")
	p.Source = Source{File: file, Line: root.Line, lines: d.index()}
	p.SetDefaults()
	c := &checker{src: p.Source, failed: d.failed}
	c.policy(p)
	errs := append(d.errs, c.errs...)
	if len(errs) == 0 {
		// Parse the schedules once, here, so Decide does not on every evaluation. Validation
		// has checked them, so this cannot fail.
		_ = p.Compile()
	}
	return p, errs, c.warns
}

// lineIndex maps field paths to the line they were written on, and knows which were written
// as null (left empty).
type lineIndex struct {
	lines map[string]int
	nulls map[string]bool
}

func (d *decoder) index() *lineIndex { return &lineIndex{lines: d.lines, nulls: d.nulls} }

// LineOf is the line of a field of the document (a path such as
// spec.metrics[1].scaleUp.threshold). A field the document left out is located at its nearest
// written ancestor, and at the document itself when nothing is known.
func (s Source) LineOf(field string) int {
	if s.lines != nil {
		for f := field; f != ""; f = parentPath(f) {
			if l, ok := s.lines.lines[f]; ok {
				return l
			}
		}
	}
	return s.Line
}

// written reports whether the document gave the field a value (rather than leaving it out or
// empty, for a default to fill).
func (s Source) written(field string) bool {
	if s.lines == nil {
		return true // a policy built in code: assume every field was meant
	}
	_, ok := s.lines.lines[field]
	return ok && !s.lines.nulls[field]
}

// parentPath drops the last element of a field path: a.b[2] → a.b → a → "".
func parentPath(f string) string {
	if strings.HasSuffix(f, "]") {
		if i := strings.LastIndexByte(f, '['); i >= 0 {
			return f[:i]
		}
	}
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		return f[:i]
	}
	return ""
}

// maxDecodeNodes bounds the work of decoding one document, so that aliases cannot blow a small file
// up into an enormous one ("billion laughs").
const maxDecodeNodes = 100_000

// decoder decodes a YAML node tree into Go values strictly, recording the line of every field
// and an error for every unknown field, duplicate key and wrong type.
type decoder struct {
	file   string
	errs   []*FieldError
	lines  map[string]int
	nulls  map[string]bool
	failed map[string]bool
	budget int
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, nulls: map[string]bool{}, failed: map[string]bool{}, budget: maxDecodeNodes}
}

func (d *decoder) fail(line int, field, format string, args ...any) {
	d.failed[field] = true
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Field: field, Msg: singleLine(fmt.Sprintf(format, args...))})
}

var durationType = reflect.TypeFor[Duration]()

// decode fills v from n. The path names v in messages; its line is recorded by the caller,
// which knows the key's line.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n, ok := d.resolve(n, path)
	if !ok {
		return
	}
	if isNullNode(n) {
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
		d.decode(n, elem.Elem(), path)
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
			d.decode(kv.value, v.Field(i), fp)
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
			d.decode(item, s.Index(i), ip)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n.Line, path, "must be a mapping, got %s", describeNode(n, path))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for _, kv := range d.pairs(n, path) {
			kp := mapKeyPath(path, kv.key.Value)
			d.lines[kp] = kv.key.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(kv.value, elem, kp)
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
		// Only reachable if a type in types.go gains a field kind this decoder does not know.
		d.fail(n.Line, path, "cannot decode into %s", v.Type())
	}
}

// resolve follows aliases and spends one unit of the node budget.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, bool) {
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
func (d *decoder) pairs(n *yaml.Node, path string) []keyValue {
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
			d.fail(k.Line, mapKeyPath(path, k.Value), "duplicate key (first at line %d)", first)
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
func (d *decoder) mergePairs(n *yaml.Node, path string, depth int) []keyValue {
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

// yamlFields maps the yaml names of a struct's fields to their indexes.
func yamlFields(t reflect.Type) map[string]int {
	fields := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = i
	}
	return fields
}

// unknownField explains an unknown key: a likely misspelling, or the rule that secrets are
// only ever read from files or the environment.
func unknownField(name string, fields map[string]int) (msg, meant string) {
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

// mapKeyPath names an entry of a free-form map: headers.X-Scope-OrgID, or labels["a.b/c"] when
// the key would not read as one path element.
func mapKeyPath(path, key string) string {
	if plainKeyRE.MatchString(key) {
		return fieldPath(path, key)
	}
	return fmt.Sprintf("%s[%q]", path, key)
}

// describe names a node's value for a type error. Values under headers are never echoed: a
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

func isNullNode(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalarField is the value and line of a top-level string key of a mapping, or the mapping's
// line when the key is absent.
func scalarField(m *yaml.Node, key string) (string, int) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.ScalarNode {
			return m.Content[i+1].Value, m.Content[i].Line
		}
	}
	return "", m.Line
}

func singleLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// String is the Go duration syntax, e.g. "10h0m0s".
func (d Duration) String() string { return d.Duration.String() }

// UnmarshalYAML reads a Go duration string such as "90s" or "10h", for callers that decode
// with yaml.Unmarshal rather than the strict loader.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration: %w", n.Line, err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: duration: %w", n.Line, err)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.Duration.String(), nil }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	d.Duration = v
	return nil
}
