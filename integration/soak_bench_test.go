package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/benchrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The soak (docs/benchmarks.md, "A busy repository"): the built `serve` over a repository of
// many policies evaluated `@every 10s`, metric values from a trace file in which one policy in
// ten changes its count every minute, against the real Git server, while a person pushes an
// unrelated commit on a fixed interval. It measures what issue 23 asks of a busy repository and
// fails on what must never happen: a person's commit lost, a decision landed twice or writing
// a count its flip did not ask for, history that is not linear, or `git fsck` complaining.
//
//	GITOPS_AUTOSCALER_SOAK_DURATION    how long the person pushes and the metrics flip (default 1m)
//	GITOPS_AUTOSCALER_SOAK_POLICIES    the repository's policies (default 2000; a multiple of 10)
//	GITOPS_AUTOSCALER_SOAK_PUSH_EVERY  the person's intervals, comma separated (default 2s,1s)
//
// `make soak` runs it at 10 minutes for each interval.

// soakInterval is every policy's schedule.
const soakInterval = 10 * time.Second

// soakGroups: policy i reads metric load_g<i%10>; group g's value flips at minute g+1, g+11, …
// of the run, so one policy in ten changes its count every minute.
const soakGroups = 10

// soakLead is how long before the first flip's minute the run starts serve: its clone and first
// cycle must be done by then (on the shared two-core machine 2,000 policies take about 30 s).
func soakLead(n int) time.Duration { return 45*time.Second + time.Duration(n)*20*time.Millisecond }

// soakGrace is how long the run goes on after the last flip, so that it can land.
const soakGrace = 30 * time.Second

// The metric values of a group's two levels, and the counts they ask for (averageValue 100).
const (
	soakLow, soakHigh           = 200.0, 560.0
	soakLowCount, soakHighCount = 2, 6
)

func soakEnv(b *testing.B) (time.Duration, int, []time.Duration) {
	d, n, every := time.Minute, 2000, []time.Duration{2 * time.Second, time.Second}
	if v := os.Getenv("GITOPS_AUTOSCALER_SOAK_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < time.Minute {
			b.Fatalf("GITOPS_AUTOSCALER_SOAK_DURATION: %q is not a duration of at least 1m", v)
		}
	}
	if v := os.Getenv("GITOPS_AUTOSCALER_SOAK_POLICIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < soakGroups || n%soakGroups != 0 {
			b.Fatalf("GITOPS_AUTOSCALER_SOAK_POLICIES: %q is not a multiple of %d", v, soakGroups)
		}
	}
	if v := os.Getenv("GITOPS_AUTOSCALER_SOAK_PUSH_EVERY"); v != "" {
		every = nil
		for _, f := range strings.Split(v, ",") {
			e, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || e <= 0 {
				b.Fatalf("GITOPS_AUTOSCALER_SOAK_PUSH_EVERY: %q is not an interval", f)
			}
			every = append(every, e)
		}
	}
	return d, n, every
}

// BenchmarkSoak runs the soak once per push interval (-benchtime 1x).
func BenchmarkSoak(b *testing.B) {
	d, n, every := soakEnv(b)
	for _, e := range every {
		b.Run(fmt.Sprintf("policies=%d/push-every=%s/for=%s", n, e, d), func(b *testing.B) {
			for range b.N {
				soak(b, n, e, d)
			}
		})
	}
}

// soakPolicy is one policy of the soak: its group's metric, no behavior block (the count
// follows the metric at once, up or down).
const soakPolicy = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  replicas: {file: %[3]s, path: app.replicaCount}
  schedule: "@every 10s"
  minReplicas: 1
  maxReplicas: 50
  mode: Commit
  metrics:
    - name: load_g%[4]d
      promQL: sum(rate(http_requests_total{namespace="%[2]s",app="%[1]s"}[2m]))
      target: {type: AverageValue, averageValue: 100}
`

const soakValues = `# %[1]s — the replica count is managed by gitops-autoscaler.
app:
  image: {repository: registry.example.com/%[1]s, tag: "1.0.0"}
  replicaCount: %[2]d  # managed
