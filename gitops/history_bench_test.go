package gitops

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// busyHistory is h commits within the hour before cycleAt, as a busy repository's soak makes
// them: two in three a person's unrelated note, one in three one of our decisions on one of
// the benchPolicies policies (a comment of its values file changes; the count stays 2, so the
// cycle has nothing to do).
func busyHistory(h int) []gittest.ImportCommit {
	out := make([]gittest.ImportCommit, 0, h)
	start := cycleAt.Add(-55 * time.Minute)
	for i := range h {
		when := start.Add(time.Duration(i) * 50 * time.Minute / time.Duration(max(h, 1)))
		if i%3 != 2 {
			out = append(out, gittest.ImportCommit{
				Files:   map[string]string{"notes.md": fmt.Sprintf("note %d\n", i)},
				Message: fmt.Sprintf("docs: note %d", i), Author: "Ann <ann@example.com>", When: when,
			})
			continue
		}
		name := fmt.Sprintf("p%04d", 1+(i/3)%benchPolicies)
		loc := policy.ReplicasLocation{File: "values/" + name + ".yaml", Path: "app.replicaCount"}
		out = append(out, gittest.ImportCommit{
			Files: map[string]string{loc.File: fmt.Sprintf("# %s, decided at %d\napp:\n  image: {tag: \"1.0\"}\n  replicaCount: 2  # managed\n", name, i)},
			Message: commitmsg.Format(commitmsg.Message{PolicyID: "bench/" + name, Target: loc, From: 3, To: 2,
				Reasons: []engine.Reason{{Message: "rps low"}}, EvaluatedAt: when}),
			Author: "gitops-autoscaler <bot@example.com>", When: when,
		})
	}
	return out
}

// BenchmarkCycleBusyHistory is one cycle of benchPolicies policies, none of which changes
// (one fetch, no push), on a repository whose last hour holds H commits — the soak's busy
// history (issue 23). Every policy reads that hour (the default revert hold, 3,600 s), so a
// cycle that walked the whole window per policy would cost N × H; compare the two sizes as a
// ratio within one run.
func BenchmarkCycleBusyHistory(b *testing.B) {
	for _, h := range []int{0, 3000} {
		b.Run(fmt.Sprintf("H=%d", h), func(b *testing.B) {
			s, rc, _, r := benchRepository(b)
			if h > 0 {
				s.Import("bench", busyHistory(h))
			}
			r.Metrics = staticMetrics{"rps": 200} // 2 replicas: nothing to change
			ctx := context.Background()
			cycle := func() {
				rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if n := len(rep.Results); n != benchPolicies {
					b.Fatalf("%d results, want %d", n, benchPolicies)
				}
				for _, res := range rep.Results {
					if res.Action != ActionUnchanged {
						b.Fatalf("%s: %s, want unchanged: %v %s", res.Policy, res.Action, res.Reasons, res.Error)
					}
				}
			}
			cycle() // the fetch of the history, once
			if got := strings.Count(s.Git("bench", "rev-list", "main"), "\n"); got != h+2 {
				b.Fatalf("remote has %d commits, want %d", got, h+2)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				cycle()
			}
		})
	}
}

// BenchmarkCycleGrowingHistory is the soak's shape in one process: cycles of benchPolicies
// policies while the repository's last hour fills up, 40 new commits (busyHistory's mix) before
// each cycle. It reports the live heap after a forced GC at the end of the first and last
// thirds of the cycles, and their ratio: what a cycle keeps should not grow with the history
// (issue 23's RSS target, ≤ 1.1×). Run it with -benchtime 60x.
func BenchmarkCycleGrowingHistory(b *testing.B) {
	s, rc, _, r := benchRepository(b)
	r.Metrics = staticMetrics{"rps": 200} // 2 replicas: nothing to change
	all := busyHistory(40 * max(b.N, 3))
	ctx := context.Background()
	heap := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapInuse) / (1 << 20)
	}
	var first, last float64
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		s.Import("bench", all[40*i:40*(i+1)])
		b.StartTimer()
		rep, err := r.Cycle(ctx, Repo{Config: rc}, CycleOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(rep.Results); n != benchPolicies {
			b.Fatalf("%d results, want %d", n, benchPolicies)
		}
		switch i {
		case b.N/3 - 1:
			b.StopTimer()
			first = heap()
			b.StartTimer()
		case b.N - 1:
			b.StopTimer()
			last = heap()
		}
	}
	if first > 0 {
		b.ReportMetric(first, "heap-first-third-MB")
		b.ReportMetric(last, "heap-last-MB")
		b.ReportMetric(last/first, "heap-growth")
	}
}
