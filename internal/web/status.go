package web

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

//go:embed status.html.tmpl
var statusHTML string

// statusTemplate is parsed once; it is read-only afterwards.
var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// Status page settings.
const (
	chartWindow   = 3 * time.Hour
	chartStep     = time.Minute
	chartDeadline = 3 * time.Second // all of a page's chart data, per request
	chartWorkers  = 4
)

// SeriesSource gives a metric's values over a time range, for the status page's charts: one
// value at start + i·step for every i up to end, Missing where there was none. Both of
// promclient's sources are one.
type SeriesSource interface {
	Series(ctx context.Context, p *policy.Policy, metric int, start, end time.Time, step time.Duration) ([]engine.MetricValue, error)
}

// statusPage renders `/`: a row per policy, with a chart of its first metric against the
// replica count over the last hours. Chart data is gathered per request under a short
// deadline; whatever fails shows as "no data", never as a broken page.
type statusPage struct {
	svc       *gitops.Service
	commitURL func(repository, sha string) string
	series    SeriesSource
	now       func() time.Time
	log       *slog.Logger
	shard     string
}

// statusView is the template's data.
type statusView struct {
	Now   string
	Ready bool
	Shard string
	Rows  []statusRow
	// Invalid counts the rows of invalid documents.
	Invalid int
	// RacesLost are the repositories whose last cycles lost every push race, one line each.
	RacesLost []string
}

// statusRow is one policy's row.
type statusRow struct {
	gitops.PolicyStatus
	Metric      string
	Chart       template.HTML
	ChartNote   string
	CommitURL   string
	Evaluated   string
	NextRunIn   string
	ReasonLines []string
	HoldLines   []string
	// Count and Want are Current and Desired when Known: a policy not yet evaluated, or
	// invalid, has no count to show (its row says so instead of 0).
	Count, Want int
	Known       bool
	Changed     bool
	// Shadow is set for a shadow policy: its comparison with the live autoscaler.
	Shadow *shadowRow
}

