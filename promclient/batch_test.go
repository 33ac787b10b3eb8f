package promclient

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// valueOfQuery answers every query with a one-series vector whose value is the query's
// trailing number ("q12" → 12), so a test can tell which answer went where.
func valueOfQuery(_ int, r *http.Request, w http.ResponseWriter) {
	q := r.Form.Get("query")
	n := 0
	for i := len(q) - 1; i >= 0 && q[i] >= '0' && q[i] <= '9'; i-- {
		n = i
	}
	success(w, fmt.Sprintf(`{"resultType":"vector","result":[{"metric":{},"value":[1700000000,%q]}]}`, q[n:]))
}

func testPolicy(name, server string, queries ...string) *policy.Policy {
	p := &policy.Policy{Metadata: policy.Metadata{Name: name, Namespace: "ns"}}
	if server != "" {
		p.Spec.Prometheus = &policy.PrometheusRef{Server: server}
	}
	for i, q := range queries {
		p.Spec.Metrics = append(p.Spec.Metrics, policy.Metric{Name: "m" + strconv.Itoa(i), PromQL: q})
	}
	return p
}

func TestBatchDeduplicatesAcrossPolicies(t *testing.T) {
	f := newFakeProm(t, valueOfQuery)
	other := newFakeProm(t, valueOfQuery)
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{
		{Name: "default", URL: f.URL},
		{Name: "other", URL: other.URL},
	}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)

	policies := []*policy.Policy{
		testPolicy("a", "", "q1", "q2"),
		testPolicy("b", "default", "q2", "q3"),
		testPolicy("c", "", "q1", "q1"),
		testPolicy("d", "other", "q1"), // same text, other server: its own query
		testPolicy("e", "nowhere", "q4"),
	}
	got := NewBatch(servers, nil).Values(context.Background(), at, policies)

	num := func(name string, v float64) engine.MetricValue { return engine.MetricValue{Name: name, Value: v} }
	assert.Equal(t, [][]engine.MetricValue{
		{num("m0", 1), num("m1", 2)},
		{num("m0", 2), num("m1", 3)},
		{num("m0", 1), num("m1", 1)},
		{num("m0", 1)},
		{{Name: "m0", Missing: true, Cause: `prometheus server "nowhere" is not configured`}},
	}, got)
	assert.Equal(t, 3, f.count(), "q1, q2, q3 once each")
	assert.ElementsMatch(t, []string{"q1", "q2", "q3"}, f.queries)
	assert.Equal(t, 1, other.count())
}

func TestBatchDistinguishesInstants(t *testing.T) {
	f := newFakeProm(t, valueOfQuery)
	c, err := New(svcconfig.PrometheusServer{Name: "default", URL: f.URL})
	require.NoError(t, err)
	res := NewBatch(nil, nil).Do(context.Background(), []Request{
		{Client: c, Query: "q1", At: at},
		{Client: c, Query: "q1", At: at.Add(time.Second)},
		{Client: c, Query: "q1", At: at},
	})
	require.Len(t, res, 3)
	for _, r := range res {
		assert.NoError(t, r.Err)
	}
	assert.Equal(t, 2, f.count())
}

func TestBatchConcurrencyNeverExceedsTheBound(t *testing.T) {
	const bound, queries = 4, 40
	var inFlight, peak atomic.Int32
	var once sync.Once
	full := make(chan struct{})
	f := newFakeProm(t, func(n int, r *http.Request, w http.ResponseWriter) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
		}
		if cur == bound {
			once.Do(func() { close(full) })
		}
		// Hold every request until the bound has been reached once, so the bound is tested
		// under full pressure rather than by luck of timing.
		select {
		case <-full:
		case <-r.Context().Done():
		}
		valueOfQuery(n, r, w)
	})
	cfg := &svcconfig.Config{QueryConcurrency: bound, Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)

	var policies []*policy.Policy
	for i := range queries {
		policies = append(policies, testPolicy(fmt.Sprint("p", i), "", fmt.Sprint("q", i)))
	}
	got := NewBatch(servers, nil).Values(context.Background(), at, policies)

	for i, vals := range got {
		require.Len(t, vals, 1)
		assert.False(t, vals[0].Missing, vals[0].Cause)
		assert.Equal(t, float64(i), vals[0].Value)
	}
	assert.Equal(t, queries, f.count())
	assert.Equal(t, int32(bound), peak.Load())
}

