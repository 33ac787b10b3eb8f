package strictyaml

import "strings"

// Source locates a document for error messages: the file and the line of its first key.
type Source struct {
	File string
	Line int
	// Repository is the configured repository the document was found in; empty for files
	// given directly. Set-level checks compare targets within one repository.
	Repository string

	// lines maps field paths (spec.replicas.path) to their lines; set by the loader, read
	// through LineOf.
	lines *lineIndex
}

// lineIndex maps field paths to the line they were written on, and knows which were written
// as null (left empty).
type lineIndex struct {
	lines map[string]int
	nulls map[string]bool
}

// Source is the document's Source at line (its root's), with the lines of the fields the
// decoder read, for LineOf and Written.
func (d *Decoder) Source(line int) Source {
	return Source{File: d.file, Line: line, lines: &lineIndex{lines: d.lines, nulls: d.nulls}}
}

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

// Written reports whether the document gave the field a value (rather than leaving it out or
// empty, for a default to fill).
func (s Source) Written(field string) bool {
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
