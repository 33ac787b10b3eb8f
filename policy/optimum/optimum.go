package optimum

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Problem is what the optimum is computed over: the need at every step and the bounds at
// every step (all three of one length), and the count before the first step.
type Problem struct {
	Need, Min, Max []int
	Initial        int
}

// Point is one schedule's changes and cost. Cost is in replica-steps, Σ level over the steps
// (× the step: replica-seconds).
type Point struct {
	Changes int   `json:"changes"`
	Cost    int64 `json:"replicaSteps"`
}

// Schedule is a never-short schedule: its point and its level at every step.
type Schedule struct {
	Point
	Levels []int `json:"-"`
}

// Limits bound the exact search (Fewest, Frontier); the hull is not bounded, it is one pass of
// O(runs × levels) per vertex.
type Limits struct {
	// Work is the most run × level cells the exact search evaluates: DefaultWork when 0.
	Work int64
	// Memory is the most costs the exact search keeps: its layers (runs × layers, to rebuild
	// the schedule) and, for its Lagrangian bound, the cost to go (runs × levels, else it
	// prunes with the floor alone). DefaultMemory when 0.
	Memory int64
}

// The default limits: about two seconds of work on one core, and 64 MiB of layers.
const (
	DefaultWork   = 2_000_000_000
	DefaultMemory = 8 << 20
)

func (l Limits) withDefaults() Limits {
	if l.Work <= 0 {
		l.Work = DefaultWork
	}
	if l.Memory <= 0 {
		l.Memory = DefaultMemory
	}
	return l
}

// ErrLimit is returned when the exact search would pass its limits; the hull still answers.
var ErrLimit = errors.New("the exact search passed its limit")

// ErrOverBudget is returned by Fewest when no never-short schedule costs that little: the
// budget is below the floor, the need's own cost.
var ErrOverBudget = errors.New("no never-short schedule fits the budget")

const inf = math.MaxInt64 / 4

// plan is a Problem compiled for the search: steps grouped into runs of equal e (the need
// clamped into the bounds) and equal maximum, and the levels worth holding.
type plan struct {
	steps int
	// w is each run's number of steps, first its first step.
	w     []int64
	first []int
	// lo is the index in levels of the run's e, hi of the largest level at most its maximum.
	lo, hi []int32
	// levels are the distinct values of e and the initial count, ascending; init is the
	// initial count's index.
	levels []int64
	init   int32
	// floor is the cheapest never-short schedule, e itself; suffix[r] is its cost from run r
	// on (suffix[runs] = 0).
	floor  Point
	suffix []int64
	// known are the hull's vertices found so far, fewest changes first, and edges the pairs of
	// them (by changes) proven to be edges of the hull (edgeAround).
	known []Point
	edges map[[2]int]bool
}

func compile(p *Problem) (*plan, error) {
	n := len(p.Need)
	if len(p.Min) != n || len(p.Max) != n {
		return nil, fmt.Errorf("optimum: %d needs but %d minimums and %d maximums", n, len(p.Min), len(p.Max))
	}
	if p.Initial < 0 {
		return nil, fmt.Errorf("optimum: initial count %d is negative", p.Initial)
	}
	e := make([]int, n)
	seen := map[int]bool{p.Initial: true}
	for t := range n {
		lo, hi := p.Min[t], p.Max[t]
		if lo < 0 || hi < lo {
			return nil, fmt.Errorf("optimum: step %d: bounds [%d, %d] are not a range of counts", t, lo, hi)
		}
		e[t] = min(max(p.Need[t], lo), hi)
		seen[e[t]] = true
	}
	pl := &plan{steps: n}
	for v := range seen {
		pl.levels = append(pl.levels, int64(v))
	}
	slices.Sort(pl.levels)
	// Costs are exact integers; the Lagrangian weighs them by a change count and changes by a
	// cost, so both products must fit.
	if top := pl.levels[len(pl.levels)-1]; n > 0 && top > (1<<62)/int64(n)/int64(n+1) {
		return nil, fmt.Errorf("optimum: %d steps at up to %d replicas are too many to weigh exactly", n, top)
	}
	index := func(v int64) int32 {
		return int32(sort.Search(len(pl.levels), func(i int) bool { return pl.levels[i] >= v }))
	}
	pl.init = index(int64(p.Initial))
	prev := p.Initial
	for t := range n {
		if t == 0 || e[t] != e[t-1] || p.Max[t] != p.Max[t-1] {
			hi := index(int64(p.Max[t]) + 1) // the first level above the maximum
			pl.w = append(pl.w, 0)
			pl.first = append(pl.first, t)
			pl.lo = append(pl.lo, index(int64(e[t])))
			pl.hi = append(pl.hi, hi-1)
		}
		pl.w[len(pl.w)-1]++
		pl.floor.Cost += int64(e[t])
		if e[t] != prev {
			pl.floor.Changes++
		}
		prev = e[t]
	}
	pl.suffix = make([]int64, len(pl.w)+1)
	for r := len(pl.w) - 1; r >= 0; r-- {
		pl.suffix[r] = pl.suffix[r+1] + pl.levels[pl.lo[r]]*pl.w[r]
	}
	return pl, nil
}

