package traces_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/examples/traces"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// dayCSV is a day at 60 s of a request rate from 2 to 40 per second with a spike every four
// hours, in the trace format.
func dayCSV(metric string) []byte {
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	for i := range 1440 {
		v := 2 + 38*(0.5-0.5*math.Cos(2*math.Pi*float64(i)/1440))
		if i%240 < 10 {
			v *= 3
		}
		fmt.Fprintf(&b, "%s,%s,%s\n", t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), metric, fmtF(v))
	}
	return []byte(b.String())
}

// TestMeasureAndTable: a trace is replayed with both policies at its step, the optimum is
// measured at each one's replica-hours, and the table shows the held-out half first, three
// rows a trace, with the optimum's changes and the ratio.
func TestMeasureAndTable(t *testing.T) {
	var results []traces.Result
	for _, half := range []string{traces.Tuning, traces.HeldOut} {
		tr := trace(traces.FormatTimestampCounts, traces.GapsZero, t0, t0.Add(24*time.Hour), time.Minute)
		tr.Name, tr.Half, tr.AverageValue, tr.MaxReplicas = "day-"+half, half, 1, 200
		r, err := traces.Measure(tr, dayCSV(tr.Metric))
		require.NoError(t, err)
		results = append(results, r)

		assert.Equal(t, 1440, r.Evaluations)
		assert.Greater(t, r.HPA.Changes, r.Steady.Changes, "the HPA's defaults change more often than Steady")
		require.True(t, r.AtSteady.Fits)
		n, exact, ok := traces.Best(&r.AtSteady)
		require.True(t, ok)
		require.True(t, exact, r.AtSteady.Limit)
		assert.LessOrEqual(t, float64(r.AtSteady.Exact.Cost)/60, r.Steady.ReplicaHours+1e-9, "the optimum spends no more than Steady")
		assert.Positive(t, n)
		// The need's replica-hours are engine.Need's at every minute (a rate of 1 per replica).
		_, steady := tr.Policies()
		want := 0
		for i := range 1440 {
			v := 2 + 38*(0.5-0.5*math.Cos(2*math.Pi*float64(i)/1440))
			if i%240 < 10 {
				v *= 3
			}
			want += engine.Need(steady, 1, []engine.MetricValue{{Name: tr.Metric, Value: v}})
		}
		assert.InDelta(t, float64(want)/60, r.NeedReplicaHours, 1e-9)
	}
	var b strings.Builder
	traces.WriteTable(&b, results)
	out := b.String()
	held, tune := strings.Index(out, "**Held-out half**"), strings.Index(out, "**Tuning half**")
	require.True(t, held >= 0 && tune > held, "held-out first:\n%s", out)
	assert.Less(t, strings.Index(out, "day-held-out (60 s, 1 d)"), tune)
	assert.Greater(t, strings.Index(out, "day-tuning (60 s, 1 d)"), tune)
	assert.Equal(t, 2, strings.Count(out, "| optimum at Steady's replica-hours |"))
	n, _, _ := traces.Best(&results[1].AtSteady)
	assert.Contains(t, out, fmt.Sprintf("| Steady | %d |", results[1].Steady.Changes))
	assert.Contains(t, out, fmt.Sprintf("| %d | %.1f× |", n, float64(results[1].Steady.Changes)/float64(n)))
}
