package web

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var chartT0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

func chartPoints(n int, step time.Duration, f func(i int) float64) []ChartPoint {
	pts := make([]ChartPoint, n)
	for i := range pts {
		pts[i] = ChartPoint{T: chartT0.Add(time.Duration(i) * step), V: f(i)}
	}
	return pts
}

// chartWellFormed fails the test unless s parses as XML: every element closed, every text escaped.
func chartWellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		require.NoError(t, err)
	}
}

func TestSVGChart(t *testing.T) {
	c := Chart{
		Title: `http_rps <script>alert("x")</script>`,
		Series: []ChartSeries{
			{Name: "http_rps", Unit: "req/s", Points: chartPoints(120, 30*time.Second, func(i int) float64 { return float64(i * 3) })},
			{Name: "replicas", Axis: AxisRight, Step: true, Points: chartPoints(120, 30*time.Second, func(i int) float64 { return float64(3 + i/40) })},
		},
		Marks: []ChartMark{
			{T: chartT0.Add(20 * time.Minute), Label: "3 → 4 & <b>more</b>", Up: true},
			{T: chartT0.Add(40 * time.Minute), Label: "4 → 5", Up: true},
			{T: chartT0.Add(50 * time.Minute), Label: "5 → 4"},
		},
		Guides: []ChartGuide{{Label: "scaleUp.threshold 250", V: 250}},
	}
	svg := string(SVGChart(c))

	chartWellFormed(t, svg)
	assert.True(t, strings.HasPrefix(svg, "<svg "))
	assert.Equal(t, 1, strings.Count(svg, "<svg"))
	assert.Equal(t, 2, strings.Count(svg, "<polyline"), "one polyline per series")
	assert.Equal(t, 3, strings.Count(svg, `class="mark `), "one marker per change")
	assert.Equal(t, 2, strings.Count(svg, `class="mark mark-up"`))
	assert.Equal(t, 1, strings.Count(svg, `class="mark mark-down"`))
	assert.Equal(t, 1, strings.Count(svg, `class="guide"`))
	assert.Contains(t, svg, "<title>3 → 4 &amp; &lt;b&gt;more&lt;/b&gt;</title>", "tooltip, escaped")
	assert.NotContains(t, svg, "<script")
	assert.NotContains(t, svg, "<b>")
	assert.Contains(t, svg, "replicas (right axis)")
	assert.Contains(t, svg, "http_rps [req/s]")
	assert.NotContains(t, svg, "http://")
	assert.NotContains(t, svg, "https://")
	assert.Contains(t, svg, ">11:00<", "time axis labels")
}

func TestSVGChartStepLineAndMarkerPosition(t *testing.T) {
	// Replicas 2 for a minute, then 4: the step line goes right, then up at the change.
	c := Chart{
		Width: 200, Height: 140, // plot x 64..144, y 40..108
		Series: []ChartSeries{{Name: "replicas", Axis: AxisRight, Step: true, Points: []ChartPoint{
			{T: chartT0, V: 2}, {T: chartT0.Add(30 * time.Second), V: 2}, {T: chartT0.Add(time.Minute), V: 4}, {T: chartT0.Add(2 * time.Minute), V: 4},
		}}},
		Marks: []ChartMark{{T: chartT0.Add(time.Minute), Label: "2 → 4", Up: true}},
	}
	svg := string(SVGChart(c))
	chartWellFormed(t, svg)
	// Axis 0..5 (integer ticks, headroom above 4): y(2) = 108 − 68·2/5 = 80.8, y(4) = 53.6.
	// The unchanged middle point is dropped; the change is drawn as a vertical segment at x = 104.
	assert.Contains(t, svg, `points="64,80.8 104,80.8 104,53.6 144,53.6 "`)
	assert.Contains(t, svg, `<path d="M99,57.6h10l-5,-9z"`, "marker sits on the replica line at (104, 53.6)")
}

