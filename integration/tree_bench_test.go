package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/benchrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// BenchmarkOneTreePerPush measures the design question of issue 23 item 3 with Git alone
// (docs/benchmarks.md, "Why not one tree per push"): what would a cycle's push cost if its
// changes to one directory made one new version of that directory, instead of one per commit?
// In the benchrepo repository of N policies, one in ten scaling, it builds with `git
// fast-import` the same N/10 changed values files two ways — N/10 commits of one file each
// (what the loop pushes: docs/design.md §6, one commit per decision) and one commit of all of
// them (the only history in which the directory gets one new tree per push) — and pushes each
// to the real Git server (`git http-backend`) from a bare clone. Reported per layout and size:
// the build and push wall times of both and their ratios. Sizes as BenchmarkScaleCurve's
// (GITOPS_AUTOSCALER_SCALE_SIZES).
func BenchmarkOneTreePerPush(b *testing.B) {
	for _, layout := range benchrepo.Layouts {
		for _, n := range scaleSizes(b) {
			b.Run(fmt.Sprintf("%s/%d", layout, n), func(b *testing.B) {
				spec := benchrepo.Spec{Policies: n, Layout: layout, Every: 10}
				for range b.N {
					benchOneTreePerPush(b, spec)
				}
			})
		}
	}
}

func benchOneTreePerPush(b *testing.B, spec benchrepo.Spec) {
	b.StopTimer()
	s := gittest.NewServer(b)
	files := spec.Files()
	var changed []string
	for _, a := range spec.Apps() {
		if a.Scales {
			changed = append(changed, a.Values)
		}
	}
	scaled := func(path string) string {
		return strings.Replace(files[path], fmt.Sprintf("replicaCount: %d", benchrepo.FromReplicas), fmt.Sprintf("replicaCount: %d", benchrepo.ToReplicas), 1)
	}
	at := scaleAt.Unix()
	home := b.TempDir()
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=credential.helper",
		fmt.Sprintf("GIT_CONFIG_VALUE_0=!f() { echo username=%s; echo password=%s; }; f", s.User(), s.Password()))
	git := func(dir string, stdin []byte, args ...string) {
		b.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		if stdin != nil {
			cmd.Stdin = bytes.NewReader(stdin)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, tail(string(out), 2000))
		}
	}
	var stream = map[string]*bytes.Buffer{"many": {}, "one": {}}
	commit := func(w *bytes.Buffer, from, msg string, paths []string, mark int) {
		fmt.Fprintf(w, "commit refs/heads/cycle\nmark :%d\ncommitter gitops-autoscaler <autoscaler@example.com> %d +0000\ndata %d\n%s\nfrom %s\n",
			mark, at, len(msg)+1, msg, from)
		for _, p := range paths {
			c := scaled(p)
			fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", p, len(c), c)
		}
	}
	for i, p := range changed {
		from := fmt.Sprintf(":%d", i)
		if i == 0 {
			from = "BASE"
		}
		commit(stream["many"], from, "autoscale "+p, []string{p}, i+1)
	}
	commit(stream["one"], "BASE", fmt.Sprintf("autoscale %d workloads", len(changed)), changed, 1)

	took := map[string][2]time.Duration{} // build, push
	for _, way := range []string{"many", "one"} {
		base := benchrepo.Import(s, way, spec, scaleAt.Add(-48*time.Hour))
		work := filepath.Join(b.TempDir(), way+".git")
		git("", nil, "clone", "--quiet", "--bare", s.Dir(way), work)
		in := bytes.ReplaceAll(stream[way].Bytes(), []byte("from BASE\n"), []byte("from "+base+"\n"))
		start := time.Now()
		b.StartTimer()
		git(work, in, "fast-import", "--quiet")
		b.StopTimer()
		build := time.Since(start)
		start = time.Now()
		b.StartTimer()
		// A postBuffer larger than the pack: git then sends it with its length, which the
		// server's CGI needs, rather than chunked.
		git(work, nil, "-c", "http.postBuffer=2147483647", "push", "--quiet", s.URL(way), "refs/heads/cycle:refs/heads/main")
		b.StopTimer()
		took[way] = [2]time.Duration{build, time.Since(start)}
		if got := len(strings.Fields(s.Git(way, "rev-list", base+"..main"))); (way == "many" && got != len(changed)) || (way == "one" && got != 1) {
			b.Fatalf("%s: %d commits landed", way, got)
		}
		if d := s.Git(way, "diff", "--stat", base, "main"); !strings.Contains(d, fmt.Sprintf("%d files changed", len(changed))) && len(changed) > 1 {
			b.Fatalf("%s: the pushed history does not change the %d files: %s", way, len(changed), tail(d, 200))
		}
	}
	many, one := took["many"], took["one"]
	b.Logf("%s/%d: %d changed files; build %.2fs (one commit each) vs %.2fs (one commit), push %.2fs vs %.2fs",
		spec.Layout, spec.Policies, len(changed), many[0].Seconds(), one[0].Seconds(), many[1].Seconds(), one[1].Seconds())
	b.ReportMetric(many[0].Seconds(), "build-commit-each-s")
	b.ReportMetric(one[0].Seconds(), "build-one-commit-s")
	b.ReportMetric(many[1].Seconds(), "push-commit-each-s")
	b.ReportMetric(one[1].Seconds(), "push-one-commit-s")
	b.ReportMetric(many[1].Seconds()/max(one[1].Seconds(), 1e-3), "push-ratio")
}
