// Package shard splits a repository's policies among instances of the service: Parse reads
// the --shard flag, and Owns tells whether a policy falls to a shard, by a stable hash of its
// ID, so that instances neither overlap nor leave a policy out (docs/design.md §10).
//
// Sharding only divides the work. Correctness never rests on it: Git's atomic ref update is
// the lock, and an instance that loses a push race fetches and re-decides — so two owners of
// one policy for a moment (while n changes) are safe. Scheduling and evaluating stay with the
// loop in package gitops; the chart (deploy/helm) derives each pod's shard from its
// StatefulSet ordinal.
//
// Must not import: cmd/..., gitops, gitops/gitrepo, internal/web, policy/..., render/...,
// promclient/..., net/http.
package shard
