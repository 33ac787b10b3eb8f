package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/shard"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/web"
)

// serveOptions are serve's options, plus the seams the in-process tests use.
type serveOptions struct {
	config      string
	listen      string
	metricsFile string
	cacheDir    string
	logLevel    string
	// shard is the part of the policies this instance evaluates (the zero Shard: all).
	shard shard.Shard

	// now replaces the clock of decisions and of the status page (tests, demos).
	now func() time.Time
	// onListen is told the bound address once the listener is up.
	onListen func(addr string)
}

// usageError marks a problem with flags, config or policies (exit 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

var serveHelp = help{
	usage: "gitops-autoscaler serve --config FILE [--listen ADDR] [--shard i/n] [flags]",
	about: `The service: every policy on its own cron schedule (spec.schedule, default @every 30s), one
fetch and one push per repository per wake, policies reloaded from Git each cycle. HTTP:
  /metrics                    Prometheus metrics (gitops_autoscaler_*)
  /healthz, /readyz           liveness; readiness after every repository's first sync
  GET  /api/v1/policies       status of every policy (JSON); status token if set
  POST /api/v1/evaluate       evaluate now (?policy=NAME, repeatable); bearer token
  POST /api/v1/alertmanager   Alertmanager webhook: evaluate the policies its alerts name in
                              label autoscaler_policy, or all; bearer token
  /                           status page; status token if set
The token comes from http.tokenFile or http.tokenEnv; without one the POST endpoints refuse.
The status page and GET /api/v1/policies are open unless http.statusTokenFile (or
statusTokenEnv) names a read-only token: then they take it, or the API token, as a bearer
token or as the password of basic auth (a browser asks). No page or answer shows a secret.
limits.http bounds what clients may hold: header, read, write and idle timeouts, header and
body sizes, and connections at once (default 256; more wait). A POST refused for its token
is answered at once and its connection closed.
Helm and kustomize renders run in limits.render.workers child processes of this binary
(default 2), each under a memory, CPU-time, output and time limit; a render that reaches one
is refused as RenderFailed for its own policy and stops no other.
Git content is untrusted: a tree entry Git's fsck refuses ("..", ".git", a name twice) fails
that repository's cycle before anything is written, and a file over limits.git.maxFileBytes
(default 4 MiB) is left out of the clone unread; reading it fails naming the file and limit.
A fetch that brings an object over limits.git.maxObjectBytes (default 100 MiB) is refused
before the object is inflated, and that repository's cycle fails naming the limit.
A shadow policy (DryRun with spec.shadow) is set against the live autoscaler at every
evaluation: its row and chart on the status page, gitops_autoscaler_shadow_* on /metrics.
SIGTERM finishes a push in flight and starts nothing new.

Scale out with --shard: each instance evaluates only the policies whose stable hash falls to
it. In a StatefulSet of three, pass --shard=$(POD_NAME)/3 and pod gitops-autoscaler-2 takes
shard 2/3 (the chart does this with workload: StatefulSet).`,
	example: `gitops-autoscaler serve --config /etc/gitops-autoscaler/config.yaml --shard 0/3
gitops-autoscaler: serving on http://[::]:8080
curl -X POST -H "Authorization: Bearer $TOKEN" 'http://localhost:8080/api/v1/evaluate?policy=laravel-web'`,
	exit: "0 stopped by SIGTERM or SIGINT, 1 runtime failure (the listener died), 2 usage error or invalid config.",
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve")
	var o serveOptions
	var shardFlag string
	fs.StringVar(&o.config, "config", "", "the service config `FILE` (AutoscalerConfig); required")
	fs.StringVar(&o.listen, "listen", "", "the HTTP listen `ADDR` (default: the config's http.listen, else :8080)")
	fs.StringVar(&shardFlag, "shard", "", "evaluate only the policies of shard i of n, as `i/n` (0/3), or with a StatefulSet pod name for i ($(POD_NAME)/3: pod gitops-autoscaler-2 takes shard 2/3)")
	fs.StringVar(&o.metricsFile, "metrics-file", "", "read metric values from a trace `CSV` instead of Prometheus (demos, air-gapped tests)")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "the `DIR` repository clones are kept in (default: the config's cacheDir, else the user cache)")
	fs.StringVar(&o.logLevel, "log-level", "info", "the `LEVEL` of the log on stderr: debug, info, warn or error")
	check := func() error {
		if o.config == "" {
			return errors.New("--config is required")
		}
		var err error
		if o.shard, err = shard.Parse(shardFlag); err != nil {
			return err
		}
		return noArguments(fs)
	}
	if code, done := parse(fs, args, serveHelp, check, stdout, stderr); done {
		return code
	}
	o.onListen = func(addr string) { fmt.Fprintf(stderr, "gitops-autoscaler: serving on http://%s\n", addr) }
	if err := serve(ctx, o, stderr); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) || isInvalid(err) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