func TestSVGChartEdgeCases(t *testing.T) {
	tests := []struct {
		name      string
		chart     Chart
		polylines int
	}{
		{name: "empty", chart: Chart{}, polylines: 0},
		{name: "single point", chart: Chart{Series: []ChartSeries{{Name: "a", Points: chartPoints(1, time.Second, func(int) float64 { return 5 })}}}, polylines: 1},
		{name: "constant zero", chart: Chart{Series: []ChartSeries{{Name: "a", Points: chartPoints(10, time.Second, func(int) float64 { return 0 })}}}, polylines: 1},
		{name: "negative values", chart: Chart{Series: []ChartSeries{{Name: "a", Points: chartPoints(10, time.Second, func(i int) float64 { return float64(-i) })}}}, polylines: 1},
		{name: "NaN and Inf dropped", chart: Chart{Series: []ChartSeries{{Name: "a", Points: chartPoints(10, time.Second, func(i int) float64 {
			return []float64{1, math.NaN(), math.Inf(1), 2}[i%4]
		})}}}, polylines: 1},
		{name: "all missing", chart: Chart{Series: []ChartSeries{{Name: "a", Points: chartPoints(3, time.Second, func(int) float64 { return math.NaN() })}}}, polylines: 1},
		{name: "marks only", chart: Chart{Marks: []ChartMark{{T: chartT0, Label: "x"}}}, polylines: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(SVGChart(tt.chart))
			chartWellFormed(t, svg)
			assert.Equal(t, tt.polylines, strings.Count(svg, "<polyline"))
			assert.NotContains(t, svg, "NaN")
			assert.NotContains(t, svg, "Inf")
		})
	}
}

func TestSVGChartDownsamplesLongSeries(t *testing.T) {
	week := chartPoints(40320, 15*time.Second, func(i int) float64 { return float64(i % 97) })
	svg := string(SVGChart(Chart{Series: []ChartSeries{{Name: "a", Points: week}}}))
	chartWellFormed(t, svg)
	start := strings.Index(svg, `points="`)
	require.Positive(t, start)
	pts := strings.Fields(svg[start+len(`points="`) : start+strings.Index(svg[start:], `">`)])
	assert.LessOrEqual(t, len(pts), DefaultChartMaxPoints)
	assert.Less(t, len(svg), 64*1024, "a week stays a small drawing")
}

func TestDownsample(t *testing.T) {
	pts := chartPoints(10000, time.Second, func(i int) float64 {
		switch i {
		case 5003:
			return 1000 // a one-sample spike
		case 7001:
			return -50 // a one-sample dip
		}
		return 10
	})
	pts[0].V, pts[len(pts)-1].V = 10, 10

	got := downsample(pts, 200)
	require.LessOrEqual(t, len(got), 200)
	assert.Equal(t, pts[0], got[0], "first kept")
	assert.Equal(t, pts[len(pts)-1], got[len(got)-1], "last kept")
	assert.Contains(t, got, pts[5003], "spike kept")
	assert.Contains(t, got, pts[7001], "dip kept")
	for i := 1; i < len(got); i++ {
		assert.True(t, got[i].T.After(got[i-1].T), "time order at %d", i)
	}

	short := chartPoints(10, time.Second, func(i int) float64 { return float64(i) })
	assert.Equal(t, short, downsample(short, 200), "short series untouched")
}

func TestStepChanges(t *testing.T) {
	vals := []float64{3, 3, 3, 6, 6, 9, 9, 9, 4, 4}
	pts := chartPoints(len(vals), time.Second, func(i int) float64 { return vals[i] })
	got := stepChanges(pts)
	assert.Equal(t, []ChartPoint{pts[0], pts[3], pts[5], pts[8], pts[9]}, got)
}

