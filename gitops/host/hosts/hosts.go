package hosts

import (
	"fmt"
	"sync"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/github"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/gitlab"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

var (
	_ delivery.Host             = (*github.Client)(nil)
	_ delivery.UpToDateRequirer = (*github.Client)(nil)
	_ delivery.CommitMaker      = (*github.Client)(nil)
	_ delivery.Host             = (*gitlab.Client)(nil)
	_ delivery.AutoMerger       = (*gitlab.Client)(nil)
	_ delivery.UpToDateRequirer = (*gitlab.Client)(nil)
)

// Set is the hosts of a service's repositories: one client per repository, made on first
// use and kept across cycles. It is safe for concurrent use.
type Set struct {
	// GitHub and GitLab shape the clients of each host.
	GitHub github.Options
	GitLab gitlab.Options

	github cache[*github.Client]
	gitlab cache[*gitlab.Client]
}

// For returns a repository's pull request host (the Hosts of delivery.PullRequestDelivery).
func (s *Set) For(rc svcconfig.Repository) (delivery.Host, error) {
	switch {
	case rc.GitLab != nil:
		c, err := s.gitlab.get(rc.Name+"\x00"+rc.GitLab.BaseURL+"\x00"+rc.GitLab.Project, func() (*gitlab.Client, error) {
			return gitlab.New(rc.GitLab, s.GitLab)
		})
		if err != nil {
			return nil, err // never a nil *gitlab.Client in a non-nil Host
		}
		return c, nil
	case rc.GitHub != nil:
		c, err := s.GitHubClient(rc)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("repository %s has no host settings: pull requests need repositories[].github or repositories[].gitlab", rc.Name)
}

// GitHubClient returns the GitHub client of a repository, which must have github settings.
func (s *Set) GitHubClient(rc svcconfig.Repository) (*github.Client, error) {
	if rc.GitHub == nil {
		return nil, fmt.Errorf("repository %s has no github settings: pull requests need repositories[].github", rc.Name)
	}
	return s.github.get(rc.Name+"\x00"+rc.GitHub.Owner+"/"+rc.GitHub.Repo, func() (*github.Client, error) {
		return github.New(rc.GitHub, s.GitHub)
	})
}

// cache keeps one client per key, made on first use; a failure to make one is not kept, so
// the next call tries again.
type cache[C any] struct {
	mu      sync.Mutex
	clients map[string]C
}

func (c *cache[C]) get(key string, make func() (C, error)) (C, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	cl, err := make()
	if err != nil {
		return cl, err
	}
	if c.clients == nil {
		c.clients = map[string]C{}
	}
	c.clients[key] = cl
	return cl, nil
}

// Git completes a repository's workspace options from its host settings (the Git of
// gitops.Runner): with a GitHub App and no auth of its own, an https remote uses the
// installation's tokens; with github.verifiedCommits, commits are made through the API.
func (s *Set) Git(rc svcconfig.Repository, o *gitrepo.Options) error {
	if rc.GitHub == nil || (rc.GitHub.App == nil && !rc.GitHub.VerifiedCommits) {
		return nil
	}
	c, err := s.GitHubClient(rc)
	if err != nil {
		return err
	}
	if t, err := gitname.Classify(rc.URL); err == nil && (t == gitname.HTTPS || t == gitname.HTTP) && c.HasApp() && o.Auth == nil {
		o.Token = c.GitToken // an ssh or local remote keeps its own auth
	}
	if rc.GitHub.VerifiedCommits {
		o.Publisher = delivery.HostPublisher(c)
	}
	return nil
}

// CommitURLs returns the status page's commit links (internal/web's Options.CommitURL): each
// repository's host answers for its commits; "" for a repository whose host has no web page
// for a commit, or no host at all.
func (s *Set) CommitURLs(cfg *svcconfig.Config) func(repository, sha string) string {
	return func(repository, sha string) string {
		for _, rc := range cfg.Repositories {
			if rc.Name != repository || (rc.GitHub == nil && rc.GitLab == nil) {
				continue
			}
			h, err := s.For(rc)
			if err != nil {
				return ""
			}
			if w, ok := h.(interface{ CommitURL(sha string) string }); ok {
				return w.CommitURL(sha)
			}
		}
		return ""
	}
}
