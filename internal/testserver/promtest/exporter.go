package promtest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Exporter serves /metrics in the Prometheus text format with values the test sets and
// changes. Point a Prometheus at it with WithScrapeTarget("job", e.HostPort()).
type Exporter struct {
	srv *httptest.Server

	mu      sync.Mutex
	samples map[string]float64 // "name{labels}" → value
}

// NewExporter starts an exporter, closed in t.Cleanup.
func NewExporter(t testing.TB) *Exporter {
	t.Helper()
	e := &Exporter{samples: map[string]float64{}}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// Set sets (or adds) a gauge sample.
func (e *Exporter) Set(name string, labels map[string]string, v float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.samples[name+formatLabels(labels)] = v
}

// Delete removes a sample, so the series goes stale in Prometheus.
func (e *Exporter) Delete(name string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.samples, name+formatLabels(labels))
}

// HostPort is the exporter's host:port, the form a scrape target takes.
func (e *Exporter) HostPort() string {
	u, _ := url.Parse(e.srv.URL)
	return u.Host
}

func (e *Exporter) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	e.mu.Lock()
	lines := make([]string, 0, len(e.samples))
	for series, v := range e.samples {
		lines = append(lines, series+" "+formatValue(v))
	}
	e.mu.Unlock()
	sort.Strings(lines)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(strings.Join(lines, "\n") + "\n"))
}
