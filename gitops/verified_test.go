package gitops_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/hosts"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// githubRun is an autoscaler over a GitHub test server with settings of the test's choosing.
type githubRun struct {
	git     *gittest.Server
	gh      *githubtest.Server
	runner  *gitops.Runner
	set     *hosts.Set
	repo    gitops.Repo
	metrics rps
	now     time.Time
	logs    *bytes.Buffer
}

func newGitHubRun(t *testing.T, mode policy.Mode, ghOpts []githubtest.Option, configure func(r *githubRun, rc *svcconfig.Repository)) *githubRun {
	t.Helper()
	r := &githubRun{metrics: rps{}, now: prT0, logs: &bytes.Buffer{}}
	r.git = gittest.NewServer(t)
	r.git.CreateRepo("platform", map[string]string{prFile: prValues(3), "README.md": "hi\n"})
	r.gh = githubtest.New(t, r.git, "platform", append([]githubtest.Option{githubtest.WithClock(func() time.Time { return r.now })}, ghOpts...)...)
	rc := svcconfig.Repository{Name: "platform", URL: r.git.URL("platform"), Branch: "main",
		GitHub: &svcconfig.GitHubRepo{Owner: githubtest.DefaultOwner, Repo: "platform", APIURL: r.gh.URL()}}
	configure(r, &rc)
	s := &prSetup{Mode: mode}
	ps, err := policy.LoadPolicies("policies/web.yaml", []byte(s.policyYAML()))
	require.NoError(t, err)
	cfg := &svcconfig.Config{
		Repositories: []svcconfig.Repository{rc},
		Prometheus:   []svcconfig.PrometheusServer{{Name: "default", URL: "http://prometheus.invalid:9090"}},
		Commit:       svcconfig.CommitIdentity{AuthorName: "gitops-autoscaler", AuthorEmail: "bot@example.com"},
		CacheDir:     t.TempDir(),
	}
	r.set = &hosts.Set{}
	r.set.GitHub.Now = func() time.Time { return r.now }
	logger := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r.runner = &gitops.Runner{
		Config: cfg, Metrics: r.metrics, Logger: logger, Now: func() time.Time { return r.now },
		Backoff: func(int) time.Duration { return 0 }, Git: r.set.Git,
		Delivery: &delivery.PullRequestDelivery{Logger: logger, Hosts: r.set.For},
	}
	r.repo = gitops.Repo{Config: rc, Policies: ps}
	return r
}

func (r *githubRun) cycle(t *testing.T, offset time.Duration, value float64) (*gitops.Report, gitops.Result) {
	t.Helper()
	r.now = prT0.Add(offset)
	r.metrics[prPolicy] = value
	rep, err := r.runner.Cycle(context.Background(), r.repo, gitops.CycleOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	require.Empty(t, rep.Results[0].Error, "cycle error")
	return rep, rep.Results[0]
}

// verifyWebFlow runs real `git verify-commit` on the server's repository with the test
// server's signing key as the only one gpg knows.
func verifyWebFlow(t *testing.T, r *githubRun, sha string) string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg is not installed: run integration/install-deps.sh")
	}
	home := t.TempDir()
	env := append(os.Environ(), "GNUPGHOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	imp := exec.Command("gpg", "--batch", "--import")
	imp.Env, imp.Stdin = env, bytes.NewReader(r.gh.WebFlowPublicKey())
	out, err := imp.CombinedOutput()
	require.NoError(t, err, "%s", out)
	verify := exec.Command("git", "verify-commit", sha)
	verify.Dir, verify.Env = r.git.Dir("platform"), env
	out, err = verify.CombinedOutput()
	require.NoError(t, err, "git verify-commit %s: %s", sha, out)
	return string(out)
}

func tokenFile(t *testing.T, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(p, []byte(token+"\n"), 0o600))
	return p
}

// withGitPassword gives the repository the Git server's own credentials.
func withGitPassword(t *testing.T, r *githubRun, rc *svcconfig.Repository) {
	rc.Auth = &svcconfig.GitAuth{Username: r.git.User(), PasswordFile: tokenFile(t, r.git.Password())}
}

