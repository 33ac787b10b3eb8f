// Package optimum computes the offline optimum a replay is measured against: with the whole
// need series known in advance, the fewest replica changes that are never short and cost no
// more replica-hours than a policy spent, and the Pareto frontier of changes against
// replica-hours (docs/design.md §11).
//
// It owns the arithmetic only. The need series is the policy's own (engine.Need at every step
// of a replay, read at the count before the step, as engine.Assess counts short time), and the
// bounds at every step are the policy's (minReplicas and maxReplicas with its schedules):
// ProblemOf takes both from a replay. Everything here is pure and reads no clock.
//
// # The problem
//
// A schedule is a level x[t] for every step t. It is never short when x[t] ≥ e[t], where e[t]
// is the need clamped into the bounds at t (a need above maxReplicas can be met only at
// maxReplicas, as by the policy), and it stays inside the bounds. It costs Σ x[t] replica-steps
// (× the step: replica-hours) and makes a change at every t where x[t] ≠ x[t−1], x[−1] being
// the count before the first step. The floor is the cheapest never-short schedule, e itself.
//
// Two facts make it small. Between two changes the best level is the largest e of the segment
// (anything higher costs more and buys nothing), so only the distinct values of e (and the
// initial count) are levels worth holding. And where e and the bounds stay the same for a run
// of steps, a change inside the run is never better than at one of its ends (the cost is
// linear in where it falls), so the search runs over runs of equal (e, max) rather than steps.
//
// # What is computed
//
// Fewest is exact: a dynamic programme over runs × levels, one layer per number of changes k
// (the cheapest schedule through each run with k changes), layer after layer until the
// cheapest one within the budget appears; its k is the answer, and walking the layers back
// gives the schedule. Each layer visits only the states that can still fit: for the change
// cost λ of the hull's edge around the budget, one backward pass gives every state's least
// cost + λ × changes to the end, and a state whose cost so far plus that, less λ × the changes
// the hull's vertex still allows, is over the budget cannot be on a schedule within it (a
// Lagrangian bound, so nothing within the budget is dropped). On a week at 60 s with 200
// levels this answers in tens of milliseconds of CPU (BenchmarkOptimumWeek); limits on work and
// on the layers kept bound it, and past them it says so and only the hull is known.
//
// Hull is the Lagrangian relaxation: minimising replica-steps + λ × changes is one pass of
// O(runs × levels), and bisecting the change cost λ between known vertices enumerates the
// vertices of the frontier's lower convex hull. Every vertex is a point of the exact frontier;
// between vertices the hull is a lower bound. The frontier need not be convex (a spike between
// two quiet hours can make two changes worth far more than one), so at a budget the hull's
// vertex within it may need more changes than the exact answer, and the hull's line at the
// budget may promise fewer. Measure computes both, and the tests check the order
// hull line ≤ exact ≤ hull vertex, and that every answer equals a brute force over every
// schedule of small problems.
//
// Must not import: cmd/..., gitops/..., render/..., promclient/..., internal/edit,
// internal/httpretry, internal/origin, internal/web, internal/testserver/..., net/http, os/exec,
// os.
package optimum
