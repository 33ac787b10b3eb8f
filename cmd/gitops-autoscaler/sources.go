package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/delivery"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/host/hosts"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/notify"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/signing"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/web"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

// metricSource is what the commands read of metrics: values, stabilization windows and shadow
// comparisons for the loop, one metric over a range for the status page's charts. Both
// promclient sources are one, so the compiler checks that whichever is wired serves all four.
type metricSource interface {
	gitops.MetricSource
	gitops.RecommendationSource
	gitops.ShadowSource
	web.SeriesSource
}

var (
	_ metricSource      = promclient.TraceSource{}
	_ metricSource      = promclient.PrometheusSource{}
	_ gitops.SyncSource = (*promclient.SyncChecker)(nil)
	_ gitops.Verifier   = renderVerifier{}
)

// renderVerifier adapts render.Verify to the loop's Verifier. repoURLs are the URLs each
// configured repository is known by, by name, so that an Argo CD source of another repository
// is told apart, and the branch each is of, so that an ApplicationSet's git generator of another
// revision is refused; limits bound every render (limits.render).
type renderVerifier struct {
	repoURLs map[string][]string
	branches map[string]string
	limits   svcconfig.RenderLimits
	// charts pulls the remote charts of Argo CD and Flux sources into cacheDir/charts; nil
	// when the cache cannot be opened (such sources are then refused).
	charts *render.Charts
}

func newRenderVerifier(cfg *svcconfig.Config) renderVerifier {
	v := renderVerifier{repoURLs: map[string][]string{}, branches: map[string]string{}}
	if cfg != nil {
		v.limits = cfg.Limits.Render
		if cfg.CacheDir != "" {
			v.charts, _ = render.NewCharts(render.ChartsConfig{
				Dir: filepath.Join(cfg.CacheDir, "charts"), Repositories: cfg.ChartRepositories, Limits: cfg.Limits.Charts,
			})
		}
		for _, repo := range cfg.Repositories {
			v.repoURLs[repo.Name] = repoURLs(repo)
			v.branches[repo.Name] = repo.Branch
		}
	}
	return v
}

// repoURLs are the URLs an Argo CD Application may name a repository by: its remote (not a
// path on this machine, which no Application names) and its GitHub address.
func repoURLs(repo svcconfig.Repository) []string {
	var urls []string
	switch t, err := gitname.Classify(repo.URL); {
	case err != nil, t == gitname.Local, t == gitname.File:
		return nil
	default:
		urls = append(urls, repo.URL)
	}
	if gh := repo.GitHub; gh != nil {
		urls = append(urls, gitname.GitHubWebURL(gh.APIURL)+"/"+gh.Owner+"/"+gh.Repo)
	}
	return urls
}

var _ gitops.InputLister = renderVerifier{}

// Inputs is what a policy's render reads (render.Inputs): after a push race, a policy whose
// inputs the new commits did not touch has its commit replayed rather than decided again.
func (rv renderVerifier) Inputs(root string, p *policy.Policy) []string {
	return render.Inputs(root, rv.repoURLs[p.Source.Repository], p)
}

func (rv renderVerifier) Verify(ctx context.Context, root string, p *policy.Policy, file string, edited []byte, from, to int) (gitops.Verification, error) {
	r := p.Spec.Render
	v, err := render.Verify(ctx, render.VerifyRequest{
		Request: render.Request{
			Root: root, Helm: r.Helm, Kustomize: r.Kustomize, ArgoCD: r.ArgoCD, Flux: r.Flux,
			RepoURLs: rv.repoURLs[p.Source.Repository], Branch: rv.branches[p.Source.Repository],
			Limits: rv.limits, Charts: rv.charts,
		},
		Target:          p.Spec.TargetRef,
		File:            file,
		Content:         edited,
		Path:            p.Spec.Replicas.Path,
		Current:         from,
		Desired:         to,
		AllowPodRestart: r.AllowPodRestart,
	})
	if err != nil {
		return gitops.Verification{}, err
	}
	also := make([]string, len(v.Consequences))
	for i, c := range v.Consequences {
		also[i] = c.String()
	}
	return gitops.Verification{Summary: v.Summary, Diff: v.Diff, Consequences: also}, nil
}

// newRunner wires a runner: the metric source (trace file or Prometheus), the sync check
// (Prometheus only), and the clock. It returns the metric source too, for the status page, and
// the hosts, which link commits there.
func newRunner(_ context.Context, cfg *svcconfig.Config, metricsFile string, log *slog.Logger) (*gitops.Runner, metricSource, *hosts.Set, error) {
	r := &gitops.Runner{Config: cfg, Logger: log, Now: time.Now, Verifier: newRenderVerifier(cfg)}
	set := &hosts.Set{}
	r.Delivery = &delivery.PullRequestDelivery{Logger: log, Hosts: set.For}
	r.Notify = &notify.Client{Logger: log}
	var signer gitrepo.Signer
	if s := cfg.Commit.Signing; s != nil {
		sg, err := signing.Load(signing.Config{GPGKeyFile: s.GPGKeyFile, SSHKeyFile: s.SSHKeyFile, PassphraseFile: s.PassphraseFile}, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		signer = sg
	}
	r.Git = func(rc svcconfig.Repository, o *gitrepo.Options) error {
		o.Signer = signer
		return set.Git(rc, o)
	}
	if metricsFile != "" {
		f, err := os.Open(metricsFile)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--metrics-file: %w", err)
		}
		defer f.Close()
		tr, err := promclient.ReadTrace(metricsFile, f)
		if err != nil {
			return nil, nil, nil, err
		}
		src := promclient.NewTraceSource(tr)
		r.Metrics, r.Recommendations, r.Seasons, r.Shadow = src, src, src, src
		return r, src, set, nil
	}
	servers, err := promclient.NewServers(cfg, promclient.WithLogger(log))
	if err != nil {
		return nil, nil, nil, err
	}
	src := promclient.NewPrometheusSource(servers, log)
	r.Metrics, r.Recommendations, r.Seasons, r.Shadow = src, src, src, src
	r.Sync = promclient.NewSyncChecker(servers, log)
	return r, src, set, nil
}
