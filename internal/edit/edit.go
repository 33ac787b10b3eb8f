package edit

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// MaxReplicaCount is the largest replica count the editor reads or writes: Kubernetes stores
// replicas as int32.
const MaxReplicaCount = math.MaxInt32

// errInconsistent marks an error of the editor itself (the located bytes or the re-parsed
// result disagree with the parse): such an error means a bug here, not a bad input file.
var errInconsistent = errors.New("editor inconsistency")

// ReadReplicas returns the integer at loc in the file's bytes.
//
// Unlike SetReplicas it reads through aliases: the value it returns is the one a renderer sees,
// even when it could not be edited in place.
func ReadReplicas(data []byte, loc policy.ReplicasLocation) (int, error) {
	t, err := locate(data, loc, false)
	if err != nil {
		return 0, err
	}
	return t.value, nil
}

// Node is where a replica location resolves in a file: the line and column of the scalar that
// holds the count (an alias followed to its anchor), and the count. Two spellings of one
// value — workers[0].replicas and workers[name=web].replicas — resolve to the same Node, so
// the set checks compare policies' targets by it (docs/design.md §4).
type Node struct {
	Line, Column int
	Value        int
}

// Resolve finds the scalar at loc as ReadReplicas does and says where it is.
func Resolve(data []byte, loc policy.ReplicasLocation) (Node, error) {
	t, err := locate(data, loc, false)
	if err != nil {
		return Node{}, err
	}
	return Node{Line: t.node.Line, Column: t.node.Column, Value: t.value}, nil
}

// SetReplicas returns data with the scalar at loc replaced by n; every other byte identical.
// When the value is already n it returns data unchanged (same bytes) and changed=false.
//
// A target that is an alias, or an anchored node (or lies inside one) that is aliased
// elsewhere, is refused: editing it would change other values. The result is re-parsed and
// compared with the original before it is returned.
func SetReplicas(data []byte, loc policy.ReplicasLocation, n int) (out []byte, changed bool, err error) {
	if n < 0 || n > MaxReplicaCount {
		return nil, false, fmt.Errorf("path %s: replicas %d out of range [0, %d]", loc.Path, n, MaxReplicaCount)
	}
	t, err := locate(data, loc, true)
	if err != nil {
		return nil, false, err
	}
	if t.value == n {
		return data, false, nil
	}
	digits := strconv.Itoa(n)
	out = make([]byte, 0, len(data)+len(digits)-(t.end-t.start))
	out = append(out, data[:t.start]...)
	out = append(out, digits...)
	out = append(out, data[t.end:]...)
	if err := verifyEdit(t, out, digits); err != nil {
		return nil, false, fmt.Errorf("path %s: verify edit: %w", loc.Path, err)
	}
	return out, true, nil
}

// target is the located replica scalar.
type target struct {
	docs  []*yaml.Node // every document of the file, as parsed
	node  *yaml.Node   // the scalar (in edit mode never an alias)
	start int          // byte offset of the first digit in the file
	end   int          // byte offset just past the last digit
	value int
}

// locate parses data and finds the scalar at loc. In edit mode it refuses targets that cannot
// be changed without changing other values; in read mode it follows aliases.
func locate(data []byte, loc policy.ReplicasLocation, edit bool) (*target, error) {
	path, err := policy.ParsePath(loc.Path)
	if err != nil {
		return nil, fmt.Errorf("replicas path: %w", err)
	}
	perr := func(format string, args ...any) error {
		return fmt.Errorf("path %s: %s", loc.Path, fmt.Sprintf(format, args...))
	}
	wrap := func(err error) error { return fmt.Errorf("path %s: %w", loc.Path, err) }
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return nil, perr("the file is UTF-16 encoded; only UTF-8 is supported")
	}
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, wrap(err)
	}
	doc, chain, err := selectDocument(docs, path, loc, edit)
	if err != nil {
		return nil, wrap(err)
	}
	node := chain[len(chain)-1]
	if edit {
		if err := checkAliases(doc, chain); err != nil {
			return nil, wrap(err)
		}
	} else if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	value, err := replicaValue(node)
	if err != nil {
		return nil, wrap(err)
	}
	if !edit {
		// Reading needs the value only, not where its bytes are.
		return &target{docs: docs, node: node, value: value}, nil
	}
	start, end, err := scalarSpan(data, node)
	if err != nil {
		return nil, wrap(fmt.Errorf("line %d, column %d: %w", node.Line, node.Column, err))
	}
	return &target{docs: docs, node: node, start: start, end: end, value: value}, nil
}

