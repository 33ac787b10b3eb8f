package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// The Argo CD scenarios the Flux ones have (docs/design.md §9, "The sync, for real"): a pull
// request that only the merge brings to the cluster, drift with and without selfHeal, and a
// render refusal that leaves the cluster alone. Argo CD runs at its default reconciliation;
// the pushes are announced to argocd-server's webhook, by the notify step or, for a person's
// push, by the signed event GitHub would send.

// TestArgoCDSyncsAPullRequestOnlyOnceMerged: in PullRequest mode (the GitHub API test server,
// backed by the real Git server) the scale-up waits in an open pull request, and Argo CD, which
// tracks main, applies nothing, even when asked to refresh; a person merges the pull request,
// GitHub's push event reaches argocd-server, and the merge becomes the Deployment's
// spec.replicas. The next evaluation starts from the merged count and opens nothing.
func TestArgoCDSyncsAPullRequestOnlyOnceMerged(t *testing.T) {
	k := cluster.Start(t)
	argo := k.StartArgoCD(cluster.ArgoCDOptions{WebhookGitHubSecret: argoWebhookSecret})
	s := gittest.NewServer(t)
	url := newArgoRepo(t, k, s, 2, strings.Replace(argoPolicy, "mode: Commit", "mode: PullRequest", 1), argoSources["single source"])
	gh := githubtest.New(t, s, argoRepo)
	k.WaitReplicas("shop", "web", 2, 3*time.Minute)
	token := filepath.Join(t.TempDir(), "github-token")
	writeFile(t, token, gh.Token()+"\n")
	evaluate, _ := traceEvaluator(t, s, argoRepo,
		fmt.Sprintf("    github: {owner: %s, repo: %s, apiURL: %s, tokenFile: %s}\n", gh.Owner(), gh.Repo(), gh.URL(), token)+
			argoNotify(t, argo, true))

	// Load rises to 560: 6 replicas, proposed in a pull request; main does not move.
	base := s.HeadSHA(argoRepo, "main")
	out, _ := evaluate(10 * time.Minute)
	require.Contains(t, out, `"action": "pull-request"`, out)
	prs := gh.OpenPullRequests("autoscaler/shop/web")
	require.Len(t, prs, 1, "one pull request for the policy")
	require.Equal(t, argoValues(6), s.ReadFile(argoRepo, prs[0].Head, argoValuesFile))
	require.Equal(t, base, s.HeadSHA(argoRepo, "main"), "main does not move before the merge")

	// Argo CD, asked to refresh after the pull request was opened, compares main's head: still 2.
	argoRefreshNow(t, k)
	waitApplication(t, k, time.Minute, func(a argoApplication) bool {
		return a.Status.Sync.Revision == base && a.Status.Sync.Status == "Synced"
	},
		"synced at main's head %s", base)
	require.Equal(t, 2, k.Replicas("shop", "web"), "an open pull request changes nothing in the cluster")

	// A person merges it; GitHub announces the push: the merge commit reaches spec.replicas.
	mergePullRequest(t, gh, prs[0].Number)
	merged := s.HeadSHA(argoRepo, "main")
	require.NotEqual(t, base, merged)
	require.Equal(t, argoValues(6), s.ReadFile(argoRepo, "main", argoValuesFile))
	code, body := postGitHubPush(t, argo.ServerURL(), url, base, merged, argoWebhookSecret)
	require.Equal(t, http.StatusOK, code, "webhook: %s", body)
	took := k.WaitReplicas("shop", "web", 6, time.Minute)
	t.Logf("merge to spec.replicas in %s", took.Round(100*time.Millisecond))
	waitApplication(t, k, time.Minute, func(a argoApplication) bool { return a.Status.Sync.Revision == merged }, "at the merge %s", merged)

	// The next evaluation (still load 560) starts from the merged 6: nothing to propose.
	out, _ = evaluate(20 * time.Minute)
	require.Contains(t, out, `"from": 6,`)
	require.Contains(t, out, `"action": "unchanged"`, out)
	require.Empty(t, gh.OpenPullRequests("autoscaler/shop/web"), "no new pull request")
}