`

// soakStartsHigh: the odd groups start at the high level, so that their flip is a scale-down.
func soakStartsHigh(g int) bool { return g%2 == 1 }

// soakFlip is the m-th flip (from 1) of the run: at start + m minutes, group (m-1) % 10.
type soakFlip struct {
	at    time.Time
	group int
	to    int // the count the group's policies should now have
}

func soakFlips(start time.Time, d time.Duration) []soakFlip {
	high := make([]bool, soakGroups)
	for g := range high {
		high[g] = soakStartsHigh(g)
	}
	var out []soakFlip
	for m := 1; time.Duration(m)*time.Minute <= d; m++ {
		g := (m - 1) % soakGroups
		high[g] = !high[g]
		to := soakLowCount
		if high[g] {
			to = soakHighCount
		}
		out = append(out, soakFlip{at: start.Add(time.Duration(m) * time.Minute), group: g, to: to})
	}
	return out
}

// soakTrace is the metrics file: every group's value every 15 s from 10 minutes before the
// start to two minutes after the end.
func soakTrace(start time.Time, d time.Duration, flips []soakFlip) string {
	var sb strings.Builder
	sb.WriteString("timestamp,metric,value\n")
	for t := start.Add(-10 * time.Minute); !t.After(start.Add(d + 2*time.Minute)); t = t.Add(15 * time.Second) {
		for g := range soakGroups {
			high := soakStartsHigh(g)
			for _, f := range flips {
				if f.group == g && !f.at.After(t) {
					high = f.to == soakHighCount
				}
			}
			v := soakLow
			if high {
				v = soakHigh
			}
			fmt.Fprintf(&sb, "%s,load_g%d,%g\n", t.UTC().Format(time.RFC3339), g, v)
		}
	}
	return sb.String()
}

// soakResult is what one soak measured.
type soakResult struct {
	due, landed, inInterval int
	lat                     []time.Duration // flip → on the remote, of the decisions landed
	dueLat                  []time.Duration // the policy's first run after the flip → on the remote
	noPhase                 []string        // policies the status API gave no next run
	toCommit, toRemote      []time.Duration // flip → committed locally, → on the remote
	wrong, duplicates       int
	afterEnd                int // landed once the harness had stopped watching the remote
	humans, lostHumans      int
	rssFirst, rssLast       int64
	rssSamples              []int64
	cycles, retries         float64
	replayed, racesLost     float64
	notLanded               float64
}

func soak(b *testing.B, n int, every, d time.Duration) {
	const repo = "platform"
	s := gittest.NewServer(b)
	apps := benchrepo.Spec{Policies: n, Layout: benchrepo.Nested}.Apps()
	files := make(map[string]string, 2*n)
	group := map[string]int{} // policy ID → group
	for i, a := range apps {
		ns, name, _ := strings.Cut(a.ID, "/")
		g := i % soakGroups
		group[a.ID] = g
		count := soakLowCount
		if soakStartsHigh(g) {
			count = soakHighCount
		}
		files[a.Policy] = fmt.Sprintf(soakPolicy, name, ns, a.Values, g)
		files[a.Values] = fmt.Sprintf(soakValues, a.ID, count)
	}
	s.CreateRepo(repo, map[string]string{"README.md": "# platform\n"})
	initial := s.Import(repo, []gittest.ImportCommit{{
		Files: files, Message: fmt.Sprintf("%d services", n), Author: "Platform Team <platform@example.com>",
		When: time.Now().Add(-48 * time.Hour),
	}})
	bare := s.Dir(repo)

	// The run starts a little after serve has made its clone and first cycle (which decides
	// nothing: the trace holds the files' levels until the first flip).
	start := time.Now().Add(soakLead(n)).Truncate(time.Second)
	flips := soakFlips(start, d)
	dir := b.TempDir()
	password, trace, config := filepath.Join(dir, "git-password"), filepath.Join(dir, "trace.csv"), filepath.Join(dir, "autoscaler.yaml")
	writeFile(b, password, s.Password()+"\n")
	writeFile(b, trace, soakTrace(start, d, flips))
	writeFile(b, config, fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: %s
    url: %s
    branch: main
    policies: ["envs/**/autoscaling.yaml"]
    auth: {username: %s, passwordFile: %s}
prometheus:
  - name: default
    url: http://127.0.0.1:9
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
`, repo, s.URL(repo), s.User(), password))

	// The remote's head over time, read from the ref file (git http-backend writes loose refs)
	// every 50 ms: when each commit first became reachable on the remote.
	type seen struct {
		at  time.Time
		sha string
	}
	var heads []seen
	watchDone := make(chan struct{})
	var watch sync.WaitGroup
	stopWatch := sync.OnceFunc(func() { close(watchDone); watch.Wait() })
	b.Cleanup(stopWatch)
	watch.Add(1)
	go func() {
		defer watch.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		last := ""
		for {
			if raw, err := os.ReadFile(filepath.Join(bare, "refs", "heads", "main")); err == nil {
				if sha := strings.TrimSpace(string(raw)); sha != last {
					heads = append(heads, seen{time.Now(), sha})
					last = sha
				}
			}
			select {
			case <-watchDone:
				return
			case <-tick.C:
			}
		}
	}()

	p := startProcess(b, nil, "serve", "--config", config, "--metrics-file", trace, "--listen", "127.0.0.1:0",
		"--cache-dir", filepath.Join(dir, "cache"), "--log-level", "info")
	var res soakResult
	var rssMu sync.Mutex
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
			if kb := vmRSS(p.cmd.Process.Pid); kb > 0 && !time.Now().Before(start) {
				rssMu.Lock()
				res.rssSamples = append(res.rssSamples, kb<<10)
				rssMu.Unlock()
			}
		}
	}()

	// The person: from the start to the end of the run, commit and push every interval over
	// HTTP from a clone of their own, rebasing on a push that lost a race (pushOne, as the
	// end-to-end scenarios' person does). A push that takes longer than the interval skips
	// the ticks it overran.
	git := soakPerson(b, s, repo, filepath.Join(dir, "person"))
	// Each policy's evaluations keep the phase of its slot and jitter (docs/design.md §6,
	// "Fairness under contention"; missed runs are skipped): its next run, read before the
	// first flip, tells when each later one is due.
	var phase map[string]time.Time
	for {
		phase = soakPhases(b, p.addr)
		if len(phase) == n {
			break
		}
		if time.Now().After(start.Add(-5 * time.Second)) {
			b.Fatalf("serve knew %d of the %d policies' next runs 5 s before the run's start (a lead of %s): its clone and first cycle took longer", len(phase), n, soakLead(n))
		}
		time.Sleep(time.Second)
	}
	time.Sleep(time.Until(start.Add(-5 * time.Second)))
	phase = soakPhases(b, p.addr)
	time.Sleep(time.Until(start))
	end := start.Add(d + soakGrace)
	var theirs []string
	tick := time.NewTicker(every)
	for k := 1; time.Now().Before(end); k++ {
		<-tick.C
		if err := os.WriteFile(filepath.Join(dir, "person", "NOTES.md"), fmt.Appendf(nil, "# notes\n\nrelease %d\n", k), 0o644); err != nil {
			b.Fatal(err)
		}
		sha, err := pushOne(git, k)
		if err != nil {
			b.Fatalf("the person's push: %v", err)
		}
		theirs = append(theirs, sha)
	}
	tick.Stop()
	metrics := scrape(b, p.addr)
	onCPU, waiting := schedStat(p.cmd.Process.Pid)
	p.stop()
	<-rssDone
	stopWatch()

	// What landed: history must be linear (people fast-forward, races are replayed onto the
	// new head), so a commit landed when the first head at or after it was seen.
	if merges := strings.TrimSpace(s.Git(repo, "rev-list", "--merges", initial+"..main")); merges != "" {
		b.Errorf("the history has merges: %s", merges)
	}
	revs := strings.Fields(s.Git(repo, "rev-list", "--reverse", initial+"..main"))
	index := make(map[string]int, len(revs))
	for i, c := range revs {
		index[c] = i
	}
	landedAt := func(i int) time.Time {
		for _, h := range heads {
			if j, ok := index[h.sha]; ok && j >= i {
				return h.at
			}
		}
		return time.Time{}
	}
	for _, sha := range theirs {
		if _, ok := index[sha]; !ok {
			res.lostHumans++
		}
	}
	res.humans = len(theirs)

	// Every decision commit belongs to its group's latest flip before it landed; it must
	// write that flip's count, and only once.
	byFlip := map[[2]int]int{} // (flip, policy index) → commits
	policyIndex := make(map[string]int, n)
	for i, a := range apps {
		policyIndex[a.ID] = i
	}
	// serve's log: when each decision was first committed locally ("decision committed"),
	// and how often each message came.
	committed := map[string][]time.Time{}
	msgs := map[string]int{}
	var failures []string
	for _, l := range strings.Split(p.out.String(), "\n") {
		msg := logField(l, "msg")
		if msg == "" {
			continue
		}
		msgs[msg]++
		switch msg {
		case "decision committed":
			if t, err := time.Parse(time.RFC3339Nano, logField(l, "time")); err == nil {
				id := logField(l, "policy")
				committed[id] = append(committed[id], t)
			}
		case "cycle failed":
			if len(failures) < 3 {
				failures = append(failures, l)
			}
		}
	}
	perFlip := make([][]time.Duration, len(flips))
	logOut := s.Git(repo, "log", "--reverse", "--format=%H%x00%B%x1e", initial+"..main")
	for _, rec := range strings.Split(logOut, "\x1e") {
		sha, msg, ok := strings.Cut(strings.TrimSpace(rec), "\x00")
		if !ok {
			continue
		}
		tr, ok := commitmsg.ParseTrailers(msg)
		if !ok {
			continue // the person's
		}
		g, known := group[tr.PolicyID]
		at := landedAt(index[sha])
		f := -1
		for i, fl := range flips {
			if fl.group == g && !fl.at.After(at) {
				f = i
			}
		}
		if at.IsZero() && known {
			// It reached the remote after the harness stopped watching (the shutdown's last
			// push): late, not wrong, when it writes its group's last flip's count. It is not
			// counted as landed, and has no latency.
			last := -1
			for i, fl := range flips {
				if fl.group == g {
					last = i
				}
			}
			if last >= 0 && tr.To == flips[last].to {
				if byFlip[[2]int{last, policyIndex[tr.PolicyID]}]++; byFlip[[2]int{last, policyIndex[tr.PolicyID]}] > 1 {
					res.duplicates++
				}
				res.afterEnd++
				continue
			}
		}
		if !known || f < 0 || tr.To != flips[f].to || at.IsZero() {
			res.wrong++
			b.Errorf("decision %s (%s %d → %d, landed %s) follows no flip of its group", sha, tr.PolicyID, tr.From, tr.To, at.Format(time.RFC3339Nano))
			continue
		}
		key := [2]int{f, policyIndex[tr.PolicyID]}
		byFlip[key]++
		if byFlip[key] > 1 {
			res.duplicates++
			continue
		}
		res.lat = append(res.lat, at.Sub(flips[f].at))
		if c, ok := committed[tr.PolicyID]; ok {
			for _, ct := range c {
				if !ct.Before(flips[f].at) && !ct.After(at) {
					res.toCommit = append(res.toCommit, ct.Sub(flips[f].at))
					res.toRemote = append(res.toRemote, at.Sub(ct))
					break
				}
			}
		}
		perFlip[f] = append(perFlip[f], at.Sub(flips[f].at))
		// The first run at or after the flip, by the policy's phase; the flip itself for a
		// policy the status API gave no next run (counted and logged).
		due := flips[f].at
		if next, ok := phase[tr.PolicyID]; ok {
			due = next.Add(flips[f].at.Sub(next).Truncate(soakInterval))
			if due.Before(flips[f].at) {
				due = due.Add(soakInterval)
			}
		} else {
			res.noPhase = append(res.noPhase, tr.PolicyID)
		}
		lat := at.Sub(due)
		res.dueLat = append(res.dueLat, lat)
		if lat <= soakInterval {
			res.inInterval++
		}
	}
	res.due = len(flips) * n / soakGroups
	res.landed = len(res.lat)
	s.Git(repo, "fsck", "--strict", "--no-progress") // fails the benchmark on a complaint

	third := len(res.rssSamples) / 3
	if third > 0 {
		res.rssFirst = slices.Max(res.rssSamples[:third])
		res.rssLast = slices.Max(res.rssSamples[len(res.rssSamples)-third:])
	}
	res.cycles = metrics["gitops_autoscaler_evaluation_duration_seconds_count"]
	res.retries = metrics["gitops_autoscaler_push_retries_total"]
	res.replayed = metrics["gitops_autoscaler_replayed_commits_total"]
	res.racesLost = metrics["gitops_autoscaler_push_races_lost_total"]
	res.notLanded = metrics["gitops_autoscaler_decisions_not_landed_total"]

	slices.Sort(res.lat)
	slices.Sort(res.dueLat)
	pctOf := func(l []time.Duration, q float64) float64 {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(q*float64(len(l))))].Seconds()
	}
	pct := func(q float64) float64 { return pctOf(res.dueLat, q) }
	flipPct := func(q float64) float64 { return pctOf(res.lat, q) }
	share := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	retriesPerCycle := 0.0
	if res.cycles > 0 {
		retriesPerCycle = res.retries / res.cycles
	}
	b.Logf("soak: %d policies @every %s, a person pushing every %s, for %s (+%s grace)", n, soakInterval, every, d, soakGrace)
	b.Logf("| push every | due | landed | within 10 s of due | due → remote p50 / p95 / max | flip → remote p50 / p95 / max | cycles | retries/cycle | replayed | races lost | deferred | person's commits (lost) | duplicates | RSS first → last third peak | fsck |")
	b.Logf("| %s | %d | %d (%.1f %%) | %d (%.1f %%) | %.1f / %.1f / %.1f s | %.1f / %.1f / %.1f s | %.0f | %.2f | %.0f | %.0f | %.0f | %d (%d) | %d | %.0f → %.0f MB (%.2f×) | clean |",
		every, res.due, res.landed, share(res.landed, res.due), res.inInterval, share(res.inInterval, res.due),
		pct(0.5), pct(0.95), pct(1), flipPct(0.5), flipPct(0.95), flipPct(1), res.cycles, retriesPerCycle, res.replayed, res.racesLost, res.notLanded,
		res.humans, res.lostHumans, res.duplicates,
		float64(res.rssFirst)/(1<<20), float64(res.rssLast)/(1<<20), float64(res.rssLast)/float64(max(res.rssFirst, 1)))
	slices.Sort(res.toCommit)
	slices.Sort(res.toRemote)
	b.Logf("split: flip → committed locally p50 / p95 / max %.1f / %.1f / %.1f s; committed → on the remote %.1f / %.1f / %.1f s (%d decisions)",
		pctOf(res.toCommit, 0.5), pctOf(res.toCommit, 0.95), pctOf(res.toCommit, 1), pctOf(res.toRemote, 0.5), pctOf(res.toRemote, 0.95), pctOf(res.toRemote, 1), len(res.toCommit))
	for i, l := range perFlip {
		slices.Sort(l)
		b.Logf("flip %d (group %d → %d replicas): %d landed, flip → remote p50 %.1f s, max %.1f s", i+1, flips[i].group, flips[i].to, len(l), pctOf(l, 0.5), pctOf(l, 1))
	}
	if res.cycles > 0 {
		b.Logf("cycles: %.0f, mean %.1f s; deferred: %.0f by the deadline, %.0f by push races", res.cycles,
			metrics["gitops_autoscaler_evaluation_duration_seconds_sum"]/res.cycles,
			metrics["gitops_autoscaler_decisions_not_landed_total/deadline"], metrics["gitops_autoscaler_decisions_not_landed_total/push-race"])
	}
	b.Logf("serve: %.1f CPU-s (%.2f a cycle), %.1f s waiting for a CPU on the run queue (/proc schedstat, all threads)", p.cpu().Seconds(), p.cpu().Seconds()/max(res.cycles, 1), waiting.Seconds())
	_ = onCPU
	b.Logf("serve's log, by message: %v", msgs)
	if res.afterEnd > 0 {
		b.Logf("%d decisions reached the remote after the harness stopped watching it (the shutdown's last push): not counted as landed", res.afterEnd)
	}
	for _, f := range failures {
		b.Logf("e.g. %s", f)
	}
	if len(res.noPhase) > 0 {
		b.Logf("%d decisions of policies without a next run in the status API counted from their flip, e.g. %s", len(res.noPhase), res.noPhase[0])
	}
	b.ReportMetric(share(res.inInterval, res.due), "%-in-interval")
	b.ReportMetric(pct(0.95), "p95-s")
	b.ReportMetric(retriesPerCycle, "retries/cycle")
	b.ReportMetric(float64(res.rssLast)/float64(max(res.rssFirst, 1)), "rss-last/first")

	if res.lostHumans > 0 {
		b.Errorf("%d of the person's %d commits were lost", res.lostHumans, res.humans)
	}
	if res.duplicates > 0 {
		b.Errorf("%d decisions landed twice", res.duplicates)
	}
	if res.humans == 0 || res.landed == 0 {
		b.Errorf("nothing happened: %d person's commits, %d decisions landed\n%s", res.humans, res.landed, tail(p.out.String(), 4000))
	}
}

