package optimum_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// brute is every never-short schedule of a small problem, by enumeration: every level
// sequence within the bounds, kept when it covers the need (clamped into the bounds).
type brute struct {
	// best[k] is the least cost with exactly k changes (-1: none).
	best []int64
	// cheapest[k] is one schedule of best[k].
	all []optimum.Point
}

func enumerate(p *optimum.Problem) brute {
	n := len(p.Need)
	b := brute{best: make([]int64, n+1)}
	for k := range b.best {
		b.best[k] = -1
	}
	levels := make([]int, n)
	var rec func(t int)
	rec = func(t int) {
		if t == n {
			pt := optimum.Point{}
			prev := p.Initial
			for _, l := range levels {
				pt.Cost += int64(l)
				if l != prev {
					pt.Changes++
				}
				prev = l
			}
			b.all = append(b.all, pt)
			if b.best[pt.Changes] < 0 || pt.Cost < b.best[pt.Changes] {
				b.best[pt.Changes] = pt.Cost
			}
			return
		}
		need := min(max(p.Need[t], p.Min[t]), p.Max[t])
		for l := need; l <= p.Max[t]; l++ {
			levels[t] = l
			rec(t + 1)
		}
	}
	rec(0)
	return b
}

// frontier is the brute force's Pareto frontier: (k, least cost with at most k changes) where
// it falls.
func (b brute) frontier() []optimum.Point {
	var out []optimum.Point
	for k, c := range b.best {
		if c >= 0 && (len(out) == 0 || c < out[len(out)-1].Cost) {
			out = append(out, optimum.Point{Changes: k, Cost: c})
		}
	}
	return out
}

// fewest is the brute force's answer at a budget: the fewest changes within it, cheapest.
func (b brute) fewest(budget int64) (optimum.Point, bool) {
	for k, c := range b.best {
		if c >= 0 && c <= budget {
			// The cheapest with exactly k changes; fewer changes never fit, so at most k is k.
			return optimum.Point{Changes: k, Cost: c}, true
		}
	}
	return optimum.Point{}, false
}

