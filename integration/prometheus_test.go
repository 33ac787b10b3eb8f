package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// rpsMetric is a step rule on the web tier's request rate: +3 above 100, −1 below 50.
const rpsMetric = `    - name: http_rps
      promQL: max(web_requests_per_second{app="web"})
      scaleUp: {threshold: 100, step: 3}
      scaleDown: {threshold: 50, step: 1}
`

// backlogMetric is a per-replica target on the queue backlog: ceil(backlog / 100) replicas.
const backlogMetric = `    - name: backlog
      promQL: sum(queue_backlog{queue="emails"})
      target: {type: AverageValue, averageValue: 100}
`

var (
	webLabels   = map[string]string{"app": "web"}
	queueLabels = map[string]string{"queue": "emails"}
)

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// TestLiveScrapeScalesUpThroughEvaluate: an exporter run by the test serves the request rate,
// a real Prometheus scrapes it every second, and `evaluate` — the built binary, a fresh
// process each time — reads it at "now": a calm rate changes nothing; a high one commits the
// scale-up to the Git server with the §6 message, touching only the replica count.
func TestLiveScrapeScalesUpThroughEvaluate(t *testing.T) {
	e := promtest.NewExporter(t)
	e.Set("web_requests_per_second", webLabels, 70)
	prom := promtest.Start(t, promtest.WithScrapeTarget("web", e.HostPort()))
	f := newFixture(t, prom, policyYAML(rpsMetric, ""), 3)
	initial := f.head(t)

	// `offset 2s`: the scraped value must already be there at the instant evaluate decides
	// for, which is its start truncated to the second.
	prom.WaitForSeries(t, `web_requests_per_second{app="web"} offset 2s == 70`)
	calm := f.evaluate(t)
	assert.Equal(t, gitops.ActionUnchanged, calm.Action, calm.Reasons)
	assert.Equal(t, 3, calm.To)
	require.NotNil(t, calm.Metrics["http_rps"])
	assert.Equal(t, 70.0, *calm.Metrics["http_rps"])
	assert.Equal(t, initial, f.head(t), "no commit while the rate is calm")

	e.Set("web_requests_per_second", webLabels, 500)
	prom.WaitForSeries(t, `web_requests_per_second{app="web"} offset 2s == 500`)
	before := time.Now().UTC().Truncate(time.Second)
	up := f.evaluate(t)

	assert.Equal(t, gitops.ActionCommitted, up.Action, up.Reasons)
	assert.Equal(t, 3, up.From)
	assert.Equal(t, 6, up.To)
	assert.False(t, up.EvaluatedAt.Before(before), "evaluated at now, not a past instant")
	head := f.head(t)
	assert.Equal(t, head, up.Commit)
	assert.Equal(t, 6, f.replicas(t))

	log := f.git.Log(repoName, "main")
	require.Len(t, log, 2, "one commit per decision")
	assert.Equal(t, []string{initial}, log[0].Parents)
	assert.Equal(t, "autoscale(prod/web): 3 → 6 replicas", log[0].Subject)
	assert.Equal(t, "gitops-autoscaler <autoscaler@example.com>", log[0].Author)
	assert.Contains(t, log[0].Message, "http_rps = 500 > scaleUp.threshold 100 → 6")
	tr := f.trailers(t, head)
	assert.Equal(t, commitmsg.Trailers{
		PolicyID:    policyID,
		Target:      valuesFile + "#" + replicaPath,
		From:        3,
		To:          6,
		Metrics:     "http_rps=500",
		EvaluatedAt: up.EvaluatedAt,
		DecisionID:  commitmsg.DecisionID(policyID, policy.ReplicasLocation{File: valuesFile, Path: replicaPath}, 3, 6),
	}, tr)
}