func TestTicks(t *testing.T) {
	tests := []struct {
		name    string
		lo, hi  float64
		integer bool
		want    []float64
		labels  []string
	}{
		{name: "rps", lo: 10, hi: 312.4, want: []float64{0, 100, 200, 300, 400}, labels: []string{"0", "100", "200", "300", "400"}},
		{name: "latency", lo: 0.1, hi: 0.45, want: []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5}, labels: []string{"0.0", "0.1", "0.2", "0.3", "0.4", "0.5"}},
		{name: "replicas", lo: 3, hi: 4, integer: true, want: []float64{0, 1, 2, 3, 4, 5}, labels: []string{"0", "1", "2", "3", "4", "5"}},
		{name: "replicas never in halves", lo: 3, hi: 12, integer: true, want: []float64{0, 3, 6, 9, 12, 15}, labels: []string{"0", "3", "6", "9", "12", "15"}},
		{name: "big", lo: 0, hi: 48000, want: []float64{0, 10000, 20000, 30000, 40000, 50000}, labels: []string{"0", "10k", "20k", "30k", "40k", "50k"}},
		{name: "quarter steps", lo: 0, hi: 12, want: []float64{0, 2.5, 5, 7.5, 10, 12.5}, labels: []string{"0.0", "2.5", "5.0", "7.5", "10.0", "12.5"}},
		{name: "negative", lo: -7, hi: 3, want: []float64{-8, -6, -4, -2, 0, 2, 4}, labels: []string{"-8", "-6", "-4", "-2", "0", "2", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s valueScale
			s.add(tt.lo)
			s.add(tt.hi)
			s.nice(6, tt.integer)
			assert.Equal(t, tt.want, s.ticks())
			var labels []string
			for _, v := range s.ticks() {
				labels = append(labels, fmtTick(v, s.step))
			}
			assert.Equal(t, tt.labels, labels)
		})
	}
}

func TestTimeTicks(t *testing.T) {
	tests := []struct {
		span time.Duration
		step time.Duration
		at   time.Time
		want string
	}{
		{span: 2 * time.Hour, step: 15 * time.Minute, at: chartT0, want: "11:00"},
		{span: 7 * 24 * time.Hour, step: 24 * time.Hour, at: chartT0, want: "Nov 22"},
		{span: 36 * time.Hour, step: 6 * time.Hour, at: chartT0, want: "Nov 22 11:00"},
		{span: time.Minute, step: 15 * time.Second, at: chartT0.Add(15 * time.Second), want: "11:00:15"},
	}
	for _, tt := range tests {
		t.Run(tt.span.String(), func(t *testing.T) {
			step := timeTickStep(tt.span)
			assert.Equal(t, tt.step, step)
			assert.Equal(t, tt.want, fmtTimeTick(tt.at, step, tt.span))
		})
	}
}

// legendItem is a legend entry as drawn: its swatch and its label.
type legendItem struct {
	rectX, rectY, rectW float64
	textX, textY        float64
	text                string
}

// chartLegend reads an SVG chart's legend entries (a 4-pixel-high swatch and the label after
// it) and the top of its plot (the frame rect).
func chartLegend(t *testing.T, svg string) (items []legendItem, plotTop float64) {
	t.Helper()
	attr := func(se xml.StartElement, name string) float64 {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				v, err := strconv.ParseFloat(a.Value, 64)
				require.NoError(t, err)
				return v
			}
		}
		t.Fatalf("no %s on %s", name, se.Name.Local)
		return 0
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	var pending *legendItem
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return items, plotTop
		}
		require.NoError(t, err)
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case se.Name.Local == "rect" && attr(se, "height") == 4:
			pending = &legendItem{rectX: attr(se, "x"), rectY: attr(se, "y"), rectW: attr(se, "width")}
		case se.Name.Local == "rect":
			plotTop = attr(se, "y")
		case se.Name.Local == "text" && pending != nil:
			var s string
			require.NoError(t, d.DecodeElement(&s, &se))
			pending.textX, pending.textY, pending.text = attr(se, "x"), attr(se, "y"), s
			items = append(items, *pending)
			pending = nil
		}
	}
}

