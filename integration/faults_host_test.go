package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/faultproxy"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The fault suite's host half: the GitHub API failing at each step of a pull request's
// lifecycle, and the process SIGKILLed at random points of PullRequest and AutoMerge cycles.
// The policies of the fault repository deliver through the GitHub API test server
// (internal/testserver/githubtest, whose pull requests and merges are real state over the Git
// server), and a fault proxy sits in front of that API as another does in front of Git. After
// each fault: at most one open pull request per policy, no branch but the policies' own, no
// partial commit on the base branch or on a pull request's branch, every person's commit, no
// token in any output — and the next run without the fault converges as the mode says.

// hostT2 is an instant after faultT1 at which the load asks for 10 replicas: a decision that
// changes an open pull request.
var hostT2 = faultT1.Add(5 * time.Minute)

// hostRepo is a fault repository whose policies deliver by pull request (mode PullRequest or
// AutoMerge) through the GitHub API test server, behind its own fault proxy. In AutoMerge the
// base branch requires the check ci/test, which passes.
type hostRepo struct {
	*faultRepo
	gh   *githubtest.Server
	api  *faultproxy.Proxy
	mode string

	mu  sync.Mutex
	now time.Time // the API's clock: the instant of the run, ticking
}

func newHostRepo(t *testing.T, mode string) *hostRepo {
	t.Helper()
	h := &hostRepo{mode: mode, now: faultT0}
	token := filepath.Join(t.TempDir(), "github-token")
	writeFile(t, token, githubtest.DefaultToken+"\n")
	// An AutoMerge run of three policies makes some twenty requests, one of them waiting out a
	// Retry-After, while thirty such runs go on at once on a small machine: 4s was too short
	// for the cycle, and a run that lost it failed a test meant to see the wait succeed. 12s
	// is still far below the minute a secondary limit without Retry-After asks for.
	h.faultRepo = newFaultRepo(t, faultOptions{mode: mode, cycleTimeout: 12 * time.Second, repoFor: func(git *gittest.Server) string {
		h.gh = githubtest.New(t, git, faultRepoName, githubtest.WithClock(h.clock))
		h.api = faultproxy.New(t, strings.TrimSuffix(h.gh.URL(), "/"))
		return fmt.Sprintf("    github: {owner: %s, repo: %s, apiURL: %s/, tokenFile: %s}\n", h.gh.Owner(), h.gh.Repo(), h.api.URL(), token)
	}})
	if mode == "AutoMerge" {
		h.gh.SetRequiredChecks("ci/test")
	}
	h.load(t, hostT2, 960) // 10 replicas
	return h
}

