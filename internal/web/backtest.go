package web

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// Bounds that keep the page small when a policy flaps: the decisions table lists the first
// backtestHTMLMaxRows decisions (the JSON output has them all), and a marker's tooltip carries
// the reasons only up to backtestMaxMarkReasons changes (each chart repeats the markers).
const (
	backtestHTMLMaxRows    = 1000
	backtestMaxMarkReasons = 300
)

// WriteBacktestHTML writes r as one self-contained HTML page: no scripts, no external assets,
// readable offline. For each metric of p it draws the metric (left axis) against the replica
// count (right axis) with every change marked — hover a marker for its reasons — followed by
// the summary and the table of decisions with their reasons.
func WriteBacktestHTML(w io.Writer, p *policy.Policy, r engine.BacktestResult) error {
	return WriteBacktestReport(w, p, r, nil)
}

// BacktestOptimum is the offline optimum of a replay (docs/design.md §11), for its report: the
// optimum at the replay's replica-hours and, when it is exact, its schedule as a replay.
type BacktestOptimum struct {
	Result optimum.Result
	Replay *engine.BacktestResult
}

// WriteBacktestReport is WriteBacktestHTML with the offline optimum when o is not nil: its
// level line on every chart, and lines in the summary — the best possible changes at the
// replay's replica-hours, the hull there and the frontier.
func WriteBacktestReport(w io.Writer, p *policy.Policy, r engine.BacktestResult, o *BacktestOptimum) error {
	page := backtestPage{
		Policy:  r.Policy,
		Start:   r.Start.UTC().Format(time.RFC3339),
		End:     r.End.UTC().Format(time.RFC3339),
		Step:    r.Step.String(),
		Initial: r.Initial,
		Summary: r.Summary,
	}
	page.ReplicaHours = r.Summary.ReplicaSeconds / 3600
	if r.Summary.Evaluations > 0 && r.Step > 0 {
		page.AvgReplicas = r.Summary.ReplicaSeconds / r.Step.Seconds() / float64(r.Summary.Evaluations)
	}
	page.UnderProvisioned = (time.Duration(r.Summary.UnderProvisionedSeconds * float64(time.Second))).String()
	if total := float64(r.Summary.Evaluations) * r.Step.Seconds(); total > 0 {
		page.UnderProvisionedPct = 100 * r.Summary.UnderProvisionedSeconds / total
	}

	page.ShortReplicaMinutes = r.Summary.UnderProvisionedReplicaSeconds / 60
	if o != nil {
		page.Optimum = &optimumLines{
			Best:     OptimumText(r.Summary.Changes, &o.Result, r.Step),
			Hull:     HullText(&o.Result),
			Frontier: FrontierText(&o.Result, r.Step),
		}
	}
	for _, c := range backtestCharts(p, r, o) {
		page.Charts = append(page.Charts, SVGChart(c))
	}
	for i, d := range r.Decisions {
		if i == backtestHTMLMaxRows {
			page.Omitted = len(r.Decisions) - i
			break
		}
		row := backtestRow{Time: d.Time.UTC().Format(time.RFC3339), From: d.From, To: d.To, Up: d.To > d.From}
		for _, m := range p.Spec.Metrics {
			if v, ok := d.Metrics[m.Name]; ok {
				row.Metrics = append(row.Metrics, m.Name+" = "+formatValue(v))
			} else {
				row.Metrics = append(row.Metrics, m.Name+" missing")
			}
		}
		row.Reasons = d.Reasons
		page.Rows = append(page.Rows, row)
	}
	if err := backtestTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write backtest report: %w", err)
	}
	return nil
}

// BacktestCharts are the report's charts: one per metric of p, each with the replica count on
// the right axis, the changes marked, and the metric's thresholds or target drawn as guides.
func BacktestCharts(p *policy.Policy, r engine.BacktestResult) []Chart {
	return backtestCharts(p, r, nil)
}

// backtestCharts are BacktestCharts, each with the optimum's level line when o has one.
func backtestCharts(p *policy.Policy, r engine.BacktestResult, o *BacktestOptimum) []Chart {
	replicas := ReplicaSeries("replicas", r)
	marks := ChangeMarks(r)
	lines := []ChartSeries{replicas, NeedSeries(r)}
	if o != nil && o.Replay != nil {
		lines = append(lines, ReplicaSeries("optimum", *o.Replay))
	}
	short := ShortBands(r)
	if len(p.Spec.Metrics) == 0 {
		return []Chart{{Title: "replicas", Series: lines, Marks: marks, Bands: short}}
	}
	charts := make([]Chart, 0, len(p.Spec.Metrics))
	for mi := range p.Spec.Metrics {
		m := &p.Spec.Metrics[mi]
		charts = append(charts, Chart{
			Title:  m.Name,
			Series: append([]ChartSeries{MetricSeries(m.Name, r, mi)}, lines...),
			Marks:  marks,
			Guides: MetricGuides(m),
			Bands:  short,
		})
	}
	return charts
}

