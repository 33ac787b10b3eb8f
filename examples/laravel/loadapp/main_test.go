package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestApp(t *testing.T) (*fakeClock, *httptest.Server) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	srv := httptest.NewServer(NewApp(clock.Now).Handler())
	t.Cleanup(srv.Close)
	return clock, srv
}

func post(t *testing.T, srv *httptest.Server, path string) int {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// scrape reads /metrics and returns the metric families.
func scrape(t *testing.T, srv *httptest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return mf
}

// sum adds the values of a family's series whose labels include want.
func sum(t *testing.T, mf map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	fam, ok := mf[name]
	require.True(t, ok, "metric %s exported", name)
	total := 0.0
	for _, m := range fam.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func histogramSum(mf map[string]*dto.MetricFamily, name string) float64 {
	total := 0.0
	for _, m := range mf[name].Metric {
		total += m.Histogram.GetSampleSum()
	}
	return total
}

func TestLoadDrivesHTTPMetrics(t *testing.T) {
	clock, srv := newTestApp(t)

	before := scrape(t, srv)
	assert.Zero(t, sum(t, before, "http_requests_total", nil), "idle app serves nothing")
	assert.Equal(t, 2.0, sum(t, before, "mysql_global_status_threads_running", nil), "idle MySQL")

	require.Equal(t, http.StatusOK, post(t, srv, "/load?rps=100&latency=0.2&errors=0.05"))
	clock.Add(10 * time.Second)
	mf := scrape(t, srv)

	assert.Equal(t, 1000.0, sum(t, mf, "http_requests_total", map[string]string{"app": "laravel-web"}))
	assert.Equal(t, 50.0, sum(t, mf, "http_requests_total", map[string]string{"status": "500"}))
	assert.Equal(t, 1000.0, sum(t, mf, "http_request_duration_seconds", nil), "one observation per request")
	assert.InDelta(t, 200.0, histogramSum(mf, "http_request_duration_seconds"), 1e-6, "mean latency 0.2 s")
	assert.Equal(t, 4.0, sum(t, mf, "mysql_global_status_threads_running", nil), "2 + 100 rps × 0.2 s × 0.1")

	// A new rate applies from the moment it is set; fractions carry over.
	require.Equal(t, http.StatusOK, post(t, srv, "/load?rps=2.5"))
	clock.Add(3 * time.Second)
	mf = scrape(t, srv)
	assert.Equal(t, 1007.0, sum(t, mf, "http_requests_total", nil), "7.5 requests: 7 now, the half later")
	clock.Add(time.Second)
	mf = scrape(t, srv)
	assert.Equal(t, 1010.0, sum(t, mf, "http_requests_total", nil))
}

func TestQueueEndpoints(t *testing.T) {
	clock, srv := newTestApp(t)
	queue := map[string]string{"queue": "default"}
	emails := map[string]string{"queue": "emails"}

	mf := scrape(t, srv)
	assert.Zero(t, sum(t, mf, "laravel_queue_jobs_pending", queue))
	base := sum(t, mf, "redis_memory_used_bytes", nil)

	require.Equal(t, http.StatusNoContent, post(t, srv, "/queue?backlog=3000"))
	clock.Add(45 * time.Second)
	require.Equal(t, http.StatusNoContent, post(t, srv, "/tasks/start?queue=emails"))
	clock.Add(15 * time.Second)
	mf = scrape(t, srv)
	assert.Equal(t, 3000.0, sum(t, mf, "laravel_queue_jobs_pending", queue))
	assert.Equal(t, 60.0, sum(t, mf, "laravel_queue_oldest_job_age_seconds", queue))
	assert.Equal(t, 1.0, sum(t, mf, "laravel_queue_jobs_pending", emails))
	assert.Equal(t, 15.0, sum(t, mf, "laravel_queue_oldest_job_age_seconds", emails))
	assert.Equal(t, base+3001*2048, sum(t, mf, "redis_memory_used_bytes", nil))

	// Raising the backlog adds young jobs behind the old ones; lowering it finishes the oldest.
	require.Equal(t, http.StatusNoContent, post(t, srv, "/queue?backlog=3100"))
	require.Equal(t, http.StatusNoContent, post(t, srv, "/queue?backlog=100"))
	require.Equal(t, http.StatusNoContent, post(t, srv, "/tasks/finish?queue=emails"))
	clock.Add(10 * time.Second)
	mf = scrape(t, srv)
	assert.Equal(t, 100.0, sum(t, mf, "laravel_queue_jobs_pending", queue))
	assert.Equal(t, 10.0, sum(t, mf, "laravel_queue_oldest_job_age_seconds", queue), "only the young jobs are left")
	assert.Zero(t, sum(t, mf, "laravel_queue_jobs_pending", emails))
	assert.Zero(t, sum(t, mf, "laravel_queue_oldest_job_age_seconds", emails), "an empty queue has no oldest job")
	assert.Equal(t, http.StatusConflict, post(t, srv, "/tasks/finish?queue=emails"))
}

func TestBadRequests(t *testing.T) {
	_, srv := newTestApp(t)
	tests := []struct {
		name string
		path string
	}{
		{name: "rps not a number", path: "/load?rps=lots"},
		{name: "negative rps", path: "/load?rps=-1"},
		{name: "error share above 1", path: "/load?errors=1.5"},
		{name: "negative latency", path: "/load?latency=-0.1"},
		{name: "backlog missing", path: "/queue"},
		{name: "negative backlog", path: "/queue?backlog=-3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, http.StatusBadRequest, post(t, srv, tt.path))
		})
	}
}

func TestRunAdvancesOnTicks(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
	app := NewApp(clock.Now)
	require.NoError(t, app.SetLoad(Load{RPS: 10, Latency: 0.1}))

	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		app.Run(t.Context(), ticks)
		close(done)
	}()
	clock.Add(5 * time.Second)
	ticks <- clock.Now()
	close(ticks)
	<-done

	app.mu.Lock()
	served := app.served
	app.mu.Unlock()
	assert.Equal(t, uint64(50), served)
}

// TestParseFlags covers loadapp's own flags; the conventions of --help and usage errors are
// package usage's.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       options
		wantCode   int
		wantDone   bool
		wantStderr string
	}{
		{name: "defaults", want: options{listen: "127.0.0.1:9100", tick: 250 * time.Millisecond}},
		{name: "flags", args: []string{"--listen", ":0", "-tick", "1s"}, want: options{listen: ":0", tick: time.Second}},
		{name: "no tick", args: []string{"--tick", "0s"}, wantCode: 2, wantDone: true, wantStderr: "loadapp: --tick 0s: want a positive duration\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			o, code, done := parseFlags(tt.args, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantDone, done)
			if !done {
				assert.Equal(t, tt.want, o)
			}
			assert.Empty(t, stdout.String())
			assert.True(t, strings.HasPrefix(stderr.String(), tt.wantStderr), stderr.String())
		})
	}

	var stdout bytes.Buffer
	_, code, done := parseFlags([]string{"-h"}, &stdout, &stdout)
	assert.Equal(t, 0, code)
	assert.True(t, done)
	help := stdout.String()
	assert.True(t, strings.HasPrefix(help, "Usage: loadapp [--listen ADDR] [--tick D]\n\n"))
	for _, section := range []string{"\n\nFlags:\n  --listen ADDR", "\n\nExample:\n", "\n\nExit status: "} {
		assert.Contains(t, help, section)
	}
}
