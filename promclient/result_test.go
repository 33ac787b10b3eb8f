package promclient

import (
	"context"
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// TestAnswersBecomeMetricValues sends each kind of Prometheus answer through the real client
// and checks the value the engine gets (docs/design.md §5).
func TestAnswersBecomeMetricValues(t *testing.T) {
	const q = `sum(rate(http_requests_total[2m]))`
	tests := []struct {
		name   string
		data   string
		metric policy.Metric
		want   engine.MetricValue
	}{
		{
			name: "one series",
			data: `{"resultType":"vector","result":[{"metric":{"app":"web"},"value":[1700000000,"312.4"]}]}`,
			want: engine.MetricValue{Name: "rps", Value: 312.4},
		},
		{
			name: "scalar",
			data: `{"resultType":"scalar","result":[1700000000,"7"]}`,
			want: engine.MetricValue{Name: "rps", Value: 7},
		},
		{
			name: "empty vector is missing",
			data: `{"resultType":"vector","result":[]}`,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "empty result"},
		},
		{
			name:   "empty vector with onEmpty zero",
			data:   `{"resultType":"vector","result":[]}`,
			metric: policy.Metric{OnEmpty: "zero"},
			want:   engine.MetricValue{Name: "rps", Value: 0},
		},
		{
			name: "NaN is missing",
			data: `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}`,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "value is NaN"},
		},
		{
			name: "+Inf is missing",
			data: `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"+Inf"]}]}`,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "value is +Inf"},
		},
		{
			name: "-Inf is missing, not zero",
			data: `{"resultType":"scalar","result":[1700000000,"-Inf"]}`,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "value is -Inf"},
		},
		{
			name: "NaN with onEmpty zero is still missing",
			data: `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"NaN"]}]}`, metric: policy.Metric{OnEmpty: "zero"},
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "value is NaN"},
		},
		{
			name: "negative counts as zero",
			data: `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"-3.5"]}]}`,
			want: engine.MetricValue{Name: "rps", Value: 0},
		},
		{
			name: "several series without reduce is an error",
			data: twoSeries,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "query returned 2 series, want 1 (set reduce: sum, max, min or avg to combine them)"},
		},
		{name: "several series, reduce sum", data: twoSeries, metric: policy.Metric{Reduce: "sum"}, want: engine.MetricValue{Name: "rps", Value: 14}},
		{name: "several series, reduce max", data: twoSeries, metric: policy.Metric{Reduce: "max"}, want: engine.MetricValue{Name: "rps", Value: 10}},
		{name: "several series, reduce min", data: twoSeries, metric: policy.Metric{Reduce: "min"}, want: engine.MetricValue{Name: "rps", Value: 4}},
		{name: "several series, reduce avg", data: twoSeries, metric: policy.Metric{Reduce: "avg"}, want: engine.MetricValue{Name: "rps", Value: 7}},
		{
			name: "reduce over a NaN series is missing", metric: policy.Metric{Reduce: "max"},
			data: `{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"3"]},{"metric":{"a":"2"},"value":[1,"NaN"]}]}`,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: "value is NaN"},
		},
		{
			name: "unknown reduce", data: twoSeries, metric: policy.Metric{Reduce: "median"},
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: `query returned 2 series and reduce "median" is not one of sum, max, min, avg`},
		},
		{
			name: "matrix is missing and names the query",
			data: `{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"1"]]}]}`,
			want: engine.MetricValue{Name: "rps", Missing: true, Cause: `query "` + q + `" returned a matrix, want a scalar or a vector`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) { success(w, tt.data) })
			c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL})
			require.NoError(t, err)
			m := tt.metric
			m.Name, m.PromQL = "rps", q

			v, err := c.Query(context.Background(), q, at)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ToValue(m, v, err))
		})
	}
}

