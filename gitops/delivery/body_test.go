package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

const bodyFile = "envs/prod/web/values.yaml"

func TestPullRequestBody(t *testing.T) {
	msg := commitmsg.Message{
		PolicyID: "shop/web", Target: policy.ReplicasLocation{File: bodyFile, Path: "web.replicaCount"}, From: 3, To: 6,
		Reasons: []engine.Reason{
			{Code: engine.ReasonMetricValue, Message: "http_rps = 312.4 > scaleUp.threshold 250 → 6", Metric: "http_rps", Value: 312.4, Rule: "> scaleUp.threshold 250", To: 6},
			{Code: engine.ReasonMetricValue, Message: "queue|depth = 2 within [1, 5] → 3", Metric: "queue|depth", Value: 2, Rule: "within [1, 5]", To: 3},
			{Code: engine.ReasonAggregated, Message: "aggregation max → 6"},
			{Code: engine.ReasonRendered, Message: "rendered Deployment shop/web: spec.replicas 3 → 6"},
			{Code: engine.ReasonRenderConsequence, Message: "also: adds PodDisruptionBudget shop/web"},
		},
		Metrics: []engine.MetricValue{{Name: "http_rps", Value: 312.4}}, EvaluatedAt: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
	}
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
			body := PullRequestBody(tc.terms, msg, tc.rendered, "autoscaler/shop/web", "main", "0123456789abcdef")
			for _, w := range tc.want {
				assert.Contains(t, body, w)
			}
			for _, n := range tc.not {
				assert.NotContains(t, body, n)
			}
			tr, ok := bodyTrailers(body)
			assert.True(t, ok)
			assert.Equal(t, 6, tr.To, "the trailers in the body give the proposed count back")
			assert.Equal(t, msg.DecisionID(), tr.DecisionID)
			assert.True(t, bodyShows(body, gitrepo.Commit{SHA: "0123456789abcdef", Message: commitmsg.Format(msg)}, "autoscaler/shop/web"),
				"the body shows the commit it was written for")
			assert.False(t, bodyShows(body, gitrepo.Commit{SHA: "fedcba9876543210", Message: commitmsg.Format(msg)}, "autoscaler/shop/web"),
				"and no other")
		})
	}
}

// TestBodyTrailers: the count a closed pull request proposed is read from the trailers its
// description shows, by the one trailer reader — never from its title.
func TestBodyTrailers(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		to   int
		ok   bool
	}{
		{name: "trailers block", body: "**Trailers**\n\n```\nAutoscaler-Policy: a/b\nAutoscaler-From: 3\nAutoscaler-To: 7\n```\n\nmore", to: 7, ok: true},
		{name: "edited on the web: CRLF", body: "**Trailers**\r\n\r\n```\r\nAutoscaler-Policy: a/b\r\nAutoscaler-From: 3\r\nAutoscaler-To: 7\r\n```\r\n", to: 7, ok: true},
		{name: "a longer fence", body: "**Trailers**\n\n````\nAutoscaler-Policy: a/b\nAutoscaler-From: 3\nAutoscaler-To: 2\n````\n", to: 2, ok: true},
		{name: "a count in the text only", body: "autoscale(a/b): 6 → 2 replicas\nAutoscaler-To: 2"},
		{name: "trailers block not closed", body: "**Trailers**\n\n```\nAutoscaler-Policy: a/b\nAutoscaler-From: 3\nAutoscaler-To: 7\n"},
		{name: "not a number", body: "**Trailers**\n\n```\nAutoscaler-Policy: a/b\nAutoscaler-From: 3\nAutoscaler-To: seven\n```\n"},
		{name: "no trailers", body: "bump chart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, ok := bodyTrailers(tc.body)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.to, tr.To)
		})
	}
}