// Floor is the cheapest never-short schedule: the need clamped into the bounds at every step.
// No schedule that is never short costs less, and only this one costs as little.
func Floor(p *Problem) (Point, error) {
	pl, err := compile(p)
	if err != nil {
		return Point{}, err
	}
	return pl.floor, nil
}

// Fewest returns the never-short schedule with the fewest changes among those that cost at
// most budget replica-steps, and among those the cheapest: exact, by the layered search of
// the package documentation. It returns ErrOverBudget when the budget is below the floor, and
// ErrLimit when the search would pass its limits.
func Fewest(p *Problem, budget int64, lim Limits) (Schedule, error) {
	pl, err := compile(p)
	if err != nil {
		return Schedule{}, err
	}
	if budget < pl.floor.Cost {
		return Schedule{}, fmt.Errorf("%w: the least a never-short schedule costs is %d replica-steps, the budget %d",
			ErrOverBudget, pl.floor.Cost, budget)
	}
	a, z := pl.edgeAround(budget)
	return pl.fewest(budget, a, z, lim)
}

// fewest is Fewest with the hull's edge a–z around the budget known. It fails fast when the
// hull's line at the budget already says the layers would not fit lim.Memory.
func (pl *plan) fewest(budget int64, a, z Point, lim Limits) (Schedule, error) {
	lim = lim.withDefaults()
	var b *bound
	if a.Cost <= budget {
		b = &bound{budget: budget, K: a.Changes} // the fewest changes possible fit
	} else {
		line := float64(a.Changes) + float64(a.Cost-budget)/float64(a.Cost-z.Cost)*float64(z.Changes-a.Changes)
		if need := (int64(math.Ceil(line)) + 1) * int64(len(pl.w)); need > lim.Memory {
			return Schedule{}, fmt.Errorf("%w: at least %.0f changes, whose search would keep %d costs, over %d",
				ErrLimit, math.Ceil(line), need, lim.Memory)
		}
		b = pl.lagrangeBound(budget, a, z, lim)
	}
	layers, err := pl.layers(b, -1, lim)
	if err != nil {
		return Schedule{}, err
	}
	return pl.schedule(layers), nil
}

// Frontier returns the exact Pareto frontier of changes against cost for at most maxChanges
// changes: for every k from the fewest possible to maxChanges where it falls, the least cost
// of a never-short schedule with at most k changes, fewest changes first. It stops early at
// the floor (no schedule is cheaper). ErrLimit when the search would pass its limits.
func Frontier(p *Problem, maxChanges int, lim Limits) ([]Point, error) {
	pl, err := compile(p)
	if err != nil {
		return nil, err
	}
	layers, err := pl.layers(nil, maxChanges, lim)
	if err != nil {
		return nil, err
	}
	var out []Point
	last := int64(inf)
	for k, m := range layers {
		if c := m[len(m)-1]; c < last {
			out = append(out, Point{Changes: k, Cost: c})
			last = c
		}
	}
	return out, nil
}

