package gitops_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/hosts"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gitlabtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// proposal is a pull request (GitHub) or merge request (GitLab) as the lifecycle cases check
// it, whatever the host.
type proposal struct {
	Number  int
	State   string // open, closed or merged
	Title   string
	Body    string
	HeadSHA string
	Labels  []string
}

// fakeHost is one host's API test server, driven the same way for every case.
type fakeHost interface {
	Writes() []string
	ResetCounts()
	Proposals() []proposal
	CloseByHand(number int)
	// Pipeline sets the state of the required checks (GitHub) or pipeline (GitLab) of every
	// head: "pending" or "success".
	Pipeline(state string)
}

type githubHost struct{ *githubtest.Server }

func (h githubHost) Proposals() []proposal {
	var out []proposal
	for _, p := range h.PullRequests() {
		st := p.State
		if p.Merged {
			st = "merged"
		}
		out = append(out, proposal{Number: p.Number, State: st, Title: p.Title, Body: p.Body, HeadSHA: p.HeadSHA, Labels: p.Labels})
	}
	return out
}
func (h githubHost) CloseByHand(n int)     { h.ClosePR(n) }
func (h githubHost) Pipeline(state string) { h.SetCheckState(state) }

type gitlabHost struct{ *gitlabtest.Server }

func (h gitlabHost) Proposals() []proposal {
	var out []proposal
	for _, m := range h.MergeRequests() {
		st := map[string]string{"opened": "open", "closed": "closed", "merged": "merged"}[m.State]
		out = append(out, proposal{Number: m.IID, State: st, Title: m.Title, Body: m.Description, HeadSHA: m.HeadSHA, Labels: m.Labels})
	}
	return out
}
func (h gitlabHost) CloseByHand(n int) { h.CloseMR(n) }
func (h gitlabHost) Pipeline(state string) {
	h.SetPipeline(map[string]string{"pending": gitlabtest.PipelineRunning, "success": gitlabtest.PipelineSuccess}[state])
}

// provider starts a host's test server over the Git server and says how a repository names it.
type provider struct {
	name string
	// terms are the host's words for a pull request; other is a phrase of the other host's
	// that must never appear.
	terms host.Terms
	other string
	start func(t *testing.T, g *gittest.Server, now func() time.Time, tokenFile string) (fakeHost, func(*svcconfig.Repository))
}

var providers = []provider{
	{name: "github", terms: host.PullRequestTerms, other: "merge request", start: func(t *testing.T, g *gittest.Server, now func() time.Time, tokenFile string) (fakeHost, func(*svcconfig.Repository)) {
		s := githubtest.New(t, g, "platform", githubtest.WithClock(now))
		s.SetRequiredChecks("ci/test") // AutoMerge merges only behind required checks
		require.NoError(t, os.WriteFile(tokenFile, []byte(s.Token()+"\n"), 0o600))
		return githubHost{s}, func(rc *svcconfig.Repository) {
			rc.GitHub = &svcconfig.GitHubRepo{Owner: githubtest.DefaultOwner, Repo: "platform", APIURL: s.URL(), TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}
		}
	}},
	{name: "gitlab", terms: host.MergeRequestTerms, other: "pull request", start: func(t *testing.T, g *gittest.Server, now func() time.Time, tokenFile string) (fakeHost, func(*svcconfig.Repository)) {
		s := gitlabtest.New(t, g, "platform", gitlabtest.WithClock(now), gitlabtest.WithPipelinesMustSucceed())
		require.NoError(t, os.WriteFile(tokenFile, []byte(s.Token()+"\n"), 0o600))
		return gitlabHost{s}, func(rc *svcconfig.Repository) {
			rc.GitLab = &svcconfig.GitLabRepo{Project: s.ProjectPath(), BaseURL: s.URL(), TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}
		}
	}},
}

// lifecycle is one autoscaler instance over one host.
type lifecycle struct {
	git     *gittest.Server
	host    fakeHost
	runner  *gitops.Runner
	repo    gitops.Repo
	metrics rps
	now     time.Time
	logs    *bytes.Buffer
	pv      provider
	// failCreate makes the next CreatePullRequest fail after the branch was pushed.
	failCreate bool
}

