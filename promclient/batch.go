package promclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// Servers resolves a policy's Prometheus reference to a client: a server named in the service
// config, or — only when the config allows it — a URL of the policy's own. Clients for URLs are
// created on first use and shared afterwards.
type Servers struct {
	named     map[string]*Client
	allowURLs bool
	urlOpts   []Option
	urlServer svcconfig.PrometheusServer // template for policy URLs: timeout, concurrency

	mu   sync.Mutex
	urls map[string]*Client
}

// NewServers builds a client for every server of the config, each answer bounded by the
// config's limits.prometheus. The options apply to every client (after the limits, so
// WithLimits overrides them). It fails when a server's secrets, CA file or URL are unusable.
func NewServers(cfg *svcconfig.Config, opts ...Option) (*Servers, error) {
	opts = append([]Option{WithLimits(cfg.Limits.Prometheus)}, opts...)
	s := &Servers{
		named:     make(map[string]*Client, len(cfg.Prometheus)),
		allowURLs: cfg.AllowPolicyPrometheusURLs,
		urlOpts:   opts,
		urlServer: svcconfig.PrometheusServer{
			Timeout:          policy.Duration{Duration: svcconfig.DefaultPromTimeout},
			QueryConcurrency: cfg.QueryConcurrency,
		},
		urls: map[string]*Client{},
	}
	var errs []error
	for _, srv := range cfg.Prometheus {
		if srv.QueryConcurrency == 0 {
			srv.QueryConcurrency = cfg.QueryConcurrency
		}
		c, err := New(srv, opts...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.named[srv.Name] = c
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("prometheus servers: %w", err)
	}
	return s, nil
}

// For returns the client a policy's reference names. A nil reference, or one naming neither a
// server nor a URL, means the server named "default".
func (s *Servers) For(ref *policy.PrometheusRef) (*Client, error) {
	if ref != nil && ref.URL != "" {
		if !s.allowURLs {
			return nil, fmt.Errorf("prometheus url %s: policies may not name their own Prometheus (allowPolicyPrometheusURLs is false)", secret.RedactURLs(ref.URL))
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if c, ok := s.urls[ref.URL]; ok {
			return c, nil
		}
		srv := s.urlServer
		srv.URL = ref.URL
		c, err := New(srv, s.urlOpts...)
		if err != nil {
			return nil, err
		}
		s.urls[ref.URL] = c
		return c, nil
	}
	name := policy.DefaultPrometheusServer
	if ref != nil && ref.Server != "" {
		name = ref.Server
	}
	c, ok := s.named[name]
	if !ok {
		return nil, fmt.Errorf("prometheus server %q is not configured", name)
	}
	return c, nil
}

// Request is one query of a cycle.
type Request struct {
	Client *Client
	Query  string
	At     time.Time
}

// Result is a query's answer or its error.
type Result struct {
	Value model.Value
	Err   error
}

// Batch runs one cycle's queries: identical requests (same server, query and instant) run
// once, at most Client.Concurrency() at a time per server, all under the caller's context —
// the cycle's single deadline.
type Batch struct {
	servers *Servers
	log     *slog.Logger
}

// NewBatch returns a batch over the given servers. A nil logger discards.
func NewBatch(servers *Servers, log *slog.Logger) *Batch {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Batch{servers: servers, log: log}
}

type requestKey struct {
	client *Client
	query  string
	at     int64
}

// Do runs the requests and returns their results in the same order. Duplicates share one query.
// Each failed query is logged once.
func (b *Batch) Do(ctx context.Context, reqs []Request) []Result {
	index := make(map[requestKey]int, len(reqs)) // key → position in unique
	var unique []Request
	slot := make([]int, len(reqs))
	for i, r := range reqs {
		k := requestKey{r.Client, r.Query, r.At.UnixNano()}
		j, ok := index[k]
		if !ok {
			j = len(unique)
			index[k] = j
			unique = append(unique, r)
		}
		slot[i] = j
	}

	byClient := map[*Client][]int{}
	var clients []*Client
	for j, r := range unique {
		if _, ok := byClient[r.Client]; !ok {
			clients = append(clients, r.Client)
		}
		byClient[r.Client] = append(byClient[r.Client], j)
	}

	results := make([]Result, len(unique))
	var wg sync.WaitGroup
	for _, c := range clients {
		jobs := byClient[c]
		next := make(chan int)
		workers := min(c.Concurrency(), len(jobs))
		for range workers {
			wg.Go(func() {
				for j := range next {
					v, err := c.Query(ctx, unique[j].Query, unique[j].At)
					results[j] = Result{Value: v, Err: err}
				}
			})
		}
		wg.Go(func() {
			defer close(next)
			for _, j := range jobs {
				next <- j
			}
		})
	}
	wg.Wait()

	for _, r := range results {
		if r.Err != nil {
			b.log.Warn("prometheus query failed", "error", r.Err)
		}
	}
	out := make([]Result, len(reqs))
	for i, j := range slot {
		out[i] = results[j]
	}
	return out
}

// Values evaluates every metric of every policy at the instant at and returns, per policy in
// the given order, one value per metric in spec order — the Snapshot.Metrics of each. A policy
// whose Prometheus cannot be resolved gets every metric missing with that cause.
func (b *Batch) Values(ctx context.Context, at time.Time, policies []*policy.Policy) [][]engine.MetricValue {
	out := make([][]engine.MetricValue, len(policies))
	var reqs []Request
	type ref struct{ policy, metric int }
	var refs []ref
	for i, p := range policies {
		out[i] = make([]engine.MetricValue, len(p.Spec.Metrics))
		c, err := b.servers.For(p.Spec.Prometheus)
		if err != nil {
			b.log.Warn("policy prometheus unusable", "repository", p.Source.Repository, "policy", p.ID(), "error", err)
			for k, m := range p.Spec.Metrics {
				out[i][k] = missing(m, err.Error())
			}
			continue
		}
		for k, m := range p.Spec.Metrics {
			reqs = append(reqs, Request{Client: c, Query: m.PromQL, At: at})
			refs = append(refs, ref{i, k})
		}
	}
	for n, r := range b.Do(ctx, reqs) {
		at := refs[n]
		out[at.policy][at.metric] = ToValue(policies[at.policy].Spec.Metrics[at.metric], r.Value, r.Err)
	}
	return out
}
