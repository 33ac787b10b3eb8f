package engine

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// DefaultBacktestStep is the evaluation step of a replay when the policy's schedule is not a
// fixed interval.
const DefaultBacktestStep = 30 * time.Second

// BacktestOptions bound a replay.
type BacktestOptions struct {
	// Start and End are the first and last instants evaluated (both inclusive).
	Start, End time.Time
	// Step is the time between evaluations (default: BacktestInterval(p)).
	Step time.Duration
	// Initial is the replica count before the first evaluation (default: the policy's
	// minReplicas). A pointer, because 0 is a valid count for a scale-to-zero policy.
	Initial *int
}

// BacktestResult is what a replay would have done. Its JSON form is the `backtest -o json`
// output: policy, decisions and summary.
type BacktestResult struct {
	Policy    string             `json:"policy"`
	Decisions []BacktestDecision `json:"decisions"`
	Summary   BacktestSummary    `json:"summary"`

	// Start, End and Step are the replay's bounds, after defaults.
	Start time.Time     `json:"-"`
	End   time.Time     `json:"-"`
	Step  time.Duration `json:"-"`
	// Initial is the replica count before the first evaluation.
	Initial int `json:"-"`
	// Steps is every evaluation, for charting.
	Steps []BacktestStep `json:"-"`
}

// BacktestDecision is one evaluation that changed the replica count: a commit a live run would
// have made.
type BacktestDecision struct {
	Time time.Time `json:"time"`
	From int       `json:"from"`
	To   int       `json:"to"`
	// Metrics are the values the decision saw, by metric name; missing metrics are left out.
	Metrics map[string]float64 `json:"metrics"`
	Reasons []Reason           `json:"reasons"`
}

// BacktestStep is one evaluation: the replica count after it and the metric values it saw.
type BacktestStep struct {
	Time     time.Time
	Replicas int
	Metrics  []MetricValue
	// Need is what the step's metrics asked for (Need, at the count they were measured at):
	// the step is short when Replicas is below it.
	Need int
}

// BacktestSummary sums up a replay.
type BacktestSummary struct {
	Evaluations int `json:"evaluations"`
	// Changes is the number of decisions, the commits a live run would have made.
	Changes    int `json:"changes"`
	ScaleUps   int `json:"scaleUps"`
	ScaleDowns int `json:"scaleDowns"`
	// ReplicaSeconds is Σ replicas × step over the evaluations: the capacity paid for.
	ReplicaSeconds float64 `json:"replicaSeconds"`
	// UnderProvisionedSeconds is the time (steps × step) when the replica count after a step's
	// decision was below the need of its metrics (Need, for every metric form, at the count they
	// were measured at), whatever the bounds and limits; UnderProvisionedReplicaSeconds is its
	// depth, Σ (need − replicas) × step. They are what `backtest --compare` reports as short.
	UnderProvisionedSeconds        float64 `json:"underProvisionedSeconds"`
	UnderProvisionedReplicaSeconds float64 `json:"underProvisionedReplicaSeconds"`
}

// BacktestInterval is the natural evaluation step of a policy: the interval of an `@every D`
// schedule, else DefaultBacktestStep (a cron schedule has no single interval).
func BacktestInterval(p *policy.Policy) time.Duration {
	return scheduleInterval(p.Spec.Schedule)
}

// scheduleInterval is the interval of an `@every D` schedule, else DefaultBacktestStep.
func scheduleInterval(schedule string) time.Duration {
	if d, ok := strings.CutPrefix(strings.TrimSpace(schedule), "@every "); ok {
		if step, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && step > 0 {
			return step
		}
	}
	return DefaultBacktestStep
}

// Backtest replays p over a metric source, evaluating at every step from opts.Start to
// opts.End inclusive with Decide — the same function a live evaluation calls, so the replay
// makes exactly the decisions the service would have made, had the metrics been these.
//
// Each change is taken as committed at the instant it was decided: it joins the History of the
// following evaluations as an EventDecision, and every evaluation's raw recommendation joins
// their Recommendations, so cooldowns, rate limits and stabilization see what a live run would.
// Both are trimmed to the longest window the policy needs, so a replay costs O(steps).
//
// src returns the metric values at an instant, one per p.Spec.Metrics entry in order (as
// promclient's Trace.Values does). p must have gone through SetDefaults. Backtest is pure.
func Backtest(p *policy.Policy, src func(at time.Time) []MetricValue, opts BacktestOptions) BacktestResult {
	return backtest(p, src, opts, true)
}