// load adds a metric value at an instant to the repository's trace.
func (h *hostRepo) load(t *testing.T, at time.Time, v float64) {
	t.Helper()
	f, err := os.OpenFile(h.trace, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = fmt.Fprintf(f, "%s,load,%g\n", at.Format(time.RFC3339), v)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func (h *hostRepo) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(time.Millisecond)
	return h.now
}

// run is evaluate at an instant, with the API's clock there; no output of it may hold the
// GitHub token or the Git password.
func (h *hostRepo) run(t *testing.T, at time.Time) (int, []gitops.Result, string) {
	t.Helper()
	h.mu.Lock()
	h.now = at
	h.mu.Unlock()
	code, results, stderr := h.evaluate(t, at)
	out, err := json.Marshal(results)
	require.NoError(t, err)
	for _, secret := range []string{githubtest.DefaultToken, h.git.Password()} {
		require.NotContains(t, stderr, secret, "a secret in the log")
		require.NotContains(t, string(out), secret, "a secret in the results")
	}
	return code, results, stderr
}

// branch is the pull request branch of an app's policy.
func branchOf(app string) string { return "autoscaler/shop/" + app }

// checkHost checks the remote after a fault: the base branch's invariants (faultRepo's), at
// most one open pull request per policy, no branch but the policies' own, each holding one
// complete decision commit of its own policy on the base's history, and every open pull
// request's branch still there.
func (h *hostRepo) checkHost(t *testing.T) {
	t.Helper()
	h.checkInvariants(t, func(b string) int { return len(h.gh.OpenPullRequests(b)) })
	ours := map[string]string{}
	for _, a := range faultApps {
		ours[branchOf(a)] = a
		assert.LessOrEqual(t, len(h.gh.OpenPullRequests(branchOf(a))), 1, "at most one open pull request for %s", a)
	}
	for _, b := range h.git.Branches(faultRepoName) {
		if b == "main" {
			continue
		}
		app, ok := ours[b]
		require.True(t, ok, "stray branch %s", b)
		revs := strings.Fields(h.git.Git(faultRepoName, "rev-list", "main.."+b))
		require.Len(t, revs, 1, "branch %s holds one commit on the base's history", b)
		tr, ok := commitmsg.ParseTrailers(h.git.RawMessage(faultRepoName, revs[0]))
		require.True(t, ok, "the commit of %s is a decision with its trailers", b)
		assert.Equal(t, "shop/"+app, tr.PolicyID, b)
		file := "envs/prod/" + app + "/values.yaml"
		assert.Equal(t, []string{file}, strings.Fields(h.git.Git(faultRepoName, "diff-tree", "--no-commit-id", "--name-only", "-r", revs[0])), b)
		assert.Equal(t, faultValues(app, tr.To), h.git.ReadFile(faultRepoName, b, file), "%s proposes its trailers' count", b)
	}
	for _, pr := range h.gh.PullRequests() {
		if pr.State == "open" {
			assert.Contains(t, ours, pr.Head, "pull request #%d is a policy's", pr.Number)
			assert.NotEmpty(t, h.git.HeadSHA(faultRepoName, pr.Head), "the branch of open pull request #%d exists", pr.Number)
			assert.Equal(t, "main", pr.Base)
		}
	}
}

// converged checks that every policy's decision of want replicas is delivered as the mode
// says: PullRequest — one open pull request per policy, at its branch's head, titled,
// described and labelled for the decision, the base untouched; AutoMerge — merged into the
// base branch, no pull request open and no branch left.
func (h *hostRepo) converged(t *testing.T, want int) {
	t.Helper()
	h.checkHost(t)
	for _, a := range faultApps {
		open := h.gh.OpenPullRequests(branchOf(a))
		if h.mode == "AutoMerge" {
			assert.Equal(t, want, h.replicas(t, a), a)
			assert.Empty(t, open, "%s: no pull request left open", a)
			assert.Empty(t, h.git.HeadSHA(faultRepoName, branchOf(a)), "%s: the merged branch is deleted", a)
			continue
		}
		assert.Equal(t, 2, h.replicas(t, a), "%s: the base keeps its count until a person merges", a)
		if !assert.Len(t, open, 1, "%s: one open pull request", a) {
			continue
		}
		pr := open[0]
		assert.Equal(t, h.git.HeadSHA(faultRepoName, branchOf(a)), pr.HeadSHA, a)
		assert.Equal(t, fmt.Sprintf("autoscale(shop/%s): 2 → %d replicas", a, want), pr.Title, a)
		assert.Contains(t, pr.Body, fmt.Sprintf("%s: %d", commitmsg.TrailerTo, want), a)
		assert.ElementsMatch(t, []string{delivery.LabelAutoscaler, delivery.LabelScaleUp}, pr.Labels, a)
		assert.Equal(t, faultValues(a, want), h.git.ReadFile(faultRepoName, branchOf(a), "envs/prod/"+a+"/values.yaml"), a)
	}
}

// converges runs the next cycle without faults, a minute after the instant (the load as it
// was), and checks that it converged to want replicas; then that a rerun writes nothing — no
// API write, no push.
func (h *hostRepo) converges(t *testing.T, at time.Time, want int) {
	t.Helper()
	h.proxy.Clear()
	h.api.Clear()
	at = at.Add(time.Minute)
	code, results, stderr := h.run(t, at)
	require.Equal(t, 0, code, "the run after the fault converges: %s\n%v", stderr, results)
	h.converged(t, want)
	h.gh.ResetCounts()
	h.git.ResetCounts()
	code, _, stderr = h.run(t, at)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, h.gh.Writes(), "a rerun writes nothing through the API")
	assert.Zero(t, h.git.PackRequests(faultRepoName, gittest.ReceivePack), "a rerun pushes nothing")
	h.converged(t, want)
}