// lowerHull is the lower convex hull of frontier points (fewest changes first): its vertices.
func lowerHull(pts []optimum.Point) []optimum.Point {
	var h []optimum.Point
	for _, p := range pts {
		for len(h) >= 2 {
			a, b := h[len(h)-2], h[len(h)-1]
			// Drop b when it is on or above the line a–p.
			cross := (int64(b.Changes-a.Changes))*(p.Cost-a.Cost) - (b.Cost-a.Cost)*int64(p.Changes-a.Changes)
			if cross > 0 {
				break
			}
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	return h
}

func randomProblem(rng *rand.Rand) *optimum.Problem {
	n := 1 + rng.IntN(7)
	p := &optimum.Problem{Need: make([]int, n), Min: make([]int, n), Max: make([]int, n), Initial: rng.IntN(6)}
	lo, hi := rng.IntN(2), 2+rng.IntN(4)
	for t := range n {
		p.Need[t] = rng.IntN(7) // sometimes above the maximum, sometimes below the minimum
		p.Min[t], p.Max[t] = lo, hi
		if rng.IntN(5) == 0 { // a schedule raises the floor or moves the ceiling for a step
			p.Min[t] = lo + rng.IntN(2)
			p.Max[t] = max(p.Min[t], hi-1+rng.IntN(3))
		}
	}
	return p
}

// TestOptimumAgreesWithBruteForce enumerates every schedule of thousands of small problems
// (up to seven steps, levels 0–6, bounds that change, an initial count inside or outside
// them) and checks every answer of the package against it: the exact frontier point for
// point, the fewest changes within every budget from below the floor to above the dearest
// schedule (with the schedule itself re-counted), the floor, and the hull's vertices and its
// answer at every budget.
func TestOptimumAgreesWithBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 1))
	for i := range 3000 {
		p := randomProblem(rng)
		name := fmt.Sprintf("case %d: need %v min %v max %v initial %d", i, p.Need, p.Min, p.Max, p.Initial)
		b := enumerate(p)
		want := b.frontier()
		require.NotEmpty(t, want, name)

		got, err := optimum.Frontier(p, len(p.Need)+1, optimum.Limits{})
		require.NoError(t, err, name)
		require.Equal(t, want, got, "%s: frontier", name)

		floor, err := optimum.Floor(p)
		require.NoError(t, err, name)
		require.Equal(t, want[len(want)-1], floor, "%s: the floor is the frontier's cheapest point", name)

		hull, err := optimum.Hull(p)
		require.NoError(t, err, name)
		require.Equal(t, lowerHull(want), hull, "%s: hull", name)

		top := slices.MaxFunc(b.all, func(x, y optimum.Point) int { return int(x.Cost - y.Cost) }).Cost
		for budget := floor.Cost - 1; budget <= top+1; budget++ {
			wantPt, ok := b.fewest(budget)
			s, err := optimum.Fewest(p, budget, optimum.Limits{})
			h, herr := optimum.HullWithin(p, budget)
			if !ok {
				require.ErrorIs(t, err, optimum.ErrOverBudget, "%s: budget %d", name, budget)
				require.ErrorIs(t, herr, optimum.ErrOverBudget, "%s: budget %d", name, budget)
				continue
			}
			require.NoError(t, err, "%s: budget %d", name, budget)
			require.Equal(t, wantPt, s.Point, "%s: budget %d", name, budget)
			checkSchedule(t, p, s, fmt.Sprintf("%s: budget %d", name, budget))

			require.NoError(t, herr)
			// The hull's vertex within the budget: the first vertex that fits.
			for _, v := range hull {
				if v.Cost <= budget {
					require.Equal(t, v, h.Vertex, "%s: budget %d: hull vertex", name, budget)
					break
				}
			}
			assert.LessOrEqual(t, h.Line, float64(s.Changes)+1e-9, "%s: budget %d: the hull's line is a lower bound", name, budget)
			assert.GreaterOrEqual(t, h.Vertex.Changes, s.Changes, "%s: budget %d: the hull's vertex is an upper bound", name, budget)
		}
	}
}

// checkSchedule re-counts a schedule: never short, inside the bounds, its changes and cost.
func checkSchedule(t *testing.T, p *optimum.Problem, s optimum.Schedule, name string) {
	t.Helper()
	require.Len(t, s.Levels, len(p.Need), name)
	var pt optimum.Point
	prev := p.Initial
	for i, l := range s.Levels {
		require.GreaterOrEqual(t, l, min(max(p.Need[i], p.Min[i]), p.Max[i]), "%s: short at step %d", name, i)
		require.GreaterOrEqual(t, l, p.Min[i], "%s: below the minimum at step %d", name, i)
		require.LessOrEqual(t, l, p.Max[i], "%s: above the maximum at step %d", name, i)
		pt.Cost += int64(l)
		if l != prev {
			pt.Changes++
		}
		prev = l
	}
	require.Equal(t, s.Point, pt, "%s: the schedule's own changes and cost", name)
}

