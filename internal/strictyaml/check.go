package strictyaml

import (
	"fmt"
	"strings"
)

// Checker collects the problems of one document. Fields whose decoding already failed
// (Failed, from the Decoder) are not checked again, so one mistake gives one message. A
// document's checks are methods of a type that embeds it.
type Checker struct {
	Src    Source
	Failed map[string]bool
	Errs   []*FieldError
	Warns  []Warning
}

// Errorf records a problem of field, located through Src.
func (c *Checker) Errorf(field, format string, args ...any) {
	if c.DecodeFailed(field) {
		return
	}
	c.Errs = append(c.Errs, &FieldError{File: c.Src.File, Line: c.Src.LineOf(field), Field: field, Msg: SingleLine(fmt.Sprintf(format, args...))})
}

// Warnf records a warning about field.
func (c *Checker) Warnf(field, format string, args ...any) {
	c.Warns = append(c.Warns, Warning{File: c.Src.File, Line: c.Src.LineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// DecodeFailed reports whether decoding failed at the field, above it or below it.
func (c *Checker) DecodeFailed(field string) bool {
	for f := range c.Failed {
		if f == field || strings.HasPrefix(f, field+".") || strings.HasPrefix(f, field+"[") ||
			strings.HasPrefix(field, f+".") || strings.HasPrefix(field, f+"[") {
			return true
		}
	}
	return false
}
