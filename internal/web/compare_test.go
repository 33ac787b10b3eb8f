package web

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// compared replays the step-rule policy and a copy with a lower threshold over the same spike.
func compared(t *testing.T) []ComparedPolicy {
	t.Helper()
	a := reportPolicy(t, "step-rule.yaml")
	b := reportPolicy(t, "step-rule.yaml")
	b.Metadata.Name = `eager<b>`
	*b.Spec.Metrics[0].ScaleUp.Threshold = 50
	src := func(*policy.Policy) func(time.Time) []engine.MetricValue {
		return level("http_rps", 0, 70, 90, 300, 270, 20)
	}
	results, as := engine.Compare([]*policy.Policy{a, b}, src, engine.BacktestOptions{Start: reportT0, End: reportT0.Add(17 * time.Minute)})
	return []ComparedPolicy{
		{Label: a.ID(), Policy: a, Result: results[0], Assessment: as[0]},
		{Label: b.ID(), Policy: b, Result: results[1], Assessment: as[1]},
	}
}

func TestComparisonRows(t *testing.T) {
	cs := compared(t)
	rows := ComparisonRows(cs)
	require.Len(t, rows, 7)
	for _, r := range rows {
		assert.Len(t, r, 3, "a label and one cell per policy")
	}
	a := cs[0].Assessment
	assert.Equal(t, "9", rows[0][1])
	assert.NotEqual(t, rows[0][1], rows[0][2], "the eager copy makes other changes")
	assert.Equal(t, "3 / 6", rows[2][1])
	assert.Equal(t, "90 s (8.6 %)", rows[4][1], "%+v", a)
	assert.Equal(t, "3.0", rows[5][1])
	assert.Equal(t, "2", rows[6][1])
	assert.Equal(t, "2.5 min", shortFigure(150))
	assert.Equal(t, "2.0 h", shortFigure(7200))
	assert.Equal(t, "59 s", shortFigure(59))
}

func TestComparisonChart(t *testing.T) {
	cs := compared(t)
	c := ComparisonChart(cs)
	assert.Equal(t, "http_rps and the replicas of each policy", c.Title)
	require.Len(t, c.Series, 3)
	assert.Equal(t, "http_rps", c.Series[0].Name)
	assert.Equal(t, AxisLeft, c.Series[0].Axis)
	for _, s := range c.Series[1:] {
		assert.Equal(t, AxisRight, s.Axis, "replica lines on the right axis")
		assert.True(t, s.Step)
	}
	assert.Equal(t, cs[0].Label, c.Series[1].Name)
	assert.Equal(t, cs[1].Label, c.Series[2].Name)
	assert.Len(t, c.Guides, 2, "the first policy's thresholds")
	assert.Empty(t, ComparisonChart(nil).Series)
}

func TestWriteCompareHTML(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteCompareHTML(&buf, compared(t)))
	page := buf.String()
	assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
	assert.Equal(t, 1, strings.Count(page, "<svg"))
	assert.Equal(t, 3, strings.Count(page, "<polyline"))
	assert.Contains(t, page, "eager&lt;b&gt;", "labels are escaped")
	assert.NotContains(t, page, "eager<b>")
	assert.Contains(t, page, "2026-11-22T11:00:00Z to 2026-11-22T11:17:00Z, every 30s (35 evaluations)")
	assert.NotRegexp(t, regexp.MustCompile(`(?i)https?://`), page)
	assert.NotContains(t, page, "<script")
	svg := page[strings.Index(page, "<svg") : strings.Index(page, "</svg>")+len("</svg>")]
	chartWellFormed(t, svg)
}