func constant(n, v int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// TestOptimumCases pins the answers of small named problems, each a fact the search relies on.
func TestOptimumCases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p        optimum.Problem
		budget   int64
		want     optimum.Point
		levels   []int
		wantHull optimum.Point
	}{
		{
			name:   "a spike between quiet hours is worth two changes at a small budget",
			p:      optimum.Problem{Need: []int{1, 1, 1, 1, 9, 1, 1, 1, 1}, Min: constant(9, 1), Max: constant(9, 10), Initial: 1},
			budget: 17, want: optimum.Point{Changes: 2, Cost: 17}, levels: []int{1, 1, 1, 1, 9, 1, 1, 1, 1},
			wantHull: optimum.Point{Changes: 2, Cost: 17},
		},
		{
			name:   "with room in the budget one change up and staying is enough",
			p:      optimum.Problem{Need: []int{1, 1, 1, 1, 9, 1, 1, 1, 1}, Min: constant(9, 1), Max: constant(9, 10), Initial: 1},
			budget: 50, want: optimum.Point{Changes: 1, Cost: 49}, levels: []int{1, 1, 1, 1, 9, 9, 9, 9, 9},
			wantHull: optimum.Point{Changes: 1, Cost: 49},
		},
		{
			name:   "an initial count that covers everything needs no change",
			p:      optimum.Problem{Need: []int{2, 5, 3}, Min: constant(3, 1), Max: constant(3, 10), Initial: 6},
			budget: 18, want: optimum.Point{Changes: 0, Cost: 18}, levels: []int{6, 6, 6},
			wantHull: optimum.Point{Changes: 0, Cost: 18},
		},
		{
			name:   "a need above the maximum is met at the maximum",
			p:      optimum.Problem{Need: []int{2, 50, 2}, Min: constant(3, 1), Max: constant(3, 10), Initial: 2},
			budget: 14, want: optimum.Point{Changes: 2, Cost: 14}, levels: []int{2, 10, 2},
			wantHull: optimum.Point{Changes: 2, Cost: 14},
		},
		{
			name:   "a schedule's floor is a need; an initial count above the maximum must come down",
			p:      optimum.Problem{Need: []int{0, 0, 0, 0}, Min: []int{1, 4, 4, 1}, Max: constant(4, 5), Initial: 7},
			budget: 16, want: optimum.Point{Changes: 1, Cost: 16}, levels: []int{4, 4, 4, 4},
			wantHull: optimum.Point{Changes: 1, Cost: 16},
		},
		{
			// One change holds 10 throughout (40); a second buys nothing, since the last step
			// needs 10 again; three come down between the peaks (22).
			name: "peaks at both ends: coming down between them takes two changes, never one",
			p: optimum.Problem{
				Need: []int{10, 1, 1, 10}, Min: constant(4, 1), Max: constant(4, 10), Initial: 1,
			},
			budget: 31, want: optimum.Point{Changes: 3, Cost: 22}, levels: []int{10, 1, 1, 10},
			wantHull: optimum.Point{Changes: 3, Cost: 22},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := optimum.Fewest(&tc.p, tc.budget, optimum.Limits{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, s.Point)
			assert.Equal(t, tc.levels, s.Levels)
			h, err := optimum.HullWithin(&tc.p, tc.budget)
			require.NoError(t, err)
			assert.Equal(t, tc.wantHull, h.Vertex)
		})
	}
}

// TestOptimumNotConvex pins a problem whose frontier is not convex, so that the hull's vertex
// within a budget needs more changes than the exact answer and its line fewer: what Measure
// reports as the gap between the two.
func TestOptimumNotConvex(t *testing.T) {
	// Two spikes between quiet steps, the initial count at the quiet level: one change (up
	// to 9 and stay) costs 64, two (and down after the second spike) 56, three (down between
	// the spikes) 32, four 24. The second change saves 8, the third 24: (2, 56) lies above the
	// hull's edge from (1, 64) to (3, 32).
	p := &optimum.Problem{Need: []int{1, 9, 1, 1, 1, 1, 9, 1}, Min: constant(8, 1), Max: constant(8, 9), Initial: 1}
	front, err := optimum.Frontier(p, 10, optimum.Limits{})
	require.NoError(t, err)
	hull, err := optimum.Hull(p)
	require.NoError(t, err)
	assert.Less(t, len(hull), len(front), "some frontier point is above the hull: %v against %v", front, hull)
	for _, f := range front {
		if !slices.Contains(hull, f) {
			h, err := optimum.HullWithin(p, f.Cost)
			require.NoError(t, err)
			s, err := optimum.Fewest(p, f.Cost, optimum.Limits{})
			require.NoError(t, err)
			assert.Equal(t, f, s.Point)
			assert.Greater(t, h.Vertex.Changes, s.Changes, "at %d the hull's vertex needs more changes", f.Cost)
			assert.Less(t, h.Line, float64(s.Changes), "and its line promises fewer")
			return
		}
	}
	t.Fatal("no frontier point off the hull")
}

