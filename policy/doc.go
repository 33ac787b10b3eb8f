// Package policy owns the documents users write and the decision made from them.
//
// It holds the PrometheusAutoscaler policy and the AutoscalerConfig service configuration
// (types, strict decoding that keeps line numbers, defaults in one place, and validation that
// reports every problem as file:line: field: message), the replica path syntax, and the
// decision engine: Decide is a pure function from a Snapshot (spec, current replicas, metric
// values, Git history, past recommendations, now) to the desired replica count and the reasons
// for it. The engine performs no I/O, reads no clock and logs nothing; Prometheus, Git and
// rendering stay with the callers (promclient, gitops, render). The edges of the package are
// the only places that touch the machine, and each says so: the loaders read the files they are
// given (LoadConfigFile also resolves relative repository paths and the default cache
// directory), and a config's Read… methods read a secret's file or environment variable when
// called. What the service config shares with the rest of the module lives in leaves under
// internal/: secret values and their scrubbing (internal/secret), the rule for what a
// repository URL is (internal/gitname), and the YAML node helpers (internal/yamlnode).
//
// Two strategies turn the recommendation into the count: Rules (the default) applies the
// behavior block as written — the HPA's stabilization, rate limits, the original controller's
// cooldowns. Steady (steady.go) decides when a change is worth a commit, because every change
// is a commit, a pull request, a CI run and a sync: on one forecast of the need over the next
// hours (the last hour's trend and the memory of the same hours yesterday and a week ago,
// scaled to today, with an upper band from the excess the needs showed), it holds the count
// that minimises replica-hours plus a cost per change over the horizon, never below the band;
// a rolling budget of maxChangesPerDay, counted from Git history, makes changes dearer as it
// is spent but never freezes a high level nor holds back a scale-up the need requires. Need
// (compare.go) defines the under-provisioning every
// replay is measured against, for every metric form.
//
// The rules the loop applies around Decide live here too (rules.go), pure like it: the rerun
// guard (AlreadyDecided), when a decision makes an open pull request stale
// (WithdrawsProposal), the bounds of a person's manual scale (ManualScale), and which reason
// codes count as holds (ReasonCode.IsHold). Decide itself holds the count when the
// stabilization windows could not be read (Snapshot.RecommendationsUnknown). The loop in
// package gitops gathers the snapshot and applies the decision; it decides nothing.
//
// The set rules across a repository's policies are here too (claims.go, owners.go): which
// files a policy may write (the config's owners; never Git's or CI's configuration, a policy
// document or the service config), and of two policies on one name or value, the one that
// claimed it first keeps it (CheckRepoSet, told the order by a ClaimHistory its caller reads
// from Git).
//
// Backtest replays a policy over a metric trace through the same Decide, so a replay sees
// exactly the history a live run would. CompareShadow (shadow.go) sets a shadow policy against
// the live autoscaler it runs beside: the live count against a replay of the policy over the
// same window, and the changes each made or would have made — from series the caller reads
// from Prometheus, so a restart computes the same comparison.
//
// Must not import: cmd/..., gitops/..., render/..., promclient/..., internal/edit,
// internal/httpretry, internal/origin, internal/web, internal/testserver/..., integration/...,
// net/http, os/exec.
package policy