// TestVerifiedCommitsAreMadeThroughTheAPI: with github.verifiedCommits, the decision's commit
// reaches the base through the Git Data API, signed by GitHub — one file, the message and
// its trailers exactly as a pushed commit's — and no Git push is made.
func TestVerifiedCommitsAreMadeThroughTheAPI(t *testing.T) {
	r := newGitHubRun(t, policy.ModeCommit, nil, func(r *githubRun, rc *svcconfig.Repository) {
		withGitPassword(t, r, rc)
		rc.GitHub.TokenFile = tokenFile(t, r.gh.Token())
		rc.GitHub.VerifiedCommits = true
	})
	base := r.git.HeadSHA("platform", "main")
	rep, res := r.cycle(t, 0, 600)
	assert.Equal(t, gitops.ActionCommitted, res.Action)
	head := r.git.HeadSHA("platform", "main")
	assert.Equal(t, head, res.Commit, "the result names the commit GitHub made")
	assert.Equal(t, head, rep.Head)
	assert.Zero(t, r.git.PackRequests("platform", gittest.ReceivePack), "no git push")
	assert.Equal(t, []string{
		"POST /repos/acme/platform/git/blobs", "POST /repos/acme/platform/git/trees",
		"POST /repos/acme/platform/git/commits", "PATCH /repos/acme/platform/git/refs/heads/main",
	}, r.gh.Writes())

	top := r.git.Log("platform", "main")[0]
	assert.Equal(t, []string{base}, top.Parents)
	assert.Equal(t, "gitops-autoscaler <bot@example.com>", top.Author)
	assert.Equal(t, prFile+"\n", r.git.Git("platform", "diff", "--name-only", base, head), "exactly one file")
	assert.Equal(t, prValues(6), r.git.ReadFile("platform", "main", prFile))
	tr, ok := commitmsg.ParseTrailers(r.git.RawMessage("platform", head))
	require.True(t, ok)
	assert.Equal(t, 6, tr.To)
	assert.Contains(t, verifyWebFlow(t, r, head), `Good signature from "GitHub <noreply@github.com>"`)

	// The decision is read back from history like any other: the next cycle keeps 6.
	_, res = r.cycle(t, time.Minute, 600)
	assert.Equal(t, 6, res.From)
	assert.Equal(t, head, r.git.HeadSHA("platform", "main"), "nothing new to commit")
}

// racingMaker lets a person push to the base right before the API commits are made.
type racingMaker struct {
	delivery.CommitMaker
	race func()
}

func (m racingMaker) CreateCommits(ctx context.Context, c host.CommitsOnBranch) ([]string, error) {
	if m.race != nil {
		m.race()
	}
	return m.CommitMaker.CreateCommits(ctx, c)
}

// TestVerifiedCommitPushRaceReDecides: a person's commit lands on the base between the sync
// and the API commits: GitHub refuses to move the base (not a fast-forward), and the loop
// re-decides on the new head and lands its commit on top of theirs.
func TestVerifiedCommitPushRaceReDecides(t *testing.T) {
	r := newGitHubRun(t, policy.ModeCommit, nil, func(r *githubRun, rc *svcconfig.Repository) {
		withGitPassword(t, r, rc)
		rc.GitHub.TokenFile = tokenFile(t, r.gh.Token())
		rc.GitHub.VerifiedCommits = true
	})
	raced := 0
	var human string
	r.runner.Git = func(rc svcconfig.Repository, o *gitrepo.Options) error {
		c, err := r.set.GitHubClient(rc)
		require.NoError(t, err)
		o.Publisher = delivery.HostPublisher(racingMaker{CommitMaker: c, race: func() {
			if raced == 0 {
				human = r.git.Commit("platform", map[string]string{"README.md": "hello\n"}, "docs", "Ann <ann@example.com>")
			}
			raced++
		}})
		return nil
	}
	rep, res := r.cycle(t, 0, 600)
	assert.Equal(t, 1, rep.PushRetries)
	assert.Equal(t, gitops.ActionCommitted, res.Action)
	log := r.git.Log("platform", "main")
	assert.Equal(t, res.Commit, log[0].SHA)
	assert.Equal(t, []string{human}, log[0].Parents, "decided again on the person's commit")
	assert.Equal(t, "hello\n", r.git.ReadFile("platform", "main", "README.md"), "their commit is kept")
	verifyWebFlow(t, r, res.Commit)
}

