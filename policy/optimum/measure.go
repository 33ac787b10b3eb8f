package optimum

import (
	"errors"
	"slices"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// ProblemOf is the problem of a replay: at every step of r, the policy's need (engine.Need of
// the step's metrics read at the count before the step — r.Initial for the first — exactly as
// engine.Assess counts short time) and its bounds then (engine.BoundsAt); the count before the
// first step is the replay's. For an AverageValue target the need does not depend on the
// count; for a Value target or a step rule it is the need the replay itself met, so each
// replay of a comparison has its own problem. p must have gone through SetDefaults.
func ProblemOf(p *policy.Policy, r *engine.BacktestResult) *Problem {
	n := len(r.Steps)
	pr := &Problem{Need: make([]int, n), Min: make([]int, n), Max: make([]int, n), Initial: max(r.Initial, 0)}
	before := r.Initial
	for i := range r.Steps {
		st := &r.Steps[i]
		pr.Need[i] = engine.Need(p, before, st.Metrics)
		pr.Min[i], pr.Max[i] = engine.BoundsAt(p, st.Time)
		before = st.Replicas
	}
	return pr
}

// Spent is what a replay cost, in replica-steps: Σ replicas over its steps (its replica-hours
// ÷ the step). It is the budget a replay is measured at.
func Spent(r *engine.BacktestResult) int64 {
	var s int64
	for i := range r.Steps {
		s += int64(r.Steps[i].Replicas)
	}
	return s
}

// Result is the optimum at a budget: what `backtest --optimum` prints.
type Result struct {
	// Budget is the cost measured against (a replay's Spent), in replica-steps.
	Budget int64 `json:"budgetReplicaSteps"`
	// Floor is the need's own schedule, the least any never-short schedule costs.
	Floor Point `json:"floor"`
	// Fits is false when the budget is below the floor: no never-short schedule costs as
	// little (the policy was short to spend it), so there is no optimum at the budget.
	Fits bool `json:"fits"`
	// Exact is the fewest changes of a never-short schedule within the budget, the cheapest of
	// those, and the schedule; nil when it does not fit or the search passed its limits, and
	// then Limit says which.
	Exact *Schedule `json:"exact,omitempty"`
	Limit string    `json:"limit,omitempty"`
	// Hull is the frontier's convex hull at the budget, when it fits.
	Hull *HullAt `json:"hull,omitempty"`
	// Frontier is a summary of the Pareto frontier: its vertices on the hull with the fewest
	// changes within 2, 1.5, 1.3, 1.2, 1.1 and 1.05 × the floor's cost, the schedule with the
	// fewest changes possible first and the floor last, fewest changes first. Each is a real
	// schedule and a point of the exact frontier: no never-short schedule has fewer changes
	// at its cost or less.
	Frontier []Point `json:"frontier"`
}

// FrontierRatios are the costs, × the floor's, at which Result.Frontier sums up the frontier.
var FrontierRatios = []float64{2, 1.5, 1.3, 1.2, 1.1, 1.05}

// Measure computes the optimum at a budget: the floor, the exact fewest changes within the
// budget (unless its search would pass lim), the hull there, and the frontier's summary.
// An error is returned only for a malformed problem.
func Measure(p *Problem, budget int64, lim Limits) (Result, error) {
	pl, err := compile(p)
	if err != nil {
		return Result{}, err
	}
	res := Result{Budget: budget, Floor: pl.floor, Fits: budget >= pl.floor.Cost}
	first := pl.fewestPossible()
	res.Frontier = append(res.Frontier, first)
	for _, f := range FrontierRatios {
		b := int64(f * float64(pl.floor.Cost))
		if b >= first.Cost {
			continue
		}
		if _, z := pl.edgeAround(b); !slices.Contains(res.Frontier, z) {
			res.Frontier = append(res.Frontier, z)
		}
	}
	if !slices.Contains(res.Frontier, pl.floor) {
		res.Frontier = append(res.Frontier, pl.floor)
	}
	if !res.Fits {
		return res, nil
	}
	a, z := pl.edgeAround(budget)
	h := HullAt{Vertex: a, Line: float64(a.Changes)}
	if a.Cost > budget {
		h = HullAt{Vertex: z, Line: float64(a.Changes) + float64(a.Cost-budget)/float64(a.Cost-z.Cost)*float64(z.Changes-a.Changes)}
	}
	res.Hull = &h
	s, err := pl.fewest(budget, a, z, lim)
	switch {
	case errors.Is(err, ErrLimit):
		res.Limit = err.Error()
	case err != nil:
		return Result{}, err
	default:
		res.Exact = &s
	}
	return res, nil
}

// ReasonOptimum is the reason code of a change of the optimum's schedule as a replay.
const ReasonOptimum engine.ReasonCode = "OfflineOptimum"

// Replay is a schedule of the problem of r as a replay over r's steps: the same instants and
// metric values, the schedule's count after each step, and a decision at each change, so that
// it can be assessed, compared and charted as a policy's replay is (engine.Assess counts it
// short only where the need is above the policy's maximum, which no schedule can meet).
func Replay(s *Schedule, r *engine.BacktestResult, label string) engine.BacktestResult {
	out := engine.BacktestResult{
		Policy: label, Decisions: []engine.BacktestDecision{}, Start: r.Start, End: r.End, Step: r.Step,
		Initial: r.Initial, Steps: make([]engine.BacktestStep, len(r.Steps)),
	}
	before := r.Initial
	secs := r.Step.Seconds()
	for i := range r.Steps {
		st := r.Steps[i]
		st.Replicas = s.Levels[i]
		out.Steps[i] = st
		out.Summary.ReplicaSeconds += float64(st.Replicas) * secs
		if st.Replicas != before {
			out.Decisions = append(out.Decisions, engine.BacktestDecision{
				Time: st.Time, From: before, To: st.Replicas, Metrics: map[string]float64{},
				Reasons: []engine.Reason{{Code: ReasonOptimum, Message: "the offline optimum changes here, knowing the whole trace"}},
			})
			if st.Replicas > before {
				out.Summary.ScaleUps++
			} else {
				out.Summary.ScaleDowns++
			}
		}
		before = st.Replicas
	}
	out.Summary.Evaluations, out.Summary.Changes = len(r.Steps), len(out.Decisions)
	return out
}

// ShadowLimits bound the exact search of a shadow comparison's optimum, which runs at every
// evaluation of a shadow policy: a day at the policy's interval is a few thousand steps, far
// below them; past them the hull's vertex answers.
var ShadowLimits = Limits{Work: 100_000_000, Memory: 2 << 20}

// OfShadow sets the offline optimum beside a shadow comparison made by engine.CompareShadow
// from s: for the live side and for ours, the fewest changes of a never-short count within that
// side's replica-hours over the comparison's steps, measured against the need of the same
// metric values (c.LiveBest, c.OurBest). Without metric values over the window there is no
// need to measure against, and nothing is set; our side needs our replay.
func OfShadow(p *policy.Policy, s engine.ShadowSeries, c *engine.ShadowComparison, lim Limits) {
	n := len(s.Live)
	if c.Span() == 0 || s.Step <= 0 || len(s.Metrics) < n || len(c.LivePoints) == 0 {
		return
	}
	first := int(c.Start.Sub(s.Start) / s.Step)
	if first < 0 || first >= n {
		return
	}
	side := func(points []engine.ReplicaPoint) *engine.ShadowBest {
		r := engine.BacktestResult{Step: s.Step, Initial: c.LivePoints[0].Replicas, Steps: make([]engine.BacktestStep, 0, n-first)}
		j := 0
		for i := first; i < n; i++ {
			at := s.Start.Add(time.Duration(i) * s.Step)
			for j+1 < len(points) && !points[j+1].At.After(at) {
				j++
			}
			r.Steps = append(r.Steps, engine.BacktestStep{Time: at, Replicas: points[j].Replicas, Metrics: s.Metrics[i]})
		}
		return best(ProblemOf(p, &r), Spent(&r), lim)
	}
	c.LiveBest = side(c.LivePoints)
	if c.Ours != nil && len(c.OurPoints) > 0 {
		c.OurBest = side(c.OurPoints)
	}
}

// best is the optimum's fewest changes at a budget alone: exact, else the hull's vertex.
func best(p *Problem, budget int64, lim Limits) *engine.ShadowBest {
	pl, err := compile(p)
	if err != nil {
		return nil // not a problem ProblemOf makes: bounds are always a range
	}
	if budget < pl.floor.Cost {
		return &engine.ShadowBest{}
	}
	a, z := pl.edgeAround(budget)
	if s, err := pl.fewest(budget, a, z, lim); err == nil {
		return &engine.ShadowBest{Fits: true, Changes: s.Changes, Exact: true}
	}
	if a.Cost <= budget {
		return &engine.ShadowBest{Fits: true, Changes: a.Changes}
	}
	return &engine.ShadowBest{Fits: true, Changes: z.Changes}
}