// TestStabilizationFromSeededHistory: the backlog was high (800 → 8 replicas) until 150 s
// before T and is low now (200 → 2). A fresh `evaluate --at T` holds the scale-down at the
// highest recommendation of the 300 s window, 8 — a number that exists only in Prometheus's
// history, so the window was recomputed from range queries, with no state of the
// autoscaler's own. Five minutes later the window has forgotten the peak and it goes to 2.
func TestStabilizationFromSeededHistory(t *testing.T) {
	at := historyBase()
	prom := seeded(t, gauge("queue_backlog", queueLabels, at.Add(-10*time.Minute), at.Add(10*time.Minute), func(ts time.Time) float64 {
		if ts.Before(at.Add(-150 * time.Second)) {
			return 800
		}
		return 200
	}))
	f := newFixture(t, prom, policyYAML(backlogMetric, "  behavior: {stabilizationWindowSeconds: 300}\n"), 10)

	held := f.evaluate(t, "--at", rfc3339(at))

	assert.Equal(t, gitops.ActionCommitted, held.Action, held.Reasons)
	assert.Equal(t, 10, held.From)
	assert.Equal(t, 8, held.To, "the window's highest recommendation, not the raw 2")
	assert.Contains(t, codes(held), engine.ReasonStabilized)
	assert.Contains(t, f.git.Log(repoName, "main")[0].Message,
		"stabilization: highest recommendation in the last 300s (scale-down window) is 8")
	require.NotNil(t, held.Metrics["backlog"])
	assert.Equal(t, 200.0, *held.Metrics["backlog"])
	assert.Equal(t, 8, f.replicas(t))

	later := f.evaluate(t, "--at", rfc3339(at.Add(5*time.Minute)))

	assert.Equal(t, gitops.ActionCommitted, later.Action, later.Reasons)
	assert.Equal(t, 8, later.From)
	assert.Equal(t, 2, later.To)
	assert.NotContains(t, codes(later), engine.ReasonStabilized)
	assert.Equal(t, 2, f.replicas(t))
}

// spikeBacklog is the queue backlog around t0: 300 before (3 replicas' worth), 800 for a
// minute (8), 500 for the next (5), then 200 (2).
func spikeBacklog(t0 time.Time) promtest.Series {
	return gauge("queue_backlog", queueLabels, t0.Add(-10*time.Minute), t0.Add(10*time.Minute), func(ts time.Time) float64 {
		switch d := ts.Sub(t0); {
		case d < 0:
			return 300
		case d < time.Minute:
			return 800
		case d < 2*time.Minute:
			return 500
		default:
			return 200
		}
	})
}

// stabilized120 is the backlog policy with a 120 s scale-down stabilization window.
var stabilized120 = policyYAML(backlogMetric, "  behavior: {stabilizationWindowSeconds: 120}\n")

// TestRestartDecidesTheSame pins docs/design.md §9 invariant 6. Precisely: let a process evaluate
// the policy every 30 s from t0 to t0+120s, committing its decisions (3 → 8 at t0, then holds). At
// T = t0+150s its 120 s stabilization window holds the recommendations of t0+60s, t0+90s and
// t0+120s (5, 5, 2; raw now: 2). Then (a) a new Runner with an empty cache directory — the process
// restarted — and (b) a one-shot `evaluate --at T` of the built binary, also with an empty cache,
// decide exactly what the process that ran all along decides at T: the same from, to, metric values
// and reason lines (8 → 5, Stabilized). Git and Prometheus are the only state.
func TestRestartDecidesTheSame(t *testing.T) {
	t0 := historyBase()
	final := t0.Add(150 * time.Second)
	prom := seeded(t, spikeBacklog(t0))
	f := newFixture(t, prom, stabilized120, 3)

	running := f.runner(t)
	for at := t0; at.Before(final); at = at.Add(30 * time.Second) {
		r := f.cycle(t, running, at, false)
		require.NotEqual(t, gitops.ActionError, r.Action, r.Error)
	}
	require.Equal(t, 1, f.decisions(t), "3 → 8 at t0, then the window holds")
	require.Equal(t, 8, f.replicas(t))

	restarted := f.cycle(t, f.runner(t), final, true)
	oneShot := f.evaluate(t, "--dry-run", "--at", rfc3339(final))
	ranAllAlong := f.cycle(t, running, final, false)

	assert.Equal(t, gitops.ActionCommitted, ranAllAlong.Action, ranAllAlong.Reasons)
	assert.Equal(t, 8, ranAllAlong.From)
	assert.Equal(t, 5, ranAllAlong.To, "the window's highest recommendation, not the raw 2")
	assert.Contains(t, codes(ranAllAlong), engine.ReasonStabilized, "the window is not empty")
	for name, other := range map[string]gitops.Result{"new runner": restarted, "one-shot evaluate": oneShot} {
		assert.Equal(t, gitops.ActionDryRun, other.Action, name)
		assert.Equal(t, ranAllAlong.From, other.From, name)
		assert.Equal(t, ranAllAlong.To, other.To, name)
		assert.Equal(t, ranAllAlong.Metrics, other.Metrics, name)
		// The JSON of a one-shot run carries each reason's code and message; the typed parts
		// they are rendered from stay in the process.
		assert.Equal(t, reasonTexts(ranAllAlong.Reasons), reasonTexts(other.Reasons), name)
		assert.True(t, ranAllAlong.EvaluatedAt.Equal(other.EvaluatedAt), name)
	}
	assert.Equal(t, 5, f.replicas(t))
}

