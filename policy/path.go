package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// PathElemKind says what one element of a Path selects.
type PathElemKind int

// Path element kinds.
const (
	// PathKey selects a mapping key: `replicaCount`.
	PathKey PathElemKind = iota
	// PathMatch selects the one list item whose field equals a value: `[name=web]`.
	PathMatch
	// PathIndex selects a list item by position: `[0]`.
	PathIndex
)

// PathElem is one step of a Path.
type PathElem struct {
	Kind  PathElemKind
	Key   string // PathKey: the key; PathMatch: the item's field
	Value string // PathMatch: the field's value
	Index int    // PathIndex
}

// Path is a parsed replicas.path: dot-separated keys, each optionally followed by list
// selectors, e.g. `laravelWeb.replicaCount`, `workers[name=emails].replicas`, `items[0].count`.
type Path []PathElem

// ParsePath parses the replica path syntax. Keys may not be empty and may not contain `.`, `[`,
// `]` or `=`; a selector is `[field=value]` or `[index]`.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	var p Path
	for i, seg := range strings.Split(s, ".") {
		key, rest, _ := strings.Cut(seg, "[")
		if key == "" {
			return nil, fmt.Errorf("path %q: segment %d has no key", s, i+1)
		}
		if strings.ContainsAny(key, "]=") {
			return nil, fmt.Errorf("path %q: key %q may not contain ']' or '='", s, key)
		}
		p = append(p, PathElem{Kind: PathKey, Key: key})
		if len(seg) == len(key) {
			continue
		}
		rest = "[" + rest
		for rest != "" {
			if rest[0] != '[' {
				return nil, fmt.Errorf("path %q: unexpected %q after a selector", s, rest)
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed '['", s)
			}
			sel := rest[1:end]
			rest = rest[end+1:]
			if strings.ContainsRune(sel, '[') {
				return nil, fmt.Errorf("path %q: nested '[' in selector", s)
			}
			if f, v, ok := strings.Cut(sel, "="); ok {
				if f == "" || v == "" {
					return nil, fmt.Errorf("path %q: selector [%s] needs field=value", s, sel)
				}
				p = append(p, PathElem{Kind: PathMatch, Key: f, Value: v})
				continue
			}
			n, err := strconv.Atoi(sel)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("path %q: selector [%s] is neither field=value nor an index", s, sel)
			}
			p = append(p, PathElem{Kind: PathIndex, Index: n})
		}
	}
	return p, nil
}

// String writes the path back in its syntax.
func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch e.Kind {
		case PathKey:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.Key)
		case PathMatch:
			fmt.Fprintf(&b, "[%s=%s]", e.Key, e.Value)
		case PathIndex:
			fmt.Fprintf(&b, "[%d]", e.Index)
		}
	}
	return b.String()
}
