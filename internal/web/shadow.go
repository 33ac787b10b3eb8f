package web

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// Sides of a shadow comparison, the values of the side label.
const (
	sideLive = "live"
	sideOurs = "ours"
)

// shadowMetrics export each shadow policy's comparison with the live autoscaler it runs
// beside. Every figure is the last comparison's, computed from Prometheus over
// engine.ShadowWindow: gauges, not counters, so a restarted service shows the same day at once.
type shadowMetrics struct {
	live, desired       *prometheus.GaugeVec
	changes, replicaHrs *prometheus.GaugeVec
	short               *prometheus.GaugeVec
}

func newShadowMetrics() shadowMetrics {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsPrefix, Name: name, Help: help}, append([]string{"policy"}, labels...))
	}
	return shadowMetrics{
		live:       gauge("shadow_live_replicas", "The desired replica count of the live autoscaler a shadow policy runs beside (spec.shadow.promQL), at the policy's last evaluation; absent when unknown."),
		desired:    gauge("shadow_desired_replicas", "The replica count a shadow policy would run now, replayed over the last "+shadowWindow+" from the live count as if it had been in charge; absent when unknown."),
		changes:    gauge("shadow_changes", "Replica changes over the last "+shadowWindow+", by side: the live autoscaler's (live) and those the shadow policy's replay would have made (ours).", "side"),
		replicaHrs: gauge("shadow_replica_hours", "Replica-hours paid for over the last "+shadowWindow+", by side (live, ours).", "side"),
		short:      gauge("shadow_short_seconds", "Seconds over the last "+shadowWindow+" that each side (live, ours) ran fewer replicas than the policy's metrics need.", "side"),
	}
}

func (s shadowMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(s.live, s.desired, s.changes, s.replicaHrs, s.short)
}

// observe sets the policy's gauges from its comparison; without one (not a shadow policy, or
// no longer) its series are removed.
func (s shadowMetrics) observe(id string, c *engine.ShadowComparison) {
	set := func(g *prometheus.GaugeVec, v *int) {
		if v == nil {
			g.DeleteLabelValues(id)
			return
		}
		g.WithLabelValues(id).Set(float64(*v))
	}
	if c == nil {
		for _, g := range []*prometheus.GaugeVec{s.live, s.desired, s.changes, s.replicaHrs, s.short} {
			g.DeletePartialMatch(prometheus.Labels{"policy": id})
		}
		return
	}
	set(s.live, c.Live)
	set(s.desired, c.Ours)
	s.changes.WithLabelValues(id, sideLive).Set(float64(c.LiveChanges))
	s.replicaHrs.WithLabelValues(id, sideLive).Set(c.LiveReplicaHours)
	s.short.WithLabelValues(id, sideLive).Set(c.LiveShortSeconds)
	if c.Ours == nil {
		// No replay: zeros would read as "ours would not have changed".
		for _, g := range []*prometheus.GaugeVec{s.changes, s.replicaHrs, s.short} {
			g.DeleteLabelValues(id, sideOurs)
		}
		return
	}
	s.changes.WithLabelValues(id, sideOurs).Set(float64(c.OurChanges))
	s.replicaHrs.WithLabelValues(id, sideOurs).Set(c.OurReplicaHours)
	s.short.WithLabelValues(id, sideOurs).Set(c.OurShortSeconds)
}

// shadowWindow names engine.ShadowWindow the way the metric help says it: "24h".
var shadowWindow = spanText(engine.ShadowWindow)

// spanText names the time a comparison covers: whole hours as "24h", else as the page says ages.
func spanText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d >= time.Hour && d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return shortAge(d)
}