// TestPrometheusOutageBlocksScaleDown: a running process scales down on a low rate; then
// Prometheus stops. With every metric missing the policy holds — no commit, from that process
// nor from a one-shot evaluate — however low the rate was; nothing drifts toward minReplicas.
// Prometheus restarts on the same port and data, and the same process scales down again.
func TestPrometheusOutageBlocksScaleDown(t *testing.T) {
	t0 := historyBase()
	prom := seeded(t, gauge("web_requests_per_second", webLabels, t0.Add(-10*time.Minute), t0.Add(10*time.Minute),
		func(time.Time) float64 { return 20 }))
	f := newFixture(t, prom, policyYAML(rpsMetric, ""), 5)
	running := f.runner(t)

	first := f.cycle(t, running, t0, false)
	require.Equal(t, gitops.ActionCommitted, first.Action, first.Reasons)
	require.Equal(t, 4, first.To, "20 < scaleDown.threshold 50: one step down")
	head := f.head(t)

	prom.Stop()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) gitops.Result
	}{
		{"running process", func(t *testing.T) gitops.Result { return f.cycle(t, running, t0.Add(30*time.Second), false) }},
		{"one-shot evaluate, exit 3 (held blind)", func(t *testing.T) gitops.Result {
			return f.evaluateExit(t, 3, "--at", rfc3339(t0.Add(60*time.Second)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(t)
			assert.Equal(t, gitops.ActionHeldBlind, r.Action, r.Reasons)
			assert.Equal(t, 4, r.From)
			assert.Equal(t, 4, r.To, "no scale-down while the metric is missing")
			assert.Contains(t, codes(r), engine.ReasonAllMetricsMissing)
			assert.Contains(t, r.Metrics, "http_rps")
			assert.Nil(t, r.Metrics["http_rps"], "the value is missing, not 0")
			assert.Equal(t, head, f.head(t), "no commit")
		})
	}

	prom.Restart()
	resumed := f.cycle(t, running, t0.Add(90*time.Second), false)

	assert.Equal(t, gitops.ActionCommitted, resumed.Action, resumed.Reasons)
	assert.Equal(t, 4, resumed.From)
	assert.Equal(t, 3, resumed.To)
	assert.Equal(t, 3, f.replicas(t))
	assert.Equal(t, 2, f.decisions(t))
}

// TestSyncCheckHoldsUntilLive: the rate stays high (every evaluation wants +3). The first
// scale-up, 3 → 6, is committed; while kube_deployment_spec_replicas still reports 3 the next
// evaluation holds with NotSynced and commits nothing; once it reports 6 the scale-up to 9
// goes ahead. Both evaluations are fresh `evaluate --at` processes.
func TestSyncCheckHoldsUntilLive(t *testing.T) {
	t0 := historyBase()
	synced := t0.Add(time.Minute)
	prom := seeded(t,
		gauge("web_requests_per_second", webLabels, t0.Add(-10*time.Minute), t0.Add(10*time.Minute), func(time.Time) float64 { return 500 }),
		gauge("kube_deployment_spec_replicas", map[string]string{"namespace": "prod", "deployment": "web"},
			t0.Add(-10*time.Minute), t0.Add(10*time.Minute), func(ts time.Time) float64 {
				if ts.Before(synced) {
					return 3
				}
				return 6
			}),
	)
	sync := `  syncCheck:
    promQL: kube_deployment_spec_replicas{namespace="prod",deployment="web"}
    timeoutSeconds: 600
`
	f := newFixture(t, prom, policyYAML(rpsMetric, sync), 3)

	first := f.evaluate(t, "--at", rfc3339(t0))
	require.Equal(t, gitops.ActionCommitted, first.Action, first.Reasons)
	require.Equal(t, 6, first.To)
	head := f.head(t)

	notLive := f.evaluate(t, "--at", rfc3339(t0.Add(30*time.Second)))

	assert.Equal(t, gitops.ActionHeld, notLive.Action, notLive.Reasons)
	assert.Equal(t, 6, notLive.From)
	assert.Equal(t, 6, notLive.To)
	assert.Contains(t, codes(notLive), engine.ReasonNotSynced)
	var msg string
	for _, r := range notLive.Reasons {
		if r.Code == engine.ReasonNotSynced {
			msg = r.Message
		}
	}
	assert.Contains(t, msg, "cluster runs 3, Git has 6")
	assert.Equal(t, head, f.head(t), "no commit while the last change is not live")

	live := f.evaluate(t, "--at", rfc3339(synced.Add(30*time.Second)))

	assert.Equal(t, gitops.ActionCommitted, live.Action, live.Reasons)
	assert.Equal(t, 6, live.From)
	assert.Equal(t, 9, live.To)
	assert.NotContains(t, codes(live), engine.ReasonNotSynced)
	assert.Equal(t, 9, f.replicas(t))
}

// TestBacktestOverSeededHistory: `backtest --prometheus` (the built binary) replays the
// stabilized backlog policy over the seeded spike from t0−60s to t0+270s and makes the
// decisions a live run makes (see TestRestartDecidesTheSame): up to 8 when the spike starts,
// down to 5 when the window has only the 500s and 200s in it, down to 2 when only 200s.
func TestBacktestOverSeededHistory(t *testing.T) {
	t0 := historyBase()
	prom := seeded(t, spikeBacklog(t0))
	policyFile := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(policyFile, []byte(stabilized120), 0o600))

	code, out, stderr := runCLI(t, "backtest", "--policy", policyFile, "--prometheus", prom.URL(),
		"--start", rfc3339(t0.Add(-time.Minute)), "--end", rfc3339(t0.Add(270*time.Second)), "--step", "30s", "--initial", "3", "-o", "json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)

	var got engine.BacktestResult
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	type change struct {
		At       time.Time
		From, To int
		Backlog  float64
	}
	var changes []change
	for _, d := range got.Decisions {
		changes = append(changes, change{d.Time.UTC(), d.From, d.To, d.Metrics["backlog"]})
	}
	assert.Equal(t, []change{
		{t0, 3, 8, 800},
		{t0.Add(150 * time.Second), 8, 5, 200},
		{t0.Add(210 * time.Second), 5, 2, 200},
	}, changes)
	assert.Equal(t, engine.BacktestSummary{
		Evaluations: 12, Changes: 3, ScaleUps: 1, ScaleDowns: 2,
		// After each step: 3, 3, 8 (five steps), 5, 5, 2, 2, 2 — 62 replicas × 30 s.
		ReplicaSeconds: 62 * 30,
		// The count never trails ceil(backlog / 100): stabilization only delays scale-downs.
		UnderProvisionedSeconds: 0,
	}, got.Summary)
	require.Len(t, got.Decisions, 3)
	assert.Contains(t, reasonCodes(got.Decisions[1].Reasons), engine.ReasonStabilized, "8 → 5 is the window's doing")
}

// liveHPA is what a live HPA beside the backlog policy wanted around t0, as kube-state-metrics
// exports it: wavering between 3 and 4 every minute before t0, then 8, 5 and 3 through the spike.
func liveHPA(t0 time.Time) func(time.Time) float64 {
	return func(ts time.Time) float64 {
		switch d := ts.Sub(t0); {
		case d < 0:
			return float64(3 + int((d+time.Hour)/time.Minute)%2)
		case d < time.Minute:
			return 8
		case d < 2*time.Minute:
			return 5
		default:
			return 3
		}
	}
}

// TestShadowComparisonFromPrometheusSurvivesARestart: a DryRun policy shadows a live HPA whose
// desired replicas Prometheus holds (seeded). At T its comparison — the live count, the live
// changes over the window, and the replay of ours — is computed from Prometheus alone: a
// process that evaluated all along, a new one, and a one-shot `evaluate` agree, and the live
// side is exactly what the test counts from the series it seeded.
func TestShadowComparisonFromPrometheusSurvivesARestart(t *testing.T) {
	t0 := historyBase()
	final := t0.Add(5 * time.Minute)
	live := liveHPA(t0)
	prom := seeded(t, spikeBacklog(t0),
		gauge("kube_horizontalpodautoscaler_status_desired_replicas", map[string]string{"namespace": "prod", "horizontalpodautoscaler": "web"},
			t0.Add(-10*time.Minute), t0.Add(10*time.Minute), live))
	doc := strings.Replace(stabilized120, "mode: Commit", "mode: DryRun", 1) +
		"  shadow: {promQL: 'kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"prod\",horizontalpodautoscaler=\"web\"}'}\n"
	f := newFixture(t, prom, doc, 3)

	// The live side, counted by the test at the policy's 30 s instants from the first sample.
	wantChanges := 0
	for at := t0.Add(-10*time.Minute + 30*time.Second); !at.After(final); at = at.Add(30 * time.Second) {
		if live(at) != live(at.Add(-30*time.Second)) {
			wantChanges++
		}
	}
	require.Greater(t, wantChanges, 10)

	running := f.runner(t)
	for at := t0; at.Before(final); at = at.Add(30 * time.Second) {
		r := f.cycle(t, running, at, false)
		require.NotEqual(t, gitops.ActionError, r.Action, r.Error)
		require.NotEqual(t, gitops.ActionCommitted, r.Action)
		require.NotNil(t, r.Shadow)
	}
	ranAllAlong := f.cycle(t, running, final, false)
	restarted := f.cycle(t, f.runner(t), final, false)
	oneShot := f.evaluate(t, "--at", rfc3339(final))

	c := ranAllAlong.Shadow
	require.NotNil(t, c)
	require.NotNil(t, c.Live, c.LiveCause)
	require.NotNil(t, c.Ours, c.OursCause)
	assert.Equal(t, 3, *c.Live)
	assert.Equal(t, wantChanges, c.LiveChanges)
	assert.True(t, c.Start.Equal(t0.Add(-10*time.Minute)), "from the first live sample: %s", c.Start)
	assert.True(t, c.End.Equal(final))
	assert.Equal(t, 2, *c.Ours, "200 jobs at 100 a replica, once the window forgot the spike")
	assert.Positive(t, c.OurChanges)
	assert.Less(t, c.OurChanges, c.LiveChanges, "the policy does not waver with the HPA")
	for name, other := range map[string]gitops.Result{"new runner": restarted, "one-shot evaluate": oneShot} {
		require.NotNil(t, other.Shadow, name)
		assert.Equal(t, *c.Live, *other.Shadow.Live, name)
		assert.Equal(t, *c.Ours, *other.Shadow.Ours, name)
		assert.Equal(t, c.LiveChanges, other.Shadow.LiveChanges, name)
		assert.Equal(t, c.OurChanges, other.Shadow.OurChanges, name)
		assert.InDelta(t, c.OurReplicaHours, other.Shadow.OurReplicaHours, 1e-9, name)
		assert.Equal(t, c.LivePoints, other.Shadow.LivePoints, name)
		assert.Equal(t, c.OurPoints, other.Shadow.OurPoints, name)
	}
	assert.Equal(t, 3, f.replicas(t), "a shadow policy commits nothing")
}

// reasonTexts is each reason as "Code: message", what every output of a decision shows.
func reasonTexts(rs []engine.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Code) + ": " + r.Message
	}
	return out
}
