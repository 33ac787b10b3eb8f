package web

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// ComparedPolicy is one column of a comparison: a policy, the name it is shown under, its
// replay and how that replay served the workload.
type ComparedPolicy struct {
	Label      string
	Policy     *policy.Policy
	Result     engine.BacktestResult
	Assessment engine.Assessment
	// Optimum is the offline optimum at this replay's replica-hours, when asked for
	// (backtest --optimum); the optimum's own column has none.
	Optimum *optimum.Result
}

// ComparisonRows are the figures of a comparison, one row each, in the order `backtest
// --compare` prints them; every row has one cell per policy. When a column has the optimum,
// a last row gives the best possible changes at each column's replica-hours and its ratio.
func ComparisonRows(cs []ComparedPolicy) [][]string {
	rows := [][]string{{"changes"}, {"changes per day"}, {"scale-ups / scale-downs"}, {"replica-hours"},
		{"short (below the need)"}, {"short depth (replica-minutes)"}, {"largest step"}}
	for _, c := range cs {
		a := &c.Assessment
		total := a.Days * 86400
		pct := 0.0
		if total > 0 {
			pct = 100 * a.ShortSeconds / total
		}
		cells := []string{
			strconv.Itoa(a.Changes),
			strconv.FormatFloat(a.ChangesPerDay, 'f', 1, 64),
			strconv.Itoa(a.ScaleUps) + " / " + strconv.Itoa(a.ScaleDowns),
			strconv.FormatFloat(a.ReplicaHours, 'f', 1, 64),
			shortFigure(a.ShortSeconds) + " (" + strconv.FormatFloat(pct, 'f', 1, 64) + " %)",
			strconv.FormatFloat(a.ShortReplicaMinutes, 'f', 1, 64),
			strconv.Itoa(a.LargestStep),
		}
		for i := range rows {
			rows[i] = append(rows[i], cells[i])
		}
	}
	for _, c := range cs {
		if c.Optimum == nil {
			continue
		}
		row := []string{"best possible at these replica-hours"}
		for _, c := range cs {
			row = append(row, OptimumCell(c.Assessment.Changes, c.Optimum))
		}
		rows = append(rows, row)
		break
	}
	return rows
}

// shortFigure writes a time short in the unit that reads best: seconds, minutes or hours.
func shortFigure(secs float64) string {
	switch {
	case secs < 120:
		return strconv.FormatFloat(secs, 'f', 0, 64) + " s"
	case secs < 7200:
		return strconv.FormatFloat(secs/60, 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(secs/3600, 'f', 1, 64) + " h"
}

// ComparisonChart draws every compared policy's replica count over the first policy's first
// metric, on one chart: how each would have followed the same load.
func ComparisonChart(cs []ComparedPolicy) Chart {
	c := Chart{Title: "replicas", Height: 360}
	if len(cs) == 0 {
		return c
	}
	if first := cs[0]; len(first.Policy.Spec.Metrics) > 0 {
		m := &first.Policy.Spec.Metrics[0]
		c.Title = m.Name + " and the replicas of each policy"
		c.Series = append(c.Series, MetricSeries(m.Name, first.Result, 0))
		c.Guides = MetricGuides(m)
	}
	for _, p := range cs {
		c.Series = append(c.Series, ReplicaSeries(p.Label, p.Result))
	}
	return c
}

// WriteCompareHTML writes a comparison as one self-contained HTML page (no scripts, no external
// assets): the figures side by side and one chart of every policy's replica line over the
// metric.
func WriteCompareHTML(w io.Writer, cs []ComparedPolicy) error {
	page := comparePage{Chart: SVGChart(ComparisonChart(cs)), Rows: ComparisonRows(cs)}
	for _, c := range cs {
		page.Labels = append(page.Labels, c.Label)
	}
	if len(cs) > 0 {
		r := &cs[0].Result
		page.Start, page.End, page.Step = r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339), r.Step.String()
		page.Evaluations = r.Summary.Evaluations
	}
	if err := compareTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write comparison report: %w", err)
	}
	return nil
}

type comparePage struct {
	Labels           []string
	Start, End, Step string
	Evaluations      int
	Rows             [][]string
	Chart            template.HTML
}

var compareTemplate = template.Must(template.New("compare").Funcs(template.FuncMap{
	"first": func(r []string) string { return r[0] },
	"rest":  func(r []string) []string { return r[1:] },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Comparison of {{range $i, $l := .Labels}}{{if $i}}, {{end}}{{$l}}{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
p.range { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; font-size: 0.9rem; }
th { background: #f3f3f3; }
td.v { text-align: right; font-variant-numeric: tabular-nums; }
.chart { display: block; max-width: 100%; height: auto; margin: 0.5rem 0 1rem; }
</style>
</head>
<body>
<h1>The same load, {{len .Labels}} policies</h1>
<p class="range">{{.Start}} to {{.End}}, every {{.Step}} ({{.Evaluations}} evaluations)</p>
<table class="comparison">
<tr><th></th>{{range .Labels}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{first .}}</td>{{range rest .}}<td class="v">{{.}}</td>{{end}}</tr>
{{end}}</table>
{{.Chart}}
</body>
</html>
`))
