// Package hosts picks each repository's pull request host — GitHub (gitops/host/github) or
// GitLab (gitops/host/gitlab), from its github or gitlab settings — and keeps one client per
// repository across cycles. It also completes what a repository's Git needs from its host:
// a GitHub App's installation token for HTTPS Git, and, with github.verifiedCommits, the
// publisher that makes the commits through GitHub's API so that GitHub signs them.
//
// It is wiring: the loop (package gitops) declares what it needs, the providers implement
// it, and this package joins them for the commands and the tests.
package hosts

import (
	"fmt"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/github"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/gitlab"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

var (
	_ gitops.Host             = (*github.Client)(nil)
	_ gitops.UpToDateRequirer = (*github.Client)(nil)
	_ gitops.CommitMaker      = (*github.Client)(nil)
	_ gitops.Host             = (*gitlab.Client)(nil)
	_ gitops.AutoMerger       = (*gitlab.Client)(nil)
	_ gitops.UpToDateRequirer = (*gitlab.Client)(nil)
)

// Set is the hosts of a service's repositories. It is safe for concurrent use.
type Set struct {
	GitHub github.Clients
	GitLab gitlab.Clients
}

// For returns a repository's pull request host (the Hosts of gitops.PullRequestDelivery).
func (s *Set) For(rc policy.Repository) (gitops.Host, error) {
	switch {
	case rc.GitLab != nil:
		c, err := s.GitLab.For(rc)
		if err != nil {
			return nil, err // never a nil *gitlab.Client in a non-nil Host
		}
		return c, nil
	case rc.GitHub != nil:
		c, err := s.GitHub.For(rc)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("repository %s has no host settings: pull requests need repositories[].github or repositories[].gitlab", rc.Name)
}

// Git completes a repository's workspace options from its host settings (the Git of
// gitops.Runner): with a GitHub App and no auth of its own, an https remote uses the
// installation's tokens; with github.verifiedCommits, commits are made through the API.
func (s *Set) Git(rc policy.Repository, o *gitrepo.Options) error {
	if rc.GitHub == nil || (rc.GitHub.App == nil && !rc.GitHub.VerifiedCommits) {
		return nil
	}
	c, err := s.GitHub.For(rc)
	if err != nil {
		return err
	}
	if t, err := policy.ClassifyGitURL(rc.URL); err == nil && (t == policy.GitHTTPS || t == policy.GitHTTP) && c.HasApp() && o.Auth == nil {
		o.Token = c.GitToken // an ssh or local remote keeps its own auth
	}
	if rc.GitHub.VerifiedCommits {
		o.Publisher = gitops.HostPublisher(c)
	}
	return nil
}
