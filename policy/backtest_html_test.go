package policy

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteBacktestHTML(t *testing.T) {
	p := btStepRulePolicy()
	p.Metadata.Namespace = `demo<script>`
	src := btPiecewise("http_rps", btSegment{0, 70}, btSegment{90 * time.Second, 300}, btSegment{270 * time.Second, 20})
	r := Backtest(p, src, BacktestOptions{Start: btT0, End: btT0.Add(17 * time.Minute)})
	require.Equal(t, 9, r.Summary.Changes)

	var buf bytes.Buffer
	require.NoError(t, WriteBacktestHTML(&buf, p, r))
	page := buf.String()

	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Equal(t, 1, strings.Count(page, "<svg"), "one chart per metric")
	assert.Equal(t, 2, strings.Count(page, "<polyline"), "one polyline per series: http_rps and replicas")
	assert.Equal(t, 9, strings.Count(page, `class="mark `), "one marker per change")
	assert.Equal(t, 3, strings.Count(page, `class="mark mark-up"`))
	assert.Equal(t, 2, strings.Count(page, `class="guide"`), "both thresholds")
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
	p := btStepRulePolicy()
	r := Backtest(p, btPiecewise("http_rps", btSegment{0, 70}), BacktestOptions{Start: btT0, End: btT0.Add(time.Minute)})
	var buf bytes.Buffer
	require.NoError(t, WriteBacktestHTML(&buf, p, r))
	assert.Contains(t, buf.String(), "No changes: the policy would have kept the count at 2.")
	assert.Equal(t, 0, strings.Count(buf.String(), `class="mark `))
}

func TestWriteBacktestHTMLWeekStaysSmall(t *testing.T) {
	p := btHPAPolicy()
	r := Backtest(p, btSyntheticSource(p), BacktestOptions{Start: btT0, End: btT0.Add(7 * 24 * time.Hour), Step: 15 * time.Second})
	require.Equal(t, 40321, r.Summary.Evaluations)
	var buf bytes.Buffer
	require.NoError(t, WriteBacktestHTML(&buf, p, r))
	page := buf.String()
	assert.Equal(t, 3, strings.Count(page, "<svg"))
	assert.Equal(t, 6, strings.Count(page, "<polyline"))
	assert.Equal(t, 3*r.Summary.Changes, strings.Count(page, `class="mark `))
	for _, m := range regexp.MustCompile(`points="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		assert.LessOrEqual(t, len(strings.Fields(m[1])), 2*DefaultChartMaxPoints, "downsampled (a step line draws two points per change)")
	}
	t.Logf("%d changes, %d bytes", r.Summary.Changes, len(page))
	assert.Less(t, len(page), 2<<20, "a flapping week: 1000 table rows, 3 charts × every marker")
}
