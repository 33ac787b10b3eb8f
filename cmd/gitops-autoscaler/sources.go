package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

// traceSource serves metric values, past recommendations and sync status from a trace file
// (`--metrics-file`), the offline alternative to Prometheus.
type traceSource struct{ trace *promclient.Trace }

var (
	_ gitops.MetricSource         = traceSource{}
	_ gitops.RecommendationSource = traceSource{}
	_ gitops.MetricSource         = promSource{}
	_ gitops.RecommendationSource = promSource{}
	_ gitops.SyncSource           = (*promclient.SyncChecker)(nil)
	_ gitops.Verifier             = renderVerifier{}
)

// renderVerifier adapts render.Verify to the loop's Verifier.
type renderVerifier struct{}

func (renderVerifier) Verify(ctx context.Context, root string, p *policy.Policy, file string, edited []byte, from, to int) (gitops.Verification, error) {
	r := p.Spec.Render
	v, err := render.Verify(ctx, render.VerifyRequest{
		Request: render.Request{Root: root, Helm: r.Helm, Kustomize: r.Kustomize},
		Target:  p.Spec.TargetRef,
		File:    file,
		Content: edited,
		Path:    p.Spec.Replicas.Path,
		Current: from,
		Desired: to,
	})
	if err != nil {
		return gitops.Verification{}, err
	}
	return gitops.Verification{Summary: v.Summary, Diff: v.Diff}, nil
}

func (s traceSource) Values(_ context.Context, at time.Time, ps []*policy.Policy) [][]policy.MetricValue {
	out := make([][]policy.MetricValue, len(ps))
	for i, p := range ps {
		out[i] = s.trace.Values(p, at)
	}
	return out
}

func (s traceSource) Recommendations(_ context.Context, p *policy.Policy, now time.Time, window time.Duration, replicasAt func(time.Time) int) ([]policy.Recommendation, error) {
	steps := promclient.Steps(now, window, policy.BacktestInterval(p))
	out := make([]policy.Recommendation, len(steps))
	for i, t := range steps {
		rec, _ := policy.Recommend(p, replicasAt(t), s.trace.Values(p, t))
		out[i] = policy.Recommendation{At: t, Replicas: rec}
	}
	return out, nil
}

// promSource serves metric values from the configured Prometheus servers, one batch a cycle,
// and recomputes stabilization windows from range queries.
type promSource struct {
	servers *promclient.Servers
	batch   *promclient.Batch
}

func (s promSource) Values(ctx context.Context, at time.Time, ps []*policy.Policy) [][]policy.MetricValue {
	return s.batch.Values(ctx, at, ps)
}

func (s promSource) Recommendations(ctx context.Context, p *policy.Policy, now time.Time, window time.Duration, replicasAt func(time.Time) int) ([]policy.Recommendation, error) {
	c, err := s.servers.For(p.Spec.Prometheus)
	if err != nil {
		return nil, err
	}
	return promclient.Recommendations(ctx, c, p, now, window, policy.BacktestInterval(p), replicasAt)
}

// newRunner wires a runner: the metric source (trace file or Prometheus), the sync check
// (Prometheus only), and the clock.
func newRunner(_ context.Context, cfg *policy.Config, metricsFile string, log *slog.Logger) (*gitops.Runner, error) {
	r := &gitops.Runner{Config: cfg, Logger: log, Now: time.Now, Verifier: renderVerifier{}}
	hosts := &gitops.GitHubHosts{}
	r.Delivery = &gitops.PullRequestDelivery{Hosts: hosts.Host, Logger: log}
	if metricsFile != "" {
		f, err := os.Open(metricsFile)
		if err != nil {
			return nil, fmt.Errorf("--metrics-file: %w", err)
		}
		defer f.Close()
		tr, err := promclient.ReadTrace(metricsFile, f)
		if err != nil {
			return nil, err
		}
		src := traceSource{tr}
		r.Metrics, r.Recommendations = src, src
		return r, nil
	}
	servers, err := promclient.NewServers(cfg, promclient.WithLogger(log))
	if err != nil {
		return nil, err
	}
	src := promSource{servers: servers, batch: promclient.NewBatch(servers, log)}
	r.Metrics, r.Recommendations = src, src
	r.Sync = promclient.NewSyncChecker(servers, log)
	return r, nil
}
