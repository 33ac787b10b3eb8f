package web

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
)

// TestLostPushRacesAndDeferredDecisionsAreCounted: a cycle that lost every push race counts
// once in push_races_lost_total and sets the losing-cycles gauge to the Service's count in a
// row; each deferred decision counts in decisions_not_landed_total by its reason and leaves
// the replica gauges alone; a cycle whose push lands sets the gauge back to 0.
func TestLostPushRacesAndDeferredDecisionsAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewServiceMetrics(reg, func() time.Time { return chartT0 })
	m.InitRepositories([]string{"platform"})
	at := chartT0
	cycles := []struct {
		name                string
		ev                  gitops.CycleEvent
		lost, losing        float64
		deadline, pushRace  float64
		webCurrent, webWant float64
	}{
		{name: "a landed cycle", ev: gitops.CycleEvent{Repository: "platform", Report: &gitops.Report{Results: []gitops.Result{
			{Policy: "shop/web", Action: gitops.ActionCommitted, From: 3, To: 6, Commit: "abc", EvaluatedAt: at}}}},
			webCurrent: 6, webWant: 6},
		{name: "a lost race", ev: gitops.CycleEvent{Repository: "platform", Err: errors.New("push rejected"), RacesLostInARow: 1, Report: &gitops.Report{RaceLost: true, Results: []gitops.Result{
			{Policy: "shop/web", Action: gitops.ActionDeferred, NotLanded: gitops.NotLandedPushRace, From: 6, To: 9, EvaluatedAt: at},
			{Policy: "shop/api", Action: gitops.ActionDeferred, NotLanded: gitops.NotLandedPushRace, From: 2, To: 1, EvaluatedAt: at}}}},
			lost: 1, losing: 1, pushRace: 2, webCurrent: 6, webWant: 6},
		{name: "another, the deadline deferring one more", ev: gitops.CycleEvent{Repository: "platform", Err: errors.New("push rejected"), RacesLostInARow: 2, Report: &gitops.Report{RaceLost: true, Results: []gitops.Result{
			{Policy: "shop/web", Action: gitops.ActionDeferred, NotLanded: gitops.NotLandedPushRace, From: 6, To: 9, EvaluatedAt: at},
			{Policy: "shop/api", Action: gitops.ActionDeferred, NotLanded: gitops.NotLandedDeadline, EvaluatedAt: at}}}},
			lost: 2, losing: 2, deadline: 1, pushRace: 3, webCurrent: 6, webWant: 6},
		{name: "a fetch failure keeps the count", ev: gitops.CycleEvent{Repository: "platform", Err: errors.New("fetch"), RacesLostInARow: 2},
			lost: 2, losing: 2, deadline: 1, pushRace: 3, webCurrent: 6, webWant: 6},
		{name: "the push lands", ev: gitops.CycleEvent{Repository: "platform", Report: &gitops.Report{Results: []gitops.Result{
			{Policy: "shop/web", Action: gitops.ActionCommitted, From: 6, To: 9, Commit: "def", EvaluatedAt: at}}}},
			lost: 2, losing: 0, deadline: 1, pushRace: 3, webCurrent: 9, webWant: 9},
	}
	for _, c := range cycles {
		m.Observe(c.ev)
		assert.Equal(t, c.lost, testutil.ToFloat64(m.racesLost.WithLabelValues("platform")), "%s: races lost", c.name)
		assert.Equal(t, c.losing, testutil.ToFloat64(m.losing.WithLabelValues("platform")), "%s: losing cycles", c.name)
		assert.Equal(t, c.deadline, testutil.ToFloat64(m.notLanded.WithLabelValues("platform", gitops.NotLandedDeadline)), "%s: deadline", c.name)
		assert.Equal(t, c.pushRace, testutil.ToFloat64(m.notLanded.WithLabelValues("platform", gitops.NotLandedPushRace)), "%s: push race", c.name)
		assert.Equal(t, c.webCurrent, testutil.ToFloat64(m.current.WithLabelValues("shop/web")), "%s: current", c.name)
		assert.Equal(t, c.webWant, testutil.ToFloat64(m.desired.WithLabelValues("shop/web")), "%s: desired", c.name)
	}
	assert.Equal(t, 2.0, testutil.ToFloat64(m.evaluations.WithLabelValues("shop/web", gitops.ActionDeferred)), "deferred evaluations")
}

// TestStatusPageSaysWhichRepositoriesKeepLosingPushRaces: one line per repository that lost
// its last cycles' races, sorted, none when every push landed.
func TestStatusPageSaysWhichRepositoriesKeepLosingPushRaces(t *testing.T) {
	tests := []struct {
		name string
		lost map[string]int
		want []string
	}{
		{name: "none", lost: map[string]int{}},
		{name: "one cycle", lost: map[string]int{"platform": 1}, want: []string{
			"platform: the last 1 cycle lost every push race; their decisions are deferred to the next cycle"}},
		{name: "sorted, plural", lost: map[string]int{"shop": 4, "platform": 2}, want: []string{
			"platform: the last 2 cycles lost every push race; their decisions are deferred to the next cycle",
			"shop: the last 4 cycles lost every push race; their decisions are deferred to the next cycle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := racesLostLines(tt.lost)
			assert.Equal(t, tt.want, lines)
			var b strings.Builder
			require.NoError(t, statusTemplate.Execute(&b, statusView{Ready: true, RacesLost: lines}))
			assert.Equal(t, len(tt.want), strings.Count(b.String(), `<p class="invalid racelost">`))
			for _, l := range tt.want {
				assert.Contains(t, b.String(), l)
			}
		})
	}
}