// TestOptimumProperties checks, on larger random problems than the brute force reaches, what
// must hold whatever the answer: the frontier falls as changes grow and ends at the floor;
// the fewest changes within a budget fall as the budget grows, each schedule never short and
// within its budget; the hull's line and vertex bracket the exact answer.
func TestOptimumProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 19))
	for i := range 20 {
		n := 50 + rng.IntN(400)
		p := &optimum.Problem{Need: make([]int, n), Min: constant(n, 1), Max: constant(n, 30), Initial: 1}
		x := 5.0
		for t := range n {
			x = max(0, x+rng.NormFloat64()*2)
			p.Need[t] = int(x) + rng.IntN(3)
			if rng.IntN(50) == 0 {
				p.Need[t] += 15 // a spike
			}
		}
		name := fmt.Sprintf("case %d (%d steps)", i, n)
		floor, err := optimum.Floor(p)
		require.NoError(t, err)
		front, err := optimum.Frontier(p, n+1, optimum.Limits{})
		require.NoError(t, err, name)
		for j := 1; j < len(front); j++ {
			require.Greater(t, front[j].Changes, front[j-1].Changes, name)
			require.Less(t, front[j].Cost, front[j-1].Cost, name)
		}
		require.Equal(t, floor, front[len(front)-1], "%s: the frontier ends at the floor", name)

		prev := n + 1
		for _, f := range []float64{1, 1.02, 1.1, 1.3, 1.6, 2.5} {
			budget := int64(f * float64(floor.Cost))
			s, err := optimum.Fewest(p, budget, optimum.Limits{})
			require.NoError(t, err, name)
			checkSchedule(t, p, s, name)
			require.LessOrEqual(t, s.Cost, budget, name)
			require.LessOrEqual(t, s.Changes, prev, "%s: more budget, no more changes", name)
			prev = s.Changes
			// The exact frontier says the same.
			k := 0
			for k < len(front) && front[k].Cost > budget {
				k++
			}
			require.Equal(t, front[k].Changes, s.Changes, "%s: budget %d", name, budget)
			h, err := optimum.HullWithin(p, budget)
			require.NoError(t, err)
			require.LessOrEqual(t, h.Line, float64(s.Changes)+1e-9, name)
			require.GreaterOrEqual(t, h.Vertex.Changes, s.Changes, name)
		}
	}
}

func TestOptimumRefusesBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    optimum.Problem
		want string
	}{
		{"lengths", optimum.Problem{Need: []int{1, 2}, Min: []int{1}, Max: []int{3, 3}}, "2 needs but 1 minimums and 2 maximums"},
		{"bounds", optimum.Problem{Need: []int{1}, Min: []int{4}, Max: []int{3}}, "step 0: bounds [4, 3] are not a range of counts"},
		{"initial", optimum.Problem{Need: []int{1}, Min: []int{1}, Max: []int{3}, Initial: -1}, "initial count -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := optimum.Fewest(&tc.p, 10, optimum.Limits{})
			assert.ErrorContains(t, err, tc.want)
			_, err = optimum.Hull(&tc.p)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestOptimumLimit: past its work limit the exact search says so, and the hull still answers.
func TestOptimumLimit(t *testing.T) {
	n := 2000
	p := &optimum.Problem{Need: make([]int, n), Min: constant(n, 1), Max: constant(n, 20), Initial: 1}
	for i := range p.Need {
		p.Need[i] = 1 + (i*7919)%19
	}
	floor, _ := optimum.Floor(p)
	_, err := optimum.Fewest(p, floor.Cost, optimum.Limits{Work: 1_000_000})
	require.True(t, errors.Is(err, optimum.ErrLimit), "got %v", err)
	h, err := optimum.HullWithin(p, floor.Cost)
	require.NoError(t, err)
	assert.Equal(t, floor, h.Vertex)
}
