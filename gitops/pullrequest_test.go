package gitops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/github"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/hosts"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

const (
	prFile   = "envs/prod/web/values.yaml"
	prBranch = "autoscaler/shop/web"
	prPolicy = "shop/web"
)

var prT0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

func prValues(n int) string {
	return "# web\nweb:\n  replicaCount: " + strconv.Itoa(n) + "  # managed\n"
}

// rps is a static metric source: every policy's one metric has the value of the map.
type rps map[string]float64

func (m rps) Values(_ context.Context, _ time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	out := make([][]engine.MetricValue, len(ps))
	for i, p := range ps {
		v, ok := m[p.ID()]
		out[i] = []engine.MetricValue{{Name: "http_rps", Value: v, Missing: !ok, Cause: "not in the test's source"}}
	}
	return out
}

// prSetup is where a pull request test runs: a real Git server, the fake GitHub over it,
// secrets in files, and a policy.
type prSetup struct {
	Git         *gittest.Server    `json:"-"`
	GH          *githubtest.Server `json:"-"`
	GitURL      string
	GitUser     string
	GitPassFile string
	TokenFile   string
	Mode        policy.Mode
	Delivery    string // optional spec.delivery YAML flow map
	AllowNoCI   bool
}

// prEnv is one autoscaler instance (its own cache) over a prSetup.
type prEnv struct {
	*prSetup
	runner  *gitops.Runner
	repo    gitops.Repo
	metrics rps
	now     time.Time
	logs    *bytes.Buffer
	sleeps  []time.Duration
}

func newPRSetup(t *testing.T, mode policy.Mode) *prSetup {
	t.Helper()
	s := &prSetup{Mode: mode}
	s.Git = gittest.NewServer(t)
	s.Git.CreateRepo("platform", map[string]string{prFile: prValues(3), "README.md": "hi\n"})
	dir := t.TempDir()
	s.GitURL, s.GitUser = s.Git.URL("platform"), s.Git.User()
	s.GitPassFile = filepath.Join(dir, "git-password")
	s.TokenFile = filepath.Join(dir, "github-token")
	require.NoError(t, os.WriteFile(s.GitPassFile, []byte(s.Git.Password()+"\n"), 0o600))
	return s
}

// startGitHub starts the fake GitHub with a clock that follows the environment's instant.
func (s *prSetup) startGitHub(t *testing.T, now func() time.Time) {
	t.Helper()
	s.GH = githubtest.New(t, s.Git, "platform", githubtest.WithClock(now))
	require.NoError(t, os.WriteFile(s.TokenFile, []byte(s.GH.Token()+"\n"), 0o600))
}

func (s *prSetup) policyYAML() string {
	y := `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: shop}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web, namespace: shop}
  replicas: {file: ` + prFile + `, path: web.replicaCount}
  minReplicas: 1
  maxReplicas: 20
  mode: ` + string(s.Mode) + `
  metrics:
    - name: http_rps
      promQL: sum(rate(http_requests_total[2m]))
      target: {type: AverageValue, averageValue: 100}
`
	if s.Delivery != "" {
		y += "  delivery: " + s.Delivery + "\n"
	}
	return y
}

