package traces

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// Policies are the two policies a trace is replayed with, both on the trace's metric with its
// AverageValue target, bounds [1, MaxReplicas], evaluated every Step:
//   - hpa: the HPA's defaults — tolerance 0.1, behavior {scaleUp: {}, scaleDown: {}} (a 300 s
//     scale-down window, up by 100 % or 4 pods per 15 s, down by 100 % per 15 s);
//   - steady: the Steady strategy with its defaults.
func (t *Trace) Policies() (hpa, steady *policy.Policy) {
	base := func(name string) *policy.Policy {
		avg := t.AverageValue
		minReplicas := 1
		return &policy.Policy{
			APIVersion: policy.APIVersion, Kind: policy.KindPolicy,
			Metadata: policy.Metadata{Name: t.Name + "-" + name, Namespace: "traces"},
			Spec: policy.Spec{
				TargetRef:   policy.TargetRef{Kind: "Deployment", Name: t.Name},
				MinReplicas: &minReplicas, MaxReplicas: t.MaxReplicas,
				Schedule: "@every " + t.Step.String(),
				Metrics: []policy.Metric{{Name: t.Metric, PromQL: t.Metric,
					Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg}}},
			},
		}
	}
	hpa = base("hpa-default")
	hpa.Spec.Behavior = &policy.Behavior{ScaleUp: &policy.ScalingRules{}, ScaleDown: &policy.ScalingRules{}}
	hpa.SetDefaults()
	steady = base("steady")
	steady.Spec.Strategy = &policy.Strategy{Type: policy.StrategySteady}
	steady.SetDefaults()
	return hpa, steady
}

// Result is one trace's line of the benchmark: both policies' replays and the optimum.
type Result struct {
	Trace *Trace
	// Evaluations is the replay's length in steps.
	Evaluations int
	// NeedReplicaHours is what the need itself costs (the floor: the need clamped into the
	// bounds at every step).
	NeedReplicaHours float64
	HPA, Steady      engine.Assessment
	// AtHPA and AtSteady are the optimum at each policy's own replica-hours.
	AtHPA, AtSteady optimum.Result
}

// Measure replays both policies over a converted trace, from its first step to its last, from
// 1 replica, and computes the optimum at each one's replica-hours.
func Measure(t *Trace, csv []byte) (Result, error) {
	tr, err := promclient.ReadTrace(t.Name+".csv", bytes.NewReader(csv))
	if err != nil {
		return Result{}, err
	}
	hpa, steady := t.Policies()
	opts := engine.BacktestOptions{Start: t.From, End: t.To.Add(-t.Step.Duration), Step: t.Step.Duration}
	src := func(p *policy.Policy) func(time.Time) []engine.MetricValue {
		return func(at time.Time) []engine.MetricValue { return tr.Values(p, at) }
	}
	rs, as := engine.Compare([]*policy.Policy{hpa, steady}, src, opts)
	res := Result{Trace: t, Evaluations: rs[1].Summary.Evaluations, HPA: as[0], Steady: as[1]}
	for i, p := range []*policy.Policy{hpa, steady} {
		m, err := optimum.Measure(optimum.ProblemOf(p, &rs[i]), optimum.Spent(&rs[i]), optimum.Limits{})
		if err != nil {
			return Result{}, fmt.Errorf("%s: %w", p.ID(), err)
		}
		if i == 0 {
			res.AtHPA = m
		} else {
			res.AtSteady = m
		}
	}
	res.NeedReplicaHours = res.hours(res.AtSteady.Floor.Cost)
	return res, nil
}

func (r *Result) hours(replicaSteps int64) float64 {
	return float64(replicaSteps) * r.Trace.Step.Seconds() / 3600
}

// Best is the optimum's fewest changes at a result and whether it is exact: the exact answer,
// else the hull's vertex; ok false when no never-short schedule fits those replica-hours.
func Best(m *optimum.Result) (changes int, exact, ok bool) {
	switch {
	case !m.Fits:
		return 0, false, false
	case m.Exact != nil:
		return m.Exact.Changes, true, true
	default:
		return m.Hull.Vertex.Changes, false, true
	}
}

// WriteTable writes the benchmark's table in Markdown: per half (held-out first), three rows
// per trace — the HPA's defaults, Steady, and the optimum at Steady's replica-hours.
func WriteTable(w io.Writer, results []Result) {
	for _, half := range []string{HeldOut, Tuning} {
		fmt.Fprintf(w, "\n**%s half**\n\n", strings.ToUpper(half[:1])+half[1:])
		fmt.Fprintln(w, "| trace | policy | changes | short | short depth (replica-h) | replica-hours | ÷ need | best possible at these replica-hours | ÷ best |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
		for i := range results {
			r := &results[i]
			if r.Trace.Half != half {
				continue
			}
			days := float64(r.Evaluations) * r.Trace.Step.Seconds() / 86400
			label := fmt.Sprintf("%s (%g s, %s)", r.Trace.Name, r.Trace.Step.Seconds(), span(days))
			for j, a := range []*engine.Assessment{&r.HPA, &r.Steady} {
				m := []*optimum.Result{&r.AtHPA, &r.AtSteady}[j]
				name := []string{"HPA defaults", "Steady"}[j]
				best, ratio := "no never-short schedule is this cheap", "–"
				if n, exact, ok := Best(m); ok {
					best = strconv.Itoa(n)
					if !exact {
						best = "≤ " + best + " (hull)"
					}
					ratio = times(float64(a.Changes), float64(n))
				}
				fmt.Fprintf(w, "| %s | %s | %d | %s | %.1f | %.0f | %.2f× | %s | %s |\n", label, name, a.Changes,
					short(a.ShortSeconds, float64(r.Evaluations)*r.Trace.Step.Seconds()), a.ShortReplicaMinutes/60,
					a.ReplicaHours, a.ReplicaHours/r.NeedReplicaHours, best, ratio)
				label = ""
			}
			if n, exact, ok := Best(&r.AtSteady); ok {
				cost := r.AtSteady.Hull.Vertex.Cost
				if exact {
					cost = r.AtSteady.Exact.Cost
				}
				rh := r.hours(cost)
				fmt.Fprintf(w, "| | optimum at Steady's replica-hours | %d | 0 | 0 | %.0f | %.2f× | | |\n", n, rh, rh/r.NeedReplicaHours)
			}
		}
	}
}

func span(days float64) string {
	if days < 1 {
		return strconv.FormatFloat(days*24, 'f', 1, 64) + " h"
	}
	return strconv.FormatFloat(days, 'f', 0, 64) + " d"
}

func short(secs, total float64) string {
	if secs == 0 {
		return "0"
	}
	h := secs / 3600
	if h < 1 {
		return fmt.Sprintf("%.0f min (%.1f %%)", secs/60, 100*secs/total)
	}
	return fmt.Sprintf("%.1f h (%.1f %%)", h, 100*secs/total)
}

func times(a, b float64) string {
	if b == 0 {
		if a == 0 {
			return "1.0×"
		}
		return "∞"
	}
	return strconv.FormatFloat(a/b, 'f', 1, 64) + "×"
}
