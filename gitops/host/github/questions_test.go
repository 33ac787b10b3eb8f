package github

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// TestRefusesUncheckedMerge: the client answers from github.allowAutoMergeWithoutChecks
// whether a pull request may merge into a base that requires no status checks.
func TestRefusesUncheckedMerge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow bool
		want  string
	}{
		{name: "refused by default", want: "auto-merge refused: branch main requires no status checks; pull request #7 waits for review (github.allowAutoMergeWithoutChecks allows it)"},
		{name: "allowed by the setting", allow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(&svcconfig.GitHubRepo{Owner: "acme", Repo: "apps", AllowAutoMergeWithoutChecks: tc.allow}, Options{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, g.RefusesUncheckedMerge("main", "pull request #7"))
		})
	}
}

// TestCommitURL: the client links a commit on github.com, or on the GitHub Enterprise host
// whose API it calls (the web host is the API URL's host).
func TestCommitURL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		apiURL string
		sha    string
		want   string
	}{
		{name: "github.com", sha: "abc123", want: "https://github.com/acme/gitops/commit/abc123"},
		{name: "public API URL", apiURL: "https://api.github.com/", sha: "abc123", want: "https://github.com/acme/gitops/commit/abc123"},
		{name: "enterprise", apiURL: "https://ghe.example.com/api/v3/", sha: "abc123", want: "https://ghe.example.com/acme/gitops/commit/abc123"},
		{name: "no commit", sha: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(&svcconfig.GitHubRepo{Owner: "acme", Repo: "gitops", APIURL: tc.apiURL}, Options{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, g.CommitURL(tc.sha))
		})
	}
}