// GitHub's answers for the faults: a server error, its secondary rate limit as a 403 with
// Retry-After (and without), and as a 429.
var (
	gh500 = faultproxy.Rule{Kind: faultproxy.Answer, Status: http.StatusInternalServerError,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: `{"message":"Server Error"}`}
	ghSecondary = faultproxy.Rule{Kind: faultproxy.Answer, Status: http.StatusForbidden,
		Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
		Body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
	gh429 = faultproxy.Rule{Kind: faultproxy.Answer, Status: http.StatusTooManyRequests,
		Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
		Body:   `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}`}
)

// at is a fault at one step of the lifecycle: the first matching request (every one, with
// times 0) gets the answer.
func at(r faultproxy.Rule, match func(*http.Request) bool, times int) faultproxy.Rule {
	r.Match, r.Times = match, times
	return r
}

func served(r faultproxy.Rule) faultproxy.Rule { r.Served = true; return r }

func noRetryAfter(r faultproxy.Rule) faultproxy.Rule {
	r.Header = http.Header{"Content-Type": r.Header["Content-Type"]}
	return r
}

// The steps of a pull request's lifecycle, as requests to the API.
var (
	listPRs = func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/pulls")
	}
	listOpenPRs = func(r *http.Request) bool { return listPRs(r) && r.URL.Query().Get("state") == "open" }
	createPR    = func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/pulls")
	}
	updatePR = faultproxy.MethodPath(http.MethodPatch, "/pulls/")
	labelPR  = faultproxy.MethodPath(http.MethodPost, "/labels")
	getPR    = func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/pulls/")
	}
	requiredChecks = faultproxy.Path("/required_status_checks")
	commitStatus   = func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/status") }
	checkRuns      = faultproxy.Path("/check-runs")
	mergePR        = faultproxy.MethodPath(http.MethodPut, "/merge")
)