// TestSVGChartLegendStaysInside: with 1 to 5 series of long names, every legend swatch and
// label (x plus its estimated width) stays within the viewBox's width — entries wrap to new
// rows, a label too long for a row is cut — no two entries of a row overlap, and every row
// sits above the plot.
func TestSVGChartLegendStaysInside(t *testing.T) {
	long := []string{
		"http_requests_per_second_by_ingress",
		"policies/production/web-frontend.yaml#shop/web-frontend",
		"examples/hpa-with-a-very-long-file-name.yaml",
		"examples/keda-scaledobject-for-the-checkout-service.yaml",
		"policies/staging/the-worker-that-drains-the-order-queue.yaml#shop/worker",
	}
	huge := strings.Repeat("a-name-far-longer-than-any-chart-is-wide-", 4)
	for _, tc := range []struct {
		name  string
		width int
		title string
		names []string
	}{
		{name: "comparison chart", width: 960, title: "http_requests_per_second_by_ingress and the replicas of each policy"},
		{name: "no title", width: 960},
		{name: "status page size", width: 520},
		{name: "narrow with a title", width: 320, title: "replicas"},
		{name: "a name wider than the chart", width: 520, title: "t", names: []string{huge, huge}},
	} {
		names := tc.names
		if names == nil {
			names = long
		}
		for n := 1; n <= len(names); n++ {
			t.Run(fmt.Sprintf("%s/%d series", tc.name, n), func(t *testing.T) {
				c := Chart{Title: tc.title, Width: tc.width, Height: 360}
				for i, name := range names[:n] {
					s := ChartSeries{Name: name, Points: chartPoints(10, time.Minute, func(j int) float64 { return float64(j) })}
					if i > 0 {
						s.Axis, s.Step = AxisRight, true
					}
					c.Series = append(c.Series, s)
				}
				svg := string(SVGChart(c))
				chartWellFormed(t, svg)
				items, plotTop := chartLegend(t, svg)
				require.Len(t, items, n, "one legend entry per series")
				w := float64(tc.width)
				for i, it := range items {
					assert.GreaterOrEqual(t, it.rectX, 0.0)
					assert.LessOrEqual(t, it.rectX+it.rectW, w, "swatch %d inside", i)
					assert.LessOrEqual(t, it.textX+legendTextWidth(it.text), w, "label %d %q inside", i, it.text)
					assert.Less(t, it.textY, plotTop, "label %d above the plot", i)
					if i > 0 && items[i-1].rectY == it.rectY {
						prev := items[i-1]
						assert.Less(t, prev.textX+legendTextWidth(prev.text), it.rectX, "entries %d and %d overlap", i-1, i)
					}
					if !strings.HasSuffix(it.text, "…") {
						assert.True(t, strings.HasPrefix(it.text, names[i]), "label %d %q names its series", i, it.text)
					}
				}
			})
		}
	}
}

// TestSVGChartLegendWrapsOnlyWhenFull: a legend that fits keeps one row and the plot its
// full height; one that does not wraps, and the plot gives up one row's height for it.
func TestSVGChartLegendWrapsOnlyWhenFull(t *testing.T) {
	for _, tc := range []struct {
		name    string
		names   []string
		rows    int
		plotTop float64
	}{
		{name: "fits", names: []string{"http_rps", "a.yaml"}, rows: 1, plotTop: chartMarginTop},
		{name: "wraps", names: []string{"http_rps", "policies/web.yaml#shop/web", "examples/hpa.yaml", "examples/keda-scaledobject.yaml"}, rows: 2, plotTop: chartMarginTop + chartLegendRow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Chart{Title: "http_rps and the replicas of each policy", Height: 360}
			for _, name := range tc.names {
				c.Series = append(c.Series, ChartSeries{Name: name, Axis: AxisRight, Step: true, Points: chartPoints(3, time.Minute, func(int) float64 { return 3 })})
			}
			items, plotTop := chartLegend(t, string(SVGChart(c)))
			rows := map[float64]bool{}
			for _, it := range items {
				rows[it.rectY] = true
			}
			assert.Len(t, rows, tc.rows)
			assert.Equal(t, tc.plotTop, plotTop)
		})
	}
}