// bound prunes the layered search at a budget: a state is dropped when no schedule through it
// can fit the budget with at most K changes. Without a Lagrangian bound (g nil) the rest of
// the schedule costs at least the floor's rest (suffix); with one, for the change cost
// λ = cb / ca of the hull's edge around the budget, g[r×levels+v] is the least
// ca × cost + cb × changes of the rest after run r at level v, and a schedule with k entries so
// far and at most K in all makes at most K − k more: the rest costs at least
// (g − cb × (K − k)) / ca. Both are lower bounds, so no schedule within the budget and K is
// ever dropped.
type bound struct {
	budget int64
	K      int
	ca, cb int64
	g      []int64
	// h[r] is the least ca × cost + cb × changes from entering any level at run r on.
	h []int64
}

// fits reports whether a state of layer k at level v, costing x up to the end of run r, can
// still be part of a schedule within the bound.
func (pl *plan) fits(b *bound, k int, r, v int, x int64) bool {
	if b == nil {
		return true
	}
	if b.g == nil {
		return x+pl.suffix[r+1] <= b.budget
	}
	return b.ca*x+b.g[r*len(pl.levels)+v]-b.cb*int64(b.K-k) <= b.ca*b.budget
}

// entering reports whether entering some level at run r from a cost of enter can fit.
func (pl *plan) entering(b *bound, k int, r int, enter int64) bool {
	if b == nil {
		return true
	}
	if b.g == nil {
		return enter+pl.levels[pl.lo[r]]*pl.w[r]+pl.suffix[r+1] <= b.budget
	}
	return b.ca*enter+b.h[r]-b.cb*int64(b.K-k) <= b.ca*b.budget
}

// layers runs the layered search: layer k holds, for every run r, the least cost of the steps
// up to the end of r with exactly k level entries (a change, or the first level when it is
// not the initial count; layer 0 stays at the initial count). Only the states that are
// reachable and fit the bound are visited, each layer a sparse walk over runs. With a bound it
// stops at the first layer whose whole schedule fits the budget; without one, after layer
// maxK or at the floor. The last layer is the answer.
func (pl *plan) layers(b *bound, maxK int, lim Limits) ([][]int64, error) {
	lim = lim.withDefaults()
	R, V := len(pl.w), len(pl.levels)
	if R == 0 {
		return [][]int64{{0}}, nil
	}
	val := make([]int64, V)
	for v := range val {
		val[v] = inf
	}
	live, next := make([]int32, 0, V), make([]int32, 0, V)
	var layers [][]int64
	var work, kept int64
	for k := 0; ; k++ {
		kept += int64(R)
		if kept > lim.Memory {
			return nil, fmt.Errorf("%w: %d changes are not enough, and more would keep over %d costs", ErrLimit, k-1, lim.Memory)
		}
		m := make([]int64, R)
		for _, v := range live {
			val[v] = inf
		}
		live = live[:0]
		enter := int64(inf)
		if k == 0 {
			val[pl.init], live = 0, append(live, pl.init) // held from before the first step
		} else {
			enter = 0 // the first level, entered at the first step
		}
		for r := range R {
			w, lo, hi := pl.w[r], pl.lo[r], pl.hi[r]
			next = next[:0]
			best := int64(inf)
			for _, v := range live {
				x := val[v] + pl.levels[v]*w
				if v < lo || v > hi || !pl.fits(b, k, r, int(v), x) {
					val[v] = inf
					continue
				}
				val[v] = x
				next = append(next, v)
				best = min(best, x)
			}
			work += int64(len(live))
			if enter < inf && pl.entering(b, k, r, enter) {
				work += int64(hi - lo + 1)
				for v := lo; v <= hi; v++ {
					x := enter + pl.levels[v]*w
					if x >= val[v] {
						continue
					}
					if val[v] == inf {
						if !pl.fits(b, k, r, int(v), x) {
							continue
						}
						next = append(next, v)
					}
					val[v] = x
					best = min(best, x)
				}
			}
			if work > lim.Work {
				return nil, fmt.Errorf("%w: %d changes are not enough, and more would take over %d steps of work", ErrLimit, k-1, lim.Work)
			}
			live, next = next, live
			m[r] = best
			if k > 0 {
				enter = layers[k-1][r]
			}
		}
		layers = append(layers, m)
		total := m[R-1]
		switch {
		case b != nil && total <= b.budget:
			return layers, nil
		case b == nil && (total == pl.floor.Cost || k == maxK):
			return layers, nil
		case k > R:
			// R + 1 entries reach every schedule, the floor among them.
			return nil, fmt.Errorf("optimum: the search ended without a schedule within %d", b.budget)
		}
	}
}