func newLifecycle(t *testing.T, pv provider, mode policy.Mode) *lifecycle {
	t.Helper()
	l := &lifecycle{metrics: rps{}, now: prT0, logs: &bytes.Buffer{}, pv: pv}
	l.git = gittest.NewServer(t)
	l.git.CreateRepo("platform", map[string]string{prFile: prValues(3), "README.md": "hi\n"})
	dir := t.TempDir()
	pass := filepath.Join(dir, "git-password")
	require.NoError(t, os.WriteFile(pass, []byte(l.git.Password()+"\n"), 0o600))
	h, name := pv.start(t, l.git, func() time.Time { return l.now }, filepath.Join(dir, "api-token"))
	l.host = h
	rc := svcconfig.Repository{Name: "platform", URL: l.git.URL("platform"), Branch: "main",
		Auth: &svcconfig.GitAuth{Username: l.git.User(), PasswordFile: pass}}
	name(&rc)
	s := &prSetup{Mode: mode}
	ps, err := policy.LoadPolicies("policies/web.yaml", []byte(s.policyYAML()))
	require.NoError(t, err)
	cfg := &svcconfig.Config{
		Repositories: []svcconfig.Repository{rc},
		Prometheus:   []svcconfig.PrometheusServer{{Name: "default", URL: "http://prometheus.invalid:9090"}},
		Commit:       svcconfig.CommitIdentity{AuthorName: "gitops-autoscaler", AuthorEmail: "bot@example.com"},
		CacheDir:     t.TempDir(),
	}
	set := &hosts.Set{}
	logger := slog.New(slog.NewJSONHandler(l.logs, nil))
	l.runner = &gitops.Runner{
		Config: cfg, Metrics: l.metrics, Logger: logger, Now: func() time.Time { return l.now },
		Backoff: func(int) time.Duration { return 0 }, Git: set.Git,
		Delivery: &delivery.PullRequestDelivery{Logger: logger, Hosts: func(rc svcconfig.Repository) (delivery.Host, error) {
			h, err := set.For(rc)
			if err != nil {
				return nil, err
			}
			fc := failingCreate{Host: h, fail: &l.failCreate}
			if am, ok := h.(delivery.AutoMerger); ok {
				return failingAutoMerging{fc, am}, nil
			}
			return fc, nil
		}},
	}
	l.repo = gitops.Repo{Config: rc, Policies: ps}
	return l
}

// failingCreate is the real host, except that a CreatePullRequest can fail once: the run
// stops between the branch push and the pull request, as a crash would stop it.
type failingCreate struct {
	delivery.Host
	fail *bool
}

func (f failingCreate) CreatePullRequest(ctx context.Context, n host.NewPullRequest) (host.PullRequest, error) {
	if *f.fail {
		*f.fail = false
		return host.PullRequest{}, errors.New("the process died here")
	}
	return f.Host.CreatePullRequest(ctx, n)
}

// RequiresUpToDate passes through to the host.
func (f failingCreate) RequiresUpToDate(ctx context.Context, base string) (bool, error) {
	if u, ok := f.Host.(delivery.UpToDateRequirer); ok {
		return u.RequiresUpToDate(ctx, base)
	}
	return false, nil
}

// failingAutoMerging is failingCreate over a host that merges by itself.
type failingAutoMerging struct {
	failingCreate
	delivery.AutoMerger
}

