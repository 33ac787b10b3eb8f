// Package gitname holds the rules for how the module names Git things, so that no two readers
// can disagree: Classify, the one rule for what a repository URL is (https, http, ssh in URL or
// scp-like form, file, or a local path — Git's own rule); GitHubWebURL, a GitHub's web address
// from its API address; and Short, the abbreviated commit hash every message, log line, pull
// request and table shows.
//
// It is a leaf: it performs no I/O and imports nothing of this module.
//
// Must not import: cmd/..., gitops/..., internal/edit, internal/secret, internal/web,
// internal/yamlnode, policy/..., promclient/..., render/..., os, net/http.
package gitname
