package web

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

func intp(v int) *int { return &v }

func shadowEvent(id string, c *engine.ShadowComparison) gitops.CycleEvent {
	return gitops.CycleEvent{Repository: "shop", Report: &gitops.Report{Results: []gitops.Result{{
		Policy: id, Action: gitops.ActionUnchanged, From: 3, To: 3, EvaluatedAt: chartT0, Shadow: c,
	}}}}
}

func TestShadowMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewServiceMetrics(reg, func() time.Time { return chartT0 })
	shadowNames := []string{
		"gitops_autoscaler_shadow_live_replicas", "gitops_autoscaler_shadow_desired_replicas",
		"gitops_autoscaler_shadow_changes", "gitops_autoscaler_shadow_replica_hours", "gitops_autoscaler_shadow_short_seconds",
	}

	m.Observe(shadowEvent("shop/web", &engine.ShadowComparison{
		Live: intp(8), Ours: intp(6), LiveChanges: 17, OurChanges: 3,
		LiveReplicaHours: 190.5, OurReplicaHours: 150.25, LiveShortSeconds: 0, OurShortSeconds: 60,
	}))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP gitops_autoscaler_shadow_changes Replica changes over the last 24h, by side: the live autoscaler's (live) and those the shadow policy's replay would have made (ours).