// cycle runs one cycle at prT0+offset with the metric at value; it returns the result.
func (l *lifecycle) cycle(t *testing.T, offset time.Duration, value float64) gitops.Result {
	t.Helper()
	l.now = prT0.Add(offset)
	l.metrics[prPolicy] = value
	rep, err := l.runner.Cycle(context.Background(), l.repo, gitops.CycleOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	require.Empty(t, rep.Results[0].Error, "cycle error")
	return rep.Results[0]
}

func (l *lifecycle) open() []proposal {
	var out []proposal
	for _, p := range l.host.Proposals() {
		if p.State == "open" {
			out = append(out, p)
		}
	}
	return out
}

// TestPullRequestLifecycleOnEveryHost runs the pull request lifecycle, case by case, against
// GitHub and GitLab: the same table, the same assertions, each host's test server.
func TestPullRequestLifecycleOnEveryHost(t *testing.T) {
	cases := []struct {
		name string
		mode policy.Mode
		run  func(t *testing.T, l *lifecycle)
	}{
		{name: "open, then update in place", mode: policy.ModePullRequest, run: func(t *testing.T, l *lifecycle) {
			res := l.cycle(t, 0, 600)
			assert.Equal(t, gitops.ActionPullRequest, res.Action)
			open := l.open()
			require.Len(t, open, 1)
			assert.Equal(t, "autoscale(shop/web): 3 → 6 replicas", open[0].Title)
			assert.ElementsMatch(t, []string{"autoscaler", "scale-up"}, open[0].Labels)
			assert.Contains(t, open[0].Body, "Autoscaler-To: 6")
			first := open[0].Number

			res = l.cycle(t, time.Minute, 1000)
			open = l.open()
			require.Len(t, open, 1, "never two open for one policy")
			assert.Equal(t, first, open[0].Number, "updated in place")
			assert.Equal(t, "autoscale(shop/web): 3 → 10 replicas", open[0].Title)
			assert.Equal(t, res.Commit, open[0].HeadSHA)
			assert.Equal(t, prValues(10), l.git.ReadFile("platform", prBranch, prFile))
			assert.Equal(t, "1", strings.TrimSpace(l.git.Git("platform", "rev-list", "--count", "main.."+prBranch)), "one commit on the base")
		}},
		{name: "a rerun writes nothing", mode: policy.ModePullRequest, run: func(t *testing.T, l *lifecycle) {
			first := l.cycle(t, 0, 600)
			l.host.ResetCounts()
			l.git.ResetCounts()
			again := l.cycle(t, time.Minute, 600)
			assert.Empty(t, l.host.Writes())
			assert.Zero(t, l.git.Requests("platform", gittest.ReceivePack), "no push")
			assert.Equal(t, first.Commit, again.Commit)
			assert.Len(t, l.open(), 1)
		}},
		{name: "closed unmerged means no", mode: policy.ModePullRequest, run: func(t *testing.T, l *lifecycle) {
			l.cycle(t, 0, 600)
			l.host.CloseByHand(l.open()[0].Number)
			res := l.cycle(t, time.Minute, 600)
			assert.Equal(t, gitops.ActionHeld, res.Action)
			assert.Contains(t, codes(res.Reasons), engine.ReasonPullRequestRejected)
			assert.Empty(t, l.open(), "no new proposal of the rejected count")
			assert.Equal(t, prValues(3), l.git.ReadFile("platform", "main", prFile))

			l.cycle(t, 2*time.Minute, 1000) // the decision changed: a new proposal
			open := l.open()
			require.Len(t, open, 1)
			assert.Equal(t, "autoscale(shop/web): 3 → 10 replicas", open[0].Title)
		}},
		{name: "withdrawn when the decision is to keep the count", mode: policy.ModePullRequest, run: func(t *testing.T, l *lifecycle) {
			l.cycle(t, 0, 600)
			number := l.open()[0].Number
			res := l.cycle(t, time.Minute, 300) // 3 replicas fit: keep the count
			assert.Empty(t, l.open())
			i := slices.IndexFunc(l.host.Proposals(), func(p proposal) bool { return p.Number == number })
			require.GreaterOrEqual(t, i, 0)
			p := l.host.Proposals()[i]
			assert.Equal(t, "closed", p.State)
			assert.Contains(t, p.Labels, delivery.LabelWithdrawn)
			assert.Contains(t, codes(res.Reasons), engine.ReasonPullRequestWithdrawn)

			res = l.cycle(t, 2*time.Minute, 600) // a withdrawal is nobody's "no"
			assert.Equal(t, gitops.ActionPullRequest, res.Action)
			assert.Len(t, l.open(), 1)
		}},
		{name: "auto-merge waits on the pipeline, then squash-merges with the trailers", mode: policy.ModeAutoMerge, run: func(t *testing.T, l *lifecycle) {
			l.host.Pipeline("pending")
			res := l.cycle(t, 0, 600)
			assert.Contains(t, codes(res.Reasons), engine.ReasonMergePending)
			assert.Len(t, l.open(), 1)
			assert.Equal(t, prValues(3), l.git.ReadFile("platform", "main", prFile), "nothing lands while the pipeline runs")
			l.host.ResetCounts()
			l.cycle(t, time.Minute, 600)
			assert.Empty(t, l.host.Writes(), "waiting writes nothing")

			l.host.Pipeline("success")
			l.cycle(t, 2*time.Minute, 600)
			assert.Empty(t, l.open())
			require.Len(t, l.host.Proposals(), 1)
			assert.Equal(t, "merged", l.host.Proposals()[0].State)
			assert.Equal(t, prValues(6), l.git.ReadFile("platform", "main", prFile))
			top := l.git.Log("platform", "main")[0]
			assert.Equal(t, "autoscale(shop/web): 3 → 6 replicas", top.Subject)
			tr, ok := commitmsg.ParseTrailers(top.Message)
			require.True(t, ok, "the base's commit carries the trailers: %q", top.Message)
			assert.Equal(t, 6, tr.To)
			assert.Equal(t, "shop/web", tr.PolicyID)

			res = l.cycle(t, 3*time.Minute, 600) // the merged decision is the current count
			assert.Equal(t, 6, res.From)
			assert.Equal(t, 6, res.To)
			assert.Empty(t, l.open())
		}},
		{name: "every message, log line and body speaks the host's words", mode: policy.ModePullRequest, run: func(t *testing.T, l *lifecycle) {
			tm := l.pv.terms
			var said []string
			say := func(res gitops.Result) {
				for _, r := range res.Reasons {
					said = append(said, r.Message)
				}
			}
			opened := l.cycle(t, 0, 600)
			say(opened)
			first := l.open()[0].Number
			assert.Equal(t, tm.Name(first), opened.PullRequestName, "the result names it for the status page")
			say(l.cycle(t, time.Minute, 1000))
			say(l.cycle(t, 2*time.Minute, 1000))
			say(l.cycle(t, 3*time.Minute, 300)) // withdrawn
			say(l.cycle(t, 4*time.Minute, 600))
			second := l.open()[0].Number
			l.host.CloseByHand(second)
			say(l.cycle(t, 5*time.Minute, 600)) // rejected
			reasons := strings.Join(said, "\n")
			for _, want := range []string{
				"opened " + tm.Name(first),
				"updated " + tm.Name(first),
				tm.Name(first) + " already proposes this decision",
				tm.Name(first) + " withdrawn: the decision is now to keep 3 replicas",
				tm.Name(second) + " proposing 6 was closed unmerged",
			} {
				assert.Contains(t, reasons, want)
			}
			logs := l.logs.String()
			for _, want := range []string{tm.Noun + " opened", tm.Noun + " updated", tm.Noun + " withdrawn", tm.Noun + " branch pushed"} {
				assert.Contains(t, logs, want)
			}
			var bodies []string
			for _, p := range l.host.Proposals() {
				bodies = append(bodies, p.Body)
				assert.Contains(t, p.Body, "this "+tm.Noun+" lands on `main`")
				assert.Contains(t, p.Body, "close this "+tm.Noun+" unmerged")
			}
			for what, text := range map[string]string{"reasons": reasons, "logs": logs, "bodies": strings.Join(bodies, "\n")} {
				assert.NotContains(t, strings.ToLower(text), l.pv.other, "%s use another host's words", what)
			}
		}},
		{name: "a crash between the push and the pull request leaves exactly one", mode: policy.ModePullRequest, run: func(t *testing.T, l *lifecycle) {
			l.failCreate = true
			l.now = prT0
			l.metrics[prPolicy] = 600
			rep, _ := l.runner.Cycle(context.Background(), l.repo, gitops.CycleOptions{})
			require.NotNil(t, rep)
			require.Len(t, rep.Results, 1)
			require.NotEmpty(t, rep.Results[0].Error, "the run stopped after the push")
			pushed := l.git.HeadSHA("platform", prBranch)
			require.NotEmpty(t, pushed, "the branch was pushed")
			assert.Empty(t, l.host.Proposals())

			l.cycle(t, time.Minute, 600)
			l.cycle(t, 2*time.Minute, 600)
			all := l.host.Proposals()
			require.Len(t, all, 1, "exactly one")
			assert.Equal(t, "open", all[0].State)
			assert.Equal(t, pushed, all[0].HeadSHA, "the pushed branch is adopted, not pushed again")
		}},
	}
	for _, pv := range providers {
		t.Run(pv.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newLifecycle(t, pv, tc.mode))
				})
			}
		})
	}
}
