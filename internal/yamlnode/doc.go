// Package yamlnode holds the two YAML node helpers that every reader of YAML in the module
// shares: Documents, the one loop over the documents of a multi-document stream (a parser
// panic turned into an error), and MappingValue, the one lookup of a key in a mapping node.
// The policy loader, the replica editor, import, render's manifest readers and the Argo CD and
// Flux readers use them, each saying what an error means to it.
//
// It is a leaf: it performs no I/O and imports nothing of this module.
//
// Must not import: cmd/..., gitops/..., internal/edit, internal/secret, internal/gitname,
// internal/web, policy/..., promclient/..., render/..., os, net/http.
package yamlnode
