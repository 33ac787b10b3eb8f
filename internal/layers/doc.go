// Package layers holds no code: its test holds every package of the module to the imports its
// doc.go forbids.
//
// A package's doc.go states its rule on one comment line, continued until a line ends in a
// period:
//
//	// Must not import: gitops/..., render/..., net/http.
//
// An entry with a slash-free first element that is a directory of this module (cmd, gitops,
// internal, policy, promclient, render, examples, integration) names a package of the module,
// and a trailing "/..." names its subtree too; the rule then covers what the package imports
// directly or through other packages of the module. Any other entry is a standard-library
// package, and the rule covers the package's own imports only: the libraries it builds on may
// use the network or the file system for their own reasons, and what counts is what the code
// written here reaches for. See docs/design.md §3 for the layers these rules keep.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/....
package layers