// vmRSS is a process's resident set now, in kilobytes (0 when it cannot be read).
func vmRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// scrape reads the service's /metrics and sums each metric's series by name (histograms by
// their _count and _sum).
func scrape(b *testing.B, addr string) map[string]float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("scrape /metrics: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		b.Fatalf("scrape /metrics: %v", err)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(raw), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(l, " ")
		if i := strings.IndexByte(l, '{'); i >= 0 {
			name = l[:i]
			_, rest, _ = strings.Cut(l[strings.LastIndexByte(l, '}'):], " ")
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err == nil {
			out[name] += v
			if _, r, ok := strings.Cut(l, `reason="`); ok {
				r, _, _ = strings.Cut(r, `"`)
				out[name+"/"+r] += v
			}
		}
	}
	return out
}

// soakPerson clones the repository over HTTP into dir, as a person with the server's
// credentials (from a helper, never in a URL or an error), and returns git in that clone.
func soakPerson(b *testing.B, s *gittest.Server, repo, dir string) func(...string) (string, error) {
	home := b.TempDir()
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=credential.helper",
		fmt.Sprintf("GIT_CONFIG_VALUE_0=!f() { echo username=%s; echo password=%s; }; f", s.User(), s.Password()))
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if _, err := git("clone", "--quiet", "--branch", "main", s.URL(repo), "."); err != nil {
		b.Fatal(err)
	}
	return git
}

