package optimum

import (
	"math/bits"
	"slices"
	"sort"
)

// Hull returns the vertices of the lower convex hull of the frontier, fewest changes first:
// from the cheapest schedule with the fewest changes possible to the floor. Each vertex is a
// real schedule's point; between two vertices the hull is a straight line that the frontier
// lies on or above.
func Hull(p *Problem) ([]Point, error) {
	pl, err := compile(p)
	if err != nil {
		return nil, err
	}
	first := pl.fewestPossible()
	out := []Point{first}
	var walk func(a, z Point)
	walk = func(a, z Point) {
		if v, ok := pl.below(a, z); ok {
			walk(a, v)
			out = append(out, v)
			walk(v, z)
		}
	}
	if first != pl.floor {
		walk(first, pl.floor)
		out = append(out, pl.floor)
	}
	return out, nil
}

// HullAt is the hull at a budget: Vertex is the hull's vertex with the fewest changes that
// costs at most the budget (a real schedule), and Line the hull's change count at the budget
// itself, interpolated between the vertices around it (no schedule within the budget has
// fewer changes than Line).
type HullAt struct {
	Vertex Point   `json:"vertex"`
	Line   float64 `json:"line"`
}

// HullWithin returns the hull at a budget, bisecting only the hull's edges around it.
// ErrOverBudget when the budget is below the floor.
func HullWithin(p *Problem, budget int64) (HullAt, error) {
	pl, err := compile(p)
	if err != nil {
		return HullAt{}, err
	}
	if budget < pl.floor.Cost {
		return HullAt{}, ErrOverBudget
	}
	a, z := pl.edgeAround(budget)
	if a.Cost <= budget {
		return HullAt{Vertex: a, Line: float64(a.Changes)}, nil
	}
	line := float64(a.Changes) + float64(a.Cost-budget)/float64(a.Cost-z.Cost)*float64(z.Changes-a.Changes)
	return HullAt{Vertex: z, Line: line}, nil
}

// edgeAround returns the hull's edge a–z around a budget at or above the floor: a over the
// budget and z within it, by bisecting the change cost between vertices. When the fewest
// changes possible fit the budget, a is that schedule (and z the floor).
//
// The vertices it finds are kept with the plan (known, fewest changes first, and the pairs
// proven to be edges), so that the next budget starts from the closest ones.
func (pl *plan) edgeAround(budget int64) (a, z Point) {
	if pl.known == nil {
		pl.known = []Point{pl.fewestPossible()}
		if pl.known[0] != pl.floor {
			pl.known = append(pl.known, pl.floor)
		}
		pl.edges = map[[2]int]bool{}
	}
	for {
		// known is sorted by changes, so by cost the other way: z is the first within budget.
		i := sort.Search(len(pl.known), func(i int) bool { return pl.known[i].Cost <= budget })
		if i == 0 {
			return pl.known[0], pl.floor
		}
		a, z = pl.known[i-1], pl.known[i]
		key := [2]int{a.Changes, z.Changes}
		if pl.edges[key] {
			return a, z
		}
		v, ok := pl.below(a, z)
		if !ok {
			pl.edges[key] = true
			return a, z
		}
		pl.known = slices.Insert(pl.known, i, v)
	}
}

// fewestPossible is the cheapest schedule among those with the fewest changes possible.
func (pl *plan) fewestPossible() Point {
	// One change more costs more than any schedule can: changes first, then cost.
	return pl.lagrange(1, pl.levels[len(pl.levels)-1]*int64(pl.steps)+1)
}

// below returns the schedule furthest below the line through a and z (a with fewer changes,
// z cheaper), and whether it is strictly below: a vertex of the hull between them.
func (pl *plan) below(a, z Point) (Point, bool) {
	if z.Changes <= a.Changes || a.Cost <= z.Cost {
		return Point{}, false
	}
	ca, cb := int64(z.Changes-a.Changes), a.Cost-z.Cost
	v := pl.lagrange(ca, cb)
	return v, ca*v.Cost+cb*int64(v.Changes) < ca*a.Cost+cb*int64(a.Changes)
}

// lagrange returns the never-short schedule that minimises a × cost + b × changes, the one
// with fewer changes among equals: one pass over runs × levels, each level either held from
// the run before or entered from the cheapest state of the run before at b more. When the
// objective fits, it and the changes are packed into one integer (objective × 2^shift +
// changes), so that one comparison orders both.
func (pl *plan) lagrange(a, b int64) Point {
	if len(pl.w) == 0 {
		return Point{}
	}
	n := int64(pl.steps)
	shift := uint(bits.Len64(uint64(len(pl.w) + 2)))
	top := pl.levels[len(pl.levels)-1]
	if hi, lo := bits.Mul64(uint64(a), uint64(top*n)); hi == 0 && lo < 1<<61 {
		if hi, lo2 := bits.Mul64(uint64(b), uint64(n+1)); hi == 0 && lo2 < 1<<61 && (lo+lo2)<<shift < 1<<62 {
			return pl.lagrangePacked(a, b, shift)
		}
	}
	return pl.lagrangePairs(a, b)
}

func (pl *plan) lagrangePacked(a, b int64, shift uint) Point {
	V := len(pl.levels)
	key := make([]int64, V)
	for v := range key {
		key[v] = inf
	}
	key[pl.init] = 0
	step := b<<shift + 1
	enter := step // the first level entered at the first step
	for r := range pl.w {
		lo, hi := int(pl.lo[r]), int(pl.hi[r])
		aw := (a * pl.w[r]) << shift
		best := int64(inf)
		clear0 := key[:lo]
		for v := range clear0 {
			clear0[v] = inf
		}
		ks, lev := key[lo:hi+1], pl.levels[lo:hi+1]
		for i := range ks {
			x := min(ks[i], enter)
			x += lev[i] * aw
			ks[i] = x
			best = min(best, x)
		}
		above := key[hi+1:]
		for v := range above {
			above[v] = inf
		}
		enter = best + step
	}
	best := enter - step
	c := best & (1<<shift - 1)
	return Point{Changes: int(c), Cost: (best>>shift - b*c) / a}
}

func (pl *plan) lagrangePairs(a, b int64) Point {
	V := len(pl.levels)
	obj := make([]int64, V)
	ch := make([]int32, V)
	for v := range obj {
		obj[v] = inf
	}
	obj[pl.init] = 0
	enterObj, enterCh := b, int32(1) // the first level entered at the first step
	for r := range pl.w {
		lo, hi := int(pl.lo[r]), int(pl.hi[r])
		bestObj, bestCh := int64(inf), int32(0)
		for v := 0; v < lo; v++ {
			obj[v] = inf
		}
		for v := lo; v <= hi; v++ {
			o, c := obj[v], ch[v]
			if enterObj < o || enterObj == o && enterCh < c {
				o, c = enterObj, enterCh
			}
			if o < inf {
				o += a * pl.levels[v] * pl.w[r]
			}
			obj[v], ch[v] = o, c
			if o < bestObj || o == bestObj && c < bestCh {
				bestObj, bestCh = o, c
			}
		}
		for v := hi + 1; v < V; v++ {
			obj[v] = inf
		}
		enterObj, enterCh = bestObj+b, bestCh+1
	}
	o, c := enterObj-b, enterCh-1
	return Point{Changes: int(c), Cost: (o - b*int64(c)) / a}
}