// backtest is Backtest; trim false keeps the whole history, to prove the trimming changes
// nothing.
func backtest(p *policy.Policy, src func(at time.Time) []MetricValue, opts BacktestOptions, trim bool) BacktestResult {
	step := opts.Step
	if step <= 0 {
		step = BacktestInterval(p)
	}
	current := policy.DefaultMinReplicas
	if p.Spec.MinReplicas != nil {
		current = *p.Spec.MinReplicas
	}
	if opts.Initial != nil {
		current = *opts.Initial
	}
	start, end := opts.Start.UTC(), opts.End.UTC()
	res := BacktestResult{
		Policy:    p.ID(),
		Decisions: []BacktestDecision{},
		Start:     start,
		End:       end,
		Step:      step,
		Initial:   current,
	}
	if end.Before(start) {
		return res
	}
	n := int(end.Sub(start)/step) + 1
	res.Steps = make([]BacktestStep, 0, n)

	historyWindow, recWindow := Windows(p)
	// A window counts what is strictly newer than its start; keeping one second more is harmless.
	historyWindow, recWindow = historyWindow+time.Second, recWindow+time.Second
	var history replayWindow[Event]
	var recs replayWindow[Recommendation]
	// Steady's memory: the needs of the replay so far, a week and its windows back (the
	// instants a live run recomputes from Prometheus, Policy.MemoryWindow).
	memBack, memAhead, memory := MemoryWindow(p)
	var needs replayWindow[Recommendation]
	stepSecs := step.Seconds()

	for i := range n {
		now := start.Add(time.Duration(i) * step)
		metrics := src(now)
		before := current
		if trim {
			history.dropBefore(now.Add(-historyWindow), func(e Event) time.Time { return e.At })
			recs.dropBefore(now.Add(-recWindow), func(r Recommendation) time.Time { return r.At })
		}
		snap := Snapshot{
			Now:             now,
			Current:         current,
			Metrics:         metrics,
			History:         history.items(),
			Recommendations: recs.items(),
		}
		if memory {
			if trim {
				needs.dropBefore(now.Add(-SeasonWeek-memBack), func(r Recommendation) time.Time { return r.At })
			}
			all := needs.items()
			snap.Seasons.Day = within(all, now.Add(-SeasonDay-memBack), now.Add(-SeasonDay+memAhead))
			snap.Seasons.Week = within(all, now.Add(-SeasonWeek-memBack), now.Add(-SeasonWeek+memAhead))
		}
		d := Decide(p, &snap)
		recs.push(Recommendation{At: now, Replicas: d.Recommendation})
		if d.Desired != current {
			history.push(Event{At: now, Kind: EventDecision, From: current, To: d.Desired})
			res.Decisions = append(res.Decisions, BacktestDecision{
				Time:    now,
				From:    current,
				To:      d.Desired,
				Metrics: metricMap(metrics),
				Reasons: d.Reasons,
			})
			if d.Desired > current {
				res.Summary.ScaleUps++
			} else {
				res.Summary.ScaleDowns++
			}
			current = d.Desired
		}
		if memory {
			// As a live run recomputes it later: the values of now at the count Git then holds
			// (CountAt: this decision's, if it made one).
			if need, ok := Remembered(p, current, metrics); ok {
				needs.push(Recommendation{At: now, Replicas: need})
			}
		}
		need := Need(p, before, metrics)
		res.Steps = append(res.Steps, BacktestStep{Time: now, Replicas: current, Metrics: metrics, Need: need})
		res.Summary.ReplicaSeconds += float64(current) * stepSecs
		if short := max(need-current, 0); short > 0 {
			res.Summary.UnderProvisionedSeconds += stepSecs
			res.Summary.UnderProvisionedReplicaSeconds += float64(short) * stepSecs
		}
	}
	res.Summary.Evaluations = n
	res.Summary.Changes = len(res.Decisions)
	return res
}

// within is the part of recs (oldest first) strictly inside (from, to).
func within(recs []Recommendation, from, to time.Time) []Recommendation {
	lo := sort.Search(len(recs), func(i int) bool { return recs[i].At.After(from) })
	hi := sort.Search(len(recs), func(i int) bool { return !recs[i].At.Before(to) })
	if hi < lo {
		hi = lo
	}
	return recs[lo:hi:hi]
}

func metricMap(metrics []MetricValue) map[string]float64 {
	m := make(map[string]float64, len(metrics))
	for _, mv := range metrics {
		if !mv.Missing && !math.IsNaN(mv.Value) && !math.IsInf(mv.Value, 0) {
			m[mv.Name] = mv.Value
		}
	}
	return m
}

// replayWindow is an append-only, oldest-first list whose head is dropped as time moves on; the
// backing array is compacted when the dropped head outgrows the live part, so memory stays
// bounded by the window and each element is copied O(1) times on average.
type replayWindow[T any] struct {
	buf  []T
	head int
}

func (w *replayWindow[T]) push(v T) { w.buf = append(w.buf, v) }

func (w *replayWindow[T]) items() []T {
	// Full slice expression: Decide cannot append into our buffer.
	return w.buf[w.head:len(w.buf):len(w.buf)]
}

func (w *replayWindow[T]) dropBefore(cut time.Time, at func(T) time.Time) {
	for w.head < len(w.buf) && at(w.buf[w.head]).Before(cut) {
		w.head++
	}
	if w.head > 64 && w.head > len(w.buf)/2 {
		n := copy(w.buf, w.buf[w.head:])
		clear(w.buf[n:])
		w.buf, w.head = w.buf[:n], 0
	}
}
