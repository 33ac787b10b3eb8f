package web

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ChartAxis says which vertical axis a series is drawn against.
type ChartAxis int

// Chart axes: metrics go on the left, the replica count on the right.
const (
	AxisLeft ChartAxis = iota
	AxisRight
)

// DefaultChartMaxPoints bounds the points drawn per line; longer series are downsampled to the
// minimum and maximum of each bucket, so spikes survive and a 7-day trace stays a small page.
const DefaultChartMaxPoints = 2000

// Chart is a time-series chart drawn as inline SVG: one polyline per series, a left and a right
// axis, and marks at instants (the replica changes), each with a tooltip.
type Chart struct {
	Title string
	// Width and Height are in pixels (default 960×300).
	Width, Height int
	Series        []ChartSeries
	Marks         []ChartMark
	// Guides are horizontal reference lines, such as a metric's thresholds.
	Guides []ChartGuide
	// Bands shade spans of time behind the lines, such as the time a replay was short.
	Bands []ChartBand
	// MaxPoints bounds the points per line (default DefaultChartMaxPoints).
	MaxPoints int
}

// ChartSeries is one line of a chart.
type ChartSeries struct {
	Name string
	Unit string
	// Points are in time order. NaN and ±Inf points are left out of the line.
	Points []ChartPoint
	Axis   ChartAxis
	// Step draws the series as a step line: each value holds until the next point, as a replica
	// count does.
	Step bool
	// Dashed draws the line dashed, for a reference such as the need rather than a count.
	Dashed bool
}

// ChartBand is a span of time shaded across the plot; Label is its tooltip.
type ChartBand struct {
	From, To time.Time
	Label    string
}

// ChartPoint is one value at one instant.
type ChartPoint struct {
	T time.Time
	V float64
}

// ChartMark marks an instant, such as a replica change; Label is its tooltip.
type ChartMark struct {
	T     time.Time
	Label string
	Up    bool
}

// ChartGuide is a horizontal line at a value of one axis.
type ChartGuide struct {
	Label string
	V     float64
	Axis  ChartAxis
}

// Chart layout, in pixels.
const (
	chartMarginLeft   = 64
	chartMarginRight  = 56
	chartMarginTop    = 40
	chartMarginBottom = 32
	// Beyond this many marks only the markers are drawn, not a rule across the plot for each.
	chartMaxMarkRules = 200
)

var (
	chartLeftColors  = []string{"#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"}
	chartRightColors = []string{"#ff7f0e", "#bcbd22", "#d62728"}
)

const (
	chartUpColor   = "#2e7d32"
	chartDownColor = "#c62828"
)

// SVGChart draws c as a self-contained inline SVG element (no external references, no script):
// safe to embed in any HTML page. Every text from c is escaped. It is drawn in layers, back to
// front: the frame and its axes, the guides, the series, the marks and the legend.
func SVGChart(c Chart) template.HTML {
	f := newChartFrame(c)
	var b strings.Builder
	b.Grow(4096 + 16*f.maxPts*len(f.lines))
	f.writeHeader(&b, c.Title)
	f.writeAxes(&b)
	f.writeBands(&b, c.Bands)
	f.writeGuides(&b, c.Guides)
	f.writeSeries(&b, c.Series)
	f.writeMarks(&b, c.Series, c.Marks)
	f.writeGuideLabels(&b, c.Guides)
	f.writeLegend(&b)
	b.WriteString("</svg>")
	return template.HTML(b.String()) // every text written is escaped
}

// chartFrame is a chart's geometry: its size, the plot area, the lines as drawn, the time
// and value scales, each series' color and the legend's layout.
type chartFrame struct {
	w, h     int
	maxPts   int
	px0, px1 float64 // the plot's left and right
	py0, py1 float64 // the plot's top and bottom
	lines    [][]ChartPoint
	colors   []string
	tmin     time.Time
	tmax     time.Time
	axes     [2]valueScale
	legend   []legendEntry
}

