package promclient

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// liveLoad is what the live autoscaler wants: 1 replica, 6 from t0+4m, and no sample in the
// minute after t0+8m.
func liveLoad(t time.Time) (float64, bool) {
	d := t.Sub(t0)
	switch {
	case d < 0 || (d > 8*time.Minute && d < 9*time.Minute):
		return 0, false
	case d < 4*time.Minute:
		return 1, true
	}
	return 6, true
}

func shadowPolicy() *policy.Policy {
	avg := 100.0
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "worker", Namespace: "ns"},
		Spec: policy.Spec{
			MaxReplicas: 50,
			Mode:        policy.ModeDryRun,
			Schedule:    "@every 1m",
			Metrics:     []policy.Metric{{Name: "backlog", PromQL: "sum(backlog)", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg}}},
			Shadow:      &policy.Shadow{PromQL: `kube_horizontalpodautoscaler_status_desired_replicas{horizontalpodautoscaler="worker"}`},
		},
	}
	p.SetDefaults()
	return p
}

// TestShadowSourcesAgree pins that the trace and Prometheus sources gather the same comparison
// series: the live values and the metrics at the multiples of the policy's interval in
// (now − window, now].
func TestShadowSourcesAgree(t *testing.T) {
	p := shadowPolicy()
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	for at := t0; !at.After(t0.Add(10 * time.Minute)); at = at.Add(15 * time.Second) {
		if v, ok := sourceLoad(at); ok {
			fmt.Fprintf(&b, "%s,backlog,%g\n", at.Format(time.RFC3339), v)
		}
		if v, ok := liveLoad(at); ok {
			fmt.Fprintf(&b, "%s,%s,%g\n", at.Format(time.RFC3339), ShadowTraceMetric, v)
		}
	}
	tr, err := ReadTrace("shadow.csv", strings.NewReader(b.String()))
	require.NoError(t, err)
	f := newFakeProm(t, seriesProm(map[string]func(time.Time) (float64, bool){"sum(backlog)": sourceLoad, p.Spec.Shadow.PromQL: liveLoad}))
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)

	now := t0.Add(10*time.Minute + 20*time.Second)
	for name, src := range map[string]interface {
		Shadow(context.Context, *policy.Policy, time.Time, time.Duration) engine.ShadowSeries
	}{
		"trace":      NewTraceSource(tr),
		"prometheus": NewPrometheusSource(servers, nil),
	} {
		t.Run(name, func(t *testing.T) {
			s := src.Shadow(context.Background(), p, now, 12*time.Minute)
			assert.Equal(t, t0.Add(-time.Minute), s.Start, "the first multiple of the interval inside the window")
			assert.Equal(t, time.Minute, s.Step)
			require.Len(t, s.Live, 12, "t0−1m … t0+10m")
			require.Len(t, s.Metrics, 12)
			assert.Empty(t, s.MetricsCause)
			assert.True(t, s.Live[0].Missing, "before the first sample")
			assert.Equal(t, engine.MetricValue{Name: ShadowTraceMetric, Value: 1}, s.Live[1])
			assert.Equal(t, engine.MetricValue{Name: ShadowTraceMetric, Value: 6}, s.Live[5])
			assert.Equal(t, engine.MetricValue{Name: ShadowTraceMetric, Value: 6}, s.Live[10], "a sample a minute old is still fresh")
			assert.Equal(t, []engine.MetricValue{{Name: "backlog", Value: 300}}, s.Metrics[4])

			c := engine.CompareShadow(p, s)
			assert.Equal(t, t0, c.Start, "from the first known live count")
			require.NotNil(t, c.Live)
			assert.Equal(t, 6, *c.Live)
			assert.Equal(t, 1, c.LiveChanges)
			require.NotNil(t, c.Ours)
			assert.Equal(t, 10, *c.Ours, "1000 jobs at 100 a replica")
			assert.Positive(t, c.OurChanges)
		})
	}
}