// TestArgoCDDriftAndRenderRefusal, on one Application with an automated sync:
//   - drift without selfHeal (Argo CD's default): a person scales the Deployment by hand (9),
//     Argo CD, asked to refresh, reports the Application OutOfSync and leaves the 9 — an
//     automated sync applies a new commit, not a changed cluster — and the autoscaler's next
//     decision starts from Git's count, never the cluster's;
//   - drift with selfHeal: the same hand scale is undone to Git's count by Argo CD itself, with
//     no commit (no ignoreDifferences is needed either way: the autoscaler never reads the
//     cluster's count);
//   - the render refusal: a person makes the chart ignore replicaCount (a fixed replicas: 6,
//     synced), so render verification refuses the next decision: evaluate exits 1 with the
//     policy's error, commits nothing, pushes no branch and calls no webhook, and Argo CD, asked
//     to refresh, keeps the cluster at 6 and the Application at the person's commit.
func TestArgoCDDriftAndRenderRefusal(t *testing.T) {
	k := cluster.Start(t)
	argo := k.StartArgoCD(cluster.ArgoCDOptions{WebhookGitHubSecret: argoWebhookSecret})
	s := gittest.NewServer(t)
	url := newArgoRepo(t, k, s, 2, argoPolicy, argoSources["single source"])
	k.WaitReplicas("shop", "web", 2, 3*time.Minute)
	run, _ := traceRunner(t, s, argoRepo, argoNotify(t, argo, true))
	evaluate := func(at time.Duration) string {
		t.Helper()
		code, out, log := run(at)
		require.Equal(t, 0, code, "evaluate: %s\n%s", out, log)
		return out
	}

	// Load rises to 560: 6 replicas, committed, notified and synced.
	evaluate(10 * time.Minute)
	require.Equal(t, argoValues(6), s.ReadFile(argoRepo, "main", argoValuesFile))
	k.WaitReplicas("shop", "web", 6, time.Minute)
	up := s.HeadSHA(argoRepo, "main")
	waitApplication(t, k, time.Minute, func(a argoApplication) bool { return a.Status.Sync.Revision == up && a.Status.Sync.Status == "Synced" },
		"synced at the scale-up %s", up)

	// Drift without selfHeal: Argo CD sees it and leaves it.
	k.MergePatch("apps/v1", "Deployment", "shop", "web", `{"spec":{"replicas":9}}`)
	argoRefreshNow(t, k)
	waitApplication(t, k, time.Minute, func(a argoApplication) bool { return a.Status.Sync.Status == "OutOfSync" }, "OutOfSync after the hand scale")
	time.Sleep(3 * time.Second) // more than the self-heal backoff's first step (2 s): nothing undoes it
	require.Equal(t, 9, k.Replicas("shop", "web"), "without selfHeal the hand scale stays")
	// The autoscaler decides from Git (6), not from the cluster's 9: load 560 keeps 6.
	out := evaluate(20 * time.Minute)
	require.Contains(t, out, `"from": 6,`, "the decision starts from Git")
	require.Contains(t, out, `"action": "unchanged"`, out)
	require.Equal(t, up, s.HeadSHA(argoRepo, "main"), "nothing committed")

	// selfHeal on: Argo CD undoes the hand scale to Git's 6 by itself, and the next one too.
	k.MergePatch("argoproj.io/v1alpha1", "Application", cluster.ArgoCDNamespace, "web", `{"spec":{"syncPolicy":{"automated":{"selfHeal":true}}}}`)
	took := k.WaitReplicas("shop", "web", 6, time.Minute)
	t.Logf("drift: undone by selfHeal in %s", took.Round(100*time.Millisecond))
	k.MergePatch("apps/v1", "Deployment", "shop", "web", `{"spec":{"replicas":11}}`)
	took = k.WaitReplicas("shop", "web", 6, time.Minute)
	t.Logf("drift again: undone by selfHeal in %s", took.Round(100*time.Millisecond))
	require.Equal(t, up, s.HeadSHA(argoRepo, "main"), "selfHeal commits nothing")

	// The render refusal: a person fixes the chart's count at 6; Argo CD syncs it (no change).
	template := "charts/web/templates/deployment.yaml"
	fixed := s.Commit(argoRepo, map[string]string{template: strings.Replace(argoChartDeployment, "{{ .Values.replicaCount }}", "6", 1)},
		"web: fix replicas at 6", "Ops Person <ops@example.com>")
	code, body := postGitHubPush(t, argo.ServerURL(), url, up, fixed, argoWebhookSecret)
	require.Equal(t, http.StatusOK, code, "webhook: %s", body)
	waitApplication(t, k, time.Minute, func(a argoApplication) bool {
		return a.Status.Sync.Revision == fixed && a.Status.Sync.Status == "Synced"
	},
		"synced at the person's commit %s", fixed)

	// Load falls to 310: the decision (6 → 4) is refused, nothing lands anywhere.
	code, out, log := run(100 * time.Minute)
	require.Equal(t, 1, code, "a refused decision is the policy's error\n%s\n%s", out, log)
	var rep struct{ Results []gitops.Result }
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, 1, out)
	r := rep.Results[0]
	require.Equal(t, gitops.ActionError, r.Action, "%+v", r)
	t.Logf("refused: %s", r.Error)
	require.Contains(t, r.Error, "render verification refused (KeyUnused)")
	require.Contains(t, r.Error, argoValuesFile)
	require.Equal(t, fixed, s.HeadSHA(argoRepo, "main"), "no commit")
	require.Equal(t, []string{"main"}, s.Branches(argoRepo), "no branch")
	require.NotContains(t, log, "msg=notif", "nothing landed: no webhook called")
	argoRefreshNow(t, k)
	waitApplication(t, k, time.Minute, func(a argoApplication) bool {
		return a.Status.Sync.Revision == fixed && a.Status.Sync.Status == "Synced"
	},
		"still synced at the person's commit %s", fixed)
	require.Equal(t, 6, k.Replicas("shop", "web"), "the cluster is unchanged")
}

// argoRefreshNow asks Argo CD to refresh the Application web now, as `argocd app get
// --refresh` does (the argocd.argoproj.io/refresh annotation: the tests' tool, never the
// product's), and waits until the controller has done it (it removes the annotation).
func argoRefreshNow(t *testing.T, k *cluster.Cluster) {
	t.Helper()
	k.MergePatch("argoproj.io/v1alpha1", "Application", cluster.ArgoCDNamespace, "web", `{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`)
	var a struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		a.Metadata.Annotations = nil
		if k.Get("argoproj.io/v1alpha1", "Application", cluster.ArgoCDNamespace, "web", &a) {
			if _, pending := a.Metadata.Annotations["argocd.argoproj.io/refresh"]; !pending {
				return
			}
		}
	}
	t.Fatalf("Application web: refresh not done after a minute\n%s", k.Logs())
}