func newChartFrame(c Chart) *chartFrame {
	f := &chartFrame{w: c.Width, h: c.Height, maxPts: c.MaxPoints}
	if f.w <= 0 {
		f.w = 960
	}
	if f.h <= 0 {
		f.h = 300
	}
	if f.maxPts <= 0 {
		f.maxPts = DefaultChartMaxPoints
	}
	f.px0, f.px1 = float64(chartMarginLeft), float64(f.w-chartMarginRight)
	f.colors = seriesColors(c.Series)
	var rows int
	f.legend, rows = layoutLegend(c.Series, f.colors, f.px0, float64(f.w))
	// Each legend row past the first takes its height from the top of the plot.
	f.py0 = float64(chartMarginTop + max(rows-1, 0)*chartLegendRow)
	f.py1 = float64(f.h - chartMarginBottom)

	// The lines as drawn: no non-finite points, step lines compressed to their changes,
	// downsampled.
	f.lines = make([][]ChartPoint, len(c.Series))
	for i, s := range c.Series {
		pts := finitePoints(s.Points)
		if s.Step {
			pts = stepChanges(pts)
		}
		f.lines[i] = downsample(pts, f.maxPts)
	}
	f.scaleTime(c.Marks)
	f.scaleValues(c.Series, c.Guides)
	return f
}

// scaleTime spans the time axis over the lines and the marks (at least a minute).
func (f *chartFrame) scaleTime(marks []ChartMark) {
	widen := func(t time.Time) {
		if f.tmin.IsZero() || t.Before(f.tmin) {
			f.tmin = t
		}
		if f.tmax.IsZero() || t.After(f.tmax) {
			f.tmax = t
		}
	}
	for _, pts := range f.lines {
		if len(pts) > 0 {
			widen(pts[0].T)
			widen(pts[len(pts)-1].T)
		}
	}
	for _, m := range marks {
		widen(m.T)
	}
	if !f.tmax.After(f.tmin) {
		f.tmax = f.tmin.Add(time.Minute)
	}
}

// scaleValues spans each value axis over its lines and its finite guides, in round numbers.
func (f *chartFrame) scaleValues(series []ChartSeries, guides []ChartGuide) {
	for i, s := range series {
		for _, p := range f.lines[i] {
			f.axes[s.Axis].add(p.V)
		}
	}
	for _, g := range guides {
		if !math.IsNaN(g.V) && !math.IsInf(g.V, 0) {
			f.axes[g.Axis].add(g.V)
		}
	}
	for a := range f.axes {
		f.axes[a].nice(6, anyStep(series, ChartAxis(a)))
	}
}

// x is an instant's horizontal position.
func (f *chartFrame) x(t time.Time) float64 {
	return f.px0 + (f.px1-f.px0)*float64(t.Sub(f.tmin))/float64(f.tmax.Sub(f.tmin))
}

// y is a value's vertical position on axis a.
func (f *chartFrame) y(a ChartAxis, v float64) float64 {
	s := f.axes[a]
	return f.py1 - (f.py1-f.py0)*(v-s.lo)/(s.hi-s.lo)
}

// writeHeader opens the svg element and draws the title and the plot's frame.
func (f *chartFrame) writeHeader(b *strings.Builder, title string) {
	w, h := strconv.Itoa(f.w), strconv.Itoa(f.h)
	// As wide as its container, the height following: the chart fills a wide window and
	// shrinks in a narrow one.
	b.WriteString(`<svg class="chart" viewBox="0 0 ` + w + " " + h + `" width="100%" style="max-width:100%;height:auto;display:block`)
	b.WriteString(`" role="img" font-family="sans-serif" font-size="11" aria-label="` + esc(title) + `"><title>` + esc(title) + "</title>\n")
	if title != "" {
		b.WriteString(`<text x="` + fmtF(f.px0) + `" y="16" font-size="14" font-weight="bold">` + esc(title) + "</text>\n")
	}
	b.WriteString(`<rect x="` + fmtF(f.px0) + `" y="` + fmtF(f.py0) + `" width="` + fmtF(f.px1-f.px0) + `" height="` + fmtF(f.py1-f.py0) +
		`" fill="#fafafa" stroke="#ccc"/>` + "\n")
}

