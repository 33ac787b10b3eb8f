package strictyaml

import (
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
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

// formatProblem is `file:line: field: message`, each part left out when empty.
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

// Join sorts problems by file and line (stable, so one line's problems keep the order
// the rules found them) and joins them.
func Join(problems []*FieldError) error {
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

// SyntaxError turns a YAML parser error into a FieldError with its line.
func SyntaxError(file string, err error) *FieldError {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	return &FieldError{File: file, Line: line, Msg: "invalid YAML: " + SingleLine(msg)}
}

// SingleLine keeps a message on one line.
func SingleLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