func TestShadowFailuresAreMissing(t *testing.T) {
	p := shadowPolicy()
	f := newFakeProm(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		if r.Form.Get("query") == p.Spec.Shadow.PromQL {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error: unexpected end of input"}`)
			return
		}
		seriesProm(map[string]func(time.Time) (float64, bool){"": sourceLoad})(0, r, w)
	})
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)
	src := NewPrometheusSource(servers, nil)
	now := t0.Add(5 * time.Minute)

	t.Run("a failed shadow query leaves every live value missing, with the cause", func(t *testing.T) {
		s := src.Shadow(context.Background(), p, now, 5*time.Minute)
		require.Len(t, s.Live, 5)
		for _, v := range s.Live {
			assert.True(t, v.Missing)
			assert.Contains(t, v.Cause, "parse error")
		}
		assert.Len(t, s.Metrics, 5, "the metrics are still there")
		c := engine.CompareShadow(p, s)
		assert.Nil(t, c.Live)
		assert.Contains(t, c.LiveCause, "parse error")
		assert.Nil(t, c.Ours)
	})
	t.Run("an unusable server leaves both out, with the cause", func(t *testing.T) {
		q := shadowPolicy()
		q.Spec.Prometheus = &policy.PrometheusRef{Server: "elsewhere"}
		s := src.Shadow(context.Background(), q, now, 5*time.Minute)
		require.Len(t, s.Live, 5)
		assert.Equal(t, `prometheus server "elsewhere" is not configured`, s.Live[4].Cause)
		assert.Nil(t, s.Metrics)
		assert.Equal(t, `prometheus server "elsewhere" is not configured`, s.MetricsCause)
	})
	t.Run("a policy without shadow gathers nothing", func(t *testing.T) {
		q := shadowPolicy()
		q.Spec.Shadow = nil
		s := src.Shadow(context.Background(), q, now, 5*time.Minute)
		assert.Empty(t, s.Live)
		assert.Nil(t, s.Metrics)
	})
}

func TestShadowSteps(t *testing.T) {
	at := t0.Add(90 * time.Second)
	assert.Equal(t, []time.Time{t0, t0.Add(time.Minute)}, ShadowSteps(at, 2*time.Minute, time.Minute),
		"(now − 2m, now]: the multiples of a minute")
	assert.Equal(t, []time.Time{t0.Add(time.Minute), t0.Add(2 * time.Minute)}, ShadowSteps(t0.Add(2*time.Minute), 2*time.Minute, time.Minute),
		"now itself counts when it is a multiple; the window's start does not")
	assert.Nil(t, ShadowSteps(at, 0, time.Minute))
}

// rangeStarts are the start instants of the range queries f received from the n-th request on.
func rangeStarts(f *fakeProm, from int) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Time
	for _, r := range f.requests[from:] {
		if strings.HasSuffix(r.URL.Path, "/query_range") {
			s, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
			out = append(out, time.Unix(int64(s), 0).UTC())
		}
	}
	return out
}

// TestShadowReadsOnlyWhatIsNew: the next evaluation of a shadow policy range-queries only the
// instants after the last one it read, and the last five minutes of those again — and gathers
// exactly what a process that never read the window gathers.
func TestShadowReadsOnlyWhatIsNew(t *testing.T) {
	p := shadowPolicy()
	var fail atomic.Bool
	loads := seriesProm(map[string]func(time.Time) (float64, bool){"sum(backlog)": sourceLoad, p.Spec.Shadow.PromQL: liveLoad})
	f := newFakeProm(t, func(n int, r *http.Request, w http.ResponseWriter) {
		if fail.Load() {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"query timed out"}`)
			return
		}
		loads(n, r, w)
	})
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)
	running := NewPrometheusSource(servers, nil)
	window := 12 * time.Minute

	first := t0.Add(8 * time.Minute)
	running.Shadow(context.Background(), p, first, window)
	assert.Equal(t, []time.Time{first.Add(-window + time.Minute), first.Add(-window + time.Minute)}, rangeStarts(f, 0),
		"the first read is the whole window, the shadow query and the metric")

	next := first.Add(2 * time.Minute)
	seen := f.count()
	got := running.Shadow(context.Background(), p, next, window)
	reread := first.Add(-StalenessDelta + time.Minute)
	assert.Equal(t, []time.Time{reread, reread}, rangeStarts(f, seen), "only from five minutes before the last instant read")
	fresh := NewPrometheusSource(servers, nil).Shadow(context.Background(), p, next, window)
	assert.Equal(t, fresh, got, "the same series as a process that never read the window")

	// A failed read is a failure, and changes nothing held.
	fail.Store(true)
	failed := running.Shadow(context.Background(), p, next.Add(time.Minute), window)
	assert.Contains(t, failed.Live[len(failed.Live)-1].Cause, "query timed out")
	assert.Nil(t, failed.Metrics)
	fail.Store(false)
	later := next.Add(time.Minute)
	seen = f.count()
	got = running.Shadow(context.Background(), p, later, window)
	reread = next.Add(-StalenessDelta + time.Minute)
	assert.Equal(t, []time.Time{reread, reread}, rangeStarts(f, seen), "from what was held before the failure")
	assert.Equal(t, NewPrometheusSource(servers, nil).Shadow(context.Background(), p, later, window), got)

	// A window that does not overlap what is held is read whole.
	seen = f.count()
	far := later.Add(window)
	running.Shadow(context.Background(), p, far, window)
	assert.Equal(t, []time.Time{far.Add(-window + time.Minute), far.Add(-window + time.Minute)}, rangeStarts(f, seen))
}
