package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gitops-autoscaler/gitops-autoscaler/examples/laravel/internal/usage"
)

// appLabel is the value of the app label on the HTTP metrics; the web policy selects on it.
const appLabel = "laravel-web"

// defaultQueue is the queue /queue and /tasks act on when the request names none.
const defaultQueue = "default"

// routes are the routes the generated requests are spread over, in turn.
var routes = []string{"/", "/api/orders", "/api/products"}

// latencySpread multiplies the mean latency for request i (i mod 10): a fixed, deterministic
// spread whose mean is 1, so the average latency equals the configured one and the p95 lies
// about 40 % above it.
var latencySpread = [10]float64{0.55, 0.65, 0.75, 0.85, 0.95, 1.05, 1.15, 1.25, 1.35, 1.45}

// maxRequestsPerAdvance bounds the work of one Advance after a long pause (a suspended laptop):
// the counters then fall behind rather than the process stalling.
const maxRequestsPerAdvance = 1_000_000

// Load is the traffic the generator produces.
type Load struct {
	RPS     float64 `json:"rps"`     // requests per second
	Latency float64 `json:"latency"` // mean request duration, seconds
	Errors  float64 `json:"errors"`  // share of requests answered 5xx, 0..1
}

// App is the simulated application: its metrics, its load generator and its queues. All times
// come from the clock passed to NewApp.
type App struct {
	now func() time.Time

	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	pending  *prometheus.GaugeVec
	oldest   *prometheus.GaugeVec
	threads  prometheus.Gauge
	redisMem prometheus.Gauge

	mu       sync.Mutex
	load     Load
	last     time.Time              // the instant the generator last advanced to
	carry    float64                // requests owed but not yet emitted (fractional)
	errCarry float64                // 5xx answers owed (fractional)
	served   uint64                 // requests emitted so far
	queues   map[string][]time.Time // enqueue times of the pending jobs, oldest first
}

// NewApp returns an App whose generator starts idle at now().
func NewApp(now func() time.Time) *App {
	a := &App{
		now: now,
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total", Help: "HTTP requests served, by route and status.",
		}, []string{"app", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "HTTP request duration.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2.5, 5},
		}, []string{"app", "route"}),
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "laravel_queue_jobs_pending", Help: "Jobs waiting in the queue.",
		}, []string{"queue"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "laravel_queue_oldest_job_age_seconds", Help: "Age of the oldest waiting job (0 when the queue is empty).",
		}, []string{"queue"}),
		threads: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mysql_global_status_threads_running", Help: "MySQL threads running queries (simulated).",
		}),
		redisMem: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "redis_memory_used_bytes", Help: "Redis memory in use (simulated).",
		}),
		last:   now(),
		queues: map[string][]time.Time{defaultQueue: nil, "emails": nil},
	}
	a.reg.MustRegister(a.requests, a.duration, a.pending, a.oldest, a.threads, a.redisMem)
	// Publish the label sets from the start, so rate() sees them go from 0.
	for _, r := range routes {
		a.requests.WithLabelValues(appLabel, r, "200")
		a.requests.WithLabelValues(appLabel, r, "500")
		a.duration.WithLabelValues(appLabel, r)
	}
	a.mu.Lock()
	a.publishLocked(a.last)
	a.mu.Unlock()
	return a
}

// SetLoad changes the generated traffic from now on, after accounting for the traffic up to now
// at the previous rate.
func (a *App) SetLoad(l Load) error {
	if l.RPS < 0 || math.IsNaN(l.RPS) || math.IsInf(l.RPS, 0) {
		return fmt.Errorf("rps %v: must be a finite number ≥ 0", l.RPS)
	}
	if l.Latency < 0 || math.IsNaN(l.Latency) || math.IsInf(l.Latency, 0) {
		return fmt.Errorf("latency %v: must be a finite number of seconds ≥ 0", l.Latency)
	}
	if !(l.Errors >= 0 && l.Errors <= 1) {
		return fmt.Errorf("errors %v: must be a share between 0 and 1", l.Errors)
	}
	a.Advance()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.load = l
	a.publishLocked(a.last)
	return nil
}

// Load returns the current traffic settings.
func (a *App) Load() Load {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.load
}

// SetBacklog sets a queue's pending jobs to n: new jobs are enqueued now, and lowering it
// finishes the oldest jobs first.
func (a *App) SetBacklog(queue string, n int) error {
	if n < 0 {
		return fmt.Errorf("backlog %d: must be ≥ 0", n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.now()
	jobs := a.queues[queue]
	if n < len(jobs) {
		jobs = append([]time.Time(nil), jobs[len(jobs)-n:]...)
	}
	for len(jobs) < n {
		jobs = append(jobs, t)
	}
	a.queues[queue] = jobs
	a.publishLocked(t)
	return nil
}

// StartTask enqueues one job on queue.
func (a *App) StartTask(queue string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.now()
	a.queues[queue] = append(a.queues[queue], t)
	a.publishLocked(t)
}

// FinishTask finishes the oldest job of queue; it reports false when the queue was empty.
func (a *App) FinishTask(queue string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	jobs := a.queues[queue]
	if len(jobs) == 0 {
		return false
	}
	a.queues[queue] = jobs[1:]
	a.publishLocked(a.now())
	return true
}

// Advance emits the requests the current load owes between the last advance and now, and
// refreshes the gauges.
func (a *App) Advance() {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.now()
	elapsed := t.Sub(a.last).Seconds()
	if elapsed <= 0 {
		return
	}
	a.last = t
	a.carry += a.load.RPS * elapsed
	n := math.Floor(a.carry)
	a.carry -= n
	if n > maxRequestsPerAdvance {
		n = maxRequestsPerAdvance
	}
	for i := 0; i < int(n); i++ {
		route := routes[a.served%uint64(len(routes))]
		status := "200"
		a.errCarry += a.load.Errors
		if a.errCarry >= 1 {
			a.errCarry--
			status = "500"
		}
		a.requests.WithLabelValues(appLabel, route, status).Inc()
		a.duration.WithLabelValues(appLabel, route).Observe(a.load.Latency * latencySpread[a.served%10])
		a.served++
	}
	a.publishLocked(t)
}

// Run advances the generator on every tick until ctx ends or ticks closes.
func (a *App) Run(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ticks:
			if !ok {
				return
			}
			a.Advance()
		}
	}
}

