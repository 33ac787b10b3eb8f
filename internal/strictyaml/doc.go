// Package strictyaml is the strict YAML reading every document of the product shares — the
// policy documents and the service config alike (docs/design.md §4): one loop over a file's
// documents in which a syntax error spoils only its own document (EachDocument, Split), a
// decoder that refuses unknown fields (naming the likely one meant), duplicate keys and wrong
// types at any depth and records every field's line (Decoder, Source.LineOf), the problem
// types whose text is exactly file:line: field: message (FieldError, Warning, Join), and the
// base of a document's checks (Checker), which skips fields whose decoding already failed.
//
// It knows no document kind: what a policy or a config must hold is checked by the packages
// that own them. It is a leaf: it performs no I/O and imports nothing of this module but
// internal/yamlnode.
//
// Must not import: cmd/..., gitops/..., internal/edit, internal/secret, internal/gitname,
// internal/web, policy/..., promclient/..., render/..., os, net/http.
package strictyaml
