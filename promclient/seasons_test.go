package promclient

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// dayLoad is a backlog with a day-night shape, one value a minute from two days before t0 to
// an hour after it, and no sample from 23 h 50 min to 23 h 30 min before t0 (twenty minutes:
// the last fifteen of them are missing once the older sample goes stale).
func dayLoad(t time.Time) (float64, bool) {
	if t.Before(t0.Add(-48*time.Hour)) || t.After(t0.Add(time.Hour)) {
		return 0, false
	}
	if d := t0.Sub(t); d <= 23*time.Hour+50*time.Minute && d > 23*time.Hour+30*time.Minute {
		return 0, false
	}
	m := t.Truncate(time.Minute)
	hour := float64(m.Hour()) + float64(m.Minute())/60
	return math.Round(100 * (6 + 4*math.Sin(2*math.Pi*hour/24))), true
}

// dayTrace is dayLoad as a trace, one sample a minute.
func dayTrace(t *testing.T) *Trace {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	for at := t0.Add(-48 * time.Hour); !at.After(t0.Add(time.Hour)); at = at.Add(time.Minute) {
		if v, ok := dayLoad(at); ok {
			fmt.Fprintf(&b, "%d,backlog,%g\n", at.Unix(), v)
		}
	}
	tr, err := ReadTrace("day.csv", strings.NewReader(b.String()))
	require.NoError(t, err)
	return tr
}

func steadyWorker(target policy.Target) *policy.Policy {
	p := &policy.Policy{
		Metadata: policy.Metadata{Name: "worker", Namespace: "ns"},
		Spec: policy.Spec{
			MaxReplicas: 50,
			Schedule:    "@every 60s",
			Metrics:     []policy.Metric{{Name: "backlog", PromQL: "sum(backlog)", Target: &target}},
			Strategy:    &policy.Strategy{Type: policy.StrategySteady},
		},
	}
	p.SetDefaults()
	return p
}

// TestSeasonsSourcesAgree: a Steady policy's memory — its needs at the same hours a day and a
// week ago — is the same from Prometheus and from a trace, at the counts Git held then (a Value
// target's need depends on them), an instant where every metric was missing left out; a second
// read from Prometheus, a minute later, queries only what is new and still agrees.
func TestSeasonsSourcesAgree(t *testing.T) {
	value := 100.0
	p := steadyWorker(policy.Target{Type: policy.TargetValue, Value: &value})
	f := newFakeProm(t, seriesProm(map[string]func(time.Time) (float64, bool){"": dayLoad}))
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)
	prom, trace := NewPrometheusSource(servers, nil), NewTraceSource(dayTrace(t))
	// The count was 4 until 25 hours ago and 6 since.
	replicas := func(at time.Time) int {
		if at.Before(t0.Add(-25 * time.Hour)) {
			return 4
		}
		return 6
	}

	for round, now := range []time.Time{t0, t0.Add(time.Minute)} {
		f.mu.Lock()
		before := len(f.requests)
		f.mu.Unlock()
		want, err := trace.Seasons(context.Background(), p, now, replicas)
		require.NoError(t, err)
		got, err := prom.Seasons(context.Background(), p, now, replicas)
		require.NoError(t, err)
		assert.Equal(t, want, got, "at %s", now)
		f.mu.Lock()
		for _, r := range f.requests[before:] {
			require.True(t, strings.HasSuffix(r.URL.Path, "/query_range"), r.URL.Path)
			start, err := strconv.ParseFloat(r.Form.Get("start"), 64)
			require.NoError(t, err)
			end, err := strconv.ParseFloat(r.Form.Get("end"), 64)
			require.NoError(t, err)
			if round == 1 {
				// Only the new instant and the last StalenessDelta again, not the window.
				assert.LessOrEqual(t, end-start, (StalenessDelta + time.Minute).Seconds(), "a second read of %s", r.Form.Get("query"))
			} else {
				assert.Greater(t, end-start, 3*time.Hour.Seconds(), "the first read is the whole window")
			}
		}
		f.mu.Unlock()

		// Strictly inside (now − 1 d − 2 h, now − 1 d + 2 h), a minute apart: 239 instants, of
		// which the 15 whose sample went stale are no need.
		require.Len(t, want.Day, 239-15)
		assert.Empty(t, want.Week, "no data a week ago: no memory")
		first := want.Day[0]
		assert.Equal(t, now.Add(-engine.SeasonDay-2*time.Hour+time.Minute), first.At)
		v, _ := dayLoad(first.At)
		assert.Equal(t, int(math.Ceil(4*v/value)), first.Replicas, "the need at the count then (4)")
		last := want.Day[len(want.Day)-1]
		v, _ = dayLoad(last.At)
		assert.Equal(t, int(math.Ceil(6*v/value)), last.Replicas, "the need at the count then (6)")
	}
}

// TestSteadyDecidesFromSourcesAsInBacktest is invariant 6 for a Steady policy: at every
// evaluation of a day, the decision the loop makes from the trace source — its look-back and
// its memory recomputed at the counts Git held (the backtest's own decisions as history) — is
// the decision Backtest made replaying the same trace.
func TestSteadyDecidesFromSourcesAsInBacktest(t *testing.T) {
	avg := 100.0
	p := steadyWorker(policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg})
	tr := dayTrace(t)
	src := NewTraceSource(tr)
	start := t0.Add(-48 * time.Hour)
	r := engine.Backtest(p, func(at time.Time) []engine.MetricValue { return tr.Values(p, at) },
		engine.BacktestOptions{Start: start, End: t0, Step: time.Minute})
	require.Greater(t, r.Summary.Changes, 4, "the day-night shape makes the policy work")

	var history []engine.Event
	count := r.Initial
	next := 0
	_, window := engine.Windows(p)
	checked, withMemory := 0, 0
	for i, st := range r.Steps {
		now := st.Time
		for next < len(r.Decisions) && r.Decisions[next].Time.Before(now) {
			d := r.Decisions[next]
			history = append(history, engine.Event{At: d.Time, Kind: engine.EventDecision, From: d.From, To: d.To})
			count = d.To
			next++
		}
		if now.Before(t0.Add(-24 * time.Hour)) {
			continue
		}
		replicasAt := func(at time.Time) int { return engine.CountAt(history, at, count) }
		recs, err := src.Recommendations(context.Background(), p, now, window, replicasAt)
		require.NoError(t, err)
		seasons, err := src.Seasons(context.Background(), p, now, replicasAt)
		require.NoError(t, err)
		d := engine.Decide(p, &engine.Snapshot{Now: now, Current: count, Metrics: tr.Values(p, now),
			History: history, Recommendations: recs, Seasons: seasons})
		require.Equal(t, st.Replicas, d.Desired, "step %d at %s: %q", i, now, d.Reasons)
		checked++
		if len(seasons.Day) > 0 {
			withMemory++
		}
	}
	assert.Equal(t, 24*60+1, checked)
	assert.Equal(t, checked, withMemory, "every decision of the second day remembers the first")
}
