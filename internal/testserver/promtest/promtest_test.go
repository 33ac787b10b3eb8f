package promtest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

func newClient(t *testing.T, p *promtest.Prometheus) *promclient.Client {
	t.Helper()
	c, err := promclient.New(svcconfig.PrometheusServer{Name: "real", URL: p.URL(), Timeout: policy.Duration{Duration: 5 * time.Second}},
		promclient.WithRetry(1, 0, 0))
	require.NoError(t, err)
	return c
}

// valueEventually polls until the instant query's value at the server's now equals want: a
// scrape every second brings a changed exporter value in.
func valueEventually(t *testing.T, c *promclient.Client, m policy.Metric, want float64) {
	t.Helper()
	var last engine.MetricValue
	require.Eventually(t, func() bool {
		v, err := c.Query(context.Background(), m.PromQL, time.Time{})
		last = promclient.ToValue(m, v, err)
		return !last.Missing && last.Value == want
	}, 30*time.Second, 50*time.Millisecond, "want %v", want)
	assert.Equal(t, engine.MetricValue{Name: m.Name, Value: want}, last)
}

func TestScrapedExporterValueIsQueryable(t *testing.T) {
	e := promtest.NewExporter(t)
	labels := map[string]string{"queue": "emails"}
	e.Set("laravel_queue_jobs_pending", labels, 42)
	p := promtest.Start(t, promtest.WithScrapeTarget("laravel", e.HostPort()))
	p.WaitForSeries(t, `laravel_queue_jobs_pending{queue="emails"}`)

	c := newClient(t, p)
	m := policy.Metric{Name: "backlog", PromQL: `sum(laravel_queue_jobs_pending{queue="emails"})`}
	valueEventually(t, c, m, 42)

	e.Set("laravel_queue_jobs_pending", labels, 7)
	valueEventually(t, c, m, 7)
}

func TestSeededHistoryIsQueryableByRange(t *testing.T) {
	// Whole minutes, so the seeded samples and the range steps coincide.
	end := time.Now().Add(-time.Minute).Truncate(time.Minute)
	start := end.Add(-3 * time.Hour)
	var samples []promtest.Sample
	for ts, i := start, 0; !ts.After(end); ts, i = ts.Add(15*time.Second), i+1 {
		samples = append(samples, promtest.Sample{At: ts, Value: float64(i % 100)})
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	promtest.Seed(t, dataDir, promtest.OpenMetrics(promtest.Series{
		Name: "demo_backlog", Labels: map[string]string{"queue": "emails"}, Samples: samples,
	}))
	p := promtest.Start(t, promtest.WithDataDir(dataDir))
	c := newClient(t, p)

	v, err := c.QueryRange(context.Background(), `demo_backlog{queue="emails"}`, v1.Range{Start: start, End: end, Step: time.Minute})
	require.NoError(t, err)
	matrix, ok := v.(model.Matrix)
	require.True(t, ok, "want a matrix, got %T", v)
	require.Len(t, matrix, 1)
	require.Len(t, matrix[0].Values, 181, "3h at 1m steps, both ends included")
	for k, pair := range matrix[0].Values {
		// Every 4th seeded sample is on a minute: sample index 4k has value (4k) mod 100.
		assert.Equal(t, float64((4*k)%100), float64(pair.Value), "step %d", k)
	}

	steps := []time.Time{start, start.Add(time.Minute), end}
	got := promclient.SeriesValues(policy.Metric{Name: "backlog"}, v, nil, steps)
	assert.Equal(t, []engine.MetricValue{
		{Name: "backlog", Value: 0}, {Name: "backlog", Value: 4}, {Name: "backlog", Value: float64(720 % 100)},
	}, got)
}

func TestStopMakesMetricsMissingAndRestartBringsThemBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*promtest.Prometheus)
	}{
		{"stop (SIGTERM)", (*promtest.Prometheus).Stop},
		{"kill (SIGKILL): the WAL is replayed", (*promtest.Prometheus).Kill},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := promtest.NewExporter(t)
			e.Set("demo_rps", nil, 312.5)
			p := promtest.Start(t, promtest.WithScrapeTarget("demo", e.HostPort()))
			p.WaitForSeries(t, "demo_rps")
			c := newClient(t, p)
			m := policy.Metric{Name: "rps", PromQL: "demo_rps"}
			valueEventually(t, c, m, 312.5)
			before := time.Now()

			tc.stop(p)
			v, err := c.Query(context.Background(), m.PromQL, time.Time{})
			require.Error(t, err)
			mv := promclient.ToValue(m, v, err)
			assert.True(t, mv.Missing)
			// SIGTERM closes the listener first: a new connection is refused. After SIGKILL the
			// client may still hold a kept-alive connection the kernel has not yet reported
			// closed, so the first query can end in EOF or a reset instead: all three say the
			// server is gone.
			assert.Regexp(t, `connection refused|EOF|connection reset by peer`, mv.Cause)
			assert.Contains(t, mv.Cause, `query "demo_rps"`)

			p.Restart()
			v, err = c.Query(context.Background(), m.PromQL, before)
			assert.Equal(t, engine.MetricValue{Name: m.Name, Value: 312.5}, promclient.ToValue(m, v, err), "the samples before the stop are kept")
			e.Set("demo_rps", nil, 99)
			valueEventually(t, c, m, 99)
		})
	}
}

