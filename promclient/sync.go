package promclient

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/common/model"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// syncMetricName names the sync query's value in causes and logs.
const syncMetricName = "syncCheck"

// SyncChecker answers a policy's spec.syncCheck from Prometheus: the replica count the cluster
// runs (e.g. kube_deployment_spec_replicas), queried at the decision's instant on the policy's
// own server. The engine compares it with the last change's count and holds with NotSynced
// while they differ. It is safe for concurrent use.
type SyncChecker struct {
	servers *Servers
	log     *slog.Logger
}

// NewSyncChecker returns a checker over the given servers. A nil logger discards.
func NewSyncChecker(servers *Servers, log *slog.Logger) *SyncChecker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SyncChecker{servers: servers, log: log}
}

// Observed runs the policy's sync query at the instant and turns the answer into a replica
// count by SyncValue. A policy without syncCheck, an unresolvable server or a failed query is
// Missing — the engine then holds rather than stacking a decision on one it cannot see live.
// Failures are logged here, once, because a SyncStatus carries no cause.
func (s *SyncChecker) Observed(ctx context.Context, p *policy.Policy, at time.Time) engine.SyncStatus {
	sc := p.Spec.SyncCheck
	if sc == nil || sc.PromQL == "" {
		return engine.SyncStatus{Missing: true}
	}
	c, err := s.servers.For(p.Spec.Prometheus)
	if err != nil {
		s.log.Warn("sync check unavailable", "repository", p.Source.Repository, "policy", p.ID(), "error", err)
		return engine.SyncStatus{Missing: true}
	}
	v, err := c.Query(ctx, sc.PromQL, at)
	status, cause := SyncValue(sc.PromQL, v, err)
	if status.Missing {
		s.log.Warn("sync check has no value", "repository", p.Source.Repository, "policy", p.ID(), "cause", cause)
	}
	return status
}

// SyncValue turns a sync query's instant answer into the replica count the cluster runs, by the
// rules of docs/design.md §5 for one number (a scalar or exactly one series; empty, several series,
// NaN, ±Inf, a matrix or an error are missing; a negative value counts as 0). A fractional value —
// an average over time, say — is rounded to the nearest count. When the status is Missing, the
// second result says why.
func SyncValue(query string, v model.Value, err error) (engine.SyncStatus, string) {
	if vec, ok := v.(model.Vector); ok && err == nil && len(vec) > 1 {
		// ToValue would suggest reduce, which syncCheck does not have.
		return engine.SyncStatus{Missing: true}, fmt.Sprintf("query %q returned %d series, want 1 (aggregate in the query, e.g. sum(...))", query, len(vec))
	}
	count, cause, ok := engine.ReplicaCount(ToValue(policy.Metric{Name: syncMetricName, PromQL: query}, v, err))
	if !ok {
		return engine.SyncStatus{Missing: true}, cause
	}
	return engine.SyncStatus{Observed: count}, ""
}