func TestBatchCycleDeadline(t *testing.T) {
	f := newFakeProm(t, func(_ int, r *http.Request, _ http.ResponseWriter) { <-r.Context().Done() })
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the cycle's deadline has passed
	got := NewBatch(servers, nil).Values(ctx, at, []*policy.Policy{testPolicy("a", "", "q1", "q2")})
	for _, v := range got[0] {
		assert.True(t, v.Missing)
		assert.Contains(t, v.Cause, "context canceled")
	}
}

func TestServersFor(t *testing.T) {
	base := svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{
		{Name: "default", URL: "http://prom-default:9090"},
		{Name: "team-a", URL: "http://prom-a:9090"},
	}}
	tests := []struct {
		name      string
		allowURLs bool
		ref       *policy.PrometheusRef
		want      string
		wantErr   string
	}{
		{name: "nil ref is default", ref: nil, want: "default"},
		{name: "empty ref is default", ref: &policy.PrometheusRef{}, want: "default"},
		{name: "named", ref: &policy.PrometheusRef{Server: "team-a"}, want: "team-a"},
		{name: "unknown", ref: &policy.PrometheusRef{Server: "team-b"}, wantErr: `prometheus server "team-b" is not configured`},
		{name: "url not allowed", ref: &policy.PrometheusRef{URL: "http://u:secretpw@own:9090"}, wantErr: "allowPolicyPrometheusURLs is false"},
		{name: "url allowed", allowURLs: true, ref: &policy.PrometheusRef{URL: "http://own:9090"}, want: "http://own:9090"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.AllowPolicyPrometheusURLs = tt.allowURLs
			cfg.SetDefaults()
			s, err := NewServers(&cfg)
			require.NoError(t, err)
			c, err := s.For(tt.ref)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "secretpw")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.Name())
			again, err := s.For(tt.ref)
			require.NoError(t, err)
			assert.Same(t, c, again, "one client per server")
		})
	}
}

// BenchmarkBatch evaluates one cycle of 1,000 policies × 2 metrics — 500 distinct queries
// after deduplication — against a real Prometheus on loopback with seeded series. It reports
// the cycle's time (ns/op), queries per second reaching Prometheus, the peak live heap during
// the run, and the process's peak resident memory (VmHWM, reset before the run where Linux
// allows).
func BenchmarkBatch(b *testing.B) {
	const policies, shards, distinct = 1000, 100, 500
	now := time.Now().Truncate(time.Second)
	var series []promtest.Series
	for s := range shards {
		var samples []promtest.Sample
		for ts := now.Add(-10 * time.Minute); ts.Before(now); ts = ts.Add(15 * time.Second) {
			samples = append(samples, promtest.Sample{At: ts, Value: float64(s)})
		}
		series = append(series, promtest.Series{Name: "bench_backlog", Labels: map[string]string{"shard": strconv.Itoa(s)}, Samples: samples})
	}
	dataDir := filepath.Join(b.TempDir(), "data")
	promtest.Seed(b, dataDir, promtest.OpenMetrics(series...))
	prom := promtest.Start(b, promtest.WithDataDir(dataDir))

	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: prom.URL()}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(b, err)
	query := func(k int) string {
		// 100 shards × 5 windows: 500 distinct texts.
		return fmt.Sprintf(`max_over_time(bench_backlog{shard="%d"}[%dm])`, k%shards, 1+k/shards)
	}
	ps := make([]*policy.Policy, policies)
	for i := range ps {
		ps[i] = testPolicy(fmt.Sprint("p", i), "", query((2*i)%distinct), query((2*i+1)%distinct))
	}
	batch := NewBatch(servers, nil)
	at := now.Add(-time.Second)

	// Check once that every value arrives before measuring.
	for _, vals := range batch.Values(context.Background(), at, ps) {
		for _, v := range vals {
			require.False(b, v.Missing, v.Cause)
		}
	}

	resetPeakRSS()
	peak := heapPeak(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		batch.Values(context.Background(), at, ps)
	}
	b.StopTimer()
	b.ReportMetric(float64(distinct*b.N)/b.Elapsed().Seconds(), "queries/s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	if rss, ok := peakRSS(); ok {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}