// TestClusterMarks: marks closer than a marker's width to a cluster's first are drawn as one,
// with their count, pointing the way most of them went.
func TestClusterMarks(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	at := func(px float64) time.Time { return t0.Add(time.Duration(px * float64(time.Second))) }
	x := func(t time.Time) float64 { return t.Sub(t0).Seconds() } // one pixel a second
	mark := func(px float64, up bool) ChartMark {
		return ChartMark{T: at(px), Up: up, Label: fmt.Sprintf("at %g", px)}
	}
	tests := []struct {
		name   string
		marks  []ChartMark
		counts []int
		ups    []bool
	}{
		{"apart", []ChartMark{mark(0, true), mark(20, false)}, []int{1, 1}, []bool{true, false}},
		{"a minute of commits", []ChartMark{mark(0, true), mark(1, true), mark(2, false), mark(3, true)}, []int{4}, []bool{true}},
		{"mostly down", []ChartMark{mark(0, true), mark(2, false), mark(4, false)}, []int{3}, []bool{false}},
		{"a chain is cut at the gap", []ChartMark{mark(0, true), mark(5, true), mark(10, true), mark(15, true)}, []int{2, 2}, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clusterMarks(tt.marks, x)
			require.Len(t, got, len(tt.counts))
			for i, c := range got {
				assert.Equal(t, tt.counts[i], c.count, "cluster %d", i)
				assert.Equal(t, tt.ups[i], c.Up, "cluster %d", i)
				if c.count > 1 {
					assert.True(t, strings.HasPrefix(c.Label, fmt.Sprintf("%d changes:\n", c.count)), c.Label)
					assert.Equal(t, c.count, strings.Count(c.Label, "at "), "every change in the tooltip")
				}
			}
		})
	}
}

// TestLegendLayoutNeverOverlapsOrSplitsAnEntry: the compare chart's legend, at the page widths
// people look at it (800 and 1400 px) and the default 960, with the series a comparison draws
// (the metric, then each policy's replicas on the right axis). No two entries' boxes overlap,
// every entry is whole (not cut) and inside the chart, and when the legend takes more than one
// row its entries stand in columns: each one at the left of its column in the first row.
func TestLegendLayoutNeverOverlapsOrSplitsAnEntry(t *testing.T) {
	policies := []string{"laravel-demo/laravel-web", "laravel-demo/laravel-web-hpa", "examples/keda-scaledobject-for-checkout.yaml",
		"policies/staging/web.yaml#shop/web", "examples/hpa.yaml"}
	for _, tc := range []struct {
		name     string
		width    int
		policies int
		rows     int
	}{
		{name: "800 px, the demo's two policies", width: 800, policies: 2, rows: 1},
		{name: "800 px, five policies", width: 800, policies: 5, rows: 3},
		{name: "960 px, three policies", width: 960, policies: 3, rows: 2},
		{name: "1400 px, the demo's two policies", width: 1400, policies: 2, rows: 1},
		{name: "1400 px, five policies", width: 1400, policies: 5, rows: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			series := []ChartSeries{{Name: "http_rps"}}
			for _, p := range policies[:tc.policies] {
				series = append(series, ChartSeries{Name: p, Axis: AxisRight, Step: true})
			}
			left, right := float64(chartMarginLeft), float64(tc.width-chartLegendPad)
			entries, rows := layoutLegend(series, seriesColors(series), left, float64(tc.width))
			require.Len(t, entries, len(series))
			assert.Equal(t, tc.rows, rows)
			end := func(e legendEntry) float64 { return e.x + chartLegendSwatch + legendTextWidth(e.label) }
			for i, e := range entries {
				assert.True(t, strings.HasPrefix(e.label, series[i].Name) && !strings.HasSuffix(e.label, "…"), "entry %d whole: %q", i, e.label)
				assert.GreaterOrEqual(t, e.x, left, "entry %d inside", i)
				assert.LessOrEqual(t, end(e), right, "entry %d %q inside", i, e.label)
				row := int((e.y - chartLegendY) / chartLegendRow)
				assert.Less(t, row, rows)
				for j, o := range entries[:i] {
					if o.y == e.y {
						assert.Less(t, end(o), e.x, "entries %d and %d overlap", j, i)
					}
				}
				if rows > 1 && row > 0 {
					var col *legendEntry
					for k := range entries {
						if entries[k].y == chartLegendY && entries[k].x == e.x {
							col = &entries[k]
						}
					}
					assert.NotNil(t, col, "entry %d starts a column of the first row", i)
				}
			}
		})
	}
}
