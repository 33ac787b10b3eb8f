package promclient

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// StalenessDelta is how old the latest sample may be and still count as the value at an
// instant: Prometheus's default lookback. A sample exactly this old is still fresh.
const StalenessDelta = 5 * time.Minute

// Trace is an offline metric source read from the trace CSV format (docs/design.md §8):
//
//	timestamp,metric,value
//	2026-11-22T11:00:00Z,http_rps,312.4
//	1795345230,http_rps,298.1
//
// Timestamps are RFC 3339 or unix seconds (integer or fractional). Blank lines and lines
// starting with # are ignored; rows may come in any order. A Trace answers "what would an
// instant query have returned at t" under the same rules as Prometheus: the latest sample at or
// before t, stale after StalenessDelta. It is safe for concurrent readers.
type Trace struct {
	series     map[string]*traceSeries
	names      []string
	start, end time.Time
}

// traceSeries holds one metric's samples sorted by time, as parallel slices so that the binary
// search in ValueAt touches only the timestamps.
type traceSeries struct {
	times  []int64 // unix nanoseconds, ascending, unique
	values []float64
}

// traceColumns are the columns a trace must name in its header, in any order.
var traceColumns = []string{"timestamp", "metric", "value"}

// ReadTrace parses a trace from r. name is used in error messages, which have the form
// `name:line: message`, e.g. `trace.csv:7: value "abc" is not a number`.
func ReadTrace(name string, r io.Reader) (*Trace, error) {
	type pending struct {
		t    int64
		v    float64
		line int
	}
	raw := map[string][]pending{}
	var col map[string]int // column name → index, from the header
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	rec := make([]string, 0, len(traceColumns))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		rec = rec[:0]
		for f := range strings.SplitSeq(text, ",") {
			rec = append(rec, unquote(strings.TrimSpace(f)))
		}
		if col == nil {
			var err error
			col, err = traceHeader(rec)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, line, err)
			}
			continue
		}
		if len(rec) != len(traceColumns) {
			return nil, fmt.Errorf("%s:%d: want %d fields (%s), got %d", name, line,
				len(traceColumns), strings.Join(traceColumns, ","), len(rec))
		}
		ts, metric, val := rec[col["timestamp"]], rec[col["metric"]], rec[col["value"]]
		at, err := ParseTime(ts)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if metric == "" {
			return nil, fmt.Errorf("%s:%d: metric name is empty", name, line)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: value %q is not a number", name, line, val)
		}
		raw[metric] = append(raw[metric], pending{t: at.UnixNano(), v: v, line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if col == nil {
		return nil, fmt.Errorf("%s: empty trace: want the header %q", name, strings.Join(traceColumns, ","))
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s: no samples", name)
	}

	tr := &Trace{series: make(map[string]*traceSeries, len(raw))}
	var minT, maxT int64 = math.MaxInt64, math.MinInt64
	for metric, ps := range raw {
		// Stable, so that a duplicate is reported against the line that came first.
		slices.SortStableFunc(ps, func(a, b pending) int { return cmp.Compare(a.t, b.t) })
		s := &traceSeries{times: make([]int64, len(ps)), values: make([]float64, len(ps))}
		for i, p := range ps {
			if i > 0 && p.t == ps[i-1].t {
				return nil, fmt.Errorf("%s:%d: second sample for %s at %s (first on line %d)",
					name, p.line, metric, time.Unix(0, p.t).UTC().Format(time.RFC3339Nano), ps[i-1].line)
			}
			s.times[i], s.values[i] = p.t, p.v
		}
		minT, maxT = min(minT, s.times[0]), max(maxT, s.times[len(s.times)-1])
		tr.series[metric] = s
		tr.names = append(tr.names, metric)
	}
	sort.Strings(tr.names)
	tr.start, tr.end = time.Unix(0, minT).UTC(), time.Unix(0, maxT).UTC()
	return tr, nil
}

// traceHeader maps the header's column names to their positions.
func traceHeader(rec []string) (map[string]int, error) {
	want := strings.Join(traceColumns, ",")
	got := strings.Join(rec, ",")
	if len(rec) != len(traceColumns) {
		return nil, fmt.Errorf("header must be %q, got %q", want, got)
	}
	col := make(map[string]int, len(rec))
	for i, f := range rec {
		f = strings.ToLower(strings.TrimPrefix(f, "\ufeff"))
		if !slices.Contains(traceColumns, f) {
			return nil, fmt.Errorf("header must be %q, got %q", want, got)
		}
		if _, dup := col[f]; dup {
			return nil, fmt.Errorf("header names column %q twice", f)
		}
		col[f] = i
	}
	return col, nil
}

// ParseTime parses an instant as the trace format and the CLI write it: RFC 3339 (with or
// without fractional seconds) or unix seconds, integer or fractional ("1795345200",
// "1795345200.25").
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, ok := parseUnix(s); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither RFC 3339 nor unix seconds", s)
}

// parseUnix parses unix seconds exactly (no float rounding): digits, optionally a dot and up to
// nine fractional digits.
func parseUnix(s string) (time.Time, bool) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" || (hasDot && frac == "") || len(frac) > 9 || !allDigits(intPart) || !allDigits(frac) {
		return time.Time{}, false
	}
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec > math.MaxInt64/int64(time.Second)-1 {
		return time.Time{}, false
	}
	var nsec int64
	if frac != "" {
		n, _ := strconv.ParseInt(frac, 10, 64)
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		nsec = n
	}
	return time.Unix(sec, nsec).UTC(), true
}

