package promclient

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// sourceLoad is the backlog both sources serve: a ramp of 100 jobs a minute from t0, with no
// sample in the minute after t0+6m.
func sourceLoad(t time.Time) (float64, bool) {
	d := t.Sub(t0)
	if d < 0 || (d > 6*time.Minute && d < 7*time.Minute) {
		return 0, false
	}
	return 100 * d.Minutes(), true
}

// loadTrace is sourceLoad as a trace, one sample every 15s for ten minutes.
func loadTrace(t *testing.T) *Trace {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	for at := t0; !at.After(t0.Add(10 * time.Minute)); at = at.Add(15 * time.Second) {
		if v, ok := sourceLoad(at); ok {
			fmt.Fprintf(&b, "%s,backlog,%g\n", at.Format(time.RFC3339), v)
		}
	}
	tr, err := ReadTrace("load.csv", strings.NewReader(b.String()))
	require.NoError(t, err)
	return tr
}

// loadProm answers instant and range queries with sourceLoad's samples, staleness included: a
// value at an instant is the latest sample at most StalenessDelta old, as Prometheus does.
var loadProm = seriesProm(map[string]func(time.Time) (float64, bool){"": sourceLoad})

// seriesProm answers instant and range queries with samples every 15s from the load of each
// query (the load of "" for any other), staleness included, as Prometheus does.
func seriesProm(loads map[string]func(time.Time) (float64, bool)) func(int, *http.Request, http.ResponseWriter) {
	return func(_ int, r *http.Request, w http.ResponseWriter) {
		load, ok := loads[r.Form.Get("query")]
		if !ok {
			load = loads[""]
		}
		sec := func(name string) time.Time {
			f, _ := strconv.ParseFloat(r.Form.Get(name), 64)
			return time.Unix(0, int64(f*1e9)).UTC()
		}
		latest := func(at time.Time) (float64, bool) {
			for s := at.Truncate(15 * time.Second); at.Sub(s) <= StalenessDelta; s = s.Add(-15 * time.Second) {
				if v, ok := load(s); ok {
					return v, true
				}
			}
			return 0, false
		}
		if strings.HasSuffix(r.URL.Path, "/query_range") {
			step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
			var pairs []string
			for at := sec("start"); !at.After(sec("end")); at = at.Add(time.Duration(step * 1e9)) {
				if v, ok := latest(at); ok {
					pairs = append(pairs, fmt.Sprintf(`[%d,"%g"]`, at.Unix(), v))
				}
			}
			success(w, `{"resultType":"matrix","result":[{"metric":{},"values":[`+strings.Join(pairs, ",")+`]}]}`)
			return
		}
		v, ok := latest(sec("time"))
		if !ok {
			success(w, `{"resultType":"vector","result":[]}`)
			return
		}
		success(w, fmt.Sprintf(`{"resultType":"vector","result":[{"metric":{},"value":[%d,"%g"]}]}`, sec("time").Unix(), v))
	}
}

// TestSourcesAgree pins that the trace and Prometheus sources see the same load the same way:
// the values of a cycle, the stabilization window's recommendations (one replay for both) and
// a chart's series.
func TestSourcesAgree(t *testing.T) {
	avg := 100.0
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "worker", Namespace: "ns"},
		Spec: policy.Spec{
			MaxReplicas: 50,
			Schedule:    "@every 30s",
			Metrics:     []policy.Metric{{Name: "backlog", PromQL: "sum(backlog)", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg}}},
		},
	}
	p.SetDefaults()
	f := newFakeProm(t, loadProm)
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)
	sources := map[string]interface {
		Values(context.Context, time.Time, []*policy.Policy) [][]engine.MetricValue
		Recommendations(context.Context, *policy.Policy, time.Time, time.Duration, func(time.Time) int) ([]engine.Recommendation, error)
		Series(context.Context, *policy.Policy, int, time.Time, time.Time, time.Duration) ([]engine.MetricValue, error)
	}{
		"trace":      NewTraceSource(loadTrace(t)),
		"prometheus": NewPrometheusSource(servers, nil),
	}
	now := t0.Add(8 * time.Minute)
	replicas := func(at time.Time) int { return 1 + int(at.Sub(t0).Minutes()) }
	// The window's instants lie strictly inside (now − 2m30s, now).
	wantRecs := []engine.Recommendation{
		{At: t0.Add(6 * time.Minute), Replicas: 6},                // 600/100 with 7 replicas: 6
		{At: t0.Add(6*time.Minute + 30*time.Second), Replicas: 6}, // no new sample: 600 stays fresh
		{At: t0.Add(7 * time.Minute), Replicas: 7},                // ceil(700/100): 8 replicas are 12.5 % off
		{At: t0.Add(7*time.Minute + 30*time.Second), Replicas: 8}, // 750 is within tolerance of 8 replicas
	}
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			vals := src.Values(context.Background(), now, []*policy.Policy{p})
			assert.Equal(t, [][]engine.MetricValue{{{Name: "backlog", Value: 800}}}, vals)

			recs, err := src.Recommendations(context.Background(), p, now, 2*time.Minute+30*time.Second, replicas)
			require.NoError(t, err)
			assert.Equal(t, wantRecs, recs)

			series, err := src.Series(context.Background(), p, 0, t0.Add(-time.Minute), t0.Add(2*time.Minute), time.Minute)
			require.NoError(t, err)
			require.Len(t, series, 4, "one value per step from start to end")
			assert.True(t, series[0].Missing, "before the first sample")
			for i, want := range []float64{0, 100, 200} {
				assert.False(t, series[i+1].Missing)
				assert.InDelta(t, want, series[i+1].Value, 1e-9)
			}
		})
	}
}
