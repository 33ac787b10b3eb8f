package gitops

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// benchPolicies is the size of BenchmarkCycle1000Policies' repository.
const benchPolicies = 1000

// benchPolicy is one generated policy: its own values file, scaled by one metric.
const benchPolicy = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata:
  name: %[1]s
  namespace: bench
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  replicas: {file: values/%[1]s.yaml, path: app.replicaCount}
  minReplicas: 1
  maxReplicas: 50
  mode: Commit
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total{app="%[1]s"}[2m]))
      target: {type: AverageValue, averageValue: 100}
`

// BenchmarkCycle1000Policies is one evaluation cycle of a repository with 1,000 policies, each
// on its own values file, where every policy scales (2 → 6): 1,000 decisions, 1,000 commits,
// one fetch and one push, against the real Git server. Each iteration starts from the same
// remote state with a warm workspace, as the service's cycles do. Peak memory is the process's
// resident high-water mark (VmHWM), which includes the benchmark's own setup.
func BenchmarkCycle1000Policies(b *testing.B) {
	s, rc, base, r := benchRepository(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s.Git("bench", "update-ref", "refs/heads/main", base)
		s.ResetCounts()
		b.StartTimer()

		rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		checkFullCycle(b, s, base, rep)
		b.StartTimer()
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
	if hwm, ok := peakRSS(); ok {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	}
}

// checkFullCycle fails the benchmark unless the cycle scaled every policy, in one fetch and one
// push that landed benchPolicies commits on the remote.
func checkFullCycle(b *testing.B, s *gittest.Server, base string, rep *Report) {
	b.Helper()
	committed := 0
	for _, res := range rep.Results {
		if res.Action == ActionCommitted {
			committed++
		}
	}
	fetches, pushes := s.Requests("bench", gittest.UploadPack), s.Requests("bench", gittest.ReceivePack)
	if committed != benchPolicies || fetches != 1 || pushes != 1 {
		b.Fatalf("want %d commits in 1 fetch and 1 push, got %d commits, %d fetches, %d pushes",
			benchPolicies, committed, fetches, pushes)
	}
	if got := strings.Count(s.Git("bench", "rev-list", base+"..main"), "\n"); got != benchPolicies {
		b.Fatalf("remote has %d new commits, want %d", got, benchPolicies)
	}
	b.ReportMetric(float64(fetches), "fetches/op")
	b.ReportMetric(float64(pushes), "pushes/op")
}

// BenchmarkCycle1000PoliciesWarm is BenchmarkCycle1000Policies run as a new process on a
// persistent cache (a CI job with a kept workspace): each iteration is a new Runner, whose
// Cycle opens the existing clone — pack indexes read afresh, no object cached — and fetches.
// The clone itself is made once, before the timer.
func BenchmarkCycle1000PoliciesWarm(b *testing.B) {
	benchNewProcess(b, false)
}

// BenchmarkCycle1000PoliciesCold is BenchmarkCycle1000Policies run as a new process on an
// empty cache (a CI job without a kept workspace): each cycle first clones the repository
// and checks out its 2,000 files.
func BenchmarkCycle1000PoliciesCold(b *testing.B) {
	benchNewProcess(b, true)
}

// benchNewProcess times cycles of a new Runner each, on the clone of the last (the warm cache)
// or on an empty cache directory (cold).
func benchNewProcess(b *testing.B, cold bool) {
	s, rc, base, r := benchRepository(b)
	ctx := context.Background()
	closeAll := func(r *Runner) {
		for _, ws := range r.workspaces {
			_ = ws.Close()
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s.Git("bench", "update-ref", "refs/heads/main", base)
		s.ResetCounts()
		closeAll(r)
		cfg := r.Config
		if cold {
			c := *r.Config
			c.CacheDir = b.TempDir()
			cfg = &c
		}
		r = &Runner{Config: cfg, Metrics: r.Metrics, Logger: r.Logger, Now: r.Now, Backoff: r.Backoff, Sleep: r.Sleep}
		b.StartTimer()

		rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		checkFullCycle(b, s, base, rep)
		b.StartTimer()
	}
	b.StopTimer()
	closeAll(r)
	if hwm, ok := peakRSS(); ok {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	}
}

// benchRepository is a Git server with benchPolicies policies, each on its own values file
// at 2 replicas, and a runner whose workspace of it is already cloned; base is main's head.
func benchRepository(b *testing.B) (*gittest.Server, svcconfig.Repository, string, *Runner) {
	s := gittest.NewServer(b)
	s.CreateRepo("bench", map[string]string{"README.md": "bench\n"})
	files := make(map[string]string, 2*benchPolicies)
	for i := 1; i <= benchPolicies; i++ {
		name := fmt.Sprintf("p%04d", i)
		files["policies/"+name+".yaml"] = fmt.Sprintf(benchPolicy, name)
		files["values/"+name+".yaml"] = "# " + name + "\napp:\n  image: {tag: \"1.0\"}\n  replicaCount: 2  # managed\n"
	}
	base := s.Import("bench", []gittest.ImportCommit{{
		Files: files, Message: "1,000 services", Author: "Admin <admin@example.com>", When: cycleAt.Add(-48 * time.Hour),
	}})
	rc := svcconfig.Repository{
		Name: "bench", URL: s.URL("bench"), Branch: "main", Policies: []string{"policies/*.yaml"},
		Auth: &svcconfig.GitAuth{Username: s.User(), PasswordFile: secretFile(b, s.Password())},
	}
	r := testRunner(b, staticMetrics{"rps": 560}, slog.New(slog.NewTextHandler(io.Discard, nil)), rc)
	if _, err := r.Workspace(context.Background(), rc); err != nil { // the clone, once
		b.Fatal(err)
	}
	return s, rc, base, r
}

// BenchmarkCycle1000PoliciesAfterAFullCycle is the cycle after one that scaled all 1,000
// policies: every policy's history window now holds the previous cycle's 1,000 commits, and
// nothing changes (one fetch, no push). It measures reading history for many policies at once.
func BenchmarkCycle1000PoliciesAfterAFullCycle(b *testing.B) {
	s, rc, _, r := benchRepository(b)
	ctx := context.Background()
	if _, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{}); err != nil {
		b.Fatal(err)
	}
	r.Now = func() time.Time { return cycleAt.Add(time.Minute) }
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s.ResetCounts()
		b.StartTimer()

		rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})

		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		for _, res := range rep.Results {
			if res.Action != ActionUnchanged {
				b.Fatalf("%s: %s, want unchanged: %v %s", res.Policy, res.Action, res.Reasons, res.Error)
			}
		}
		if n := len(rep.Results); n != benchPolicies {
			b.Fatalf("%d results, want %d", n, benchPolicies)
		}
		if f, p := s.Requests("bench", gittest.UploadPack), s.Requests("bench", gittest.ReceivePack); f != 1 || p != 0 {
			b.Fatalf("%d fetches and %d pushes, want 1 and 0", f, p)
		}
		b.StartTimer()
	}
	b.StopTimer()
	if hwm, ok := peakRSS(); ok {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MB")
	}
}

// peakRSS reads the process's resident high-water mark from /proc (Linux only).
func peakRSS() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
