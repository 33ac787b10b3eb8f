package svcconfig

import (
	"os"
	"path/filepath"
)

// SetDefaults fills every field the config left out with its default.
func (c *Config) SetDefaults() {
	for i := range c.Repositories {
		if c.Repositories[i].Branch == "" {
			c.Repositories[i].Branch = DefaultBranch
		}
		if gl := c.Repositories[i].GitLab; gl != nil && gl.BaseURL == "" {
			gl.BaseURL = DefaultGitLabURL
		}
		if gh := c.Repositories[i].GitHub; gh != nil && gh.APIURL == "" {
			gh.APIURL = DefaultGitHubAPIURL
		}
		for _, n := range c.Repositories[i].Notify {
			if n.Flux != nil && n.Flux.Type == "" {
				n.Flux.Type = FluxReceiverGeneric
			}
		}
	}
	if c.QueryConcurrency == 0 {
		c.QueryConcurrency = DefaultQueryConcurrency
	}
	for i := range c.Prometheus {
		if c.Prometheus[i].Timeout.Duration == 0 {
			c.Prometheus[i].Timeout.Duration = DefaultPromTimeout
		}
		if c.Prometheus[i].QueryConcurrency == 0 {
			c.Prometheus[i].QueryConcurrency = c.QueryConcurrency
		}
	}
	if c.CycleTimeout.Duration == 0 {
		c.CycleTimeout.Duration = DefaultCycleTimeout
	}
	if c.Commit.AuthorName == "" {
		c.Commit.AuthorName = DefaultAuthorName
	}
	if c.Commit.AuthorEmail == "" {
		c.Commit.AuthorEmail = DefaultAuthorEmail
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = DefaultListen
	}
	c.Limits.Git.SetDefaults()
	c.Limits.Prometheus.SetDefaults()
	c.Limits.Render.SetDefaults()
	c.Limits.Charts.SetDefaults()
	c.Limits.HTTP.SetDefaults()
}

// DefaultCacheDir is where the repositories' clones go when the config names no cacheDir:
// gitops-autoscaler under the user's cache directory (XDG_CACHE_HOME, ~/.cache, …), or under
// the temporary directory when the user has none (a container without a home directory).
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "gitops-autoscaler")
}
