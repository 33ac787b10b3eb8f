// Package policy owns the PrometheusAutoscaler policy documents users write — types, strict
// decoding that keeps line numbers, defaults in one place, and validation that reports every
// problem as file:line: field: message — the replica path syntax, and a schedule window's
// compiled form. The decision made from a policy is package policy/engine's. The
// AutoscalerConfig service configuration is internal/svcconfig's; the loader of a file or a
// directory of both kinds (LoadDocuments, LoadFiles) is here, and hands each config document
// to svcconfig.Decode.
//
// The edges of the package are the only places that touch the machine, and each says so: the
// loaders read the files they are given. What the documents share with the rest of the module
// lives in leaves under internal/: secret values and their scrubbing (internal/secret), the
// rule for what a repository URL is (internal/gitname), the YAML node helpers
// (internal/yamlnode), and the strict decoder, checker and document loop that both kinds of
// document are read with (internal/strictyaml; FieldError, Warning, Source and Duration are
// its types, named here too).
//
// The set rules across a repository's policies are here too (claims.go, owners.go): which
// files a policy may write (the config's owners; never Git's or CI's configuration, a policy
// document or the service config), and of two policies on one name or value, the one that
// claimed it first keeps it (CheckRepoSet, told the order by a ClaimHistory its caller reads
// from Git).
//
// Must not import: cmd/..., gitops/..., render/..., promclient/..., policy/engine,
// internal/edit, internal/httpretry, internal/origin, internal/web, internal/testserver/...,
// integration/..., net/http, os/exec.
package policy
