package web

import (
	"bytes"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

var reportT0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// reportPolicy loads the one policy of testdata/name.
func reportPolicy(t *testing.T, name string) *policy.Policy {
	t.Helper()
	ps, err := policy.LoadPolicyFiles(filepath.Join("testdata", name))
	require.NoError(t, err)
	require.Len(t, ps, 1)
	return ps[0]
}

// level is a one-metric source: from each offset after reportT0 on, the value that follows it
// (offset, value, offset, value, …); missing before the first offset.
func level(name string, pairs ...float64) func(time.Time) []engine.MetricValue {
	return func(at time.Time) []engine.MetricValue {
		v := engine.MetricValue{Name: name, Missing: true, Cause: "no samples"}
		for i := 0; i+1 < len(pairs); i += 2 {
			if !at.Before(reportT0.Add(time.Duration(pairs[i] * float64(time.Second)))) {
				v = engine.MetricValue{Name: name, Value: pairs[i+1]}
			}
		}
		return []engine.MetricValue{v}
	}
}

// restlessWeek is a load that keeps a three-metric policy busy for a week: requests follow the
// day and jump every 90 minutes for 10, the backlog crosses both thresholds with them, latency
// runs above target in the jumps, and the request rate is missing for a minute every two hours.
func restlessWeek(at time.Time) []engine.MetricValue {
	s := at.Sub(reportT0).Seconds()
	jump := 0.0
	if math.Mod(s, 5400) < 600 {
		jump = 1
	}
	wobble := math.Sin(s / 73)
	rps := engine.MetricValue{Name: "http_rps", Value: 50 * (3 + 9*(1+math.Sin(2*math.Pi*s/86400))/2 + 3*wobble + 8*jump)}
	if math.Mod(s, 7200) < 60 {
		rps = engine.MetricValue{Name: "http_rps", Missing: true, Cause: "no samples"}
	}
	return []engine.MetricValue{
		rps,
		{Name: "queue_backlog", Value: 60 + 30*wobble + 600*jump},
		{Name: "latency", Value: 0.3 * (0.6 + 0.2*wobble + 0.5*jump)},
	}
}

func TestWriteBacktestHTML(t *testing.T) {
	p := reportPolicy(t, "step-rule.yaml")
	p.Metadata.Namespace = `demo<script>`
	src := level("http_rps", 0, 70, 90, 300, 270, 20)
	r := engine.Backtest(p, src, engine.BacktestOptions{Start: reportT0, End: reportT0.Add(17 * time.Minute)})
	require.Equal(t, 9, r.Summary.Changes)

	var buf bytes.Buffer
	require.NoError(t, WriteBacktestHTML(&buf, p, r))
	page := buf.String()

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Equal(t, 1, strings.Count(page, "<svg"), "one chart per metric")
	assert.Equal(t, 3, strings.Count(page, "<polyline"), "one polyline per series: http_rps, replicas and the need")
	assert.Contains(t, page, `data-series="need" fill="none" stroke-width="1.5" stroke="#bcbd22" stroke-dasharray="5 3"`, "the need, dashed")
	// A step rule's need is the count plus its step while the metric is over the threshold:
	// short at every step the cooldown holds the count, three of them, shaded, adding up to
	// the summary's under-provisioned time.
	assert.Equal(t, 3, strings.Count(page, `class="band"`), "one band per run of short steps")
	assert.Contains(t, page, "<title>short 30s from 2026-11-22T11:02:00Z, by up to 2 replicas</title>")
	var shaded time.Duration
	for _, b := range ShortBands(r) {
		shaded += b.To.Sub(b.From)
	}
	assert.Equal(t, r.Summary.UnderProvisionedSeconds, shaded.Seconds(), "the bands are the summary's short time")
	assert.Equal(t, 9, strings.Count(page, `class="mark `), "one marker per change")
	assert.Equal(t, 3, strings.Count(page, `class="mark mark-up"`))
	assert.Equal(t, 2, strings.Count(page, `class="guide"`), "both thresholds")
	label := strings.Index(page, `class="guide-label"`)
	assert.Greater(t, label, strings.LastIndex(page, "<polyline"), "threshold labels are written over the lines, not under them")
	assert.Contains(t, page, `>scaleUp.threshold 100</text>`)
	svg := page[strings.Index(page, "<svg") : strings.Index(page, "</svg>")+len("</svg>")]
	chartWellFormed(t, svg)

	// Self-contained: nothing fetched from anywhere, no script.
	assert.NotRegexp(t, regexp.MustCompile(`(?i)https?://`), page)
	assert.NotRegexp(t, regexp.MustCompile(`(?i)\b(src|href)\s*=`), page)
	assert.NotContains(t, page, "<script")
	assert.NotContains(t, page, "@import")
	assert.Contains(t, page, "demo&lt;script&gt;/laravel-web", "escaped")

	// Summary and decisions.
	assert.Contains(t, page, "<tr><td>changes (commits a live run would have made)</td><td>9</td></tr>")
	assert.Contains(t, page, "<tr><td>replica-hours</td><td>1.4</td></tr>") // 5160 s
	assert.Equal(t, 9, strings.Count(page, `<td class="time">`), "one row per decision")
	assert.Contains(t, page, `<td class="time">2026-11-22T11:01:30Z</td><td class="up">2 → 4</td><td>http_rps = 300</td>`)
	assert.Contains(t, page, "http_rps = 300 &gt; scaleUp.threshold 100")
}

func TestWriteBacktestHTMLNoChanges(t *testing.T) {
	p := reportPolicy(t, "step-rule.yaml")
	r := engine.Backtest(p, level("http_rps", 0, 70), engine.BacktestOptions{Start: reportT0, End: reportT0.Add(time.Minute)})
	var buf bytes.Buffer
	require.NoError(t, WriteBacktestHTML(&buf, p, r))
	assert.Contains(t, buf.String(), "No changes: the policy would have kept the count at 2.")
	assert.Equal(t, 0, strings.Count(buf.String(), `class="mark `))
}

func TestWriteBacktestHTMLWeekStaysSmall(t *testing.T) {
	p := reportPolicy(t, "hpa.yaml")
	r := engine.Backtest(p, restlessWeek, engine.BacktestOptions{Start: reportT0, End: reportT0.Add(7 * 24 * time.Hour), Step: 15 * time.Second})
	require.Equal(t, 40321, r.Summary.Evaluations)
	require.Greater(t, r.Summary.Changes, backtestHTMLMaxRows, "a flapping week: more changes than the table lists")
	var buf bytes.Buffer
	require.NoError(t, WriteBacktestHTML(&buf, p, r))
	page := buf.String()
	assert.Equal(t, 3, strings.Count(page, "<svg"))
	assert.Equal(t, 9, strings.Count(page, "<polyline"), "metric, replicas and need in each chart")
	assert.LessOrEqual(t, strings.Count(page, `class="band"`), 3*chartMaxBands, "short runs merged past the cap")
	// Changes closer than a marker's width are one marker with their count: about one per
	// 8 px of the 840 px plot, every change counted in one of them.
	markers := strings.Count(page, `class="mark `)
	assert.LessOrEqual(t, markers, 3*(840/chartMarkGap+1))
	assert.Greater(t, markers, 3*50, "the week's changes spread over the plot")
	counted := 0
	for _, m := range regexp.MustCompile(`<title>(\d+) changes:`).FindAllStringSubmatch(page, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		counted += n
	}
	singles := markers - len(regexp.MustCompile(`<title>\d+ changes:`).FindAllString(page, -1))
	assert.Equal(t, 3*r.Summary.Changes, counted+singles, "every change in one marker")
	for _, m := range regexp.MustCompile(`points="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		assert.LessOrEqual(t, len(strings.Fields(m[1])), 2*DefaultChartMaxPoints, "downsampled (a step line draws two points per change)")
	}
	t.Logf("%d changes, %d bytes", r.Summary.Changes, len(page))
	assert.Less(t, len(page), 2<<20, "a flapping week: 1000 table rows, 3 charts × every marker")
}
