package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommittedTraceIsUpToDate keeps trace.csv what the generator writes, so it can always be
// regenerated (go run ./examples/laravel/tracegen > examples/laravel/trace.csv).
func TestCommittedTraceIsUpToDate(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, write(&buf))
	committed, err := os.ReadFile("../trace.csv")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(buf.Bytes(), committed), "trace.csv is stale: regenerate it with tracegen")
	assert.Less(t, len(committed), 1<<20, "trace stays under 1 MB")
}

func TestTraceTellsTheStory(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, write(&buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"timestamp", "metric", "value"}, rows[0])

	series := map[string][]float64{}
	var first, last time.Time
	for i, r := range rows[1:] {
		at, err := time.Parse(time.RFC3339, r[0])
		require.NoError(t, err, "row %d", i+2)
		if first.IsZero() {
			first = at
		}
		last = at
		v, err := strconv.ParseFloat(r[2], 64)
		require.NoError(t, err, "row %d", i+2)
		assert.GreaterOrEqual(t, v, 0.0, "row %d", i+2)
		series[r[1]] = append(series[r[1]], v)
	}
	assert.Equal(t, time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC), first)
	assert.Equal(t, 2*time.Hour, last.Sub(first))

	peak := func(name string) float64 { return maxOf(series[name]) }
	tests := []struct {
		name            string
		metric          string
		first, top, end float64
		delta           float64
	}{
		{name: "traffic spike", metric: "http_rps", first: 100, top: 600, end: 100, delta: 10},
		{name: "queue backlog", metric: "queue_backlog", first: 0, top: 3000, end: 0, delta: 0},
		{name: "oldest job", metric: "queue_oldest_job_age", first: 0, top: 450, end: 0, delta: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := series[tt.metric]
			require.Len(t, s, Samples)
			assert.InDelta(t, tt.first, s[0], tt.delta, "start")
			assert.InDelta(t, tt.top, peak(tt.metric), tt.delta, "peak")
			assert.InDelta(t, tt.end, s[len(s)-1], tt.delta, "end")
		})
	}
	// Latency rises with load: its peak is during the spike, well above its baseline.
	assert.Greater(t, peak("http_latency_avg"), 2*series["http_latency_avg"][0])
	assert.Greater(t, peak("http_latency_p95"), peak("http_latency_avg"))
}

func maxOf(s []float64) float64 {
	m := s[0]
	for _, v := range s {
		m = max(m, v)
	}
	return m
}

// TestParseFlags covers tracegen's one flag and its help; the conventions of usage errors are
// package usage's.
func TestParseFlags(t *testing.T) {
	var out bytes.Buffer
	o, code, done := parseFlags(nil, &out, &out)
	assert.Equal(t, options{}, o, "standard output")
	assert.False(t, done)
	o, _, _ = parseFlags([]string{"-o", "trace.csv"}, &out, &out)
	assert.Equal(t, "trace.csv", o.out)
	assert.Empty(t, out.String())

	_, code, done = parseFlags([]string{"--help"}, &out, &out)
	assert.Equal(t, 0, code)
	assert.True(t, done)
	assert.Regexp(t, `^Usage: tracegen \[-o FILE\]\n\n(.|\n)+\n\nFlags:\n  -o FILE (.|\n)+\n\nExample:\n(.|\n)+\n\nExit status: `, out.String())
}