// service is what serve runs: the scheduler and its HTTP face, wired.
type service struct {
	svc     *gitops.Service
	handler http.Handler
	limits  svcconfig.HTTPLimits
	listen  string
	repos   int
	shard   string // "i/n" when sharded
}

// wireService builds the service from its options: the config, a runner over the metric
// source, the service's own metrics, the scheduler, and the HTTP handler over all of them.
func wireService(ctx context.Context, o serveOptions, log *slog.Logger) (*service, error) {
	cfg, err := loadConfig(o.config, o.cacheDir)
	if err != nil {
		return nil, usageError{err}
	}
	repos, err := reposFor(cfg, nil, "")
	if err != nil {
		return nil, usageError{err}
	}
	runner, series, hostSet, err := newRunner(ctx, cfg, o.metricsFile, log)
	if err != nil {
		return nil, usageError{err}
	}
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	runner.Now = now

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := web.NewServiceMetrics(reg, now)
	names := make([]string, len(repos))
	for i, r := range repos {
		names[i] = r.Config.Name
	}
	metrics.InitRepositories(names)
	runner.Metrics = metrics.CountQueryErrors(runner.Metrics)

	svc, err := gitops.NewService(gitops.ServiceOptions{
		Runner: runner, Repos: repos, Shard: o.shard.Index, Shards: o.shard.Count,
		Clock: gitops.Clock{Now: now}, Logger: log, OnCycle: metrics.Observe,
	})
	if err != nil {
		return nil, err
	}
	s := &service{svc: svc, limits: cfg.Limits.HTTP, listen: o.listen, repos: len(repos), shard: o.shard.String()}
	if s.listen == "" {
		s.listen = cfg.HTTP.Listen
	}
	s.handler = web.NewHandler(web.Options{
		Service: svc, CommitURL: hostSet.CommitURLs(cfg), Gatherer: reg, Token: cfg.HTTP.ReadToken, StatusToken: cfg.HTTP.ReadStatusToken,
		Limits: cfg.Limits.HTTP, CycleTimeout: cfg.CycleTimeout.Duration,
		Series: series, Now: now, Logger: log, Shard: s.shard,
	})
	return s, nil
}

// serve runs the service and its HTTP server until ctx is cancelled, then shuts both down:
// an in-flight cycle completes, the HTTP server drains.
func serve(ctx context.Context, o serveOptions, stderr io.Writer) error {
	log := newLogger(stderr, o.logLevel)
	s, err := wireService(ctx, o, log)
	if err != nil {
		return err
	}
	// Bounded by limits.http: timeouts, header and body sizes, connections (docs/design.md §8).
	ln, err := web.Listen(s.listen, s.limits)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := web.NewServer(s.handler, s.limits)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "repositories", s.repos, "shard", s.shard)
	if o.onListen != nil {
		o.onListen(ln.Addr().String())
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- s.svc.Run(runCtx) }()
	select {
	case err = <-serveErr:
		// The listener died: stop the scheduler too, letting a push in flight finish.
		stop()
		<-runErr
		return fmt.Errorf("http: %w", err)
	case err = <-runErr:
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		log.Warn("http shutdown", "error", serr)
	}
	return err
}