// instance builds an autoscaler instance with its own cache directory and logs.
func (s *prSetup) instance(t *testing.T, apiURL string) *prEnv {
	t.Helper()
	e := &prEnv{prSetup: s, metrics: rps{}, now: prT0, logs: &bytes.Buffer{}}
	ps, err := policy.LoadPolicies("policies/web.yaml", []byte(s.policyYAML()))
	require.NoError(t, err)
	rc := svcconfig.Repository{
		Name: "platform", URL: s.GitURL, Branch: "main",
		Auth:   &svcconfig.GitAuth{Username: s.GitUser, PasswordFile: s.GitPassFile},
		GitHub: &svcconfig.GitHubRepo{Owner: githubtest.DefaultOwner, Repo: "platform", APIURL: apiURL, TokenSource: svcconfig.TokenSource{TokenFile: s.TokenFile}, AllowAutoMergeWithoutChecks: s.AllowNoCI},
	}
	cfg := &svcconfig.Config{
		Repositories: []svcconfig.Repository{rc},
		Prometheus:   []svcconfig.PrometheusServer{{Name: "default", URL: "http://prometheus.invalid:9090"}},
		Commit:       svcconfig.CommitIdentity{AuthorName: "gitops-autoscaler", AuthorEmail: "bot@example.com"},
		CacheDir:     t.TempDir(),
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	set := &hosts.Set{GitHub: github.Options{
		Now: func() time.Time { return e.now },
		Sleep: func(_ context.Context, d time.Duration) error {
			e.sleeps = append(e.sleeps, d)
			return nil
		},
	}}
	e.runner = &gitops.Runner{
		Config:   cfg,
		Metrics:  e.metrics,
		Delivery: &delivery.PullRequestDelivery{Hosts: set.For, Logger: logger},
		Logger:   logger,
		Now:      func() time.Time { return e.now },
		Backoff:  func(int) time.Duration { return 0 },
	}
	e.repo = gitops.Repo{Config: rc, Policies: ps}
	return e
}

func newPREnv(t *testing.T, mode policy.Mode, configure ...func(*prSetup)) *prEnv {
	t.Helper()
	s := newPRSetup(t, mode)
	for _, c := range configure {
		c(s)
	}
	var e *prEnv
	s.startGitHub(t, func() time.Time { return e.now })
	e = s.instance(t, s.GH.URL())
	return e
}

// cycle runs one cycle at now+offset with the metric value and returns the policy's result.
func (e *prEnv) cycle(t *testing.T, offset time.Duration, value float64) gitops.Result {
	t.Helper()
	e.now = prT0.Add(offset)
	e.metrics[prPolicy] = value
	rep, err := e.runner.Cycle(context.Background(), e.repo, gitops.CycleOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	res := rep.Results[0]
	require.Empty(t, res.Error, "cycle error")
	return res
}

func codes(rs []engine.Reason) []engine.ReasonCode {
	out := make([]engine.ReasonCode, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

// branchCommit reads the policy branch's head commit on the Git server.
func branchCommit(t *testing.T, g *gittest.Server) gittest.LogEntry {
	t.Helper()
	log := g.Log("platform", prBranch)
	require.NotEmpty(t, log)
	return log[0]
}

func TestPullRequestLifecycleOpenUpdateMergeRevertHold(t *testing.T) {
	e := newPREnv(t, policy.ModeAutoMerge)
	e.GH.SetRequiredChecks("ci/test")
	e.GH.SetCheckState("pending")
	base0 := e.Git.HeadSHA("platform", "main")

	// 1. Open: 600 rps / 100 per replica → 6.
	res := e.cycle(t, 0, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	assert.Contains(t, codes(res.Reasons), engine.ReasonMergePending)
	prs := e.GH.PullRequests()
	require.Len(t, prs, 1)
	pr := prs[0]
	assert.Equal(t, "open", pr.State)
	assert.Equal(t, "autoscale(shop/web): 3 → 6 replicas", pr.Title)
	assert.Equal(t, prBranch, pr.Head)
	assert.Equal(t, "main", pr.Base)
	assert.ElementsMatch(t, []string{"autoscaler", "scale-up"}, pr.Labels)
	assert.Equal(t, pr.URL, res.PullRequest)
	head := branchCommit(t, e.Git)
	assert.Equal(t, []string{base0}, head.Parents, "the PR commit sits on the base head")
	assert.Equal(t, head.SHA, res.Commit)
	assert.Equal(t, base0, e.Git.HeadSHA("platform", "main"), "the base branch is untouched")
	assert.Equal(t, prValues(6), e.Git.ReadFile("platform", prBranch, prFile))

	// 2. Decision changed: the same pull request is updated in place.
	res = e.cycle(t, time.Minute, 800)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	prs = e.GH.PullRequests()
	require.Len(t, prs, 1, "updated in place, never a second pull request")
	assert.Equal(t, "autoscale(shop/web): 3 → 8 replicas", prs[0].Title)
	assert.Contains(t, prs[0].Body, "Autoscaler-To: 8")
	head = branchCommit(t, e.Git)
	assert.Equal(t, []string{base0}, head.Parents)
	assert.Equal(t, prs[0].HeadSHA, head.SHA)

	// 3. Checks pass: squash-merged with our message, one commit on main.
	e.GH.SetCheckState("success")
	res = e.cycle(t, 2*time.Minute, 800)
	assert.Equal(t, gitops.ActionCommitted, res.Action)
	main := e.Git.Log("platform", "main")
	require.Len(t, main, 2)
	merge := main[0]
	assert.Equal(t, merge.SHA, res.Commit)
	assert.Equal(t, []string{base0}, merge.Parents, "a squash: one parent, one commit per decision")
	assert.Equal(t, "autoscale(shop/web): 3 → 8 replicas", merge.Subject)
	tr, ok := commitmsg.ParseTrailers(e.Git.RawMessage("platform", merge.SHA))
	require.True(t, ok, "the squash commit keeps our trailers")
	assert.Equal(t, prPolicy, tr.PolicyID)
	assert.Equal(t, 3, tr.From)
	assert.Equal(t, 8, tr.To)
	assert.Equal(t, commitmsg.DecisionID(prPolicy, policy.ReplicasLocation{File: prFile, Path: "web.replicaCount"}, 3, 8), tr.DecisionID)
	assert.Equal(t, prValues(8), e.Git.ReadFile("platform", "main", prFile))
	prs = e.GH.PullRequests()
	assert.True(t, prs[0].Merged)
	assert.Equal(t, merge.SHA, prs[0].MergeSHA)
	assert.NotContains(t, e.Git.Branches("platform"), prBranch, "the merged branch is deleted")

	// 4. A person reverts the merge; the next cycle holds.
	e.Git.Revert("platform", merge.SHA, "Ann <ann@example.com>", prT0.Add(3*time.Minute))
	e.GH.ResetCounts()
	res = e.cycle(t, 4*time.Minute, 800)
	assert.Equal(t, gitops.ActionHeld, res.Action)
	assert.Contains(t, codes(res.Reasons), engine.ReasonRevertHold)
	assert.Equal(t, 3, res.To)
	assert.Len(t, e.GH.PullRequests(), 1, "no new pull request while held")
	assert.Empty(t, e.GH.Writes())
}

func TestClosedUnmergedHoldsUntilTheDecisionChanges(t *testing.T) {
	e := newPREnv(t, policy.ModePullRequest)
	e.cycle(t, 0, 600)
	require.Len(t, e.GH.OpenPullRequests(prBranch), 1)
	e.GH.ClosePR(1)

	res := e.cycle(t, time.Minute, 600)
	assert.Equal(t, gitops.ActionHeld, res.Action)
	require.Contains(t, codes(res.Reasons), engine.ReasonPullRequestRejected)
	assert.Contains(t, res.Reasons[len(res.Reasons)-1].Message, "#1")
	assert.Len(t, e.GH.PullRequests(), 1)
	assert.NotContains(t, e.Git.Branches("platform"), prBranch, "the closed pull request's branch is deleted")

	res = e.cycle(t, 2*time.Minute, 600)
	assert.Equal(t, gitops.ActionHeld, res.Action, "still the rejected decision")

	// A different decision is proposed again, in exactly one new pull request.
	res = e.cycle(t, 3*time.Minute, 800)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	open := e.GH.OpenPullRequests(prBranch)
	require.Len(t, open, 1)
	assert.Equal(t, 2, open[0].Number)
	assert.Equal(t, "autoscale(shop/web): 3 → 8 replicas", open[0].Title)
}

func TestStalePullRequestIsWithdrawn(t *testing.T) {
	e := newPREnv(t, policy.ModePullRequest)
	first := e.cycle(t, 0, 600)
	require.Equal(t, gitops.ActionPullRequest, first.Action)
	require.Len(t, e.GH.OpenPullRequests(prBranch), 1)
	e.GH.ResetCounts()

	// Metrics calm down: the decision is to keep 3, and the open 3 → 6 is outdated.
	res := e.cycle(t, time.Minute, 300)
	assert.Equal(t, gitops.ActionUnchanged, res.Action)
	assert.Equal(t, 3, res.To)
	require.Contains(t, codes(res.Reasons), engine.ReasonPullRequestWithdrawn)
	assert.Contains(t, fmt.Sprint(res.Reasons), "pull request #1 withdrawn: the decision is now to keep 3 replicas")
	assert.Equal(t, first.PullRequest, res.PullRequest)
	prs := e.GH.PullRequests()
	require.Len(t, prs, 1)
	assert.Equal(t, "closed", prs[0].State)
	assert.False(t, prs[0].Merged)
	assert.Contains(t, prs[0].Labels, delivery.LabelWithdrawn)
	assert.Equal(t, []string{"POST /repos/acme/platform/issues/1/labels", "PATCH /repos/acme/platform/pulls/1"}, e.GH.Writes(),
		"labelled before it is closed, and closed without a comment")
	assert.NotContains(t, e.Git.Branches("platform"), prBranch, "the withdrawn branch is deleted")
	assert.Equal(t, prValues(3), e.Git.ReadFile("platform", "main", prFile))

	// The same calm decision again: nothing open, nothing written.
	e.GH.ResetCounts()
	e.Git.ResetCounts()
	res = e.cycle(t, 2*time.Minute, 300)
	assert.Equal(t, gitops.ActionUnchanged, res.Action)
	assert.NotContains(t, codes(res.Reasons), engine.ReasonPullRequestWithdrawn)
	assert.Empty(t, res.PullRequest)
	assert.Empty(t, e.GH.Writes(), "zero API writes")
	assert.Zero(t, e.Git.Requests("platform", gittest.ReceivePack), "no push")

	// Metrics rise again: the withdrawn 3 → 6 is no person's "no", so a new one opens.
	res = e.cycle(t, 3*time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	assert.NotContains(t, codes(res.Reasons), engine.ReasonPullRequestRejected)
	open := e.GH.OpenPullRequests(prBranch)
	require.Len(t, open, 1)
	assert.Equal(t, 2, open[0].Number)
	assert.Equal(t, "autoscale(shop/web): 3 → 6 replicas", open[0].Title)
	assert.ElementsMatch(t, []string{"autoscaler", "scale-up"}, open[0].Labels)
	assert.Equal(t, open[0].URL, res.PullRequest)
}

func TestWithdrawnPullRequestEndsAnOlderRejection(t *testing.T) {
	e := newPREnv(t, policy.ModePullRequest)
	e.cycle(t, 0, 600)
	e.GH.ClosePR(1) // a person says no to 3 → 6
	res := e.cycle(t, time.Minute, 800)
	require.Equal(t, gitops.ActionPullRequest, res.Action, "3 → 8 is another decision")
	res = e.cycle(t, 2*time.Minute, 300)
	require.Contains(t, codes(res.Reasons), engine.ReasonPullRequestWithdrawn)

	// The decision changed twice since the "no" to 6: it no longer holds.
	res = e.cycle(t, 3*time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	open := e.GH.OpenPullRequests(prBranch)
	require.Len(t, open, 1)
	assert.Equal(t, 3, open[0].Number)
	assert.Equal(t, "autoscale(shop/web): 3 → 6 replicas", open[0].Title)
}

func TestOpenPullRequestStaysWhenNothingDecidedToKeep(t *testing.T) {
	for _, tc := range []struct {
		name   string
		value  *float64 // nil: the metric is missing
		dryRun bool
		action string
	}{
		{name: "metric missing", action: gitops.ActionHeldBlind},
		{name: "dry run", value: ptr(300.0), dryRun: true, action: gitops.ActionUnchanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPREnv(t, policy.ModePullRequest)
			first := e.cycle(t, 0, 600)
			require.Equal(t, gitops.ActionPullRequest, first.Action)
			e.GH.ResetCounts()

			delete(e.metrics, prPolicy)
			if tc.value != nil {
				e.metrics[prPolicy] = *tc.value
			}
			rep, err := e.runner.Cycle(context.Background(), e.repo, gitops.CycleOptions{At: prT0.Add(time.Minute), DryRun: tc.dryRun})
			require.NoError(t, err)
			require.Len(t, rep.Results, 1)
			res := rep.Results[0]
			assert.Equal(t, tc.action, res.Action)
			assert.Equal(t, 3, res.To)
			assert.NotContains(t, codes(res.Reasons), engine.ReasonPullRequestWithdrawn)
			assert.Empty(t, e.GH.Writes())
			assert.Len(t, e.GH.OpenPullRequests(prBranch), 1, "the proposal stays open")
		})
	}
}

func ptr[T any](v T) *T { return &v }

// closeFailsHost is the real host, except that closing a pull request fails.
type closeFailsHost struct{ delivery.Host }

func (closeFailsHost) ClosePullRequest(context.Context, int) error {
	return errors.New("close pull request: HTTP 502")
}

func TestFailedWithdrawalIsAReasonAndLeavesNoFalseLabel(t *testing.T) {
	e := newPREnv(t, policy.ModePullRequest)
	first := e.cycle(t, 0, 600)
	require.Equal(t, gitops.ActionPullRequest, first.Action)
	working := e.runner.Delivery
	set := &hosts.Set{}
	e.runner.Delivery = &delivery.PullRequestDelivery{Hosts: func(rc svcconfig.Repository) (delivery.Host, error) {
		h, err := set.For(rc)
		return closeFailsHost{h}, err
	}}

	res := e.cycle(t, time.Minute, 300)
	assert.Equal(t, gitops.ActionUnchanged, res.Action, "the count decision stands")
	assert.Equal(t, 3, res.To)
	require.Contains(t, codes(res.Reasons), engine.ReasonPullRequestWithdrawn)
	assert.Contains(t, fmt.Sprint(res.Reasons), "withdrawal failed (close pull request: HTTP 502)")
	assert.Empty(t, res.PullRequest)
	assert.Contains(t, e.logs.String(), "withdraw stale pull request")
	open := e.GH.OpenPullRequests(prBranch)
	require.Len(t, open, 1)
	assert.Contains(t, open[0].Labels, delivery.LabelWithdrawn, "labelled before the close that failed")

	// The same change is wanted again: the live proposal loses the label, so that a person
	// closing it later still means "no".
	e.runner.Delivery = working
	res = e.cycle(t, 2*time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	open = e.GH.OpenPullRequests(prBranch)
	require.Len(t, open, 1)
	assert.Equal(t, 1, open[0].Number)
	assert.ElementsMatch(t, []string{"autoscaler", "scale-up"}, open[0].Labels)
	e.GH.ClosePR(1)
	res = e.cycle(t, 3*time.Minute, 600)
	assert.Equal(t, gitops.ActionHeld, res.Action)
	assert.Contains(t, codes(res.Reasons), engine.ReasonPullRequestRejected)
}

// halfWritesHost is the real host, except that the pull request writes after the branch push
// fail as an API answering 500 does: updating the title and body, or labelling.
type halfWritesHost struct {
	delivery.Host
	update, label bool
}

func (h halfWritesHost) UpdatePullRequest(ctx context.Context, n int, title, body string) (host.PullRequest, error) {
	if h.update {
		return host.PullRequest{}, errors.New("update pull request: HTTP 500")
	}
	return h.Host.UpdatePullRequest(ctx, n, title, body)
}

func (h halfWritesHost) AddLabels(ctx context.Context, n int, labels []string) error {
	if h.label {
		return errors.New("label pull request: HTTP 500")
	}
	return h.Host.AddLabels(ctx, n, labels)
}

// TestHalfWrittenPullRequestIsCompleted: a cycle pushes the branch, then the API fails the
// pull request's update or its labels. The next cycle finds the branch carrying the decision
// and does not push again, but completes the pull request — title, body and labels of the
// decision — instead of taking it as already proposed (found by integration.TestHostAPIFaults).
func TestHalfWrittenPullRequestIsCompleted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fail      halfWritesHost
		opened    bool // the failing cycle is the first: it opens the pull request
		wantTitle string
	}{
		{name: "update fails", fail: halfWritesHost{update: true}, wantTitle: "autoscale(shop/web): 3 → 9 replicas"},
		{name: "labels fail", fail: halfWritesHost{label: true}, opened: true, wantTitle: "autoscale(shop/web): 3 → 6 replicas"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPREnv(t, policy.ModePullRequest)
			value := 600.0
			if !tc.opened {
				e.cycle(t, 0, value)
				value = 900
			}
			working := e.runner.Delivery
			set := &hosts.Set{}
			e.runner.Delivery = &delivery.PullRequestDelivery{Hosts: func(rc svcconfig.Repository) (delivery.Host, error) {
				h, err := set.For(rc)
				failing := tc.fail
				failing.Host = h
				return failing, err
			}}
			e.now, e.metrics[prPolicy] = prT0.Add(time.Minute), value
			rep, err := e.runner.Cycle(context.Background(), e.repo, gitops.CycleOptions{})
			require.NoError(t, err)
			require.Len(t, rep.Results, 1)
			require.Equal(t, gitops.ActionError, rep.Results[0].Action)
			pushed := branchCommit(t, e.Git).SHA

			e.runner.Delivery = working
			e.GH.ResetCounts()
			e.Git.ResetCounts()
			res := e.cycle(t, 2*time.Minute, value)
			assert.Equal(t, gitops.ActionPullRequest, res.Action)
			assert.Equal(t, pushed, res.Commit, "the branch is kept")
			assert.Zero(t, e.Git.Requests("platform", gittest.ReceivePack), "no push")
			assert.NotEmpty(t, e.GH.Writes(), "the pull request is completed")
			open := e.GH.OpenPullRequests(prBranch)
			require.Len(t, open, 1)
			assert.Equal(t, tc.wantTitle, open[0].Title)
			assert.Contains(t, open[0].Body, pushed[:12])
			assert.ElementsMatch(t, []string{delivery.LabelAutoscaler, delivery.LabelScaleUp}, open[0].Labels)

			e.GH.ResetCounts()
			e.cycle(t, 3*time.Minute, value)
			assert.Empty(t, e.GH.Writes(), "and then left alone")
		})
	}
}

func TestRerunWithTheSameDecisionWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode policy.Mode
	}{
		{name: "pull request", mode: policy.ModePullRequest},
		{name: "auto-merge with checks pending", mode: policy.ModeAutoMerge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPREnv(t, tc.mode)
			e.GH.SetRequiredChecks("ci/test")
			e.GH.SetCheckState("pending")
			first := e.cycle(t, 0, 600)
			require.Equal(t, gitops.ActionPullRequest, first.Action)
			e.GH.ResetCounts()
			e.Git.ResetCounts()

			res := e.cycle(t, time.Minute, 590) // another instant, another value, the same decision
			assert.Equal(t, gitops.ActionPullRequest, res.Action)
			assert.Equal(t, first.Commit, res.Commit)
			assert.Empty(t, e.GH.Writes(), "zero API writes")
			assert.Zero(t, e.Git.Requests("platform", gittest.ReceivePack), "no push")
			assert.Len(t, e.GH.PullRequests(), 1)
			assert.Contains(t, fmt.Sprint(res.Reasons), "pull request #1 already proposes this decision")
		})
	}
}

// TestUnrelatedBaseMovesLeaveThePullRequestAlone: 20 commits that do not touch the policy's
// file land on the base between cycles, and the next cycle writes nothing — no push, no API
// write, the branch at the same commit. A person's change to the target file then rebuilds
// the branch once, made again on the new base (never rebased), keeping their change.
func TestUnrelatedBaseMovesLeaveThePullRequestAlone(t *testing.T) {
	e := newPREnv(t, policy.ModePullRequest)
	first := e.cycle(t, 0, 600)
	require.Equal(t, gitops.ActionPullRequest, first.Action)
	branchHead := branchCommit(t, e.Git).SHA
	base := e.Git.HeadSHA("platform", "main")

	var unrelated []gittest.ImportCommit
	for i := range 20 {
		unrelated = append(unrelated, gittest.ImportCommit{
			Files:   map[string]string{fmt.Sprintf("docs/note-%02d.md", i): fmt.Sprintf("note %d\n", i)},
			Message: fmt.Sprintf("docs: note %d\n", i), Author: "Ann <ann@example.com>", When: prT0.Add(time.Duration(i+1) * time.Second),
		})
	}
	moved := e.Git.Import("platform", unrelated)
	require.NotEqual(t, base, moved)
	e.GH.ResetCounts()
	e.Git.ResetCounts()

	res := e.cycle(t, time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	assert.Empty(t, e.GH.Writes(), "an unrelated move of the base writes nothing through the API")
	assert.Zero(t, e.Git.Requests("platform", gittest.ReceivePack), "and pushes nothing")
	assert.Equal(t, branchHead, branchCommit(t, e.Git).SHA, "the branch stays where it was")
	assert.Equal(t, branchHead, res.Commit)
	prs := e.GH.PullRequests()
	require.Len(t, prs, 1)
	assert.Equal(t, branchHead, prs[0].HeadSHA)

	// A person changes the line the decision edits: the branch is rebuilt, once.
	human := e.Git.CommitAt("platform", map[string]string{prFile: "# web\nweb:\n  replicaCount: 3  # managed by the autoscaler\n"},
		"comment the count", "Ann <ann@example.com>", prT0.Add(90*time.Second))
	e.GH.ResetCounts()
	e.Git.ResetCounts()
	res = e.cycle(t, 2*time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	head := branchCommit(t, e.Git)
	assert.NotEqual(t, branchHead, head.SHA)
	assert.Equal(t, []string{human}, head.Parents, "made again on the new base, not rebased")
	assert.Equal(t, "1", strings.TrimSpace(e.Git.Git("platform", "rev-list", "--count", "main.."+prBranch)))
	assert.Equal(t, "# web\nweb:\n  replicaCount: 6  # managed by the autoscaler\n", e.Git.ReadFile("platform", prBranch, prFile), "the person's change is kept")
	assert.Equal(t, 1, e.Git.PackRequests("platform", gittest.ReceivePack), "one push")
	prs = e.GH.PullRequests()
	require.Len(t, prs, 1, "updated in place")
	assert.Equal(t, head.SHA, prs[0].HeadSHA)
	assert.Contains(t, prs[0].Body, head.SHA[:12], "the description names the new commit")

	e.GH.ResetCounts()
	e.Git.ResetCounts()
	e.cycle(t, 3*time.Minute, 600)
	assert.Empty(t, e.GH.Writes(), "rebuilt once: the next cycle writes nothing")
	assert.Zero(t, e.Git.Requests("platform", gittest.ReceivePack))
}

// TestStrictChecksRebuildABranchBehindTheBase: in AutoMerge mode, a base branch whose
// protection requires up-to-date branches makes a moved base rebuild the branch, since the
// pull request could not merge otherwise.
func TestStrictChecksRebuildABranchBehindTheBase(t *testing.T) {
	e := newPREnv(t, policy.ModeAutoMerge)
	e.GH.SetRequiredChecks("ci/test")
	e.GH.SetCheckState("pending")
	first := e.cycle(t, 0, 600)
	require.Contains(t, codes(first.Reasons), engine.ReasonMergePending)
	e.Git.Commit("platform", map[string]string{"README.md": "hello\n"}, "docs", "Ann <ann@example.com>")

	e.cycle(t, time.Minute, 600)
	assert.Equal(t, first.Commit, branchCommit(t, e.Git).SHA, "not strict: the branch stays")

	e.GH.SetStrictChecks(true)
	e.GH.SetCheckState("success")
	res := e.cycle(t, 2*time.Minute, 600)
	assert.NotEqual(t, first.Commit, res.Commit, "strict: rebuilt on the new base")
	assert.Equal(t, e.Git.HeadSHA("platform", "main"), e.GH.PullRequests()[0].MergeSHA, "and merged")
	assert.True(t, res.Action == gitops.ActionCommitted, "the merge lands the decision: %s", res.Action)
}

func TestScaleUpCommitsWhileScaleDownOpensAPullRequest(t *testing.T) {
	e := newPREnv(t, policy.ModePullRequest, func(s *prSetup) { s.Delivery = "{scaleUp: Commit, scaleDown: PullRequest}" })

	up := e.cycle(t, 0, 600)
	assert.Equal(t, gitops.ActionCommitted, up.Action)
	assert.Equal(t, policy.ModeCommit, up.Mode)
	assert.Equal(t, prValues(6), e.Git.ReadFile("platform", "main", prFile))
	assert.Empty(t, e.GH.PullRequests(), "a scale-up needs no review")

	down := e.cycle(t, time.Minute, 200)
	assert.Equal(t, gitops.ActionPullRequest, down.Action)
	assert.Equal(t, policy.ModePullRequest, down.Mode)
	assert.Equal(t, prValues(6), e.Git.ReadFile("platform", "main", prFile), "a scale-down waits for review")
	prs := e.GH.OpenPullRequests(prBranch)
	require.Len(t, prs, 1)
	assert.Equal(t, "autoscale(shop/web): 6 → 2 replicas", prs[0].Title)
	assert.ElementsMatch(t, []string{"autoscaler", "scale-down"}, prs[0].Labels)
}

func TestAutoMergeNeedsRequiredChecks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		required []string
		allow    bool
		merged   bool
		code     engine.ReasonCode
	}{
		{name: "no required checks: stays open", merged: false, code: engine.ReasonNoRequiredChecks},
		{name: "no required checks, allowed", allow: true, merged: true, code: engine.ReasonPullRequest},
		{name: "required checks passed", required: []string{"ci/test"}, merged: true, code: engine.ReasonPullRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPREnv(t, policy.ModeAutoMerge, func(s *prSetup) { s.AllowNoCI = tc.allow })
			e.GH.SetRequiredChecks(tc.required...)
			res := e.cycle(t, 0, 600)
			prs := e.GH.PullRequests()
			require.Len(t, prs, 1)
			assert.Equal(t, tc.merged, prs[0].Merged)
			assert.Equal(t, tc.code, res.Reasons[len(res.Reasons)-1].Code, "%v", res.Reasons)
			if tc.merged {
				assert.Equal(t, gitops.ActionCommitted, res.Action)
				assert.Equal(t, prValues(6), e.Git.ReadFile("platform", "main", prFile))
			} else {
				assert.Equal(t, gitops.ActionPullRequest, res.Action)
				assert.Equal(t, "open", prs[0].State)
				assert.Equal(t, prValues(3), e.Git.ReadFile("platform", "main", prFile))
			}
		})
	}
}

