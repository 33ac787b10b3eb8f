package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/github"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/web"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

// metricSource is what the commands read of metrics: values and stabilization windows for the
// loop, one metric over a range for the status page's charts. Both promclient sources are
// one, so the compiler checks that whichever is wired serves all three.
type metricSource interface {
	gitops.MetricSource
	gitops.RecommendationSource
	web.SeriesSource
}

var (
	_ metricSource      = promclient.TraceSource{}
	_ metricSource      = promclient.PrometheusSource{}
	_ gitops.SyncSource = (*promclient.SyncChecker)(nil)
	_ gitops.Verifier   = renderVerifier{}
	_ gitops.Host       = (*github.Client)(nil)
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

// newRunner wires a runner: the metric source (trace file or Prometheus), the sync check
// (Prometheus only), and the clock. It returns the metric source too, for the status page.
func newRunner(_ context.Context, cfg *policy.Config, metricsFile string, log *slog.Logger) (*gitops.Runner, metricSource, error) {
	r := &gitops.Runner{Config: cfg, Logger: log, Now: time.Now, Verifier: renderVerifier{}}
	hosts := &github.Clients{}
	r.Delivery = &gitops.PullRequestDelivery{Logger: log, Hosts: func(rc policy.Repository) (gitops.Host, error) {
		c, err := hosts.For(rc)
		if err != nil {
			return nil, err // not a nil *github.Client in a non-nil Host
		}
		return c, nil
	}}
	if metricsFile != "" {
		f, err := os.Open(metricsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--metrics-file: %w", err)
		}
		defer f.Close()
		tr, err := promclient.ReadTrace(metricsFile, f)
		if err != nil {
			return nil, nil, err
		}
		src := promclient.NewTraceSource(tr)
		r.Metrics, r.Recommendations = src, src
		return r, src, nil
	}
	servers, err := promclient.NewServers(cfg, promclient.WithLogger(log))
	if err != nil {
		return nil, nil, err
	}
	src := promclient.NewPrometheusSource(servers, log)
	r.Metrics, r.Recommendations = src, src
	r.Sync = promclient.NewSyncChecker(servers, log)
	return r, src, nil
}