// TestHostAPIFaults: the GitHub API answers a 500 or a secondary rate limit at one step of a
// pull request's lifecycle — listing, opening, labelling, updating, reading it, reading the
// checks, merging — in PullRequest and AutoMerge modes. A rate limit that names its wait is
// waited out, and a read's 500 tried again (internal/httpretry, below go-github), and the
// run succeeds; a write's 500, a read failing on every attempt, or a limit whose wait
// outlasts the cycle, fails the run with an error naming the repository and the step. Then no duplicate pull request, no stray branch, no partial commit, and the next run
// converges.
func TestHostAPIFaults(t *testing.T) {
	tests := []struct {
		name string
		mode string
		// update: a clean run at T1 opens the pull requests first; the fault hits the run at
		// T2, which changes them (10 replicas instead of 6).
		update bool
		fault  faultproxy.Rule
		ok     bool   // the run succeeds, after waiting out the limit or retrying the read
		err    string // else the failed policy's error says this
	}{
		{name: "PullRequest/list 500", mode: "PullRequest", fault: at(gh500, listOpenPRs, 1), ok: true},
		{name: "PullRequest/list 500 on every request", mode: "PullRequest", fault: at(gh500, listOpenPRs, 0), err: "list pull requests of autoscaler/shop/api"},
		{name: "PullRequest/list secondary limit", mode: "PullRequest", fault: at(ghSecondary, listPRs, 1), ok: true},
		{name: "PullRequest/list 429 on every request", mode: "PullRequest", fault: at(gh429, listPRs, 0), err: "rate limit"},
		{name: "PullRequest/create 500", mode: "PullRequest", fault: at(gh500, createPR, 1), err: "open pull request for autoscaler/shop/api"},
		{name: "PullRequest/create 500 after GitHub opened it", mode: "PullRequest", fault: at(served(gh500), createPR, 1), err: "open pull request for autoscaler/shop/api"},
		{name: "PullRequest/create secondary limit", mode: "PullRequest", fault: at(ghSecondary, createPR, 1), ok: true},
		{name: "PullRequest/label 500", mode: "PullRequest", fault: at(gh500, labelPR, 1), err: "label pull request #1"},
		{name: "PullRequest/update 500", mode: "PullRequest", update: true, fault: at(gh500, updatePR, 1), err: "update pull request #1"},
		{name: "PullRequest/update 500 after GitHub updated it", mode: "PullRequest", update: true, fault: at(served(gh500), updatePR, 1), err: "update pull request #1"},
		{name: "PullRequest/update secondary limit", mode: "PullRequest", update: true, fault: at(ghSecondary, updatePR, 1), ok: true},
		{name: "PullRequest/update secondary limit longer than the cycle", mode: "PullRequest", update: true, fault: at(noRetryAfter(ghSecondary), updatePR, 1), err: "secondary limit"},
		{name: "AutoMerge/required checks 500", mode: "AutoMerge", fault: at(gh500, requiredChecks, 1), ok: true},
		{name: "AutoMerge/required checks 500 on every request", mode: "AutoMerge", fault: at(gh500, requiredChecks, 0), err: "read required checks of main"},
		{name: "AutoMerge/read pull request 429", mode: "AutoMerge", fault: at(gh429, getPR, 1), ok: true},
		{name: "AutoMerge/commit status 500", mode: "AutoMerge", fault: at(gh500, commitStatus, 1), ok: true},
		{name: "AutoMerge/check runs secondary limit", mode: "AutoMerge", fault: at(ghSecondary, checkRuns, 1), ok: true},
		{name: "AutoMerge/merge 500", mode: "AutoMerge", fault: at(gh500, mergePR, 1), err: "merge pull request #1"},
		{name: "AutoMerge/merge 500 after GitHub merged it", mode: "AutoMerge", fault: at(served(gh500), mergePR, 1), err: "merge pull request #1"},
		{name: "AutoMerge/merge secondary limit", mode: "AutoMerge", fault: at(ghSecondary, mergePR, 1), ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHostRepo(t, tt.mode)
			when, want := faultT1, 6
			if tt.update {
				code, _, stderr := h.run(t, faultT1)
				require.Equal(t, 0, code, stderr)
				h.converged(t, 6)
				when, want = hostT2, 10
			}
			h.human(t, 1)

			rule := h.api.Add(tt.fault)
			start := time.Now()
			code, results, stderr := h.run(t, when)
			took := time.Since(start)
			assert.Positive(t, h.api.Hits(rule), "the fault happened")
			if tt.ok {
				assert.Equal(t, 0, code, "the limit is waited out: %s %v", stderr, results)
				if tt.fault.Header.Get("Retry-After") != "" {
					assert.GreaterOrEqual(t, took, time.Second, "after the Retry-After it asked for")
				}
				h.converged(t, want)
			} else {
				assert.Equal(t, 1, code, "the run reports the failure: %s %v", stderr, results)
				var failed []string
				for _, r := range results {
					if r.Action == gitops.ActionError {
						failed = append(failed, r.Error)
					}
				}
				require.NotEmpty(t, failed, "a policy failed: %v", results)
				assert.Contains(t, failed[0], "github acme/shop: ", "the error names the repository")
				assert.Contains(t, failed[0], tt.err, "the error names the step")
				if tt.fault.Times == 0 {
					assert.LessOrEqual(t, h.api.Hits(rule), 4*len(faultApps), "a bounded number of attempts")
				}
			}
			h.checkHost(t)
			h.converges(t, when, want)
		})
	}
}

// killSeedEnv overrides the seed of TestKillDuringPullRequestCycles, to repeat a run.
const killSeedEnv = "FAULTS_KILL_SEED"

// killer SIGKILLs a run of the binary at its chosen request: the at-th request the run makes
// to the Git server and the GitHub API together, seen by a Call hook on both fault proxies.
// The request killed at goes on to its server (served: it lands, its answer finds no one) or
// is dropped (it never happened).
type killer struct {
	mu     sync.Mutex
	proc   *process
	n, at  int
	served bool
	killed bool
	log    []string // this run's requests
}

func (k *killer) hook(r *http.Request) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	k.log = append(k.log, r.Method+" "+r.URL.Path)
	if k.n != k.at || k.proc == nil {
		return true
	}
	k.proc.kill()
	k.killed = true
	return k.served
}