// writeAxes draws the value axes — grid lines from the left axis (the right one's when it is
// alone), labels on both sides — and the time axis with its grid.
func (f *chartFrame) writeAxes(b *strings.Builder) {
	for a, s := range f.axes {
		if !s.used {
			continue
		}
		anchor, lx := "end", f.px0-6
		if ChartAxis(a) == AxisRight {
			anchor, lx = "start", f.px1+6
		}
		for _, v := range s.ticks() {
			yy := f.y(ChartAxis(a), v)
			if ChartAxis(a) == AxisLeft || !f.axes[AxisLeft].used {
				b.WriteString(`<line x1="` + fmtF(f.px0) + `" x2="` + fmtF(f.px1) + `" y1="` + fmtF(yy) + `" y2="` + fmtF(yy) + `" stroke="#e6e6e6"/>` + "\n")
			}
			b.WriteString(`<text x="` + fmtF(lx) + `" y="` + fmtF(yy+4) + `" text-anchor="` + anchor + `">` + esc(fmtTick(v, s.step)) + "</text>\n")
		}
	}
	span := f.tmax.Sub(f.tmin)
	tstep := timeTickStep(span)
	for t := f.tmin.Truncate(tstep); !t.After(f.tmax); t = t.Add(tstep) {
		if t.Before(f.tmin) {
			continue
		}
		xx := f.x(t)
		b.WriteString(`<line x1="` + fmtF(xx) + `" x2="` + fmtF(xx) + `" y1="` + fmtF(f.py0) + `" y2="` + fmtF(f.py1) + `" stroke="#eee"/>` + "\n")
		b.WriteString(`<text x="` + fmtF(xx) + `" y="` + fmtF(f.py1+16) + `" text-anchor="middle">` + esc(fmtTimeTick(t, tstep, span)) + "</text>\n")
	}
}

// chartMaxBands bounds the bands drawn; beyond it, bands closer than a pixel are merged.
const chartMaxBands = 500

// writeBands shades each band across the plot, clipped to the time axis.
func (f *chartFrame) writeBands(b *strings.Builder, bands []ChartBand) {
	type span struct {
		x0, x1 float64
		label  string
	}
	var spans []span
	for _, bd := range bands {
		if !bd.To.After(bd.From) {
			continue
		}
		x0, x1 := max(f.x(bd.From), f.px0), min(f.x(bd.To), f.px1)
		if x1 <= x0 {
			continue
		}
		if n := len(spans); n > 0 && (len(bands) > chartMaxBands && x0-spans[n-1].x1 < 1 || x0 <= spans[n-1].x1) {
			spans[n-1].x1 = max(spans[n-1].x1, x1)
			continue
		}
		spans = append(spans, span{x0, x1, bd.Label})
	}
	for _, s := range spans {
		b.WriteString(`<rect class="band" x="` + fmtF(s.x0) + `" y="` + fmtF(f.py0) + `" width="` + fmtF(max(s.x1-s.x0, 1)) + `" height="` + fmtF(f.py1-f.py0) +
			`" fill="` + chartDownColor + `" fill-opacity="0.12"><title>` + esc(s.label) + "</title></rect>\n")
	}
}

// writeGuides draws each finite guide on a used axis as a dashed line, behind the series.
func (f *chartFrame) writeGuides(b *strings.Builder, guides []ChartGuide) {
	for _, g := range guides {
		if math.IsNaN(g.V) || math.IsInf(g.V, 0) || !f.axes[g.Axis].used {
			continue
		}
		yy := f.y(g.Axis, g.V)
		b.WriteString(`<g class="guide"><line x1="` + fmtF(f.px0) + `" x2="` + fmtF(f.px1) + `" y1="` + fmtF(yy) + `" y2="` + fmtF(yy) +
			`" stroke="#999" stroke-dasharray="6 4"/></g>` + "\n")
	}
}

