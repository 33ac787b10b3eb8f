package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/benchrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// scaleAt is the instant the scale benchmarks decide at; the repository is two days older.
var scaleAt = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// scaleSizes are the points of the scale curve; GITOPS_AUTOSCALER_SCALE_SIZES (comma
// separated) replaces them, e.g. for a quick run.
func scaleSizes(b *testing.B) []int {
	sizes := []int{100, 1000, 10000, 50000}
	if env := os.Getenv("GITOPS_AUTOSCALER_SCALE_SIZES"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("GITOPS_AUTOSCALER_SCALE_SIZES: %q is not a size", f)
			}
			sizes = append(sizes, n)
		}
	}
	return sizes
}

// BenchmarkScaleCurve is one cycle of `evaluate` — the built binary, timed from outside as a
// Jenkins job runs it — over a repository of N policies of which one in ten scales (2 → 6):
// N/10 commits in one fetch and one push against the real Git server, in both layouts. The
// cache is warm (a kept workspace, as the service's cycles have): the clone is made by a first
// run, before the timer, and every iteration starts from the same remote state. Reported per
// cycle: wall time, the process's CPU time and peak resident memory, commits, fetches and
// pushes. The targets (docs/benchmarks.md): 10,000 policies in ≤ 6 s and ≤ 300 MB, 50,000 in
// ≤ 30 s, on 2 cores.
func BenchmarkScaleCurve(b *testing.B) {
	for _, layout := range benchrepo.Layouts {
		for _, n := range scaleSizes(b) {
			b.Run(fmt.Sprintf("%s/%d", layout, n), func(b *testing.B) {
				benchScale(b, benchrepo.Spec{Policies: n, Layout: layout, Every: 10})
			})
		}
	}
}

func benchScale(b *testing.B, spec benchrepo.Spec) {
	s := gittest.NewServer(b)
	base := benchrepo.Import(s, "platform", spec, scaleAt.Add(-48*time.Hour))
	dir := b.TempDir()
	password := filepath.Join(dir, "git-password")
	trace := filepath.Join(dir, "trace.csv")
	config := filepath.Join(dir, "autoscaler.yaml")
	writeFile(b, password, s.Password()+"\n")
	writeFile(b, trace, benchrepo.Trace(scaleAt))
	writeFile(b, config, fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: platform
    url: %s
    branch: main
    policies: [%q]
    auth: {username: %s, passwordFile: %s}
prometheus:
  - name: default
    url: http://127.0.0.1:9
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
cacheDir: %s
`, s.URL("platform"), spec.Glob(), s.User(), password, filepath.Join(dir, "cache")))
	args := []string{"evaluate", "--config", config, "--metrics-file", trace, "--at", scaleAt.Format(time.RFC3339), "-o", "json"}
	cycle := func() *process {
		s.Git("platform", "update-ref", "refs/heads/main", base)
		s.ResetCounts()
		p := startProcess(b, nil, args...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if code := p.wait(ctx); code != 0 {
			b.Fatalf("evaluate exited %d:\n%s", code, tail(p.out.String(), 4000))
		}
		return p
	}
	warm := time.Now()
	cycle() // the clone, once
	b.Logf("%s/%d: first run (clone and checkout) %.1fs", spec.Layout, spec.Policies, time.Since(warm).Seconds())

	var wall, cpu time.Duration
	var peak int64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		p := cycle()
		wall += time.Since(start)
		cpu += p.cpu()
		peak = max(peak, p.peakRSS())
		b.StopTimer()
		commits := len(strings.Fields(s.Git("platform", "rev-list", base+"..main")))
		fetches, pushes := s.Requests("platform", gittest.UploadPack), s.Requests("platform", gittest.ReceivePack)
		if commits != spec.Changes() || fetches != 1 || pushes != 1 {
			b.Fatalf("want %d commits in 1 fetch and 1 push, got %d commits, %d fetches, %d pushes", spec.Changes(), commits, fetches, pushes)
		}
		b.ReportMetric(float64(commits), "commits")
		b.ReportMetric(float64(fetches), "fetches")
		b.ReportMetric(float64(pushes), "pushes")
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/cycle")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/cycle")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