// run runs `evaluate` at an instant, to be killed at its killAt-th request (0: never). It
// returns once the run has exited, with its exit code (-1: killed) and its requests; an
// unkilled run must succeed, and no run's output may hold the token or the Git password.
func (k *killer) run(t *testing.T, h *hostRepo, at time.Time, killAt int, served bool) (code int, log []string) {
	t.Helper()
	h.mu.Lock()
	h.now = at
	h.mu.Unlock()
	k.mu.Lock()
	k.n, k.at, k.served, k.killed, k.log = 0, killAt, served, false, nil
	k.proc = startProcess(t, nil, h.evaluateArgs(at)...) // its first request waits for k.mu
	p := k.proc
	k.mu.Unlock()
	code = p.wait(runContext(t))
	k.mu.Lock()
	defer k.mu.Unlock()
	k.proc = nil
	out := p.out.String()
	for _, secret := range []string{githubtest.DefaultToken, h.git.Password()} {
		require.NotContains(t, out, secret, "a secret in the output")
	}
	if k.killed {
		require.Equal(t, -1, code, "the run died of the signal")
	} else {
		require.Equal(t, 0, code, "an unkilled run succeeds:\n%s", tail(out, 4000))
	}
	return code, k.log
}

// TestKillDuringPullRequestCycles: in PullRequest and AutoMerge modes, the process is
// SIGKILLed at a random request of a cycle — a fetch, a push, listing, opening, updating,
// labelling or merging a pull request, deleting its branch — ten times in each mode, the
// request itself landing or not. The load rises between some runs, so later cycles update the
// pull requests (PullRequest) or merge new ones (AutoMerge), and a person sometimes pushes an
// unrelated commit. After every kill: no partial commit on the base branch or a policy's
// branch, at most one open pull request per policy, no stray branch, every person's commit;
// an unkilled run converges, and so does the clean run at the end. The seed is logged, and
// FAULTS_KILL_SEED repeats it.
func TestKillDuringPullRequestCycles(t *testing.T) {
	seed := time.Now().UnixNano()
	if v := os.Getenv(killSeedEnv); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, killSeedEnv)
		seed = n
	}
	t.Logf("kill seed %d (%s=%d repeats it)", seed, killSeedEnv, seed)
	const killsPerMode = 10
	for i, mode := range []string{"PullRequest", "AutoMerge"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
			h := newHostRepo(t, mode)
			k := &killer{}
			h.proxy.Add(faultproxy.Rule{Kind: faultproxy.Call, Func: k.hook})
			h.api.Add(faultproxy.Rule{Kind: faultproxy.Call, Func: k.hook})

			// Every run is a cycle of its own, 30 s after the one before; the load asks for
			// want replicas, 6 at first, then more as it rises.
			when, want := hostT2, 6
			next := func() time.Time {
				when = when.Add(30 * time.Second)
				h.load(t, when, float64(100*want-40))
				return when
			}
			// An unkilled cycle first: its requests are the range the kills are drawn from
			// while there is a decision to deliver; once it is delivered, the range is the
			// requests of the cycle that found nothing to do.
			_, log := k.run(t, h, next(), 0, false)
			h.converged(t, want)
			full := len(log)
			steps := full
			t.Logf("an unkilled cycle makes %d requests", full)

			kills, runs, people := 0, 0, 0
			for ; kills < killsPerMode; runs++ {
				require.Less(t, runs, 4*killsPerMode, "the kills happen")
				switch {
				case h.mode == "PullRequest" && want == 18 && rng.IntN(3) == 0:
					want, steps = 14, full // the load falls back: the pull requests change again
				case want < 18 && rng.IntN(3) == 0:
					want, steps = want+4, full // the load rises: a new decision, beyond the tolerance of 0.1
				}
				killAt, served := 1+rng.IntN(steps), rng.IntN(2) == 0
				code, log := k.run(t, h, next(), killAt, served)
				if code == 0 {
					h.converged(t, want) // the run ended before its killAt-th request
					steps = len(log)
					continue
				}
				kills++
				t.Logf("kill %d: at request %d of %d (%s, served %t), %d replicas wanted", kills, killAt, steps, log[len(log)-1], served, want)
				h.checkHost(t)
				if rng.IntN(3) == 0 {
					people++
					h.human(t, people)
				}
			}
			t.Logf("%d kills in %d runs", kills, runs)
			h.converges(t, next(), want)
			if h.mode == "PullRequest" {
				assert.Len(t, h.gh.PullRequests(), len(faultApps), "one pull request per policy, updated in place through every kill")
			}
		})
	}
}