// TestVerifiedCommitsOnAPullRequestBranch: the pull request's commit is made through the API
// too; the pull request shows it, and a rerun writes nothing.
func TestVerifiedCommitsOnAPullRequestBranch(t *testing.T) {
	r := newGitHubRun(t, policy.ModePullRequest, nil, func(r *githubRun, rc *svcconfig.Repository) {
		withGitPassword(t, r, rc)
		rc.GitHub.TokenFile = tokenFile(t, r.gh.Token())
		rc.GitHub.VerifiedCommits = true
	})
	_, res := r.cycle(t, 0, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	head := r.git.HeadSHA("platform", prBranch)
	assert.Equal(t, head, res.Commit)
	prs := r.gh.OpenPullRequests(prBranch)
	require.Len(t, prs, 1)
	assert.Equal(t, head, prs[0].HeadSHA)
	assert.Contains(t, prs[0].Body, head[:12])
	verifyWebFlow(t, r, head)
	assert.Zero(t, r.git.PackRequests("platform", gittest.ReceivePack), "no git push")

	r.gh.ResetCounts()
	r.cycle(t, time.Minute, 600)
	assert.Empty(t, r.gh.Writes(), "a rerun writes nothing")

	_, res = r.cycle(t, 2*time.Minute, 1000) // a new decision replaces the branch's commit
	assert.NotEqual(t, head, res.Commit)
	assert.Equal(t, res.Commit, r.git.HeadSHA("platform", prBranch))
	assert.Equal(t, prValues(10), r.git.ReadFile("platform", prBranch, prFile))
	verifyWebFlow(t, r, res.Commit)
}

// TestAppTokensServeTheAPIAndGit: with github.app and no auth, installation tokens are minted
// against the test server and serve both the API and HTTPS Git; an expired one is replaced.
// No token appears in the logs, the commits or the pull requests.
func TestAppTokensServeTheAPIAndGit(t *testing.T) {
	r := newGitHubRun(t, policy.ModePullRequest, []githubtest.Option{githubtest.WithApp(), githubtest.WithToken("")}, func(r *githubRun, rc *svcconfig.Repository) {
		key := filepath.Join(t.TempDir(), "app.pem")
		require.NoError(t, os.WriteFile(key, r.gh.AppPrivateKeyPEM(), 0o600))
		rc.GitHub.App = &svcconfig.GitHubApp{AppID: githubtest.DefaultAppID, InstallationID: githubtest.DefaultInstallationID, PrivateKeyFile: key}
	})
	_, res := r.cycle(t, 0, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	require.Len(t, r.gh.OpenPullRequests(prBranch), 1)
	assert.Equal(t, prValues(6), r.git.ReadFile("platform", prBranch, prFile), "pushed over HTTPS with the installation token")
	assert.Equal(t, 1, r.gh.MintedTokens(), "one token serves the API and Git")

	_, res = r.cycle(t, 30*time.Minute, 1000)
	assert.Equal(t, 1, r.gh.MintedTokens(), "reused while it lasts")
	_, res = r.cycle(t, 70*time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	assert.Equal(t, 2, r.gh.MintedTokens(), "an expiring token is replaced")
	assert.Equal(t, prValues(6), r.git.ReadFile("platform", prBranch, prFile))

	var seen strings.Builder
	seen.WriteString(r.logs.String())
	for _, b := range r.git.Branches("platform") {
		for _, e := range r.git.Log("platform", b) {
			seen.WriteString(e.Message)
		}
	}
	for _, p := range r.gh.PullRequests() {
		seen.WriteString(p.Title + p.Body)
	}
	require.NotEmpty(t, r.gh.IssuedTokens())
	for _, tok := range r.gh.IssuedTokens() {
		assert.NotContains(t, seen.String(), tok, "an installation token leaked")
	}
	assert.NotContains(t, seen.String(), "PRIVATE KEY")
}
