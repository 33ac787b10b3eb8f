// Package repopath is the one rule for a path that names a file or directory of a repository
// (docs/design.md §9 invariant 8): it is relative to the repository root, it never leaves the
// root — not by `..`, not as an absolute path, not through a symlink anywhere along it — and it
// never reaches into .git. Policy validation, the Git workspace and the renderers all join
// paths through it, so they cannot disagree about which paths are safe.
//
// A path is refused with an error, never silently confined: a policy whose path escapes is
// bad input, and reading some other file in its place would hide that. (This is why the
// repository root is not treated as a chroot, as github.com/cyphar/filepath-securejoin does.)
// Errors name the repository-relative path, never the machine's.
//
// Must not import: policy, cmd/..., gitops/..., render/..., promclient/..., net/http, os/exec.
package repopath