// parseDocuments parses every document of a YAML stream. A panic in the parser becomes an
// error (yamlnode.Documents): a malformed file must never take the service down.
func parseDocuments(data []byte) ([]*yaml.Node, error) {
	var docs []*yaml.Node
	for doc, err := range yamlnode.Documents(data) {
		if err != nil {
			return nil, fmt.Errorf("parse YAML: %w", err)
		}
		docs = append(docs, doc)
	}
	if len(docs) == 0 {
		return nil, errors.New("the file has no YAML document")
	}
	return docs, nil
}

// selectDocument picks the document that holds the path and returns it with the chain of
// nodes from its root to the target. With a document selector only the documents it matches
// are considered; without one, the path must exist in exactly one document. refuseAliases is
// passed on to walk.
func selectDocument(docs []*yaml.Node, path policy.Path, loc policy.ReplicasLocation, refuseAliases bool) (*yaml.Node, []*yaml.Node, error) {
	var candidates []*yaml.Node
	for _, d := range docs {
		if root(d) == nil {
			continue // empty or comment-only document
		}
		if loc.Document == nil || matchesDocument(root(d), loc.Document) {
			candidates = append(candidates, d)
		}
	}
	if loc.Document != nil {
		switch len(candidates) {
		case 0:
			return nil, nil, fmt.Errorf("no document matches %s (the file has: %s)", describeSelector(loc.Document), listDocuments(docs))
		case 1:
			chain, err := walk(root(candidates[0]), path, refuseAliases)
			return candidates[0], chain, err
		default:
			return nil, nil, fmt.Errorf("%d documents match %s", len(candidates), describeSelector(loc.Document))
		}
	}
	switch len(candidates) {
	case 0:
		return nil, nil, errors.New("the file has no YAML document")
	case 1:
		chain, err := walk(root(candidates[0]), path, refuseAliases)
		return candidates[0], chain, err
	}
	var (
		found    *yaml.Node
		chain    []*yaml.Node
		firstErr error
		matches  int
	)
	for _, d := range candidates {
		c, err := walk(root(d), path, refuseAliases)
		var werr *walkError
		if errors.As(err, &werr) && werr.notFound {
			continue
		}
		matches++
		found, chain, firstErr = d, c, err
	}
	switch {
	case matches == 0:
		return nil, nil, fmt.Errorf("not found in any of the %d documents", len(candidates))
	case matches > 1:
		return nil, nil, fmt.Errorf("%d documents match; set replicas.document", matches)
	}
	return found, chain, firstErr
}

// root returns a document's content node, or nil for an empty document.
func root(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	r := doc.Content[0]
	if r.Kind == yaml.ScalarNode && r.Tag == "!!null" && r.Value == "" {
		return nil
	}
	return r
}

// matchesDocument reports whether a document root has the selector's kind and metadata.name;
// an empty field of the selector matches anything.
func matchesDocument(r *yaml.Node, sel *policy.DocumentSelector) bool {
	kind, name := documentIdentity(r)
	return (sel.Kind == "" || sel.Kind == kind) && (sel.Name == "" || sel.Name == name)
}

// documentIdentity returns a manifest's kind and metadata.name, empty when absent.
func documentIdentity(r *yaml.Node) (kind, name string) {
	if k := yamlnode.MappingValue(r, "kind"); k != nil && k.Kind == yaml.ScalarNode {
		kind = k.Value
	}
	if md := yamlnode.MappingValue(r, "metadata"); md != nil {
		if n := yamlnode.MappingValue(md, "name"); n != nil && n.Kind == yaml.ScalarNode {
			name = n.Value
		}
	}
	return kind, name
}

func describeSelector(sel *policy.DocumentSelector) string {
	var parts []string
	if sel.Kind != "" {
		parts = append(parts, "kind "+sel.Kind)
	}
	if sel.Name != "" {
		parts = append(parts, "name "+sel.Name)
	}
	if len(parts) == 0 {
		return "an empty document selector"
	}
	return strings.Join(parts, " and ")
}

