package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// metricsPrefix is the namespace of the service's own metrics (docs/design.md §8). The dashboard
// and alert rules in deploy/ use exactly these names.
const metricsPrefix = "gitops_autoscaler"

// ServiceMetrics are the service's own metrics, registered on a registry given by the caller.
type ServiceMetrics struct {
	evaluations  *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	commits      *prometheus.CounterVec
	pullRequests *prometheus.CounterVec
	pushRetries  *prometheus.CounterVec
	replayed     *prometheus.CounterVec
	racesLost    *prometheus.CounterVec
	losing       *prometheus.GaugeVec
	notLanded    *prometheus.CounterVec
	notifyFailed *prometheus.CounterVec
	queryErrors  *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	current      *prometheus.GaugeVec
	desired      *prometheus.GaugeVec
	prOpen       *prometheus.GaugeVec
	lastEval     *prometheus.GaugeVec
	blind        *prometheus.GaugeVec
	shadow       shadowMetrics
	invalid      *prometheus.GaugeVec

	now     func() time.Time
	mu      sync.Mutex
	prSince map[string]time.Time // policy → when its open pull request was first seen
	// invalidFiles are the files each repository's invalid gauge has series for.
	invalidFiles map[string]map[string]bool
}

// NewServiceMetrics creates the metrics and registers them on reg.
func NewServiceMetrics(reg prometheus.Registerer, now func() time.Time) *ServiceMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsPrefix, Name: name, Help: help}, labels)
	}
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsPrefix, Name: name, Help: help}, []string{"policy"})
	}
	m := &ServiceMetrics{
		evaluations:  counter("evaluations_total", "Policy evaluations, by result (the action: committed, unchanged, held, held-blind, pull-request, dry-run, deferred, error).", "policy", "result"),
		decisions:    counter("decisions_total", "Decisions (evaluations that did not fail), by result and direction (up, down, none).", "policy", "result", "direction"),
		commits:      counter("commits_total", "Decision commits landed on a repository's base branch.", "repository"),
		pullRequests: counter("pull_requests_total", "Pull requests carrying a decision, by action (proposed, merged, held).", "repository", "action"),
		pushRetries:  counter("push_retries_total", "Pushes rejected by a concurrent change and tried again on the new head.", "repository"),
		replayed:     counter("replayed_commits_total", "Decision commits a push race replayed on the new head, their inputs untouched by the commits that came in, rather than decided again.", "repository"),
		racesLost:    counter("push_races_lost_total", "Cycles that committed decisions but lost every push race (or ran out of time between attempts): their decisions are deferred to the next cycle.", "repository"),
		losing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsPrefix, Name: "push_race_losing_cycles",
			Help: "The repository's consecutive cycles, up to its last one, that lost every push race; 0 once a push lands (docs/design.md §6)."},
			[]string{"repository"}),
		notLanded:    counter("decisions_not_landed_total", "Decisions deferred to the next cycle, by reason: deadline (the cycle's decision deadline passed first) or push-race (every push lost its race).", "repository", "reason"),
		notifyFailed: counter("notify_failures_total", "Calls of a repository's notify webhooks (docs/design.md §7, \"Notify after a push\") that failed, by controller (flux, argocd): the controller syncs at its next poll instead.", "repository", "controller"),
		queryErrors:  counter("query_errors_total", "Metric values missing because their Prometheus query failed, by server.", "server"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsPrefix, Name: "evaluation_duration_seconds",
			Help:    "Duration of one evaluation cycle of a repository (fetch, queries, decisions, push).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"repository"}),
		current:  gauge("current_replicas", "The replica count Git holds for the policy's target after its last evaluation."),
		desired:  gauge("desired_replicas", "The replica count the policy's last decision asked for."),
		prOpen:   gauge("pull_request_open_seconds", "How long the policy's open pull request has waited, as seen by this process (0: none)."),
		lastEval: gauge("last_evaluation_timestamp_seconds", "Unix time of the policy's last evaluation."),
		blind:    gauge("blind_metrics", "The policy's metrics without a usable value at its last evaluation (a query failed or returned nothing); above 0 it cannot scale down and holds blind."),
		invalid: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: metricsPrefix, Name: "invalid_policies",
			Help: "Policy documents of a file that did not load or that a set-level check refused (duplicate name, shared target); their policies are not evaluated and hold their counts."},
			[]string{"repository", "file"}),
		shadow:       newShadowMetrics(),
		now:          now,
		prSince:      map[string]time.Time{},
		invalidFiles: map[string]map[string]bool{},
	}
	reg.MustRegister(m.evaluations, m.decisions, m.commits, m.pullRequests, m.pushRetries, m.replayed, m.racesLost, m.losing, m.notLanded, m.notifyFailed, m.queryErrors,
		m.duration, m.current, m.desired, m.prOpen, m.lastEval, m.blind, m.invalid)
	m.shadow.register(reg)
	return m
}

// InitRepositories exports the per-repository counters at zero, so that increase() sees their
// first change.
func (m *ServiceMetrics) InitRepositories(names []string) {
	for _, n := range names {
		m.commits.WithLabelValues(n)
		m.pushRetries.WithLabelValues(n)
		m.replayed.WithLabelValues(n)
		m.racesLost.WithLabelValues(n)
		m.losing.WithLabelValues(n)
		for _, why := range []string{gitops.NotLandedDeadline, gitops.NotLandedPushRace} {
			m.notLanded.WithLabelValues(n, why)
		}
	}
}

