package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
)

// reactionInterval is the policy's evaluation interval in the reaction benchmark.
const reactionInterval = 5 * time.Second

// BenchmarkReactionLatency is the time from a metric crossing to the commit on the remote,
// through `serve` (the built binary) with a real Prometheus scraping the metric every second:
// each iteration raises the load three times so that the policy's target asks for two more
// replicas, and waits until the remote's base branch has each decision. A crossing comes right
// after the previous decision landed, that is just after an evaluation: close to the worst
// case, nearly a whole interval to wait. The target is one evaluation interval plus one second;
// the scrape interval (1 s) is part of what is measured.
func BenchmarkReactionLatency(b *testing.B) {
	exp := promtest.NewExporter(b)
	prom := promtest.Start(b, promtest.WithScrapeTarget("load", exp.HostPort()))
	load := 300.0
	exp.Set("bench_load", nil, load)
	prom.WaitForSeries(b, "bench_load")

	s := gittest.NewServer(b)
	s.CreateRepo("platform", map[string]string{
		"values.yaml": "app:\n  replicaCount: 3\n",
		"policies/app.yaml": fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: app, namespace: bench}
spec:
  targetRef: {kind: Deployment, name: app}
  replicas: {file: values.yaml, path: app.replicaCount}
  minReplicas: 1
  maxReplicas: 10000
  mode: Commit
  schedule: "@every %s"
  metrics:
    - name: load
      promQL: max(bench_load)
      target: {type: AverageValue, averageValue: 100}
`, reactionInterval),
	})
	dir := b.TempDir()
	config := filepath.Join(dir, "autoscaler.yaml")
	writeFile(b, config, configHead(b, dir, s, "platform", s.URL("platform"))+fmt.Sprintf(`prometheus:
  - name: default
    url: %s
    timeout: 5s
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
cacheDir: %s
`, prom.URL(), filepath.Join(dir, "cache")))
	startProcess(b, nil, "serve", "--config", config, "--listen", "127.0.0.1:0", "--log-level", "warn")

	head := s.HeadSHA("platform", "main")
	waitHead := func(timeout time.Duration) (string, bool) {
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			if h := s.HeadSHA("platform", "main"); h != head {
				return h, true
			}
			time.Sleep(20 * time.Millisecond)
		}
		return "", false
	}
	// The first cycle, at 300: already 3 replicas, nothing to commit. Give it an interval.
	if h, moved := waitHead(reactionInterval + 2*time.Second); moved {
		b.Fatalf("the first cycle committed %s at an unchanged load", h)
	}

	var total, worst time.Duration
	const perIteration = 3
	b.ResetTimer()
	for i := range b.N * perIteration {
		load += 200
		crossed := time.Now()
		exp.Set("bench_load", nil, load)
		h, ok := waitHead(3 * reactionInterval)
		if !ok {
			b.Fatalf("no commit within %s of crossing to %g", 3*reactionInterval, load)
		}
		d := time.Since(crossed)
		total += d
		worst = max(worst, d)
		head = h
		if got := s.ReadFile("platform", "main", "values.yaml"); !strings.Contains(got, fmt.Sprintf("replicaCount: %d\n", int(load/100))) {
			b.Fatalf("crossing %d: values.yaml is %q, want %d replicas", i, got, int(load/100))
		}
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N*perIteration), "s/reaction")
	b.ReportMetric(worst.Seconds(), "max-s")
	b.ReportMetric((reactionInterval + time.Second).Seconds(), "target-s")
}