// ReplicaSeries is a replay's replica count at every step, as a step line on the right axis.
// Several of them (one per policy replayed over the same trace, under different names) can
// share one chart.
func ReplicaSeries(name string, r engine.BacktestResult) ChartSeries {
	s := ChartSeries{Name: name, Axis: AxisRight, Step: true, Points: make([]ChartPoint, len(r.Steps))}
	for i, st := range r.Steps {
		s.Points[i] = ChartPoint{T: st.Time, V: float64(st.Replicas)}
	}
	return s
}

// NeedSeries is what a replay's metrics asked for at every step (engine.Need), as a dashed
// step line on the right axis beside the count: where the count is below it the replay was
// short, which ShortBands shades.
func NeedSeries(r engine.BacktestResult) ChartSeries {
	s := ChartSeries{Name: "need", Axis: AxisRight, Step: true, Dashed: true, Points: make([]ChartPoint, len(r.Steps))}
	for i, st := range r.Steps {
		s.Points[i] = ChartPoint{T: st.Time, V: float64(st.Need)}
	}
	return s
}

// ShortBands are the spans of a replay when the count was below the need, one per run of short
// steps, each labelled with its length and its deepest shortfall.
func ShortBands(r engine.BacktestResult) []ChartBand {
	var bands []ChartBand
	for i := 0; i < len(r.Steps); i++ {
		st := r.Steps[i]
		if st.Replicas >= st.Need {
			continue
		}
		from, deepest := st.Time, 0
		j := i
		for ; j < len(r.Steps) && r.Steps[j].Replicas < r.Steps[j].Need; j++ {
			deepest = max(deepest, r.Steps[j].Need-r.Steps[j].Replicas)
		}
		to := stepEnd(r, j-1)
		bands = append(bands, ChartBand{From: from, To: to,
			Label: "short " + to.Sub(from).String() + " from " + from.UTC().Format(time.RFC3339) + ", by up to " + strconv.Itoa(deepest) + " " + plural(deepest, "replica", "replicas")})
		i = j - 1
	}
	return bands
}

// stepEnd is when step i of a replay ends: the next step's time, or the last step's time plus
// the step before it.
func stepEnd(r engine.BacktestResult, i int) time.Time {
	switch {
	case i+1 < len(r.Steps):
		return r.Steps[i+1].Time
	case i > 0:
		return r.Steps[i].Time.Add(r.Steps[i].Time.Sub(r.Steps[i-1].Time))
	}
	return r.Steps[i].Time.Add(time.Minute)
}

// plural is one or many, by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// MetricSeries is the value of the replayed policy's metric number metric at every step, on
// the left axis; a missing value is a gap in the line.
func MetricSeries(name string, r engine.BacktestResult, metric int) ChartSeries {
	s := ChartSeries{Name: name, Points: make([]ChartPoint, len(r.Steps))}
	for i, st := range r.Steps {
		v := math.NaN() // missing: a gap
		if metric < len(st.Metrics) && !st.Metrics[metric].Missing {
			v = st.Metrics[metric].Value
		}
		s.Points[i] = ChartPoint{T: st.Time, V: v}
	}
	return s
}

// ChangeMarks marks every change of a replay; a marker's tooltip carries the change and, up
// to backtestMaxMarkReasons changes, its reasons.
func ChangeMarks(r engine.BacktestResult) []ChartMark {
	marks := make([]ChartMark, len(r.Decisions))
	for i, d := range r.Decisions {
		label := d.Time.UTC().Format(time.RFC3339) + "  " + strconv.Itoa(d.From) + " → " + strconv.Itoa(d.To)
		if len(r.Decisions) <= backtestMaxMarkReasons {
			for _, reason := range d.Reasons {
				label += "\n" + reason.Message
			}
		}
		marks[i] = ChartMark{T: d.Time, Label: label, Up: d.To > d.From}
	}
	return marks
}