func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := p.now().UTC()
	view := statusView{Now: now.Format("2006-01-02 15:04:05 MST"), Ready: p.svc.Ready(), Shard: p.shard}
	statuses := p.svc.Status()
	view.RacesLost = racesLostLines(p.svc.RacesLost())
	view.Rows = make([]statusRow, len(statuses))
	ctx, cancel := context.WithTimeout(r.Context(), chartDeadline)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, chartWorkers)
	for i, st := range statuses {
		row := statusRow{PolicyStatus: st}
		if st.Current != nil && st.Invalid == "" {
			row.Count, row.Known = *st.Current, true
			if st.Desired != nil {
				row.Want, row.Changed = *st.Desired, *st.Desired != *st.Current
			}
		}
		if st.Invalid != "" {
			view.Invalid++
		}
		if st.LastEvaluated != nil {
			row.Evaluated = ago(now.Sub(*st.LastEvaluated))
		}
		if st.NextRun != nil {
			row.NextRunIn = until(st.NextRun.Sub(now))
		}
		for _, reason := range st.Reasons {
			row.ReasonLines = append(row.ReasonLines, reason.Message)
		}
		for _, h := range st.Holds {
			row.HoldLines = append(row.HoldLines, string(h.Code))
		}
		if p.commitURL != nil && st.Commit != "" {
			row.CommitURL = p.commitURL(st.Repository, st.Commit)
		}
		row.Shadow = newShadowRow(st.Shadow)
		if st.Policy != nil && len(st.Policy.Spec.Metrics) > 0 {
			row.Metric = st.Policy.Spec.Metrics[0].Name
		}
		view.Rows[i] = row
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			view.Rows[i].Chart, view.Rows[i].ChartNote = p.chart(ctx, st, now)
		}()
	}
	wg.Wait()
	var buf bytes.Buffer
	if err := statusTemplate.Execute(&buf, view); err != nil {
		p.log.Error("status page", "error", err)
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// chart draws each of a policy's metrics against its replica count, one small panel per
// metric, with the changes marked.
func (p *statusPage) chart(ctx context.Context, st gitops.PolicyStatus, now time.Time) (template.HTML, string) {
	if st.Policy == nil || len(st.Policy.Spec.Metrics) == 0 {
		return "", "no data"
	}
	start := now.Add(-chartWindow)
	var notes []string
	metrics := make([][]ChartPoint, len(st.Policy.Spec.Metrics))
	seen := false
	for mi, m := range st.Policy.Spec.Metrics {
		var err error
		if p.series != nil {
			var vals []engine.MetricValue
			vals, err = p.series.Series(ctx, st.Policy, mi, start, now, chartStep)
			for i, v := range vals {
				if !v.Missing {
					metrics[mi] = append(metrics[mi], ChartPoint{T: start.Add(time.Duration(i) * chartStep), V: v.Value})
				}
			}
		} else {
			err = errors.New("no metric source")
		}
		if err != nil {
			p.log.Warn("status page: metric range", "repository", st.Repository, "policy", st.ID, "metric", m.Name, "error", err)
		}
		if len(metrics[mi]) == 0 {
			notes = append(notes, m.Name+": no data")
		} else {
			seen = true
		}
	}
	var lines []ChartSeries
	var marks []ChartMark
	if st.Shadow != nil {
		// A shadow policy commits nothing, so Git's count is not what runs: draw our replayed
		// count against the live autoscaler's instead.
		lines, marks = shadowLines(st.Shadow, start, now)
		if !seen && len(lines) == 0 {
			return "", strings.Join(append(notes, "live: no data"), "; ")
		}
	} else if st.Current == nil {
		// Not evaluated (invalid, or not yet): no count to draw the history back from.
		notes = append(notes, "replicas: not evaluated")
		if !seen {
			return "", strings.Join(notes, "; ")
		}
	} else {
		events, herr := p.svc.History(ctx, st.Repository, st.ID, start)
		if herr != nil {
			p.log.Warn("status page: history", "repository", st.Repository, "policy", st.ID, "error", herr)
			notes = append(notes, "replicas: no data")
			if !seen {
				return "", strings.Join(notes, "; ")
			}
		} else {
			at := gitops.ReplicasAt(events, *st.Current)
			pts := []ChartPoint{{T: start, V: float64(at(start))}}
			for _, ev := range events {
				if ev.At.Before(start) || ev.At.After(now) {
					continue
				}
				pts = append(pts, ChartPoint{T: ev.At, V: float64(ev.To)})
				label := fmt.Sprintf("%s %s %d → %d", ev.At.UTC().Format("15:04"), ev.Kind, ev.From, ev.To)
				if ev.Commit != "" {
					label += fmt.Sprintf(" %.12s", ev.Commit)
				}
				marks = append(marks, ChartMark{T: ev.At, Label: label, Up: ev.To > ev.From})
			}
			pts = append(pts, ChartPoint{T: now, V: float64(*st.Current)})
			lines = []ChartSeries{{Name: "replicas", Points: pts, Axis: AxisRight, Step: true}}
		}
	}
	var svg strings.Builder
	for mi, m := range st.Policy.Spec.Metrics {
		series := append([]ChartSeries{{Name: m.Name, Points: metrics[mi], Axis: AxisLeft}}, lines...)
		svg.WriteString(string(SVGChart(Chart{Width: 520, Height: 170, Series: series, Marks: marks})))
	}
	return template.HTML(svg.String()), strings.Join(notes, "; ") // SVGChart escapes every text
}

func ago(d time.Duration) string {
	if d < 0 {
		return "just now"
	}
	return shortAge(d) + " ago"
}

func until(d time.Duration) string {
	if d <= 0 {
		return "due"
	}
	return "in " + shortAge(d)
}

func shortAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours())/24)
}

// racesLostLines says, per repository, how many cycles in a row lost every push race
// (docs/design.md §6, "Fairness under contention"), sorted by repository.
func racesLostLines(lost map[string]int) []string {
	var out []string
	for repo, n := range lost {
		cycles := "cycles"
		if n == 1 {
			cycles = "cycle"
		}
		out = append(out, fmt.Sprintf("%s: the last %d %s lost every push race; their decisions are deferred to the next cycle", repo, n, cycles))
	}
	sort.Strings(out)
	return out
}
