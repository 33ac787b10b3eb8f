// Package gitops owns the Git side of the loop: the workspace (go-git clones kept in a cache
// directory, fetched and reset each cycle), the replica editor that changes one YAML scalar and
// no other byte, commit messages and their trailers, history read back from `git log`, and
// delivery (push with re-decide on a race, pull requests through a provider). It consumes
// metric values and render verification through small interfaces of its own; it never talks to
// Prometheus or renders charts itself.
package gitops