// lagrangeBound is the bound of the layered search at a budget from the hull's edge a–z around
// it (a over the budget, z within): the change cost of the edge, the cost to go of every state
// at that cost, and K = z's changes, which fit. Without room for the cost to go (lim.Memory
// cells) it falls back to the floor's rest.
func (pl *plan) lagrangeBound(budget int64, a, z Point, lim Limits) *bound {
	b := &bound{budget: budget, K: z.Changes}
	R, V := len(pl.w), len(pl.levels)
	if int64(R)*int64(V) > lim.withDefaults().Memory || z.Changes <= a.Changes {
		return b
	}
	b.ca, b.cb = int64(z.Changes-a.Changes), a.Cost-z.Cost
	b.g, b.h = make([]int64, R*V), make([]int64, R)
	g := b.g
	for v := range g[(R-1)*V:] {
		g[(R-1)*V+v] = 0
	}
	for r := R - 1; r >= 0; r-- {
		// h[r]: enter the cheapest level at run r, then go on from there.
		lo, hi, w := int(pl.lo[r]), int(pl.hi[r]), pl.w[r]
		h := int64(inf)
		for v := lo; v <= hi; v++ {
			h = min(h, b.ca*pl.levels[v]*w+g[r*V+v])
		}
		b.h[r] = h
		if r == 0 {
			break
		}
		// g[r−1][v]: at level v after run r−1, hold it through run r or change.
		plo, phi := int(pl.lo[r-1]), int(pl.hi[r-1])
		for v := plo; v <= phi; v++ {
			x := b.cb + h
			if v >= lo && v <= hi {
				x = min(x, b.ca*pl.levels[v]*w+g[r*V+v])
			}
			g[(r-1)*V+v] = x
		}
	}
	return b
}

// schedule rebuilds the last layer's whole schedule from the layers: its last segment is the
// one whose start, entered from the layer below at that cost, gives the cost of the layer, and
// so on back to the first step.
func (pl *plan) schedule(layers [][]int64) Schedule {
	k := len(layers) - 1
	levels := make([]int, pl.steps)
	r := len(pl.w) - 1
	target := layers[k][r]
	out := Schedule{Point: Point{Cost: target}, Levels: levels}
	fill := func(s, r int, level int64) {
		for t := pl.first[s]; t < pl.first[r]+int(pl.w[r]); t++ {
			levels[t] = int(level)
		}
	}
	for r >= 0 {
		if k == 0 {
			fill(0, r, pl.levels[pl.init])
			break
		}
		var wsum int64
		top, ceil := int32(0), int32(math.MaxInt32)
		found := false
		for s := r; s >= 0; s-- {
			wsum += pl.w[s]
			top, ceil = max(top, pl.lo[s]), min(ceil, pl.hi[s])
			if top > ceil {
				break
			}
			before := int64(0)
			if s > 0 {
				before = layers[k-1][s-1]
			}
			if before < inf && before+pl.levels[top]*wsum == target {
				fill(s, r, pl.levels[top])
				target, r, k, found = before, s-1, k-1, true
				break
			}
		}
		if !found {
			panic("optimum: a layer's cost has no segment that gives it")
		}
	}
	prev := -1
	if pl.steps > 0 {
		prev = int(pl.levels[pl.init])
	}
	for _, l := range levels {
		if l != prev {
			out.Changes++
		}
		prev = l
	}
	return out
}
