package web

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
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
// safe to embed in any HTML page. Every text from c is escaped.
func SVGChart(c Chart) template.HTML {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 960
	}
	if h <= 0 {
		h = 300
	}
	maxPts := c.MaxPoints
	if maxPts <= 0 {
		maxPts = DefaultChartMaxPoints
	}
	px0, px1 := float64(chartMarginLeft), float64(w-chartMarginRight)
	py0, py1 := float64(chartMarginTop), float64(h-chartMarginBottom) // top, bottom

	// Prepare the lines: drop non-finite points, compress step lines to their changes, and
	// downsample.
	lines := make([][]ChartPoint, len(c.Series))
	for i, s := range c.Series {
		pts := finitePoints(s.Points)
		if s.Step {
			pts = stepChanges(pts)
		}
		lines[i] = downsample(pts, maxPts)
	}

	// Scales.
	var tmin, tmax time.Time
	widenT := func(t time.Time) {
		if tmin.IsZero() || t.Before(tmin) {
			tmin = t
		}
		if tmax.IsZero() || t.After(tmax) {
			tmax = t
		}
	}
	for _, pts := range lines {
		if len(pts) > 0 {
			widenT(pts[0].T)
			widenT(pts[len(pts)-1].T)
		}
	}
	for _, m := range c.Marks {
		widenT(m.T)
	}
	if !tmax.After(tmin) {
		tmax = tmin.Add(time.Minute)
	}
	axes := [2]valueScale{}
	for i, s := range c.Series {
		for _, p := range lines[i] {
			axes[s.Axis].add(p.V)
		}
	}
	for _, g := range c.Guides {
		if !math.IsNaN(g.V) && !math.IsInf(g.V, 0) {
			axes[g.Axis].add(g.V)
		}
	}
	for a := range axes {
		axes[a].nice(6, anyStep(c.Series, ChartAxis(a)))
	}
	span := float64(tmax.Sub(tmin))
	x := func(t time.Time) float64 { return px0 + (px1-px0)*float64(t.Sub(tmin))/span }
	y := func(a ChartAxis, v float64) float64 {
		s := axes[a]
		return py1 - (py1-py0)*(v-s.lo)/(s.hi-s.lo)
	}

	var b strings.Builder
	b.Grow(4096 + 16*maxPts*len(lines))
	b.WriteString(`<svg class="chart" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(w) + " " + strconv.Itoa(h))
	b.WriteString(`" width="` + strconv.Itoa(w) + `" height="` + strconv.Itoa(h))
	b.WriteString(`" role="img" font-family="sans-serif" font-size="11" aria-label="`)
	b.WriteString(esc(c.Title))
	b.WriteString(`"><title>`)
	b.WriteString(esc(c.Title))
	b.WriteString("</title>\n")
	if c.Title != "" {
		b.WriteString(`<text x="` + fmtF(px0) + `" y="16" font-size="14" font-weight="bold">` + esc(c.Title) + "</text>\n")
	}
	b.WriteString(`<rect x="` + fmtF(px0) + `" y="` + fmtF(py0) + `" width="` + fmtF(px1-px0) + `" height="` + fmtF(py1-py0) +
		`" fill="#fafafa" stroke="#ccc"/>` + "\n")

	// Value axes: grid lines from the left axis, labels on both sides.
	for a, s := range axes {
		if !s.used {
			continue
		}
		anchor, lx := "end", px0-6
		if ChartAxis(a) == AxisRight {
			anchor, lx = "start", px1+6
		}
		for _, v := range s.ticks() {
			yy := y(ChartAxis(a), v)
			if ChartAxis(a) == AxisLeft || !axes[AxisLeft].used {
				b.WriteString(`<line x1="` + fmtF(px0) + `" x2="` + fmtF(px1) + `" y1="` + fmtF(yy) + `" y2="` + fmtF(yy) + `" stroke="#e6e6e6"/>` + "\n")
			}
			b.WriteString(`<text x="` + fmtF(lx) + `" y="` + fmtF(yy+4) + `" text-anchor="` + anchor + `">` + esc(fmtTick(v, s.step)) + "</text>\n")
		}
	}
	// Time axis.
	tstep := timeTickStep(tmax.Sub(tmin))
	for t := tmin.Truncate(tstep); !t.After(tmax); t = t.Add(tstep) {
		if t.Before(tmin) {
			continue
		}
		xx := x(t)
		b.WriteString(`<line x1="` + fmtF(xx) + `" x2="` + fmtF(xx) + `" y1="` + fmtF(py0) + `" y2="` + fmtF(py1) + `" stroke="#eee"/>` + "\n")
		b.WriteString(`<text x="` + fmtF(xx) + `" y="` + fmtF(py1+16) + `" text-anchor="middle">` + esc(fmtTimeTick(t, tstep, tmax.Sub(tmin))) + "</text>\n")
	}

	// Guides.
	for _, g := range c.Guides {
		if math.IsNaN(g.V) || math.IsInf(g.V, 0) || !axes[g.Axis].used {
			continue
		}
		yy := y(g.Axis, g.V)
		b.WriteString(`<g class="guide"><line x1="` + fmtF(px0) + `" x2="` + fmtF(px1) + `" y1="` + fmtF(yy) + `" y2="` + fmtF(yy) +
			`" stroke="#999" stroke-dasharray="6 4"/><text x="` + fmtF(px1-4) + `" y="` + fmtF(yy-4) +
			`" text-anchor="end" fill="#555" stroke="#fafafa" stroke-width="3" paint-order="stroke">` +
			esc(g.Label) + "</text></g>\n")
	}

	// Series.
	colors := make([]string, len(c.Series))
	var nl, nr int
	for i, s := range c.Series {
		if s.Axis == AxisRight {
			colors[i] = chartRightColors[nr%len(chartRightColors)]
			nr++
		} else {
			colors[i] = chartLeftColors[nl%len(chartLeftColors)]
			nl++
		}
		b.WriteString(`<polyline class="series" data-series="` + esc(s.Name) + `" fill="none" stroke-width="1.5" stroke="` + colors[i] + `" points="`)
		var prevY float64
		for j, p := range lines[i] {
			xx, yy := x(p.T), y(s.Axis, p.V)
			if s.Step && j > 0 && yy != prevY {
				b.WriteString(fmtF(xx) + "," + fmtF(prevY) + " ")
			}
			b.WriteString(fmtF(xx) + "," + fmtF(yy) + " ")
			prevY = yy
		}
		b.WriteString(`"><title>` + esc(seriesLabel(s)) + "</title></polyline>\n")
	}

	// Marks, on the first step series (the replica count) when there is one.
	var stepIdx = -1
	for i, s := range c.Series {
		if s.Step && len(lines[i]) > 0 {
			stepIdx = i
			break
		}
	}
	for _, m := range c.Marks {
		xx := x(m.T)
		yy := py0 + 8
		if stepIdx >= 0 {
			if v, ok := valueAt(lines[stepIdx], m.T); ok {
				yy = y(c.Series[stepIdx].Axis, v)
			}
		}
		// A triangle on the line, pointing the way the count went.
		color, dir, tri := chartDownColor, "down", "M"+fmtF(xx-5)+","+fmtF(yy-4)+"h10l-5,9z"
		if m.Up {
			color, dir, tri = chartUpColor, "up", "M"+fmtF(xx-5)+","+fmtF(yy+4)+"h10l-5,-9z"
		}
		b.WriteString(`<g class="mark mark-` + dir + `">`)
		if len(c.Marks) <= chartMaxMarkRules {
			b.WriteString(`<line x1="` + fmtF(xx) + `" x2="` + fmtF(xx) + `" y1="` + fmtF(py0) + `" y2="` + fmtF(py1) +
				`" stroke="` + color + `" stroke-opacity="0.25"/>`)
		}
		b.WriteString(`<path d="` + tri + `" fill="` + color + `"/>`)
		b.WriteString("<title>" + esc(m.Label) + "</title></g>\n")
	}

	// Legend, across the top margin.
	lx := px0
	if c.Title != "" {
		lx += 24 + 8.5*float64(len([]rune(c.Title)))
	}
	for i, s := range c.Series {
		label := seriesLabel(s)
		if s.Axis == AxisRight {
			label += " (right axis)"
		}
		b.WriteString(`<rect x="` + fmtF(lx) + `" y="24" width="12" height="4" fill="` + colors[i] + `"/>`)
		b.WriteString(`<text x="` + fmtF(lx+16) + `" y="30">` + esc(label) + "</text>\n")
		lx += 30 + 6.5*float64(len([]rune(label)))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()) // every text above is escaped
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