// writeGuideLabels writes each drawn guide's label above its line at the plot's right end,
// over the series and marks (on a halo of the plot's color) so that no line crosses it; a
// label that would overlap the one above it moves below its line.
func (f *chartFrame) writeGuideLabels(b *strings.Builder, guides []ChartGuide) {
	var taken []float64
	for _, g := range guides {
		if math.IsNaN(g.V) || math.IsInf(g.V, 0) || !f.axes[g.Axis].used {
			continue
		}
		yy := f.y(g.Axis, g.V)
		ty := yy - 4
		for _, t := range taken {
			if math.Abs(t-ty) < 12 {
				ty = yy + 12
				break
			}
		}
		taken = append(taken, ty)
		b.WriteString(`<text class="guide-label" x="` + fmtF(f.px1-4) + `" y="` + fmtF(ty) +
			`" text-anchor="end" fill="#555" stroke="#fafafa" stroke-width="4" paint-order="stroke">` + esc(g.Label) + "</text>\n")
	}
}

// writeSeries draws one polyline per series; a step line holds each value until the next.
func (f *chartFrame) writeSeries(b *strings.Builder, series []ChartSeries) {
	for i, s := range series {
		dash := ""
		if s.Dashed {
			dash = `" stroke-dasharray="5 3`
		}
		b.WriteString(`<polyline class="series" data-series="` + esc(s.Name) + `" fill="none" stroke-width="1.5" stroke="` + f.colors[i] + dash + `" points="`)
		var prevY float64
		for j, p := range f.lines[i] {
			xx, yy := f.x(p.T), f.y(s.Axis, p.V)
			if s.Step && j > 0 && yy != prevY {
				b.WriteString(fmtF(xx) + "," + fmtF(prevY) + " ")
			}
			b.WriteString(fmtF(xx) + "," + fmtF(yy) + " ")
			prevY = yy
		}
		b.WriteString(`"><title>` + esc(seriesLabel(s)) + "</title></polyline>\n")
	}
}

// writeMarks draws each mark as a triangle pointing the way the count went, on the first step
// series (the replica count) when there is one, else at the top of the plot; with a rule
// across the plot while there are at most chartMaxMarkRules marks.
func (f *chartFrame) writeMarks(b *strings.Builder, series []ChartSeries, marks []ChartMark) {
	stepIdx := -1
	for i, s := range series {
		if s.Step && len(f.lines[i]) > 0 {
			stepIdx = i
			break
		}
	}
	for _, m := range clusterMarks(marks, f.x) {
		xx := f.x(m.T)
		yy := f.py0 + 8
		if stepIdx >= 0 {
			if v, ok := valueAt(f.lines[stepIdx], m.T); ok {
				yy = f.y(series[stepIdx].Axis, v)
			}
		}
		color, dir, tri := chartDownColor, "down", "M"+fmtF(xx-5)+","+fmtF(yy-4)+"h10l-5,9z"
		if m.Up {
			color, dir, tri = chartUpColor, "up", "M"+fmtF(xx-5)+","+fmtF(yy+4)+"h10l-5,-9z"
		}
		b.WriteString(`<g class="mark mark-` + dir + `">`)
		if len(marks) <= chartMaxMarkRules {
			b.WriteString(`<line x1="` + fmtF(xx) + `" x2="` + fmtF(xx) + `" y1="` + fmtF(f.py0) + `" y2="` + fmtF(f.py1) +
				`" stroke="` + color + `" stroke-opacity="0.25"/>`)
		}
		b.WriteString(`<path d="` + tri + `" fill="` + color + `"/>`)
		if m.count > 1 {
			ty := yy - 8
			if m.Up {
				ty = yy + 18
			}
			b.WriteString(`<text class="mark-count" x="` + fmtF(xx) + `" y="` + fmtF(ty) + `" text-anchor="middle" font-size="10" fill="` + color +
				`" stroke="#fafafa" stroke-width="3" paint-order="stroke">` + strconv.Itoa(m.count) + "</text>")
		}
		b.WriteString("<title>" + esc(m.Label) + "</title></g>\n")
	}
}

// chartMarkGap is the least distance, in pixels, between two markers drawn apart; closer
// marks are drawn as one with their count.
const chartMarkGap = 8