// crashEnv names the variables the crash helper process reads.
const crashEnv = "GITOPS_AUTOSCALER_TEST_CRASH"

// crashHost is the real host, except that the process dies where it would open the pull
// request — right after the branch push.
type crashHost struct{ delivery.Host }

func (crashHost) CreatePullRequest(context.Context, host.NewPullRequest) (host.PullRequest, error) {
	os.Exit(3)
	return host.PullRequest{}, nil
}

// TestCrashHelper is the process the crash test kills; it does nothing in a normal run.
func TestCrashHelper(t *testing.T) {
	raw := os.Getenv(crashEnv)
	if raw == "" {
		t.Skip("helper process of TestCrashBetweenPushAndPullRequest")
	}
	var s prSetup
	var apiURL string
	require.NoError(t, json.Unmarshal([]byte(raw), &struct {
		*prSetup
		APIURL *string
	}{&s, &apiURL}))
	e := s.instance(t, apiURL)
	set := &hosts.Set{}
	e.runner.Delivery = &delivery.PullRequestDelivery{Hosts: func(rc svcconfig.Repository) (delivery.Host, error) {
		h, err := set.For(rc)
		return crashHost{h}, err
	}}
	e.cycle(t, 0, 600)
	t.Fatal("the process should have died before opening the pull request")
}