func listDocuments(docs []*yaml.Node) string {
	var ids []string
	for _, d := range docs {
		r := root(d)
		if r == nil {
			continue
		}
		kind, name := documentIdentity(r)
		if kind == "" && name == "" {
			ids = append(ids, "(no kind or name)")
			continue
		}
		ids = append(ids, kind+"/"+name)
	}
	if len(ids) == 0 {
		return "no documents"
	}
	return strings.Join(ids, ", ")
}

// walkError is a failure to follow the path; notFound separates "this document does not have
// the path" (another document may) from "it has it, but it cannot be used".
type walkError struct {
	msg      string
	notFound bool
}

func (e *walkError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &walkError{msg: fmt.Sprintf(format, args...), notFound: true}
}

func unusable(format string, args ...any) error {
	return &walkError{msg: fmt.Sprintf(format, args...)}
}

// walk follows path from a document root and returns the chain of nodes visited, the root
// first and the target last. With refuseAliases an alias on the way is an error (editing
// through it would change the anchor's other users); without, aliases are followed.
func walk(r *yaml.Node, path policy.Path, refuseAliases bool) ([]*yaml.Node, error) {
	chain := []*yaml.Node{r}
	cur := r
	for i, e := range path {
		where := path[:i].String()
		if where == "" {
			where = "the document root"
		}
		if cur.Kind == yaml.AliasNode {
			if refuseAliases {
				return nil, unusable("%s is an alias (*%s) — editing through it would change other values; edit the anchor's definition or unalias it", where, cur.Value)
			}
			if cur.Alias == nil {
				return nil, unusable("%s is an unresolved alias (*%s)", where, cur.Value)
			}
			cur = cur.Alias
		}
		var next *yaml.Node
		switch e.Kind {
		case policy.PathKey:
			if cur.Kind != yaml.MappingNode {
				return nil, notFound("%s is %s, not a mapping", where, kindName(cur))
			}
			var hits []*yaml.Node
			merges := false
			for j := 0; j+1 < len(cur.Content); j += 2 {
				k := cur.Content[j]
				if k.Kind == yaml.ScalarNode && k.Value == e.Key {
					hits = append(hits, cur.Content[j+1])
				}
				if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
					merges = true
				}
			}
			switch {
			case len(hits) > 1:
				return nil, unusable("key %s appears %d times", e.Key, len(hits))
			case len(hits) == 0 && merges:
				return nil, unusable("key %s not found (the mapping has a merge key <<; a merged value cannot be edited in place — set the key here or edit the anchor's definition)", e.Key)
			case len(hits) == 0:
				return nil, notFound("key %s not found", e.Key)
			}
			next = hits[0]
		case policy.PathMatch:
			if cur.Kind != yaml.SequenceNode {
				return nil, notFound("%s is %s, not a list", where, kindName(cur))
			}
			var hits []*yaml.Node
			for _, item := range cur.Content {
				m := item
				if m.Kind == yaml.AliasNode && m.Alias != nil {
					m = m.Alias
				}
				v := yamlnode.MappingValue(m, e.Key)
				if v != nil && v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				if v != nil && v.Kind == yaml.ScalarNode && v.Value == e.Value {
					hits = append(hits, item)
				}
			}
			switch len(hits) {
			case 0:
				return nil, notFound("no item with %s=%s in %s", e.Key, e.Value, where)
			case 1:
				next = hits[0]
			default:
				return nil, unusable("%d items with %s=%s in %s", len(hits), e.Key, e.Value, where)
			}
		case policy.PathIndex:
			if cur.Kind != yaml.SequenceNode {
				return nil, notFound("%s is %s, not a list", where, kindName(cur))
			}
			if e.Index >= len(cur.Content) {
				return nil, notFound("index %d out of range (%s has %d items)", e.Index, where, len(cur.Content))
			}
			next = cur.Content[e.Index]
		default:
			return nil, unusable("unknown path element %v", e.Kind)
		}
		chain = append(chain, next)
		cur = next
	}
	return chain, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("a scalar (%q)", n.Value)
	case yaml.AliasNode:
		return "an alias (*" + n.Value + ")"
	default:
		return "empty"
	}
}