// MetricGuides are the values a metric's rule compares against, where they are on the metric's
// own scale: the step rule's thresholds, the Value target.
func MetricGuides(m *policy.Metric) []ChartGuide {
	var g []ChartGuide
	if m.ScaleUp != nil && m.ScaleUp.Threshold != nil {
		g = append(g, ChartGuide{Label: "scaleUp.threshold " + formatValue(*m.ScaleUp.Threshold), V: *m.ScaleUp.Threshold})
	}
	if m.ScaleDown != nil && m.ScaleDown.Threshold != nil {
		g = append(g, ChartGuide{Label: "scaleDown.threshold " + formatValue(*m.ScaleDown.Threshold), V: *m.ScaleDown.Threshold})
	}
	if m.Target != nil && m.Target.Type == policy.TargetValue && m.Target.Value != nil {
		g = append(g, ChartGuide{Label: "target value " + formatValue(*m.Target.Value), V: *m.Target.Value})
	}
	return g
}

func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type backtestPage struct {
	Policy, Start, End, Step string
	Initial                  int
	Summary                  engine.BacktestSummary
	ReplicaHours             float64
	AvgReplicas              float64
	UnderProvisioned         string
	UnderProvisionedPct      float64
	ShortReplicaMinutes      float64
	Charts                   []template.HTML
	Rows                     []backtestRow
	Omitted                  int
	Optimum                  *optimumLines
}

// optimumLines are the optimum's lines of the report's summary.
type optimumLines struct {
	Best, Hull, Frontier string
}

type backtestRow struct {
	Time     string
	From, To int
	Up       bool
	Metrics  []string
	Reasons  []engine.Reason
}

var backtestTemplate = template.Must(template.New("backtest").Funcs(template.FuncMap{
	"f1":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"join": strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Backtest {{.Policy}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
p.range { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; font-size: 0.9rem; }
th { background: #f3f3f3; }
table.summary td:nth-child(2) { text-align: right; font-variant-numeric: tabular-nums; }
td.up { color: #2e7d32; white-space: nowrap; }
td.down { color: #c62828; white-space: nowrap; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
ul { margin: 0; padding-left: 1.1rem; }
code { font-size: 0.85rem; }
.chart { display: block; max-width: 100%; height: auto; margin: 0.5rem 0 1rem; }
</style>
</head>
<body>
<h1>Backtest of {{.Policy}}</h1>
<p class="range">{{.Start}} to {{.End}}, every {{.Step}}, starting at {{.Initial}} replicas</p>

<h2>Summary</h2>
<table class="summary">
<tr><td>evaluations</td><td>{{.Summary.Evaluations}}</td></tr>
<tr><td>changes (commits a live run would have made)</td><td>{{.Summary.Changes}}</td></tr>
<tr><td>scale-ups</td><td>{{.Summary.ScaleUps}}</td></tr>
<tr><td>scale-downs</td><td>{{.Summary.ScaleDowns}}</td></tr>
<tr><td>replica-hours</td><td>{{f1 .ReplicaHours}}</td></tr>
<tr><td>average replicas</td><td>{{f1 .AvgReplicas}}</td></tr>
<tr><td>under-provisioned (below the metrics' need)</td><td>{{.UnderProvisioned}} ({{f1 .UnderProvisionedPct}} %)</td></tr>
<tr><td>short depth (replica-minutes)</td><td>{{f1 .ShortReplicaMinutes}}</td></tr>
{{with .Optimum}}<tr class="optimum"><td>offline optimum (the whole trace known in advance, never short)</td><td>{{.Best}}</td></tr>
{{if .Hull}}<tr class="optimum"><td>its convex hull</td><td>{{.Hull}}</td></tr>
{{end}}<tr class="optimum"><td>frontier: changes → replica-hours (× the need's)</td><td>{{.Frontier}}</td></tr>
{{end}}</table>

<h2>Metrics and replicas</h2>
{{range .Charts}}{{.}}
{{end}}
<h2>Decisions</h2>
{{if .Rows}}<table class="decisions">
<tr><th>time</th><th>change</th><th>metrics</th><th>reasons</th></tr>
{{range .Rows}}<tr><td class="time">{{.Time}}</td><td class="{{if .Up}}up{{else}}down{{end}}">{{.From}} → {{.To}}</td><td>{{join .Metrics ", "}}</td><td><ul>{{range .Reasons}}<li title="{{.Code}}">{{.Message}}</li>{{end}}</ul></td></tr>
{{end}}</table>
{{if .Omitted}}<p>… and {{.Omitted}} more decisions; the JSON output (<code>-o json</code>) lists them all.</p>{{end}}
{{else}}<p>No changes: the policy would have kept the count at {{.Initial}}.</p>
{{end}}</body>
</html>
`))