// shadowRow is a shadow policy's comparison as the status page shows it.
type shadowRow struct {
	// Window is the time the comparison covers (less than engine.ShadowWindow while the live
	// count has not been known that long).
	Window string
	// Live and Ours are the counts ("—" when unknown), LiveCause and OursCause why not.
	Live, Ours           string
	LiveCause, OursCause string
	LiveChanges          int
	OurChanges           string // "—" without a replay
	LiveHours, OurHours  string
	Agree, Higher, Lower bool
	// LiveBest and OurBest are the offline optimum's changes at each side's replica-hours
	// ("5", "≤ 5" from the hull, "— (short)" when the side spent less than the need itself,
	// "—" unknown); both empty when it was not computed.
	LiveBest, OurBest string
}

func newShadowRow(c *engine.ShadowComparison) *shadowRow {
	if c == nil {
		return nil
	}
	r := &shadowRow{Window: spanText(c.Span()), Live: "—", Ours: "—", OurChanges: "—", OurHours: "—",
		LiveCause: c.LiveCause, OursCause: c.OursCause, LiveChanges: c.LiveChanges,
		LiveHours: strconv.FormatFloat(c.LiveReplicaHours, 'f', 1, 64)}
	if c.Live != nil {
		r.Live = strconv.Itoa(*c.Live)
	}
	if c.Ours != nil {
		r.Ours = strconv.Itoa(*c.Ours)
		r.OurChanges = strconv.Itoa(c.OurChanges)
		r.OurHours = strconv.FormatFloat(c.OurReplicaHours, 'f', 1, 64)
	}
	if c.Live != nil && c.Ours != nil {
		r.Agree, r.Higher, r.Lower = *c.Ours == *c.Live, *c.Ours > *c.Live, *c.Ours < *c.Live
	}
	if c.LiveBest != nil || c.OurBest != nil {
		r.LiveBest, r.OurBest = bestCell(c.LiveBest), bestCell(c.OurBest)
	}
	return r
}

// bestCell is one side's optimum on the status page.
func bestCell(b *engine.ShadowBest) string {
	switch {
	case b == nil:
		return "—"
	case !b.Fits:
		return "— (short)"
	case !b.Exact:
		return "≤ " + strconv.Itoa(b.Changes)
	}
	return strconv.Itoa(b.Changes)
}

// shadowLines are the chart lines of a comparison within [start, end]: our replayed count
// first (the change marks sit on it) and the live autoscaler's, both as step lines; and a mark
// at each change ours would have made.
func shadowLines(c *engine.ShadowComparison, start, end time.Time) ([]ChartSeries, []ChartMark) {
	var out []ChartSeries
	var marks []ChartMark
	for _, side := range []struct {
		name string
		pts  []engine.ReplicaPoint
	}{{sideOurs, c.OurPoints}, {sideLive, c.LivePoints}} {
		pts := clipSteps(side.pts, start, end)
		if len(pts) == 0 {
			continue
		}
		out = append(out, ChartSeries{Name: side.name, Points: pts, Axis: AxisRight, Step: true})
	}
	prev := -1
	for i, p := range c.OurPoints {
		if i > 0 && !p.At.Before(start) && !p.At.After(end) && p.Replicas != prev {
			marks = append(marks, ChartMark{T: p.At, Up: p.Replicas > prev,
				Label: fmt.Sprintf("%s ours would %d → %d", p.At.UTC().Format("15:04"), prev, p.Replicas)})
		}
		prev = p.Replicas
	}
	return out, marks
}

// clipSteps is a step line's part within [start, end]: the count in force at start (or the
// first point, when the line starts later), the changes inside, and the count held to end.
func clipSteps(pts []engine.ReplicaPoint, start, end time.Time) []ChartPoint {
	var out []ChartPoint
	for i, p := range pts {
		if p.At.After(end) {
			break
		}
		if p.At.Before(start) {
			if i+1 < len(pts) && !pts[i+1].At.After(start) {
				continue // superseded before the chart begins
			}
			out = append(out, ChartPoint{T: start, V: float64(p.Replicas)})
			continue
		}
		out = append(out, ChartPoint{T: p.At, V: float64(p.Replicas)})
	}
	if len(out) > 0 {
		out = append(out, ChartPoint{T: end, V: out[len(out)-1].V})
	}
	return out
}