// soakPhases reads every policy's next run from the status API.
func soakPhases(b *testing.B, addr string) map[string]time.Time {
	resp, err := http.Get("http://" + addr + "/api/v1/policies")
	if err != nil {
		b.Fatalf("status API: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Policies []struct {
			ID      string     `json:"id"`
			NextRun *time.Time `json:"nextRun"`
		} `json:"policies"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&body); err != nil {
		b.Fatalf("status API: %v", err)
	}
	out := make(map[string]time.Time, len(body.Policies))
	for _, p := range body.Policies {
		if p.NextRun != nil {
			out[p.ID] = *p.NextRun
		}
	}
	return out
}

// logField is a field of a log line in slog's text format (key=value or key="quoted value").
func logField(line, key string) string {
	_, v, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		if v, ok = strings.CutPrefix(line, key+"="); !ok {
			return ""
		}
	}
	if strings.HasPrefix(v, `"`) {
		if q, err := strconv.QuotedPrefix(v); err == nil {
			u, _ := strconv.Unquote(q)
			return u
		}
		return ""
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// schedStat sums a process's threads' time on a CPU and time runnable but waiting for one
// (/proc/<pid>/task/*/schedstat): on a shared machine the second says how much of a cycle's
// wall time was the machine's, not the cycle's.
func schedStat(pid int) (onCPU, waiting time.Duration) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw))
		if len(f) < 2 {
			continue
		}
		c, _ := strconv.ParseInt(f[0], 10, 64)
		w, _ := strconv.ParseInt(f[1], 10, 64)
		onCPU += time.Duration(c)
		waiting += time.Duration(w)
	}
	return onCPU, waiting
}
