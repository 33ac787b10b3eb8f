package promclient

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

var t0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

func TestReadTrace(t *testing.T) {
	in := `# exported from Prometheus
timestamp,metric,value

2026-11-22T11:01:00Z,http_rps,20
2026-11-22T11:00:00Z,http_rps,10
  # a comment after a blank line
1795345230,queue_backlog,7
1795345200.5,queue_backlog,5.25
2026-11-22T12:00:00.25+01:00,http_rps,15
`
	tr, err := ReadTrace("trace.csv", strings.NewReader(in))
	require.NoError(t, err)

	assert.Equal(t, []string{"http_rps", "queue_backlog"}, tr.Metrics())
	assert.Equal(t, 3, tr.Samples("http_rps"))
	assert.Equal(t, 2, tr.Samples("queue_backlog"))
	assert.Equal(t, 0, tr.Samples("nope"))
	// 1795345200 is 2026-11-22T11:00:00Z; the +01:00 sample is 11:00:00.25Z.
	assert.Equal(t, t0, tr.Start())
	assert.Equal(t, t0.Add(time.Minute), tr.End())

	tests := []struct {
		name   string
		metric string
		at     time.Time
		want   float64
	}{
		{name: "exact sample", metric: "http_rps", at: t0, want: 10},
		{name: "sorted despite input order", metric: "http_rps", at: t0.Add(200 * time.Millisecond), want: 10},
		{name: "RFC 3339 with zone and fraction", metric: "http_rps", at: t0.Add(250 * time.Millisecond), want: 15},
		{name: "latest before", metric: "http_rps", at: t0.Add(90 * time.Second), want: 20},
		{name: "fractional unix seconds", metric: "queue_backlog", at: t0.Add(500 * time.Millisecond), want: 5.25},
		{name: "integer unix seconds", metric: "queue_backlog", at: t0.Add(30 * time.Second), want: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tr.ValueAt(tt.metric, tt.at)
			require.False(t, got.Missing, got.Cause)
			assert.Equal(t, tt.metric, got.Name)
			assert.Equal(t, tt.want, got.Value)
		})
	}
}

func TestReadTraceHeaderInAnyOrder(t *testing.T) {
	tr, err := ReadTrace("t.csv", strings.NewReader("Metric, value ,timestamp\nrps,3,2026-11-22T11:00:00Z\n"))
	require.NoError(t, err)
	got := tr.ValueAt("rps", t0)
	require.False(t, got.Missing)
	assert.Equal(t, 3.0, got.Value)
}

