package gitops

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

const bodyFile = "envs/prod/web/values.yaml"

func TestPullRequestBody(t *testing.T) {
	msg := commitmsg.Format(commitmsg.Message{
		PolicyID: "shop/web", Target: policy.ReplicasLocation{File: bodyFile, Path: "web.replicaCount"}, From: 3, To: 6,
		Reasons: []string{"http_rps = 312.4 > scaleUp.threshold 250 → 6", "queue|depth = 2 within [1, 5] → 3", "aggregation max → 6",
			"rendered Deployment shop/web: spec.replicas 3 → 6", "also: adds PodDisruptionBudget shop/web"},
		Metrics: []policy.MetricValue{{Name: "http_rps", Value: 312.4}}, EvaluatedAt: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
	})
	for _, tc := range []struct {
		name     string
		rendered string
		terms    host.Terms // default: GitHub's
		want     []string
		not      []string
	}{
		{
			name: "reasons, trailers, rollback",
			want: []string{
				"**autoscale(shop/web): 3 → 6 replicas**",
				"| metric | value | rule | recommendation |",
				"| http_rps | 312.4 | &gt; scaleUp.threshold 250 | 6 |",
				"| queue\\|depth | 2 | within [1, 5] | 3 |",
				"- aggregation max → 6",
				"- rendered Deployment shop/web: spec.replicas 3 → 6\n- also: adds PodDisruptionBudget shop/web\n",
				"Autoscaler-To: 6\nAutoscaler-",
				"`git revert <sha>`",
				"Branch `autoscaler/shop/web` at `0123456789ab`",
			},
			not: []string{"Rendered change"},
		},
		{
			name:     "with the rendered diff",
			rendered: "-  replicas: 3\n+  replicas: 6\n```\n",
			want:     []string{"**Rendered change**\n\n````diff\n-  replicas: 3\n+  replicas: 6\n```\n````"},
		},
		{
			name:  "a merge request on GitLab",
			terms: host.MergeRequestTerms,
			want:  []string{"this merge request lands on `main`", "close this merge request unmerged"},
			not:   []string{"pull request"},
		},
		{
			name: "a pull request on GitHub",
			want: []string{"this pull request lands on `main`", "close this pull request unmerged"},
			not:  []string{"merge request"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.terms == (host.Terms{}) {
				tc.terms = host.PullRequestTerms
			}
			body := PullRequestBody(tc.terms, msg, []string{"http_rps", "queue|depth"}, tc.rendered, "autoscaler/shop/web", "main", "0123456789abcdef")
			for _, w := range tc.want {
				assert.Contains(t, body, w)
			}
			for _, n := range tc.not {
				assert.NotContains(t, body, n)
			}
			to, ok := proposedTo(host.PullRequest{Body: body})
			assert.True(t, ok)
			assert.Equal(t, 6, to, "the trailers in the body give the proposed count back")
		})
	}
}

func TestProposedTo(t *testing.T) {
	for _, tc := range []struct {
		name string
		pr   host.PullRequest
		to   int
		ok   bool
	}{
		{name: "trailer", pr: host.PullRequest{Body: "```\nAutoscaler-From: 3\nAutoscaler-To: 7\n```"}, to: 7, ok: true},
		{name: "title", pr: host.PullRequest{Title: "autoscale(a/b): 6 → 2 replicas"}, to: 2, ok: true},
		{name: "neither", pr: host.PullRequest{Title: "bump chart", Body: "no trailers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to, ok := proposedTo(tc.pr)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.to, to)
		})
	}
}
