package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// TestRepoURLs holds the addresses an Argo CD Application may name a repository by: its remote,
// and for a GitHub repository its web address on github.com or the Enterprise host its API is on.
func TestRepoURLs(t *testing.T) {
	for _, tc := range []struct {
		name string
		repo svcconfig.Repository
		want []string
	}{
		{"a remote alone", svcconfig.Repository{URL: "https://git.example.com/acme/platform.git"},
			[]string{"https://git.example.com/acme/platform.git"}},
		{"a local path is named by no Application", svcconfig.Repository{URL: "/srv/git/platform"}, nil},
		{"on github.com", svcconfig.Repository{URL: "https://github.com/acme/platform.git",
			GitHub: &svcconfig.GitHubRepo{Owner: "acme", Repo: "platform", APIURL: "https://api.github.com/"}},
			[]string{"https://github.com/acme/platform.git", "https://github.com/acme/platform"}},
		{"on GitHub Enterprise", svcconfig.Repository{URL: "git@ghe.example.com:acme/platform.git",
			GitHub: &svcconfig.GitHubRepo{Owner: "acme", Repo: "platform", APIURL: "https://ghe.example.com/api/v3/"}},
			[]string{"git@ghe.example.com:acme/platform.git", "https://ghe.example.com/acme/platform"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, repoURLs(tc.repo))
		})
	}
}