func TestOpenMetrics(t *testing.T) {
	t0 := time.Unix(1700000000, 500_000_000)
	got := promtest.OpenMetrics(
		promtest.Series{Name: "b_total", Type: "counter", Samples: []promtest.Sample{{At: t0, Value: 1}}},
		promtest.Series{Name: "a", Labels: map[string]string{"z": "1", "q": `say "hi"`}, Samples: []promtest.Sample{
			{At: t0.Add(time.Second), Value: 2.5}, {At: t0, Value: 1},
		}},
	)
	assert.Equal(t, strings.Join([]string{
		"# TYPE a gauge",
		`a{q="say \"hi\"",z="1"} 1 1700000000.500`,
		`a{q="say \"hi\"",z="1"} 2.5 1700000001.500`,
		"# TYPE b_total counter",
		"b_total 1 1700000000.500",
		"# EOF",
		"",
	}, "\n"), got)
}

// Stabilization needs no memory of its own: the recommendations over the window come back from
// range queries over the history Prometheus already has.
func TestRecommendationsFromSeededHistory(t *testing.T) {
	now := time.Now().Truncate(time.Minute).Add(10 * time.Second)
	windowStart := now.Add(-5 * time.Minute)
	var samples []promtest.Sample
	for ts := windowStart.Add(-10 * time.Minute); ts.Before(now); ts = ts.Add(5 * time.Second) {
		// 400 before the last two minutes, 900 since: per-replica target 100.
		v := 400.0
		if !ts.Before(now.Add(-2 * time.Minute)) {
			v = 900
		}
		samples = append(samples, promtest.Sample{At: ts, Value: v})
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	promtest.Seed(t, dataDir, promtest.OpenMetrics(promtest.Series{Name: "demo_queue_jobs", Samples: samples}))
	p := promtest.Start(t, promtest.WithDataDir(dataDir))
	c := newClient(t, p)

	avg := 100.0
	pol := &policy.Policy{
		Metadata: policy.Metadata{Name: "worker", Namespace: "demo"},
		Spec: policy.Spec{MaxReplicas: 20, Metrics: []policy.Metric{{
			Name: "backlog", PromQL: "sum(demo_queue_jobs)",
			Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg},
		}}},
	}
	pol.SetDefaults()
	recs, err := promclient.Recommendations(context.Background(), c, pol, now, 5*time.Minute, 30*time.Second, func(time.Time) int { return 4 })
	require.NoError(t, err)

	require.Len(t, recs, 10, "steps every 30s strictly inside the 5m window")
	for _, r := range recs {
		want := 4 // 400 / 100 at 4 replicas
		if !r.At.Before(now.Add(-2 * time.Minute)) {
			want = 9 // ceil(900 / 100)
		}
		assert.Equal(t, want, r.Replicas, "at %s", r.At.Format(time.TimeOnly))
	}
}