func TestReadTraceErrors(t *testing.T) {
	const header = "timestamp,metric,value\n"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "empty file", in: "", want: `trace.csv: empty trace: want the header "timestamp,metric,value"`},
		{name: "only comments", in: "# nothing\n\n", want: `trace.csv: empty trace: want the header "timestamp,metric,value"`},
		{name: "header only", in: header, want: `trace.csv: no samples`},
		{name: "missing header", in: "2026-11-22T11:00:00Z,rps,1\n",
			want: `trace.csv:1: header must be "timestamp,metric,value", got "2026-11-22T11:00:00Z,rps,1"`},
		{name: "short header", in: "# c\ntimestamp,value\n", want: `trace.csv:2: header must be "timestamp,metric,value", got "timestamp,value"`},
		{name: "duplicate column", in: "timestamp,metric,metric\n", want: `trace.csv:1: header names column "metric" twice`},
		{name: "too few fields", in: header + "2026-11-22T11:00:00Z,rps\n", want: `trace.csv:2: want 3 fields (timestamp,metric,value), got 2`},
		{name: "too many fields", in: header + "\n# c\n2026-11-22T11:00:00Z,rps,1,2\n", want: `trace.csv:4: want 3 fields (timestamp,metric,value), got 4`},
		{name: "bad timestamp", in: header + "yesterday,rps,1\n", want: `trace.csv:2: timestamp "yesterday" is neither RFC 3339 nor unix seconds`},
		{name: "negative unix seconds", in: header + "-5,rps,1\n", want: `trace.csv:2: timestamp "-5" is neither RFC 3339 nor unix seconds`},
		{name: "trailing dot", in: header + "1795345200.,rps,1\n", want: `trace.csv:2: timestamp "1795345200." is neither RFC 3339 nor unix seconds`},
		{name: "too fine a fraction", in: header + "1.0000000001,rps,1\n", want: `trace.csv:2: timestamp "1.0000000001" is neither RFC 3339 nor unix seconds`},
		{name: "empty timestamp", in: header + ",rps,1\n", want: `trace.csv:2: timestamp "" is neither RFC 3339 nor unix seconds`},
		{name: "empty metric", in: header + "1795345200, ,1\n", want: `trace.csv:2: metric name is empty`},
		{name: "value not a number", in: header + "1795345200,rps,1\n# x\n\n\n\n1795345215,rps,abc\n", want: `trace.csv:7: value "abc" is not a number`},
		{name: "empty value", in: header + "1795345200,rps,\n", want: `trace.csv:2: value "" is not a number`},
		{name: "quoted fields", in: header + "1795345200,\"rps\",\"x\"\n", want: `trace.csv:2: value "x" is not a number`},
		{name: "duplicate sample", in: header + "1795345200,rps,1\n1795345215,rps,2\n2026-11-22T11:00:00Z,rps,3\n",
			want: `trace.csv:4: second sample for rps at 2026-11-22T11:00:00Z (first on line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := ReadTrace("trace.csv", strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Nil(t, tr)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

func TestValueAtStalenessAndSpecialValues(t *testing.T) {
	in := "timestamp,metric,value\n" +
		"2026-11-22T11:00:00Z,rps,42\n" +
		"2026-11-22T11:00:00Z,neg,-3\n" +
		"2026-11-22T11:00:00Z,nan,NaN\n" +
		"2026-11-22T11:00:00Z,inf,+Inf\n" +
		"2026-11-22T11:00:00Z,ninf,-Inf\n"
	tr, err := ReadTrace("trace.csv", strings.NewReader(in))
	require.NoError(t, err)

	tests := []struct {
		name    string
		metric  string
		at      time.Time
		want    float64
		missing string
	}{
		{name: "fresh", metric: "rps", at: t0.Add(time.Minute), want: 42},
		{name: "exactly 5m old is fresh", metric: "rps", at: t0.Add(5 * time.Minute), want: 42},
		{name: "just over 5m is stale", metric: "rps", at: t0.Add(5*time.Minute + time.Nanosecond), missing: "stale: last sample 5m ago"},
		{name: "6m old", metric: "rps", at: t0.Add(6 * time.Minute), missing: "stale: last sample 6m ago"},
		{name: "6m30s old", metric: "rps", at: t0.Add(6*time.Minute + 30*time.Second), missing: "stale: last sample 6m30s ago"},
		{name: "2h old", metric: "rps", at: t0.Add(2 * time.Hour), missing: "stale: last sample 2h ago"},
		{name: "before first sample", metric: "rps", at: t0.Add(-time.Nanosecond), missing: "no samples"},
		{name: "unknown metric", metric: "latency", at: t0, missing: "no samples"},
		{name: "negative counts as zero", metric: "neg", at: t0, want: 0},
		{name: "NaN", metric: "nan", at: t0, missing: "value is NaN"},
		{name: "+Inf", metric: "inf", at: t0, missing: "value is +Inf"},
		{name: "-Inf", metric: "ninf", at: t0, missing: "value is -Inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tr.ValueAt(tt.metric, tt.at)
			assert.Equal(t, tt.metric, got.Name)
			if tt.missing != "" {
				assert.True(t, got.Missing)
				assert.Equal(t, tt.missing, got.Cause)
				return
			}
			assert.False(t, got.Missing, got.Cause)
			assert.Equal(t, tt.want, got.Value)
		})
	}
}

func TestTraceValuesFollowPolicyOrder(t *testing.T) {
	in := "timestamp,metric,value\n" +
		"2026-11-22T11:00:00Z,a,1\n" +
		"2026-11-22T11:00:00Z,b,2\n" +
		"2026-11-22T11:00:00Z,nanq,NaN\n"
	tr, err := ReadTrace("trace.csv", strings.NewReader(in))
	require.NoError(t, err)
	p := &policy.Policy{Spec: policy.Spec{Metrics: []policy.Metric{
		{Name: "b"}, {Name: "a"}, {Name: "absent"}, {Name: "zeroed", OnEmpty: "zero"}, {Name: "nanq", OnEmpty: "zero"},
	}}}

	got := tr.Values(p, t0.Add(time.Second))
	assert.Equal(t, []engine.MetricValue{
		{Name: "b", Value: 2},
		{Name: "a", Value: 1},
		{Name: "absent", Missing: true, Cause: "no samples"},
		{Name: "zeroed", Value: 0},
		// onEmpty covers an empty result, not a broken value.
		{Name: "nanq", Missing: true, Cause: "value is NaN"},
	}, got)
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-22T11:00:00Z", t0},
		{"2026-11-22T12:00:00+01:00", t0},
		{"2026-11-22T11:00:00.123456789Z", t0.Add(123456789)},
		{"1795345200", t0},
		{"1795345200.5", t0.Add(500 * time.Millisecond)},
		{"1795345200.000000001", t0.Add(1)},
		{"0", time.Unix(0, 0).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			require.NoError(t, err)
			assert.True(t, tt.want.Equal(got), "got %s", got)
			assert.Equal(t, time.UTC, got.Location())
		})
	}
	for _, bad := range []string{"", "abc", "1e9", "+5", "0x10", "1.2.3", strings.Repeat("9", 30)} {
		_, err := ParseTime(bad)
		assert.Error(t, err, bad)
	}
}

func BenchmarkTraceValueAt(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("timestamp,metric,value\n")
	const n = 40320 // 7 days at 15 s
	for i := range n {
		sb.WriteString(t0.Add(time.Duration(i) * 15 * time.Second).Format(time.RFC3339))
		sb.WriteString(",rps,")
		sb.WriteString(strings.Repeat("1", 1+i%3))
		sb.WriteByte('\n')
	}
	tr, err := ReadTrace("bench.csv", strings.NewReader(sb.String()))
	require.NoError(b, err)
	b.ResetTimer()
	var sum float64
	for i := 0; b.Loop(); i++ {
		sum += tr.ValueAt("rps", t0.Add(time.Duration(i%n)*15*time.Second+7*time.Second)).Value
	}
	if math.IsNaN(sum) {
		b.Fatal("NaN")
	}
}

// rangeFake answers range queries with value = seconds since t0 at each step, and records the
// ranges asked for.
type rangeFake struct {
	ranges []v1.Range
	err    error
}

func (f *rangeFake) QueryRange(_ context.Context, _ string, r v1.Range) (model.Value, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.ranges = append(f.ranges, r)
	var s model.SampleStream
	for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
		s.Values = append(s.Values, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(t.Sub(t0).Seconds())})
	}
	return model.Matrix{&s}, nil
}

func TestRangeValuesChunks(t *testing.T) {
	p := &policy.Policy{Metadata: policy.Metadata{Name: "web"}, Spec: policy.Spec{Metrics: []policy.Metric{{Name: "rps", PromQL: "x"}}}}
	f := &rangeFake{}
	const n = 25001 // three chunks: 10000, 10000, 5001
	got, err := RangeValues(context.Background(), f, p, t0, t0.Add((n-1)*time.Second), time.Second)
	require.NoError(t, err)
	require.Len(t, got, n)
	require.Len(t, f.ranges, 3)
	assert.Equal(t, t0, f.ranges[0].Start)
	assert.Equal(t, t0.Add(9999*time.Second), f.ranges[0].End)
	assert.Equal(t, t0.Add(10000*time.Second), f.ranges[1].Start)
	assert.Equal(t, t0.Add(25000*time.Second), f.ranges[2].End)
	for _, i := range []int{0, 9999, 10000, 25000} {
		assert.Equal(t, engine.MetricValue{Name: "rps", Value: float64(i)}, got[i][0], "step %d", i)
	}

	_, err = RangeValues(context.Background(), &rangeFake{err: errors.New("boom")}, p, t0, t0.Add(time.Minute), time.Second)
	assert.EqualError(t, err, "range query of web metric rps from 2026-11-22T11:00:00Z to 2026-11-22T11:01:00Z: boom")
}
