package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// TestOptimumTexts: every way the optimum can answer reads as what it is — exact, only the
// hull's bounds (the exact search passed its limit), or no never-short schedule that cheap.
func TestOptimumTexts(t *testing.T) {
	exact := &optimum.Result{Fits: true, Floor: optimum.Point{Changes: 9, Cost: 680},
		Exact:    &optimum.Schedule{Point: optimum.Point{Changes: 41, Cost: 900}},
		Hull:     &optimum.HullAt{Vertex: optimum.Point{Changes: 43, Cost: 880}, Line: 40.24},
		Frontier: []optimum.Point{{Changes: 1, Cost: 2040}, {Changes: 41, Cost: 900}, {Changes: 9, Cost: 680}}}
	hullOnly := &optimum.Result{Fits: true, Floor: exact.Floor, Hull: exact.Hull}
	below := &optimum.Result{Floor: optimum.Point{Changes: 9, Cost: 7200}}
	step := time.Minute

	assert.Equal(t, "the best possible at these replica-hours: 41 (3.5×)", OptimumText(142, exact, step))
	assert.Equal(t, "the best possible at these replica-hours: between 40 and 43 (3.3× the hull's vertex; the exact search passed its limit)",
		OptimumText(142, hullOnly, step))
	assert.Equal(t, "no schedule that is never short costs this little: the need alone is 120.0 replica-hours", OptimumText(142, below, step))

	assert.Equal(t, "41 (3.5×)", OptimumCell(142, exact))
	assert.Equal(t, "≤ 43 (3.3×)", OptimumCell(142, hullOnly))
	assert.Equal(t, "— (below the need)", OptimumCell(142, below))
	assert.Equal(t, "—", OptimumCell(142, nil))
	assert.Equal(t, "0 (∞×)", OptimumCell(3, &optimum.Result{Fits: true, Exact: &optimum.Schedule{}}))

	assert.Equal(t, "the hull: 40.2 at these replica-hours, its vertex 43", HullText(exact))
	assert.Empty(t, HullText(below))
	assert.Equal(t, "1 → 34.0 (3.00×), 41 → 15.0 (1.32×), 9 → 11.3 (1.00×)", FrontierText(exact, step))
}
