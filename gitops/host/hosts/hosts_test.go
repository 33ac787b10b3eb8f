package hosts

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// TestForKeepsOneClientPerRepository: each repository gets one client, made once and kept,
// whichever its host; another repository, or another project on the same host, gets its own.
func TestForKeepsOneClientPerRepository(t *testing.T) {
	gh := func(name, repo string) svcconfig.Repository {
		return svcconfig.Repository{Name: name, GitHub: &svcconfig.GitHubRepo{Owner: "acme", Repo: repo, APIURL: "http://github.invalid/"}}
	}
	gl := func(name, project string) svcconfig.Repository {
		return svcconfig.Repository{Name: name, GitLab: &svcconfig.GitLabRepo{Project: project, BaseURL: "http://gitlab.invalid/"}}
	}
	for _, tc := range []struct {
		name string
		a, b svcconfig.Repository
		same bool
	}{
		{name: "github, the same repository", a: gh("platform", "platform"), b: gh("platform", "platform"), same: true},
		{name: "github, another repository", a: gh("platform", "platform"), b: gh("platform", "apps")},
		{name: "github, another name", a: gh("platform", "platform"), b: gh("other", "platform")},
		{name: "gitlab, the same project", a: gl("platform", "acme/platform"), b: gl("platform", "acme/platform"), same: true},
		{name: "gitlab, another project", a: gl("platform", "acme/platform"), b: gl("platform", "acme/apps")},
		{name: "github and gitlab", a: gh("platform", "platform"), b: gl("platform", "acme/platform")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Set{}
			a, err := s.For(tc.a)
			require.NoError(t, err)
			b, err := s.For(tc.b)
			require.NoError(t, err)
			if tc.same {
				assert.Same(t, a, b)
			} else {
				assert.NotSame(t, a, b)
			}
		})
	}
}

func TestForRefusesWhatHasNoHost(t *testing.T) {
	s := &Set{}
	for _, tc := range []struct {
		name string
		rc   svcconfig.Repository
		want string
	}{
		{name: "no host settings", rc: svcconfig.Repository{Name: "platform"}, want: "has no host settings"},
		{name: "a bad GitLab URL", rc: svcconfig.Repository{Name: "platform", GitLab: &svcconfig.GitLabRepo{Project: "a/b", BaseURL: "ftp://x"}}, want: "is not an http(s) URL"},
		{name: "a GitHub repository without owner", rc: svcconfig.Repository{Name: "platform", GitHub: &svcconfig.GitHubRepo{Repo: "platform"}}, want: "owner and repo are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := s.For(tc.rc)
			require.ErrorContains(t, err, tc.want)
			assert.True(t, h == delivery.Host(nil), "no Host holding a nil client")
		})
	}
}

// TestCacheKeepsNoFailure: a client that could not be made is made again on the next call;
// one that was made is never made again.
func TestCacheKeepsNoFailure(t *testing.T) {
	var c cache[*int]
	made := 0
	mk := func() (*int, error) {
		made++
		if made == 1 {
			return nil, errors.New("not yet")
		}
		n := made
		return &n, nil
	}
	_, err := c.get("k", mk)
	require.Error(t, err)
	first, err := c.get("k", mk)
	require.NoError(t, err)
	again, err := c.get("k", mk)
	require.NoError(t, err)
	assert.Same(t, first, again)
	assert.Equal(t, 2, made)
}

// TestCommitURLs: the status page's commit links come from each repository's host; a
// repository without a host, or one whose host has no page for a commit, links none.
func TestCommitURLs(t *testing.T) {
	cfg := &svcconfig.Config{Repositories: []svcconfig.Repository{
		{Name: "ghe", GitHub: &svcconfig.GitHubRepo{Owner: "acme", Repo: "shop", APIURL: "https://ghe.example.com/api/v3/"}},
		{Name: "lab", GitLab: &svcconfig.GitLabRepo{Project: "acme/shop", BaseURL: "https://gitlab.example.com/"}},
		{Name: "plain"},
	}}
	link := (&Set{}).CommitURLs(cfg)
	for _, tc := range []struct{ name, repo, want string }{
		{name: "github enterprise", repo: "ghe", want: "https://ghe.example.com/acme/shop/commit/abc123"},
		{name: "gitlab: no commit page yet", repo: "lab"},
		{name: "no host", repo: "plain"},
		{name: "unknown repository", repo: "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, link(tc.repo, "abc123"))
		})
	}
}
