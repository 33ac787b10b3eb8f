package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
)

// OptimumText says how a policy's changes compare with the offline optimum at its own
// replica-hours (docs/design.md §11), in one phrase: "the best possible at these
// replica-hours: 41 (3.5×)"; when only the hull is known, its vertex is an upper bound and its
// line a lower one; when the policy spent less than the need itself, no never-short schedule
// compares.
func OptimumText(changes int, m *optimum.Result, step time.Duration) string {
	switch {
	case !m.Fits:
		return "no schedule that is never short costs this little: the need alone is " +
			strconv.FormatFloat(hours(m.Floor.Cost, step), 'f', 1, 64) + " replica-hours"
	case m.Exact != nil:
		return "the best possible at these replica-hours: " + strconv.Itoa(m.Exact.Changes) + " (" + timesText(changes, m.Exact.Changes) + ")"
	}
	return "the best possible at these replica-hours: between " + strconv.FormatFloat(m.Hull.Line, 'f', 0, 64) + " and " +
		strconv.Itoa(m.Hull.Vertex.Changes) + " (" + timesText(changes, m.Hull.Vertex.Changes) +
		" the hull's vertex; the exact search passed its limit)"
}

// OptimumCell is OptimumText in a table cell: "41 (3.5×)", "≤ 983 (2.4×)" from the hull,
// "— (below the need)".
func OptimumCell(changes int, m *optimum.Result) string {
	switch {
	case m == nil:
		return "—"
	case !m.Fits:
		return "— (below the need)"
	case m.Exact != nil:
		return strconv.Itoa(m.Exact.Changes) + " (" + timesText(changes, m.Exact.Changes) + ")"
	}
	return "≤ " + strconv.Itoa(m.Hull.Vertex.Changes) + " (" + timesText(changes, m.Hull.Vertex.Changes) + ")"
}

// HullText says where the frontier's convex hull puts the budget: its line (a lower bound) and
// its vertex within the budget (an upper bound): "the hull: 40.2 at these replica-hours, its
// vertex 43". Empty when the budget is below the floor.
func HullText(m *optimum.Result) string {
	if m.Hull == nil {
		return ""
	}
	return "the hull: " + strconv.FormatFloat(m.Hull.Line, 'f', 1, 64) + " at these replica-hours, its vertex " +
		strconv.Itoa(m.Hull.Vertex.Changes)
}

// FrontierText sums up the frontier of changes against replica-hours: each point as changes →
// replica-hours (× the need's), fewest changes first, the last the need itself.
func FrontierText(m *optimum.Result, step time.Duration) string {
	parts := make([]string, len(m.Frontier))
	for i, p := range m.Frontier {
		parts[i] = strconv.Itoa(p.Changes) + " → " + strconv.FormatFloat(hours(p.Cost, step), 'f', 1, 64) +
			" (" + strconv.FormatFloat(float64(p.Cost)/float64(max(m.Floor.Cost, 1)), 'f', 2, 64) + "×)"
	}
	return strings.Join(parts, ", ")
}

func hours(replicaSteps int64, step time.Duration) float64 {
	return float64(replicaSteps) * step.Seconds() / 3600
}

// timesText writes a ÷ b as "3.5×", "∞×" when b is 0 and a not.
func timesText(a, b int) string {
	switch {
	case b == 0 && a == 0:
		return "1.0×"
	case b == 0:
		return "∞×"
	}
	return strconv.FormatFloat(float64(a)/float64(b), 'f', 1, 64) + "×"
}
