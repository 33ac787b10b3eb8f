// Package engine owns the decision: Decide is a pure function from a Snapshot (the policy,
// current replicas, metric values, Git history, past recommendations, now) to the desired
// replica count and the reasons for it, each Reason typed (code, metric, value, rule, count)
// so that every caller renders it and none parses it back. The engine performs no I/O, reads
// no clock and logs nothing; Prometheus, Git and rendering stay with the callers (promclient,
// gitops, render), and the documents it reads are package policy's.
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
// (compare.go) defines the under-provisioning every replay is measured against, for every
// metric form.
//
// The rules the loop applies around Decide live here too (rules.go), pure like it: the rerun
// guard (AlreadyDecided), when a decision makes an open pull request stale
// (WithdrawsProposal), the bounds of a person's manual scale (ManualScale), and which reason
// codes count as holds (ReasonCode.IsHold). Decide itself holds the count when the
// stabilization windows could not be read (Snapshot.RecommendationsUnknown). The loop in
// package gitops gathers the snapshot and applies the decision; it decides nothing.
//
// Backtest replays a policy over a metric trace through the same Decide, so a replay sees
// exactly the history a live run would. CompareShadow (shadow.go) sets a shadow policy against
// the live autoscaler it runs beside: the live count against a replay of the policy over the
// same window, and the changes each made or would have made — from series the caller reads
// from Prometheus, so a restart computes the same comparison.
//
// Must not import: cmd/..., gitops/..., render/..., promclient/..., internal/edit,
// internal/httpretry, internal/origin, internal/web, internal/testserver/..., integration/...,
// net/http, os/exec, os.
package engine