// checkAliases refuses a target whose edit would show through an alias: the target is an
// alias, or it or a node containing it carries an anchor that an alias refers to.
func checkAliases(doc *yaml.Node, chain []*yaml.Node) error {
	tgt := chain[len(chain)-1]
	if tgt.Kind == yaml.AliasNode {
		return fmt.Errorf("the target is an alias (*%s) — editing it would change other values; edit the anchor's definition or unalias it", tgt.Value)
	}
	aliased := map[*yaml.Node]bool{}
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode {
			if n.Alias != nil {
				aliased[n.Alias] = true
			}
			return
		}
		for _, c := range n.Content {
			collect(c)
		}
	}
	collect(doc)
	if aliased[tgt] {
		return fmt.Errorf("the target is anchored (&%s) and aliased elsewhere — editing it would change other values; edit the anchor's definition or unalias it", tgt.Anchor)
	}
	for _, n := range chain[:len(chain)-1] {
		if aliased[n] {
			return fmt.Errorf("the target is inside an anchored node (&%s) that is aliased elsewhere — editing it would change other values; edit the anchor's definition or unalias it", n.Anchor)
		}
	}
	return nil
}

// replicaValue returns the scalar's value when it is a replica count the editor accepts.
func replicaValue(n *yaml.Node) (int, error) {
	switch {
	case n.Kind == yaml.AliasNode:
		return 0, fmt.Errorf("value is an unresolved alias (*%s)", n.Value)
	case n.Kind != yaml.ScalarNode:
		return 0, fmt.Errorf("value is %s, not an integer", kindName(n))
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, fmt.Errorf("value %q is a block scalar (| or >); write the number on the key's line", n.Value)
	case n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!int":
		return 0, fmt.Errorf("value %q has tag %s; only plain integers or !!int are edited", n.Value, n.Tag)
	case n.Tag == "!!null":
		return 0, fmt.Errorf("value is null, not an integer")
	}
	v := n.Value
	if !isDecimal(v) {
		if n.Tag == "!!int" || n.Tag == "!!float" {
			return 0, fmt.Errorf("value %q is not a plain base-10 integer; write it as digits only", v)
		}
		return 0, fmt.Errorf("value %q is not an integer", v)
	}
	if len(v) > 1 && v[0] == '0' {
		trimmed := strings.TrimLeft(v, "0")
		if trimmed == "" {
			trimmed = "0"
		}
		return 0, fmt.Errorf("value %q has a leading zero (octal in YAML 1.1); write it as %s", v, trimmed)
	}
	i, err := strconv.Atoi(v)
	if err != nil || i > MaxReplicaCount {
		return 0, fmt.Errorf("value %q is out of range [0, %d]", v, MaxReplicaCount)
	}
	return i, nil
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// scalarSpan returns the byte range of the scalar's digits in data (inside the quotes for a
// quoted scalar), from the node's line and column.
func scalarSpan(data []byte, n *yaml.Node) (start, end int, err error) {
	off, err := nodeOffset(data, n.Line, n.Column)
	if err != nil {
		return 0, 0, err
	}
	// The parser reports where the node's properties (anchor, tag) begin, not its value.
	off = skipProperties(data, off)
	v := n.Value
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		if !bytes.HasPrefix(data[off:], []byte(`"`+v+`"`)) {
			return 0, 0, fmt.Errorf("the quoted value %q is written with escapes or line breaks; write it as \"%s\"", v, v)
		}
		return off + 1, off + 1 + len(v), nil
	case n.Style&yaml.SingleQuotedStyle != 0:
		if !bytes.HasPrefix(data[off:], []byte(`'`+v+`'`)) {
			return 0, 0, fmt.Errorf("the quoted value %q is written with line breaks; write it as '%s'", v, v)
		}
		return off + 1, off + 1 + len(v), nil
	}
	if !bytes.HasPrefix(data[off:], []byte(v)) || (off+len(v) < len(data) && isDigit(data[off+len(v)])) {
		return 0, 0, fmt.Errorf("%w: the bytes at the value's position are not %q", errInconsistent, v)
	}
	return off, off + len(v), nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// nodeOffset turns the parser's 1-based line and column into a byte offset. Lines are counted
// as the parser counts them (CRLF, CR, LF, NEL, LS and PS each end a line) and columns are in
// characters, not bytes. A UTF-8 byte order mark is not part of line 1's columns.
func nodeOffset(data []byte, line, col int) (int, error) {
	off := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		off = 3
	}
	for l := 1; l < line; l++ {
		next, ok := nextLine(data, off)
		if !ok {
			return 0, fmt.Errorf("%w: the file has fewer than %d lines", errInconsistent, line)
		}
		off = next
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || isBreakAt(data, off) > 0 {
			return 0, fmt.Errorf("%w: line %d has fewer than %d characters", errInconsistent, line, col)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	if off >= len(data) {
		return 0, fmt.Errorf("%w: position past the end of the file", errInconsistent)
	}
	return off, nil
}

// nextLine returns the offset of the line after the one containing off.
func nextLine(data []byte, off int) (int, bool) {
	for off < len(data) {
		if w := isBreakAt(data, off); w > 0 {
			return off + w, true
		}
		off++
	}
	return 0, false
}

// isBreakAt returns the byte length of the line break at off (2 for CRLF), or 0.
func isBreakAt(data []byte, off int) int {
	rest := data[off:]
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		return 2
	case rest[0] == '\r' || rest[0] == '\n':
		return 1
	case bytes.HasPrefix(rest, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(rest, []byte("\u2028")), bytes.HasPrefix(rest, []byte("\u2029")):
		return 3
	}
	return 0
}

// skipProperties moves off past a node's anchor and tag (`&x !!int 3`) and the separation
// between them and the value, which may include line breaks and comments.
func skipProperties(data []byte, off int) int {
	for off < len(data) && (data[off] == '&' || data[off] == '!') {
		if bytes.HasPrefix(data[off:], []byte("!<")) {
			if end := bytes.IndexByte(data[off:], '>'); end >= 0 {
				off += end + 1
			} else {
				return off
			}
		} else {
			for off < len(data) && !isSeparator(data, off) && strings.IndexByte(",[]{}", data[off]) < 0 {
				off++
			}
		}
		off = skipSeparation(data, off)
	}
	return off
}

func isSeparator(data []byte, off int) bool {
	return data[off] == ' ' || data[off] == '\t' || isBreakAt(data, off) > 0
}

// skipSeparation skips blanks, line breaks and comments.
func skipSeparation(data []byte, off int) int {
	for off < len(data) {
		switch {
		case data[off] == ' ' || data[off] == '\t':
			off++
		case isBreakAt(data, off) > 0:
			off += isBreakAt(data, off)
		case data[off] == '#':
			for off < len(data) && isBreakAt(data, off) == 0 {
				off++
			}
		default:
			return off
		}
	}
	return off
}

// verifyEdit re-parses the edited bytes and checks that every document is as before except
// the target, which must now read digits.
func verifyEdit(t *target, out []byte, digits string) error {
	docs, err := parseDocuments(out)
	if err != nil {
		return fmt.Errorf("%w: the edited file does not parse: %v", errInconsistent, err)
	}
	if len(docs) != len(t.docs) {
		return fmt.Errorf("%w: the edited file has %d documents, not %d", errInconsistent, len(docs), len(t.docs))
	}
	hit := false
	for i := range docs {
		if err := sameTree(t.docs[i], docs[i], t.node, digits, &hit); err != nil {
			return fmt.Errorf("%w: document %d: %v", errInconsistent, i+1, err)
		}
	}
	if !hit {
		return fmt.Errorf("%w: the target was not found in the edited file", errInconsistent)
	}
	return nil
}

// sameTree compares two parsed trees node by node. The target (a node of a) must read want in
// b; every other node must match in kind, style, tag, anchor, value, comments and line.
func sameTree(a, b, tgt *yaml.Node, want string, hit *bool) error {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Anchor != b.Anchor || a.Line != b.Line {
		return fmt.Errorf("node at line %d changed shape", a.Line)
	}
	if a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment {
		return fmt.Errorf("comments at line %d changed", a.Line)
	}
	if a == tgt {
		*hit = true
		if b.Value != want {
			return fmt.Errorf("target reads %q, want %q", b.Value, want)
		}
	} else if a.Value != b.Value {
		return fmt.Errorf("value at line %d changed from %q to %q", a.Line, a.Value, b.Value)
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("node at line %d has %d children, was %d", a.Line, len(b.Content), len(a.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], tgt, want, hit); err != nil {
			return err
		}
	}
	return nil
}
