// Package secret owns secret values and their scrubbing (docs/design.md §9, invariant 7).
//
// Value is a secret read from a file or an environment variable by Read, the one reader of
// secrets; it prints, formats and marshals as <secret>. Redact, RedactURLs and RedactError are
// the one set of tools every package scrubs text with before it reaches a log line, an error,
// a commit, a pull request body or a page: URL userinfo always goes, known secret strings go in
// every encoding they may travel in (URL-escaped, base64 at any offset, Authorization headers),
// and a scrubbed error cannot be unwrapped back to the raw one while errors.Is still sees its
// cause.
//
// It is a leaf. Its only I/O is Read, which reads the file or variable it is told to.
//
// Must not import: cmd/..., gitops/..., internal/edit, internal/gitname, internal/web,
// internal/yamlnode, policy/..., promclient/..., render/..., net/http, os/exec.
package secret
