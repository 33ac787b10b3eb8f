package policy

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// promQLParser is Prometheus's own PromQL parser, the one the server runs each query through
// (docs/design.md §4, "PromQL is parsed at validate"): a query it rejects would only ever come
// back from Prometheus as an error, which the loop would read as a missing metric and hold on.
var promQLParser = parser.NewParser(parser.Options{})

// MinRange is the shortest range a range selector should cover: four scrapes at Prometheus's
// usual 15 s interval. rate() over fewer than two samples returns nothing, and with one lost
// scrape a shorter range does (docs/design.md §4).
const MinRange = 60 * time.Second

// maxPromQL bounds a query handed to the parser; longer is refused rather than parsed.
const maxPromQL = 64 << 10

// counterSuffixes are the name endings of the series rate() and increase() are meant for.
var counterSuffixes = []string{"_total", "_count", "_sum", "_bucket"}

// CheckPromQL parses query with Prometheus's parser. It returns the parse error, with the
// parser's line:column inside the query, and the lint findings of a query that parses: rate()
// or increase() over a name that is not a counter's, and a range shorter than MinRange.
func CheckPromQL(query string) (lint []string, err error) {
	if len(query) > maxPromQL {
		return nil, fmt.Errorf("%d bytes, longer than the %d bytes a query may have", len(query), maxPromQL)
	}
	expr, perr := promQLParser.ParseExpr(query)
	if perr != nil {
		return nil, promQLError(perr)
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.Call:
			if n.Func == nil || (n.Func.Name != "rate" && n.Func.Name != "increase") {
				return nil
			}
			for _, a := range n.Args {
				ms, ok := a.(*parser.MatrixSelector)
				if !ok {
					continue
				}
				vs, ok := ms.VectorSelector.(*parser.VectorSelector)
				if !ok || vs.Name == "" || hasSuffix(vs.Name, counterSuffixes) {
					continue
				}
				lint = append(lint, fmt.Sprintf("%s() over %s, whose name does not end in %s: %s() is for counters, and a gauge's drops read as counter resets (use deriv() or delta() for a gauge)",
					n.Func.Name, vs.Name, strings.Join(counterSuffixes, ", "), n.Func.Name))
			}
		case *parser.MatrixSelector:
			if n.RangeExpr == nil && n.Range > 0 && n.Range < MinRange {
				lint = append(lint, fmt.Sprintf("range [%s] of %s is shorter than %s (4 scrapes of 15s): with one lost scrape it holds one sample and rate() returns nothing",
					formatRange(n.Range), n.VectorSelector, formatRange(MinRange)))
			}
		case *parser.SubqueryExpr:
			if n.RangeExpr == nil && n.Range > 0 && n.Range < MinRange {
				lint = append(lint, fmt.Sprintf("subquery range [%s] is shorter than %s (4 scrapes of 15s)", formatRange(n.Range), formatRange(MinRange)))
			}
		}
		return nil
	})
	return lint, nil
}

// promQLError is the parser's first error as "parse error at LINE:COL: message", its position
// counted within the query.
func promQLError(err error) error {
	var pes parser.ParseErrors
	if errors.As(err, &pes) && len(pes) > 0 {
		pe := pes[0]
		return fmt.Errorf("parse error at %s (line:column of the query): %v", pe.PositionRange.StartPosInput(pe.Query, 0), pe.Err)
	}
	var pe *parser.ParseErr
	if errors.As(err, &pe) {
		return fmt.Errorf("parse error at %s (line:column of the query): %v", pe.PositionRange.StartPosInput(pe.Query, 0), pe.Err)
	}
	return fmt.Errorf("parse error: %v", err)
}

func hasSuffix(s string, suffixes []string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// formatRange writes a range as PromQL does: 30s, 2m, 1h.
func formatRange(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// promQL checks the query at field: required, parsed by Prometheus's parser (an error names the
// parser's position), and linted (warnings).
func (c *checker) promQL(field, query, missing string) {
	if strings.TrimSpace(query) == "" {
		c.Errorf(field, "%s", missing)
		return
	}
	lint, err := CheckPromQL(query)
	if err != nil {
		c.Errorf(field, "%v in %q", err, query)
		return
	}
	for _, l := range lint {
		c.Warnf(field, "%s", l)
	}
}
