// Package edit is the replica editor: it reads and rewrites the one YAML scalar that holds a
// workload's replica count, and no other byte (docs/design.md §2 step 6, §9 invariant 1).
//
// It parses a file only to find the target: go.yaml.in/yaml/v3 gives the scalar's line and
// column, which are turned into a byte offset in the original bytes, and the new digits are
// spliced in there. The document is never re-encoded, because an encoder normalizes quoting,
// indentation, comments and line endings. After the splice the result is parsed again and
// compared with the original tree; any difference other than the target's value is an error,
// so a splice bug can only ever stop a commit, never produce a wrong one.
//
// What counts as a replica value: a base-10 non-negative integer literal without sign, leading
// zeros, exponent or fraction — `3`, `"3"`, `'3'`, `!!int 3`. Anything YAML would read
// differently across versions (`010` is octal in YAML 1.1), anything Helm's templates could read
// as a float (`3.0`), and anything non-obvious (`0x3`, `+3`, block scalars, `!!str 3`) is
// refused with the value named, rather than rewritten into a form the author did not choose.
//
// The package is pure: bytes in, bytes out. Reading files, committing and rendering belong to
// the callers (gitops/gitrepo, the loop in gitops, render); where the target lives is the policy's
// ReplicasLocation.
//
// Must not import: cmd/..., gitops/..., internal/web, render/..., promclient/..., net/http,
// os/exec.
package edit
