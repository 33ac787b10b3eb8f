package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/shard"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/web"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// serveOptions are serve's flags, plus the seams the in-process tests use.
type serveOptions struct {
	config      string
	listen      string
	shard       string
	metricsFile string
	cacheDir    string
	logLevel    string

	// now replaces the clock of decisions and of the status page (tests, demos).
	now func() time.Time
	// onListen is told the bound address once the listener is up.
	onListen func(addr string)
}

// usageError marks a problem with flags, config or policies (exit 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o serveOptions
	fs.StringVar(&o.config, "config", "", "service config file (AutoscalerConfig) — required")
	fs.StringVar(&o.listen, "listen", "", "HTTP listen address (default: the config's http.listen, else :8080)")
	fs.StringVar(&o.shard, "shard", "", "evaluate only the policies of shard i of n, as i/n (0/3), or with a StatefulSet pod name for i ($(POD_NAME)/3: pod gitops-autoscaler-2 takes shard 2/3)")
	fs.StringVar(&o.metricsFile, "metrics-file", "", "read metric values from a trace CSV instead of Prometheus (demos, air-gapped tests)")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "where repository clones are kept (default: config cacheDir, else the user cache)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level on stderr: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: gitops-autoscaler serve --config FILE [--listen ADDR] [--shard i/n] [flags]

The service: every policy on its own cron schedule (spec.schedule, default @every 30s), one
fetch and one push per repository per wake, policies reloaded from Git each cycle. HTTP:
  /metrics                    Prometheus metrics (gitops_autoscaler_*)
  /healthz, /readyz           liveness; readiness after every repository's first sync
  GET  /api/v1/policies       status of every policy (JSON)
  POST /api/v1/evaluate       evaluate now (?policy=NAME, repeatable); bearer token
  POST /api/v1/alertmanager   Alertmanager webhook: evaluate the policies its alerts name in
                              label autoscaler_policy, or all; bearer token
  /                           status page
The token comes from http.tokenFile or http.tokenEnv; without one the POST endpoints refuse.
SIGTERM finishes a push in flight and starts nothing new.

Scale out with --shard: each instance evaluates only the policies whose stable hash falls to
it. In a StatefulSet of three, pass --shard=$(POD_NAME)/3 and pod gitops-autoscaler-2 takes
shard 2/3 (the chart does this with workload: StatefulSet).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
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

// serve runs the service and its HTTP server until ctx is cancelled, then shuts both down:
// an in-flight cycle completes, the HTTP server drains.
func serve(ctx context.Context, o serveOptions, stderr io.Writer) error {
	if o.config == "" {
		return usageError{errors.New("--config is required (see --help)")}
	}
	log := newLogger(stderr, o.logLevel)
	cfg, err := loadConfig(o.config, o.cacheDir)
	if err != nil {
		return usageError{err}
	}
	sh, err := shard.Parse(o.shard)
	if err != nil {
		return usageError{err}
	}
	repos, err := reposFor(cfg, nil, "")
	if err != nil {
		return usageError{err}
	}
	runner, series, err := newRunner(ctx, cfg, o.metricsFile, log)
	if err != nil {
		return usageError{err}
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
		Runner: runner, Repos: repos, Shard: sh.Index, Shards: sh.Count,
		Clock: gitops.Clock{Now: now}, Logger: log, OnCycle: metrics.Observe,
	})
	if err != nil {
		return err
	}
	listen := o.listen
	if listen == "" {
		listen = cfg.HTTP.Listen
	}
	if listen == "" {
		listen = policy.DefaultListen
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	shardLabel := sh.String()
	handler := web.NewHandler(web.Options{
		Service: svc, Config: cfg, Gatherer: reg, Token: cfg.HTTP.ReadToken,
		Series: series, Now: now, Logger: log, Shard: shardLabel,
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "repositories", len(repos), "shard", shardLabel)
	if o.onListen != nil {
		o.onListen(ln.Addr().String())
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	runErr := make(chan error, 1)
	go func() { runErr <- svc.Run(runCtx) }()
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