// Observe records one finished cycle; it is the Service's OnCycle.
func (m *ServiceMetrics) Observe(ev gitops.CycleEvent) {
	m.duration.WithLabelValues(ev.Repository).Observe(ev.Duration.Seconds())
	m.losing.WithLabelValues(ev.Repository).Set(float64(ev.RacesLostInARow))
	if ev.Report == nil {
		return
	}
	if ev.Report.RaceLost {
		m.racesLost.WithLabelValues(ev.Repository).Inc()
	}
	m.pushRetries.WithLabelValues(ev.Repository).Add(float64(ev.Report.PushRetries))
	m.replayed.WithLabelValues(ev.Repository).Add(float64(ev.Report.Replayed))
	for _, o := range ev.Report.Notified {
		if o.Err != nil {
			m.notifyFailed.WithLabelValues(ev.Repository, o.Controller).Inc()
		}
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.observeInvalid(ev.Repository, ev.Report.Invalid)
	for _, r := range ev.Report.Results {
		if r.Invalid != "" {
			// Not evaluated: the invalid gauge says so, and its counts stay as they were.
			if r.Policy != "" {
				m.evaluations.WithLabelValues(r.Policy, r.Action).Inc()
			}
			continue
		}
		m.evaluations.WithLabelValues(r.Policy, r.Action).Inc()
		m.lastEval.WithLabelValues(r.Policy).Set(float64(r.EvaluatedAt.Unix()))
		m.shadow.observe(r.Policy, r.Shadow)
		if r.Action == gitops.ActionError {
			continue
		}
		if r.Action == gitops.ActionDeferred {
			// Not landed: counted by reason; Git's count and the decision gauges stay.
			m.notLanded.WithLabelValues(ev.Repository, r.NotLanded).Inc()
			continue
		}
		m.blind.WithLabelValues(r.Policy).Set(float64(len(r.Blind)))
		m.decisions.WithLabelValues(r.Policy, r.Action, direction(r.From, r.To)).Inc()
		current := r.From
		if r.Action == gitops.ActionCommitted {
			current = r.To
			if r.Commit != "" {
				m.commits.WithLabelValues(ev.Repository).Inc()
			}
		}
		m.current.WithLabelValues(r.Policy).Set(float64(current))
		m.desired.WithLabelValues(r.Policy).Set(float64(r.To))
		if r.PullRequest == "" {
			delete(m.prSince, r.Policy)
			m.prOpen.WithLabelValues(r.Policy).Set(0)
			continue
		}
		action := "proposed"
		switch r.Action {
		case gitops.ActionCommitted:
			action = "merged"
		case gitops.ActionHeld:
			action = "held"
		}
		m.pullRequests.WithLabelValues(ev.Repository, action).Inc()
		if r.Action != gitops.ActionPullRequest {
			delete(m.prSince, r.Policy)
			m.prOpen.WithLabelValues(r.Policy).Set(0)
			continue
		}
		since, ok := m.prSince[r.Policy]
		if !ok {
			since = now
			m.prSince[r.Policy] = now
		}
		m.prOpen.WithLabelValues(r.Policy).Set(now.Sub(since).Seconds())
	}
}

// observeInvalid sets the invalid gauge of a repository's files: a cycle reports every
// invalid document of its shard, so a file it does not name is valid again (series removed).
func (m *ServiceMetrics) observeInvalid(repo string, invalid []policy.Invalid) {
	count := map[string]int{}
	for _, iv := range invalid {
		count[iv.File]++
	}
	for f := range m.invalidFiles[repo] {
		if count[f] == 0 {
			m.invalid.DeleteLabelValues(repo, f)
		}
	}
	files := map[string]bool{}
	for f, n := range count {
		m.invalid.WithLabelValues(repo, f).Set(float64(n))
		files[f] = true
	}
	m.invalidFiles[repo] = files
}

func direction(from, to int) string {
	switch {
	case to > from:
		return "up"
	case to < from:
		return "down"
	}
	return "none"
}

// CountQueryErrors wraps a metric source: every value missing because its Prometheus query
// failed counts once against the policy's server. (Identical queries of several policies run
// once but count per policy: the figure is the number of values the service went without.)
func (m *ServiceMetrics) CountQueryErrors(src gitops.MetricSource) gitops.MetricSource {
	return queryErrorCounter{src: src, errors: m.queryErrors}
}

type queryErrorCounter struct {
	src    gitops.MetricSource
	errors *prometheus.CounterVec
}

var _ gitops.MetricSource = queryErrorCounter{}

func (q queryErrorCounter) Values(ctx context.Context, at time.Time, ps []*policy.Policy) [][]engine.MetricValue {
	out := q.src.Values(ctx, at, ps)
	for i, vs := range out {
		for _, v := range vs {
			// promclient's query errors (and unusable servers) read "prometheus <server>: …".
			if v.Missing && strings.HasPrefix(v.Cause, "prometheus ") && i < len(ps) {
				q.errors.WithLabelValues(serverOf(ps[i])).Inc()
			}
		}
	}
	return out
}

// serverOf names the Prometheus a policy queries, for metric labels: a configured server's
// name, or "policy-url" for a URL of the policy's own (URLs may carry credentials).
func serverOf(p *policy.Policy) string {
	ref := p.Spec.Prometheus
	switch {
	case ref != nil && ref.URL != "":
		return "policy-url"
	case ref != nil && ref.Server != "":
		return ref.Server
	}
	return policy.DefaultPrometheusServer
}