func TestCrashBetweenPushAndPullRequest(t *testing.T) {
	s := newPRSetup(t, policy.ModePullRequest)
	now := prT0
	s.startGitHub(t, func() time.Time { return now })
	params, err := json.Marshal(struct {
		*prSetup
		APIURL string
	}{s, s.GH.URL()})
	require.NoError(t, err)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+string(params))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "helper: %v\n%s", err, out)
	require.Equal(t, 3, exit.ExitCode(), "%s", out)
	pushed := s.Git.HeadSHA("platform", prBranch)
	require.NotEmpty(t, pushed, "the branch was pushed before the crash")
	require.Empty(t, s.GH.PullRequests(), "the process died before opening the pull request")

	// The next run (a fresh process would have a fresh cache too) adopts the branch.
	e := s.instance(t, s.GH.URL())
	s.Git.ResetCounts()
	res := e.cycle(t, time.Minute, 600)
	assert.Equal(t, gitops.ActionPullRequest, res.Action)
	prs := s.GH.PullRequests()
	require.Len(t, prs, 1, "exactly one pull request")
	assert.Equal(t, pushed, prs[0].HeadSHA, "the pushed branch is adopted")
	assert.Zero(t, s.Git.Requests("platform", gittest.ReceivePack), "nothing pushed again")

	res = e.cycle(t, 2*time.Minute, 600)
	assert.Len(t, s.GH.PullRequests(), 1, "and stays one")
	assert.Equal(t, pushed, res.Commit)
}

