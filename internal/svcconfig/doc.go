// Package svcconfig owns the AutoscalerConfig document, the service's configuration
// (docs/design.md §4): its types — repositories with their Git auth, GitHub or GitLab host,
// owners and notify webhooks; Prometheus servers; the commit identity; the HTTP listener;
// chart repositories; limits — its defaults in one place, and its validation, which reports
// every problem as file:line: field: message through the strict decoder of
// internal/strictyaml. LoadConfig reads one config document; a file that holds policies too is
// read by package policy, which hands each config document to Decode.
//
// The edges of the package are the only places that touch the machine, and each says so:
// LoadConfigFile reads the file and resolves relative repository paths and the default cache
// directory, and the Read… methods read a secret's file or environment variable when called
// (internal/secret).
//
// The package is internal and not named config: that name would shadow go-git's config
// package and the config variables of its callers.
//
// Must not import: cmd/..., gitops/..., policy, policy/convert, policy/engine, policy/optimum,
// render/..., promclient/..., internal/edit, internal/httpretry, internal/web,
// internal/testserver/..., integration/..., net/http, os/exec.
package svcconfig