// client_golang refuses a string answer itself; either way the metric is missing and the
// cause names the query and the type.
func TestStringAnswerIsMissing(t *testing.T) {
	const q = `"hello"`
	m := policy.Metric{Name: "s", PromQL: q}
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		success(w, `{"resultType":"string","result":[1700000000,"hello"]}`)
	})
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL})
	require.NoError(t, err)
	v, err := c.Query(context.Background(), q, at)

	for name, mv := range map[string]engine.MetricValue{
		"through the client": ToValue(m, v, err),
		"decoded value":      ToValue(m, &model.String{Value: "hello"}, nil),
	} {
		t.Run(name, func(t *testing.T) {
			assert.True(t, mv.Missing)
			assert.Equal(t, "s", mv.Name)
			assert.Contains(t, mv.Cause, `query "\"hello\""`)
			assert.Contains(t, mv.Cause, "string")
		})
	}
}

const twoSeries = `{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1700000000,"10"]},{"metric":{"pod":"b"},"value":[1700000000,"4"]}]}`

func TestQueryErrorIsMissingWithTheError(t *testing.T) {
	mv := ToValue(policy.Metric{Name: "rps"}, nil, errors.New(`prometheus main: query "up": server error: 503`))
	assert.Equal(t, engine.MetricValue{Name: "rps", Missing: true, Cause: `prometheus main: query "up": server error: 503`}, mv)
}

func TestSeriesValues(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	steps := []time.Time{t0, t0.Add(30 * time.Second), t0.Add(time.Minute)}
	ts := func(i int) model.Time { return model.TimeFromUnixNano(steps[i].UnixNano()) }
	series := func(name string, vals map[int]float64) *model.SampleStream {
		s := &model.SampleStream{Metric: model.Metric{"pod": model.LabelValue(name)}}
		for i := range steps {
			if v, ok := vals[i]; ok {
				s.Values = append(s.Values, model.SamplePair{Timestamp: ts(i), Value: model.SampleValue(v)})
			}
		}
		return s
	}
	num := func(v float64) engine.MetricValue { return engine.MetricValue{Name: "m", Value: v} }
	miss := func(cause string) engine.MetricValue {
		return engine.MetricValue{Name: "m", Missing: true, Cause: cause}
	}

	tests := []struct {
		name   string
		metric policy.Metric
		value  model.Value
		err    error
		want   []engine.MetricValue
	}{
		{
			name:  "one series with a gap and a NaN",
			value: model.Matrix{series("a", map[int]float64{0: 5, 2: math.NaN()})},
			want:  []engine.MetricValue{num(5), miss("empty result"), miss("value is NaN")},
		},
		{
			name:   "gap with onEmpty zero",
			metric: policy.Metric{OnEmpty: "zero"},
			value:  model.Matrix{series("a", map[int]float64{1: -2})},
			want:   []engine.MetricValue{num(0), num(0), num(0)},
		},
		{
			name:  "two series at one step only",
			value: model.Matrix{series("a", map[int]float64{0: 1, 1: 2}), series("b", map[int]float64{1: 3})},
			want:  []engine.MetricValue{num(1), miss("query returned 2 series, want 1 (set reduce: sum, max, min or avg to combine them)"), miss("empty result")},
		},
		{
			name:   "two series reduced by sum",
			metric: policy.Metric{Reduce: "sum"},
			value:  model.Matrix{series("a", map[int]float64{0: 1, 1: 2, 2: 3}), series("b", map[int]float64{1: 3, 2: 4})},
			want:   []engine.MetricValue{num(1), num(5), num(7)},
		},
		{
			name:  "query error at every step",
			err:   errors.New("server error: 503"),
			want:  []engine.MetricValue{miss("server error: 503"), miss("server error: 503"), miss("server error: 503")},
			value: nil,
		},
		{
			name:  "a vector is not a range answer",
			value: model.Vector{},
			want:  []engine.MetricValue{miss(`query "q" returned a vector for a range query, want a matrix`), miss(`query "q" returned a vector for a range query, want a matrix`), miss(`query "q" returned a vector for a range query, want a matrix`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.metric
			m.Name, m.PromQL = "m", "q"
			assert.Equal(t, tt.want, SeriesValues(m, tt.value, tt.err, steps))
		})
	}
}
