package integration

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// TestFluxHelmReleaseFollowsEveryDecision: Flux's helm-controller installs the chart from the
// GitRepository (a HelmRelease with disableWait: no kubelet runs the pods) and upgrades it with
// each decision the autoscaler commits to the chart's values: load rises, spec.replicas
// follows the scale-up; load falls, the scale-down. With the notify step, each within a
// fraction of the poll interval. Between the two a person scales the Deployment by hand: by
// helm-controller's default (no driftDetection) the drift stays through a reconcile, the
// scale-down starts from Git's count, and its upgrade sets spec.replicas from Git again.
func TestFluxHelmReleaseFollowsEveryDecision(t *testing.T) {
	k := cluster.Start(t)
	s := gittest.NewServer(t)
	const name = "helm-shop"
	st := newSite(t, k, s, name, "github", viaHelm)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)
	st.writeTrace(t, t0, 200, 560, 560, 560, 310, 310, 310, 310, 310, 310, 310, 310)
	steps := []struct {
		name string
		at   time.Duration
		want int
		// drift: after the step, a person scales the Deployment by hand.
		drift bool
	}{
		{name: "load rises", at: 10 * time.Minute, want: 6, drift: true},
		{name: "load falls", at: 100 * time.Minute, want: 4},
	}
	// Helm, not anything else, applied the Deployment.
	var d struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	require.True(t, k.Get("apps/v1", "Deployment", name, "web", &d))
	require.Equal(t, "web", d.Metadata.Annotations["meta.helm.sh/release-name"], "the release's Deployment")
	last := 2 // Git's count before the step
	for _, step := range steps {
		out := st.evaluate(t, t0.Add(step.at))
		committed := time.Now()
		require.Contains(t, out, `"from": `+fmt.Sprint(last)+`,`, "%s: the decision starts from Git's count", step.name)
		last = step.want
		require.Contains(t, s.ReadFile(name, "main", "charts/web/values.yaml"), fmt.Sprintf("replicaCount: %d # managed", step.want), out)
		require.Contains(t, out, "msg=notified repository="+name+" controller=flux", "the webhook accepted the call")
		k.WaitReplicas(name, "web", step.want, notifyPoll)
		t.Logf("%s: commit to spec.replicas through the HelmRelease in %s", step.name, time.Since(committed).Round(100*time.Millisecond))
		// The release's latest revision is the chart at the decision's commit (Helm writes the
		// release's status just after the objects).
		head := s.HeadSHA(name, "main")
		require.Eventually(t, func() bool {
			var hr struct {
				Status struct {
					History []struct {
						ChartVersion string `json:"chartVersion"`
					} `json:"history"`
				} `json:"status"`
			}
			return k.Get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", name, &hr) &&
				len(hr.Status.History) > 0 && strings.HasSuffix(hr.Status.History[0].ChartVersion, "+"+head[:12])
		}, 20*time.Second, 100*time.Millisecond, "HelmRelease %s: latest release of the chart at %s", name, head)
		if step.drift {
			// A person scales the Deployment by hand (the test, through the API server). With
			// helm-controller's default (spec.driftDetection unset: disabled) a reconcile of the
			// HelmRelease upgrades nothing and the drift stays (docs/design.md §9); the next
			// decision's upgrade sets the count from Git again.
			k.MergePatch("apps/v1", "Deployment", name, "web", `{"spec":{"replicas":9}}`)
			reconcileNow(t, k, "helm.toolkit.fluxcd.io/v2", "HelmRelease", name)
			require.Equal(t, 9, k.Replicas(name, "web"), "a HelmRelease without driftDetection leaves the drift")
		}
	}
}

// TestFluxRenderRefusalLeavesTheClusterAlone: the chart ignores the key the policy edits (its
// Deployment's replicas are fixed at 2), so the render verification refuses the scale-up
// (KeyUnused): the autoscaler commits nothing, pushes no branch and calls no webhook, and Flux,
// asked to reconcile after, leaves spec.replicas and the release where they were.
func TestFluxRenderRefusalLeavesTheClusterAlone(t *testing.T) {
	k := cluster.Start(t)
	s := gittest.NewServer(t)
	const name = "refused-shop"
	template := "charts/web/templates/deployment.yaml"
	st := newSiteFiles(t, k, s, name, "github", viaHelm, map[string]string{
		template: strings.Replace(helmChart[template], "{{ .Values.replicaCount }}", "2", 1),
	})
	head := s.HeadSHA(name, "main")
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	st.writeTrace(t, t0, 200, 560, 560)

	code, out, log := st.run(t, t0.Add(10*time.Minute))
	require.Equal(t, 1, code, "a refused decision is the policy's error\n%s\n%s", out, log)
	var rep struct{ Results []gitops.Result }
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Results, 1, out)
	r := rep.Results[0]
	require.Equal(t, gitops.ActionError, r.Action, "%+v", r)
	t.Logf("refused: %s", r.Error)
	require.Contains(t, r.Error, "render verification refused (KeyUnused)")
	require.Contains(t, r.Error, "charts/web/values.yaml")
	require.Equal(t, head, s.HeadSHA(name, "main"), "no commit")
	require.Equal(t, []string{"main"}, s.Branches(name), "no branch")
	require.NotContains(t, log, "msg=notif", "nothing landed: no webhook called")

	reconcileNow(t, k, "source.toolkit.fluxcd.io/v1", "GitRepository", name)
	reconcileNow(t, k, "helm.toolkit.fluxcd.io/v2", "HelmRelease", name)
	require.Equal(t, 2, k.Replicas(name, "web"), "the cluster is unchanged")
	var hr struct {
		Status struct {
			History []struct {
				ChartVersion string `json:"chartVersion"`
			} `json:"history"`
		} `json:"status"`
	}
	require.True(t, k.Get("helm.toolkit.fluxcd.io/v2", "HelmRelease", "flux-system", name, &hr))
	require.Len(t, hr.Status.History, 1, "the release was installed once and never upgraded")
	require.True(t, strings.HasSuffix(hr.Status.History[0].ChartVersion, "+"+head[:12]), "the release is the chart at %s: %+v", head, hr.Status.History)
}