// publishLocked sets the gauges from the state at t. The caller holds a.mu.
func (a *App) publishLocked(t time.Time) {
	total := 0
	for q, jobs := range a.queues {
		a.pending.WithLabelValues(q).Set(float64(len(jobs)))
		age := 0.0
		if len(jobs) > 0 {
			age = max(t.Sub(jobs[0]).Seconds(), 0)
		}
		a.oldest.WithLabelValues(q).Set(age)
		total += len(jobs)
	}
	// Requests in flight (Little's law) hold a MySQL thread for about a tenth of their time.
	a.threads.Set(math.Round(2 + a.load.RPS*a.load.Latency*0.1))
	// A base footprint plus about 2 KiB of payload per queued job.
	a.redisMem.Set(64<<20 + float64(total)*2048)
}

// Handler serves /metrics, /healthz and the load-driving endpoints.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		a.Advance() // a scrape sees the traffic up to this instant
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /load", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, a.Load())
	})
	mux.HandleFunc("POST /load", func(w http.ResponseWriter, r *http.Request) {
		l := a.Load()
		var err error
		for name, dst := range map[string]*float64{"rps": &l.RPS, "latency": &l.Latency, "errors": &l.Errors} {
			if s := r.URL.Query().Get(name); s != "" {
				if *dst, err = strconv.ParseFloat(s, 64); err != nil {
					http.Error(w, fmt.Sprintf("%s %q: not a number", name, s), http.StatusBadRequest)
					return
				}
			}
		}
		if err := a.SetLoad(l); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, l)
	})
	mux.HandleFunc("POST /queue", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("backlog"))
		if err != nil {
			http.Error(w, "backlog: want a whole number of jobs", http.StatusBadRequest)
			return
		}
		if err := a.SetBacklog(queueParam(r), n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /tasks/start", func(w http.ResponseWriter, r *http.Request) {
		a.StartTask(queueParam(r))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /tasks/finish", func(w http.ResponseWriter, r *http.Request) {
		if !a.FinishTask(queueParam(r)) {
			http.Error(w, "queue is empty", http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func queueParam(r *http.Request) string {
	if q := r.URL.Query().Get("queue"); q != "" {
		return q
	}
	return defaultQueue
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// help is loadapp's --help, in the style of the gitops-autoscaler commands.
const help = `Usage: loadapp [--listen ADDR] [--tick D]

Stand in for the Laravel application of the example: export, on /metrics, the metrics the
example's policies query, and let the load be driven over HTTP:
  POST /load?rps=400&latency=0.2&errors=0.01   serve 400 req/s, 0.2 s mean latency, 1 % 5xx
  POST /queue?backlog=3000[&queue=emails]      set a queue's pending jobs
  POST /tasks/start[?queue=emails]             enqueue one job
  POST /tasks/finish[?queue=emails]            finish the oldest job
  GET  /load                                   the current settings, as JSON

Flags:
  --listen ADDR  the address to serve /metrics and the load endpoints on (default 127.0.0.1:9100)
  --tick D       how often the load generator advances (default 250ms)

Example:
  go run ./examples/laravel/loadapp --listen 127.0.0.1:9100 &
  curl -X POST '127.0.0.1:9100/load?rps=600&latency=0.4'
  curl -s 127.0.0.1:9100/metrics | grep http_requests_total

Exit status: 0 stopped by SIGINT or SIGTERM, 1 it could not serve, 2 usage error.
`

// options are loadapp's flags.
type options struct {
	listen string
	tick   time.Duration
}

// parseFlags parses the command line into options; done reports that the process must exit
// with code instead of running (--help, or a usage error).
func parseFlags(args []string, stdout, stderr io.Writer) (o options, code int, done bool) {
	fs := flag.NewFlagSet("loadapp", flag.ContinueOnError)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:9100", "")
	fs.DurationVar(&o.tick, "tick", 250*time.Millisecond, "")
	check := func() error {
		if o.tick <= 0 {
			return fmt.Errorf("--tick %s: want a positive duration", o.tick)
		}
		return nil
	}
	code, done = usage.Parse(fs, args, help, check, stdout, stderr)
	return o, code, done
}

func main() {
	o, code, done := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	if done {
		os.Exit(code)
	}
	// Only main turns signals into cancellation.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, log, o); err != nil {
		log.Error("loadapp failed", "err", err)
		stop()
		os.Exit(1)
	}
}

// run serves the app until ctx ends.
func run(ctx context.Context, log *slog.Logger, o options) error {
	listen := o.listen
	app := NewApp(time.Now)
	ticker := time.NewTicker(o.tick)
	defer ticker.Stop()
	go app.Run(ctx, ticker.C)

	srv := &http.Server{Addr: listen, Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("loadapp listening", "addr", listen)
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", listen, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}
