package integration

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// TestFluxSyncsAPullRequestOnlyOnceMerged: in PullRequest mode (the GitHub API test server,
// backed by the real Git server) the scale-up waits in an open pull request, and Flux, which
// watches main, applies nothing, even when asked to reconcile; a person merges the pull
// request, and the merge reaches the Deployment's spec.replicas. The next evaluation starts
// from the merged count and opens nothing.
func TestFluxSyncsAPullRequestOnlyOnceMerged(t *testing.T) {
	k := cluster.Start(t)
	s := gittest.NewServer(t)
	s.CreateRepo(clusterRepo, map[string]string{
		"apps/web/deployment.yaml":    clusterDeployment,
		"apps/web/kustomization.yaml": clusterKustomization(2),
		"policies/web.yaml":           strings.Replace(clusterPolicy, "mode: Commit", "mode: PullRequest", 1),
	})
	gh := githubtest.New(t, s, clusterRepo)
	k.Apply(fluxObjects(s.URL(clusterRepo), s.User(), s.Password()))
	k.WaitReplicas("shop", "web", 2, 2*time.Minute)
	token := filepath.Join(t.TempDir(), "github-token")
	writeFile(t, token, gh.Token()+"\n")
	evaluate, _ := traceEvaluator(t, s, clusterRepo,
		fmt.Sprintf("    github: {owner: %s, repo: %s, apiURL: %s, tokenFile: %s}\n", gh.Owner(), gh.Repo(), gh.URL(), token))

	// Load rises to 560: 6 replicas, proposed in a pull request; main does not move.
	base := s.HeadSHA(clusterRepo, "main")
	out, _ := evaluate(10 * time.Minute)
	require.Contains(t, out, `"action": "pull-request"`, out)
	prs := gh.OpenPullRequests("autoscaler/shop/web")
	require.Len(t, prs, 1, "one pull request for the policy")
	require.Contains(t, s.ReadFile(clusterRepo, prs[0].Head, "apps/web/kustomization.yaml"), "count: 6 # managed")
	require.Equal(t, base, s.HeadSHA(clusterRepo, "main"), "main does not move before the merge")

	// Flux fetches main and applies it after the pull request was opened: still 2.
	reconcileNow(t, k, "source.toolkit.fluxcd.io/v1", "GitRepository", "shop")
	reconcileNow(t, k, "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "web")
	require.True(t, strings.HasSuffix(artifactRevision(t, k, "shop"), base), "Flux's artifact is main's head")
	require.Equal(t, 2, k.Replicas("shop", "web"), "an open pull request changes nothing in the cluster")

	// A person merges it: the merge commit on main reaches spec.replicas.
	mergePullRequest(t, gh, prs[0].Number)
	require.NotEqual(t, base, s.HeadSHA(clusterRepo, "main"))
	require.Contains(t, s.ReadFile(clusterRepo, "main", "apps/web/kustomization.yaml"), "count: 6 # managed")
	took := k.WaitReplicas("shop", "web", 6, time.Minute)
	t.Logf("merge to spec.replicas in %s", took.Round(100*time.Millisecond))

	// The next evaluation (still load 560) starts from the merged 6: nothing to propose.
	out, _ = evaluate(20 * time.Minute)
	require.Contains(t, out, `"from": 6,`)
	require.Contains(t, out, `"action": "unchanged"`, out)
	require.Empty(t, gh.OpenPullRequests("autoscaler/shop/web"), "no new pull request")
}

// mergePullRequest merges pull request n as a person would, a squash merge through the API.
func mergePullRequest(t *testing.T, gh *githubtest.Server, n int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, fmt.Sprintf("%srepos/%s/%s/pulls/%d/merge", gh.URL(), gh.Owner(), gh.Repo(), n),
		strings.NewReader(`{"merge_method":"squash"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "token "+gh.Token())
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "merge: %s", body)
}