# TYPE gitops_autoscaler_shadow_changes gauge
gitops_autoscaler_shadow_changes{policy="shop/web",side="live"} 17
gitops_autoscaler_shadow_changes{policy="shop/web",side="ours"} 3
# HELP gitops_autoscaler_shadow_desired_replicas The replica count a shadow policy would run now, replayed over the last 24h from the live count as if it had been in charge; absent when unknown.
# TYPE gitops_autoscaler_shadow_desired_replicas gauge
gitops_autoscaler_shadow_desired_replicas{policy="shop/web"} 6
# HELP gitops_autoscaler_shadow_live_replicas The desired replica count of the live autoscaler a shadow policy runs beside (spec.shadow.promQL), at the policy's last evaluation; absent when unknown.
# TYPE gitops_autoscaler_shadow_live_replicas gauge
gitops_autoscaler_shadow_live_replicas{policy="shop/web"} 8
# HELP gitops_autoscaler_shadow_replica_hours Replica-hours paid for over the last 24h, by side (live, ours).
# TYPE gitops_autoscaler_shadow_replica_hours gauge
gitops_autoscaler_shadow_replica_hours{policy="shop/web",side="live"} 190.5
gitops_autoscaler_shadow_replica_hours{policy="shop/web",side="ours"} 150.25
# HELP gitops_autoscaler_shadow_short_seconds Seconds over the last 24h that each side (live, ours) ran fewer replicas than the policy's metrics need.
# TYPE gitops_autoscaler_shadow_short_seconds gauge
gitops_autoscaler_shadow_short_seconds{policy="shop/web",side="live"} 0
gitops_autoscaler_shadow_short_seconds{policy="shop/web",side="ours"} 60
`), shadowNames...))

	// The live count went missing and there was no replay: those series go, the live side's
	// window figures stay.
	m.Observe(shadowEvent("shop/web", &engine.ShadowComparison{LiveCause: "empty result", OursCause: "no live count to start from", LiveChanges: 2}))
	assert.Equal(t, 0, testutil.CollectAndCount(m.shadow.live))
	assert.Equal(t, 0, testutil.CollectAndCount(m.shadow.desired))
	assert.Equal(t, 1, testutil.CollectAndCount(m.shadow.changes), "only the live side's")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.shadow.changes.WithLabelValues("shop/web", sideLive)))

	// No longer a shadow policy: its shadow series are gone, others' stay.
	m.Observe(shadowEvent("shop/api", &engine.ShadowComparison{Live: intp(2), Ours: intp(2)}))
	m.Observe(shadowEvent("shop/web", nil))
	assert.Equal(t, 1, testutil.CollectAndCount(m.shadow.live))
	assert.Equal(t, 2, testutil.CollectAndCount(m.shadow.changes), "shop/api's two sides")
	assert.Equal(t, 2.0, testutil.ToFloat64(m.shadow.live.WithLabelValues("shop/api")))
}

func TestNewShadowRow(t *testing.T) {
	assert.Nil(t, newShadowRow(nil), "not a shadow policy")
	c := engine.ShadowComparison{Start: chartT0, End: chartT0.Add(24*time.Hour - time.Minute), Step: time.Minute}
	c.Live, c.Ours, c.LiveChanges, c.OurChanges, c.LiveReplicaHours, c.OurReplicaHours = intp(8), intp(6), 17, 3, 190.46, 150
	r := newShadowRow(&c)
	assert.Equal(t, &shadowRow{Window: "24h", Live: "8", Ours: "6", LiveChanges: 17, OurChanges: "3", LiveHours: "190.5", OurHours: "150.0", Lower: true}, r)
	short := engine.ShadowComparison{Start: chartT0, End: chartT0.Add(100 * time.Minute), Step: 30 * time.Second, Live: intp(2), Ours: intp(2)}
	assert.Equal(t, "1h40m", newShadowRow(&short).Window, "the time the live count has been known")
	assert.True(t, newShadowRow(&short).Agree)
	r = newShadowRow(&engine.ShadowComparison{LiveCause: "empty result", OursCause: "no live count to start from"})
	assert.Equal(t, &shadowRow{Live: "—", Ours: "—", OurChanges: "—", LiveHours: "0.0", OurHours: "—",
		LiveCause: "empty result", OursCause: "no live count to start from"}, r, "unknown is a dash and a cause, never a 0")
}

func TestShadowLines(t *testing.T) {
	at := func(min int) time.Time { return chartT0.Add(time.Duration(min) * time.Minute) }
	rp := func(min, n int) engine.ReplicaPoint { return engine.ReplicaPoint{At: at(min), Replicas: n} }
	c := &engine.ShadowComparison{
		LivePoints: []engine.ReplicaPoint{rp(0, 3), rp(10, 5), rp(40, 4), rp(70, 6)},
		OurPoints:  []engine.ReplicaPoint{rp(0, 3), rp(0, 5), rp(50, 4), rp(90, 2)},
	}
	lines, marks := shadowLines(c, at(20), at(60))
	require.Len(t, lines, 2)
	assert.Equal(t, ChartSeries{Name: "ours", Axis: AxisRight, Step: true, Points: []ChartPoint{{at(20), 5}, {at(50), 4}, {at(60), 4}}}, lines[0],
		"the count in force at the start, the changes inside, held to the end")
	assert.Equal(t, ChartSeries{Name: "live", Axis: AxisRight, Step: true, Points: []ChartPoint{{at(20), 5}, {at(40), 4}, {at(60), 4}}}, lines[1])
	assert.Equal(t, []ChartMark{{T: at(50), Label: "11:50 ours would 5 → 4"}}, marks, "only our changes inside the window")

	lines, marks = shadowLines(&engine.ShadowComparison{LivePoints: []engine.ReplicaPoint{rp(30, 2)}}, at(20), at(60))
	require.Len(t, lines, 1, "no replay: the live line alone")
	assert.Equal(t, []ChartPoint{{at(30), 2}, {at(60), 2}}, lines[0].Points, "a line that starts late starts where it starts")
	assert.Empty(t, marks)

	svg := string(SVGChart(Chart{Series: lines}))
	assert.Contains(t, svg, `data-series="live"`)
}

// TestShadowRowBest: the shadow row carries the offline optimum at each side's replica-hours
// when it was computed — exact, the hull's bound, or short — and nothing when it was not.
func TestShadowRowBest(t *testing.T) {
	c := engine.ShadowComparison{Start: chartT0, End: chartT0.Add(time.Hour), Step: time.Minute, Live: intp(8), Ours: intp(6),
		LiveBest: &engine.ShadowBest{Fits: true, Exact: true, Changes: 4}, OurBest: &engine.ShadowBest{Fits: true, Changes: 2}}
	r := newShadowRow(&c)
	assert.Equal(t, "4", r.LiveBest)
	assert.Equal(t, "≤ 2", r.OurBest)
	c.LiveBest, c.OurBest = &engine.ShadowBest{}, nil
	r = newShadowRow(&c)
	assert.Equal(t, "— (short)", r.LiveBest)
	assert.Equal(t, "—", r.OurBest)
	c.LiveBest = nil
	r = newShadowRow(&c)
	assert.Empty(t, r.LiveBest+r.OurBest, "not computed: no line")
}