// clusteredMark is a mark standing for count marks drawn at one place; x0 is where the first
// of them is.
type clusteredMark struct {
	ChartMark
	count int
	x0    float64
}

// clusterMarks merges the marks within chartMarkGap of a cluster's first into one, placed at
// the last of them, pointing the way the count went over the cluster (up when more went up
// than down), its tooltip listing all of them: a minute of commits is one marker with its
// count, not a pile.
func clusterMarks(marks []ChartMark, x func(time.Time) float64) []clusteredMark {
	out := make([]clusteredMark, 0, len(marks))
	ups := 0
	for _, m := range marks {
		if n := len(out); n > 0 && x(m.T)-out[n-1].x0 < chartMarkGap {
			c := &out[n-1]
			c.count++
			c.T = m.T
			c.Label += "\n" + m.Label
			if m.Up {
				ups++
			}
			c.Up = 2*ups > c.count
			continue
		}
		ups = 0
		if m.Up {
			ups = 1
		}
		out = append(out, clusteredMark{ChartMark: m, count: 1, x0: x(m.T)})
	}
	for i := range out {
		if out[i].count > 1 {
			out[i].Label = strconv.Itoa(out[i].count) + " changes:\n" + out[i].Label
		}
	}
	return out
}

// seriesColors gives each series its color: the left axis's and the right axis's palettes,
// in turn.
func seriesColors(series []ChartSeries) []string {
	colors := make([]string, len(series))
	var nl, nr int
	for i, s := range series {
		if s.Axis == AxisRight {
			colors[i] = chartRightColors[nr%len(chartRightColors)]
			nr++
		} else {
			colors[i] = chartLeftColors[nl%len(chartLeftColors)]
			nl++
		}
	}
	return colors
}

// Legend layout, in pixels: rows across the top margin below the title, each entry a color
// swatch and its label. Entries that fit side by side take one row; otherwise they go in a grid
// of columns, each as wide as its widest entry, so the rows line up and no entry is split
// between rows or overlaps its neighbour. Each row past the first lowers the plot's top by
// chartLegendRow.
const (
	chartLegendY        = 24  // the first row's swatch top; its label's baseline is 6 lower
	chartLegendRow      = 14  // from one row to the next
	chartLegendSwatch   = 16  // from an entry's swatch to its label
	chartLegendGap      = 14  // after a label, before the next entry
	chartLegendPad      = 8   // kept clear at the right edge
	chartLabelCharWidth = 6.5 // a character of an 11px label, estimated (generously: sans-serif averages less)
)

// legendEntry is one series' place in the legend.
type legendEntry struct {
	x, y  float64 // the swatch's left and top
	label string
	color string
}

// legendTextWidth estimates a legend label's width.
func legendTextWidth(label string) float64 {
	return chartLabelCharWidth * float64(utf8.RuneCountInString(label))
}

// layoutLegend places one entry per series from the plot's left, under the title: in one row
// when they all fit, else in as many aligned columns as fit; a label too long for a row of its own is
// cut short with "…". It returns the entries and the number of rows.
func layoutLegend(series []ChartSeries, colors []string, left, width float64) ([]legendEntry, int) {
	if len(series) == 0 {
		return nil, 0
	}
	room := width - chartLegendPad - left
	labels := make([]string, len(series))
	total := -float64(chartLegendGap)
	for i, s := range series {
		labels[i] = seriesLabel(s)
		if s.Axis == AxisRight {
			labels[i] += " (right axis)"
		}
		if w := chartLegendSwatch + legendTextWidth(labels[i]); w > room {
			labels[i] = cutLabel(labels[i], room-chartLegendSwatch)
		}
		w := chartLegendSwatch + legendTextWidth(labels[i])
		total += w + chartLegendGap
	}
	out := make([]legendEntry, 0, len(series))
	if total <= room { // one row, each entry at its own width
		x := left
		for i, label := range labels {
			out = append(out, legendEntry{x: x, y: chartLegendY, label: label, color: colors[i]})
			x += chartLegendSwatch + legendTextWidth(label) + chartLegendGap
		}
		return out, 1
	}
	// The most columns that fit, each as wide as its widest entry; one column always fits,
	// every label having been cut to the row.
	var lefts []float64
	for cols := len(labels) - 1; cols >= 1; cols-- {
		widths := make([]float64, cols)
		for i, label := range labels {
			widths[i%cols] = max(widths[i%cols], chartLegendSwatch+legendTextWidth(label))
		}
		lefts = lefts[:0]
		x := left
		for _, w := range widths {
			lefts = append(lefts, x)
			x += w + chartLegendGap
		}
		if x-chartLegendGap <= left+room || cols == 1 {
			break
		}
	}
	cols := len(lefts)
	for i, label := range labels {
		out = append(out, legendEntry{x: lefts[i%cols], y: float64(chartLegendY + (i/cols)*chartLegendRow), label: label, color: colors[i]})
	}
	return out, (len(labels)-1)/cols + 1
}