func TestTokenAppearsNowhere(t *testing.T) {
	e := newPREnv(t, policy.ModeAutoMerge)
	e.GH.SetRequiredChecks("ci/test")
	e.GH.SetCheckState("pending")
	var texts []string
	record := func(res gitops.Result) {
		b, err := json.Marshal(res)
		require.NoError(t, err)
		texts = append(texts, string(b))
	}
	record(e.cycle(t, 0, 600))
	e.GH.ClosePR(1)
	record(e.cycle(t, time.Minute, 600))
	record(e.cycle(t, 2*time.Minute, 900))
	e.GH.RateLimitOnce(http.StatusForbidden, 30*time.Second)
	record(e.cycle(t, 3*time.Minute, 1000))
	assert.Equal(t, []time.Duration{31 * time.Second}, e.sleeps, "waited out the rate limit")

	// A wrong token: the failure is clear, names no token, and is not retried with it.
	bad := "ghp_wrong-token-that-must-not-leak"
	require.NoError(t, os.WriteFile(e.TokenFile, []byte(bad), 0o600))
	rep, err := e.runner.Cycle(context.Background(), e.repo, gitops.CycleOptions{At: prT0.Add(4 * time.Minute)})
	require.NoError(t, err)
	require.Len(t, rep.Results, 1)
	assert.Equal(t, gitops.ActionError, rep.Results[0].Action)
	assert.Contains(t, rep.Results[0].Error, "authentication failed")
	record(rep.Results[0])
	before := e.GH.Requests()
	rep, err = e.runner.Cycle(context.Background(), e.repo, gitops.CycleOptions{At: prT0.Add(5 * time.Minute)})
	require.NoError(t, err)
	assert.Contains(t, rep.Results[0].Error, "authentication failed")
	assert.Equal(t, before, e.GH.Requests(), "a rejected token is not sent again")
	record(rep.Results[0])

	texts = append(texts, e.logs.String(), e.Git.Git("platform", "log", "--all", "--format=%H%n%B"))
	for _, pr := range e.GH.PullRequests() {
		texts = append(texts, pr.Title, pr.Body)
	}
	require.Len(t, e.GH.PullRequests(), 2, "the scenario made pull requests to scan")
	for _, text := range texts {
		for _, secret := range []string{e.GH.Token(), bad, e.Git.Password()} {
			assert.NotContains(t, text, secret)
		}
	}
}

func ExamplePullRequestBranch() {
	p := &policy.Policy{Metadata: policy.Metadata{Name: "laravel-web", Namespace: "laravel-demo"}}
	fmt.Println(delivery.PullRequestBranch(p))
	// Output: autoscaler/laravel-demo/laravel-web
}