// unquote removes one pair of double quotes around a field, as spreadsheet exports write them.
func unquote(f string) string {
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		return f[1 : len(f)-1]
	}
	return f
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Start is the time of the earliest sample of any metric.
func (t *Trace) Start() time.Time { return t.start }

// End is the time of the latest sample of any metric.
func (t *Trace) End() time.Time { return t.end }

// Metrics lists the metric names the trace holds, sorted.
func (t *Trace) Metrics() []string { return slices.Clone(t.names) }

// Samples is the number of samples of one metric.
func (t *Trace) Samples(metric string) int {
	if s, ok := t.series[metric]; ok {
		return len(s.times)
	}
	return 0
}

// ValueAt is the metric's value at an instant as an instant query would see it: the latest
// sample at or before at. It is Missing when there is no such sample ("no samples"), when that
// sample is older than StalenessDelta ("stale: last sample 6m ago"), or when it is NaN or ±Inf.
// A negative value counts as 0 (docs/design.md §5). It runs in O(log n).
func (t *Trace) ValueAt(metric string, at time.Time) engine.MetricValue {
	mv := engine.MetricValue{Name: metric}
	s, ok := t.series[metric]
	if !ok {
		mv.Missing, mv.Cause = true, "no samples"
		return mv
	}
	n := at.UnixNano()
	// The first sample strictly after at; the one before it is the latest at or before at.
	i, _ := slices.BinarySearch(s.times, n+1)
	if i == 0 {
		mv.Missing, mv.Cause = true, "no samples"
		return mv
	}
	i--
	if age := time.Duration(n - s.times[i]); age > StalenessDelta {
		mv.Missing, mv.Cause = true, "stale: last sample "+shortDuration(age)+" ago"
		return mv
	}
	v := s.values[i]
	switch {
	case math.IsNaN(v):
		mv.Missing, mv.Cause = true, "value is NaN"
	case math.IsInf(v, 0):
		mv.Missing, mv.Cause = true, "value is "+strconv.FormatFloat(v, 'g', -1, 64)
	case v < 0:
		mv.Value = 0
	default:
		mv.Value = v
	}
	return mv
}

// Values are the policy's metric values at an instant, one per p.Spec.Metrics entry in order —
// the Snapshot.Metrics a live evaluation at that instant would have gathered. A metric with no
// fresh sample is an empty result, which a metric with `onEmpty: zero` reads as 0.
func (t *Trace) Values(p *policy.Policy, at time.Time) []engine.MetricValue {
	out := make([]engine.MetricValue, len(p.Spec.Metrics))
	for i, m := range p.Spec.Metrics {
		mv := t.ValueAt(m.Name, at)
		if mv.Missing && m.OnEmpty == OnEmptyZero && !strings.HasPrefix(mv.Cause, "value is ") {
			mv = engine.MetricValue{Name: m.Name, Value: 0}
		}
		out[i] = mv
	}
	return out
}

// shortDuration writes a duration the way people say it: "6m", "5m1s", "2h30m", "1.5s".
func shortDuration(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	if d < time.Minute {
		return strconv.FormatFloat(d.Round(time.Millisecond).Seconds(), 'f', -1, 64) + "s"
	}
	s := d.Round(time.Second).String() // e.g. "6m0s", "2h30m0s", "2h0m0s"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// maxRangePoints is how many steps one range query asks for; Prometheus refuses more than
// 11 000 points per series.
const maxRangePoints = 10000

// RangeValues is the Prometheus counterpart of a Trace for a replay: every metric of p
// range-queried over [start, end] at step (in chunks Prometheus accepts), turned into values
// under the same rules as an instant query (SeriesValues). out[i] holds the values at
// start + i·step, one per p.Spec.Metrics entry. A failed query is an error: a replay over
// unknown data would invent decisions.
func RangeValues(ctx context.Context, q RangeQuerier, p *policy.Policy, start, end time.Time, step time.Duration) ([][]engine.MetricValue, error) {
	if step <= 0 || end.Before(start) {
		return nil, nil
	}
	n := int(end.Sub(start)/step) + 1
	out := make([][]engine.MetricValue, n)
	for i := range out {
		out[i] = make([]engine.MetricValue, len(p.Spec.Metrics))
	}
	for lo := 0; lo < n; lo += maxRangePoints {
		hi := min(lo+maxRangePoints, n) // exclusive
		steps := make([]time.Time, hi-lo)
		for i := range steps {
			steps[i] = start.Add(time.Duration(lo+i) * step).UTC()
		}
		r := v1.Range{Start: steps[0], End: steps[len(steps)-1], Step: step}
		for k, m := range p.Spec.Metrics {
			v, err := q.QueryRange(ctx, m.PromQL, r)
			if err != nil {
				return nil, fmt.Errorf("range query of %s metric %s from %s to %s: %w", p.ID(), m.Name,
					r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), err)
			}
			for i, mv := range SeriesValues(m, v, nil, steps) {
				out[lo+i][k] = mv
			}
		}
	}
	return out, nil
}
