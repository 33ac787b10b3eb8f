package web

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
)

// TestStatusPageNamesThePullRequestAsItsHost: the link to a policy's pull request reads as
// its host names it — "merge request !3" on GitLab — and "pull request" when no name is known.
func TestStatusPageNamesThePullRequestAsItsHost(t *testing.T) {
	for _, tc := range []struct {
		name, url, prName, want string
	}{
		{name: "gitlab", url: "https://gitlab.example.com/acme/platform/-/merge_requests/3", prName: "merge request !3", want: ">merge request !3</a>"},
		{name: "github", url: "https://github.com/acme/platform/pull/7", prName: "pull request #7", want: ">pull request #7</a>"},
		{name: "no name", url: "https://github.com/acme/platform/pull/7", want: ">pull request</a>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := statusRow{PolicyStatus: gitops.PolicyStatus{ID: "shop/web", LastAction: gitops.ActionPullRequest, PullRequest: tc.url, PullRequestName: tc.prName}}
			var b strings.Builder
			require.NoError(t, statusTemplate.Execute(&b, statusView{Ready: true, Rows: []statusRow{row}}))
			assert.Contains(t, b.String(), `<a href="`+tc.url+`"`+tc.want)
		})
	}
}
