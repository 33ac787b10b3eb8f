package web

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

func TestCommitURL(t *testing.T) {
	tests := []struct {
		name string
		repo *policy.Repository
		want string
	}{
		{name: "no github block", repo: &policy.Repository{}},
		{name: "github.com", repo: &policy.Repository{GitHub: &policy.GitHubRepo{Owner: "acme", Repo: "gitops"}},
			want: "https://github.com/acme/gitops/commit/abc123"},
		{name: "public API URL", repo: &policy.Repository{GitHub: &policy.GitHubRepo{Owner: "acme", Repo: "gitops", APIURL: "https://api.github.com/"}},
			want: "https://github.com/acme/gitops/commit/abc123"},
		{name: "enterprise", repo: &policy.Repository{GitHub: &policy.GitHubRepo{Owner: "acme", Repo: "gitops", APIURL: "https://ghe.example.com/api/v3/"}},
			want: "https://ghe.example.com/acme/gitops/commit/abc123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, commitURL(tt.repo, "abc123"))
		})
	}
}