// cutLabel shortens a label to fit width, ending it with "…".
func cutLabel(label string, width float64) string {
	r := []rune(label)
	n := int(width/chartLabelCharWidth) - 1 // room for the ellipsis
	if n <= 0 {
		return "…"
	}
	if n >= len(r) {
		return label
	}
	return string(r[:n]) + "…"
}

// writeLegend draws the legend's entries as laid out.
func (f *chartFrame) writeLegend(b *strings.Builder) {
	for _, e := range f.legend {
		b.WriteString(`<rect x="` + fmtF(e.x) + `" y="` + fmtF(e.y) + `" width="12" height="4" fill="` + e.color + `"/>`)
		b.WriteString(`<text x="` + fmtF(e.x+chartLegendSwatch) + `" y="` + fmtF(e.y+6) + `">` + esc(e.label) + "</text>\n")
	}
}

func seriesLabel(s ChartSeries) string {
	if s.Unit == "" {
		return s.Name
	}
	return s.Name + " [" + s.Unit + "]"
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func fmtF(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

func anyStep(series []ChartSeries, a ChartAxis) bool {
	for _, s := range series {
		if s.Axis == a && s.Step {
			return true
		}
	}
	return false
}

// finitePoints drops NaN and ±Inf points (gaps in the data).
func finitePoints(pts []ChartPoint) []ChartPoint {
	for _, p := range pts {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			out := make([]ChartPoint, 0, len(pts))
			for _, q := range pts {
				if !math.IsNaN(q.V) && !math.IsInf(q.V, 0) {
					out = append(out, q)
				}
			}
			return out
		}
	}
	return pts
}

// stepChanges keeps, of a step line, the first point, each point whose value differs from the
// one before, and the last point: the same drawing with far fewer points.
func stepChanges(pts []ChartPoint) []ChartPoint {
	if len(pts) <= 2 {
		return pts
	}
	out := []ChartPoint{pts[0]}
	for i := 1; i < len(pts)-1; i++ {
		if pts[i].V != pts[i-1].V {
			out = append(out, pts[i])
		}
	}
	return append(out, pts[len(pts)-1])
}

// downsample reduces pts to at most max points: the range is cut into max/2 buckets of equal
// point count and each contributes its minimum and maximum, in time order, so peaks and dips
// stay visible. The first and last points are always kept.
func downsample(pts []ChartPoint, maxPts int) []ChartPoint {
	if len(pts) <= maxPts || maxPts < 4 {
		return pts
	}
	buckets := maxPts / 2
	out := make([]ChartPoint, 0, maxPts)
	for k := range buckets {
		lo, hi := k*len(pts)/buckets, (k+1)*len(pts)/buckets
		if lo >= hi {
			continue
		}
		mi, ma := lo, lo
		for j := lo + 1; j < hi; j++ {
			if pts[j].V < pts[mi].V {
				mi = j
			}
			if pts[j].V > pts[ma].V {
				ma = j
			}
		}
		// Keep the ends of the whole series whatever their values.
		if k == 0 {
			if mi != 0 && ma != 0 {
				if pts[mi].V-pts[0].V < pts[ma].V-pts[0].V {
					mi = 0
				} else {
					ma = 0
				}
			}
		}
		if k == buckets-1 {
			last := len(pts) - 1
			if mi != last && ma != last {
				if pts[mi].V-pts[last].V < pts[ma].V-pts[last].V {
					ma = last
				} else {
					mi = last
				}
			}
		}
		a, z := min(mi, ma), max(mi, ma)
		out = append(out, pts[a])
		if z != a {
			out = append(out, pts[z])
		}
	}
	return out
}

// valueAt is the value of a step line at t: the latest point at or before t.
func valueAt(pts []ChartPoint, t time.Time) (float64, bool) {
	i, _ := slices.BinarySearchFunc(pts, t, func(p ChartPoint, t time.Time) int {
		if p.T.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return 0, false
	}
	return pts[i-1].V, true
}

// valueScale is one vertical axis's range, widened to round tick values.
type valueScale struct {
	used           bool
	dataLo, dataHi float64 // the data's range
	lo, hi, step   float64 // the axis: round numbers around the data
}

func (s *valueScale) add(v float64) {
	if !s.used {
		s.used, s.dataLo, s.dataHi = true, v, v
		return
	}
	s.dataLo, s.dataHi = math.Min(s.dataLo, v), math.Max(s.dataHi, v)
}

// nice sets lo, hi and step to round numbers around the data, from 0 unless the data is
// negative, with at most about n ticks; integer steps for counts.
func (s *valueScale) nice(n int, integer bool) {
	lo, hi := math.Min(0, s.dataLo), s.dataHi
	if !s.used {
		lo, hi = 0, 1
	}
	if hi <= lo {
		hi = lo + 1
	}
	step := niceNum((hi - lo) / float64(n-1))
	if integer {
		step = math.Ceil(step) // replica counts: no 2.5 ticks
	}
	s.step = step
	s.lo = math.Floor(lo/step) * step
	s.hi = math.Ceil(hi/step) * step
	if s.hi <= hi && integer {
		s.hi += step // headroom above the top count, so the line is not drawn on the frame
	}
}

func (s valueScale) ticks() []float64 {
	var out []float64
	scale := math.Pow(10, float64(decimals(s.step)))
	for k := math.Round(s.lo / s.step); k*s.step <= s.hi+s.step/2; k++ {
		out = append(out, math.Round(k*s.step*scale)/scale)
	}
	return out
}

// decimals is the number of fractional digits a tick step needs (0.25 → 2).
func decimals(step float64) int {
	dec := 0
	for dec < 9 && math.Abs(step*math.Pow(10, float64(dec))-math.Round(step*math.Pow(10, float64(dec)))) > 1e-9 {
		dec++
	}
	return dec
}

// niceNum rounds x up to 1, 2, 2.5 or 5 times a power of ten.
func niceNum(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case f <= 1:
		nf = 1
	case f <= 2:
		nf = 2
	case f <= 2.5:
		nf = 2.5
	case f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// fmtTick writes a tick value with the precision its step needs; large values get k or M.
func fmtTick(v, step float64) string {
	switch av := math.Abs(v); {
	case av >= 1e6 && step >= 1e5:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case av >= 1e4 && step >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64)
}

var timeTickSteps = []time.Duration{
	time.Second, 5 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
}

// timeTickStep picks the smallest round step that puts at most 8 ticks on the span.
func timeTickStep(span time.Duration) time.Duration {
	for _, s := range timeTickSteps {
		if span/s <= 8 {
			return s
		}
	}
	return timeTickSteps[len(timeTickSteps)-1] * time.Duration(span/(8*timeTickSteps[len(timeTickSteps)-1])+1)
}

func fmtTimeTick(t time.Time, step, span time.Duration) string {
	t = t.UTC()
	switch {
	case step >= 24*time.Hour:
		return t.Format("Jan 2")
	case span > 24*time.Hour:
		return t.Format("Jan 2 15:04")
	case step < time.Minute:
		return t.Format("15:04:05")
	}
	return t.Format("15:04")
}
