package week

import (
	"fmt"
	"io"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

var seeds = []uint64{1, 2, 3}

// hpaDefault is the HPA with its defaults on the traces' target: 2000 requests per minute per
// replica, tolerance 0.1, a 300 s scale-down window, 100 % or 4 pods per 15 s up, 100 % down.
func hpaDefault() *policy.Policy {
	avg := PerReplica
	p := &policy.Policy{
		APIVersion: policy.APIVersion, Kind: policy.KindPolicy,
		Metadata: policy.Metadata{Name: "hpa-default", Namespace: "bench"},
		Spec: policy.Spec{
			TargetRef:   policy.TargetRef{Kind: "Deployment", Name: "web"},
			MinReplicas: ptr(1), MaxReplicas: 100, Schedule: "@every 60s",
			Metrics:  []policy.Metric{{Name: Metric, PromQL: "x", Target: &policy.Target{Type: policy.TargetAverageValue, AverageValue: &avg}}},
			Behavior: &policy.Behavior{ScaleUp: &policy.ScalingRules{}, ScaleDown: &policy.ScalingRules{}},
		},
	}
	p.SetDefaults()
	return p
}

// steadyPolicy is the same target with the Steady strategy and its defaults.
func steadyPolicy() *policy.Policy {
	p := hpaDefault()
	p.Metadata.Name = "steady"
	p.Spec.Behavior = nil
	p.Spec.Strategy = &policy.Strategy{Type: policy.StrategySteady}
	p.SetDefaults()
	return p
}

func ptr[T any](v T) *T { return &v }

func source(trace []float64) func(*policy.Policy) func(time.Time) []engine.MetricValue {
	return func(*policy.Policy) func(time.Time) []engine.MetricValue {
		return func(at time.Time) []engine.MetricValue {
			return []engine.MetricValue{{Name: Metric, Value: trace[int(at.Sub(Start)/Step)]}}
		}
	}
}

var weekOpts = engine.BacktestOptions{Start: Start, End: Start.Add(time.Duration(Samples-1) * Step), Step: Step}

type row struct {
	shape     string
	seed      uint64
	hpa, st   engine.Assessment
	stResults engine.BacktestResult
	// needHours is what the need itself costs: Σ ceil(rate / PerReplica) × step.
	needHours float64
}

func compareAll(t testing.TB) []row {
	var rows []row
	for _, shape := range Shapes {
		for _, seed := range seeds {
			tr, err := Generate(shape, seed)
			require.NoError(t, err)
			res, as := engine.Compare([]*policy.Policy{hpaDefault(), steadyPolicy()}, source(tr), weekOpts)
			need := 0.0
			for _, v := range tr {
				need += math.Ceil(v/PerReplica) * Step.Hours()
			}
			rows = append(rows, row{shape, seed, as[0], as[1], res[1], need})
		}
	}
	return rows
}

func writeTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| shape | seed | changes HPA → Steady | fewer | short HPA → Steady | replica-hours HPA → Steady | Steady ÷ need | short depth (replica-min) HPA → Steady | largest step HPA / Steady |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %d → %d | %.1f× | %.1f h → %.1f h | %.0f → %.0f | %.2f× | %.0f → %.0f | %d / %d |\n",
			r.shape, r.seed, r.hpa.Changes, r.st.Changes, float64(r.hpa.Changes)/float64(max(r.st.Changes, 1)),
			r.hpa.ShortSeconds/3600, r.st.ShortSeconds/3600, r.hpa.ReplicaHours, r.st.ReplicaHours,
			r.st.ReplicaHours/r.needHours, r.hpa.ShortReplicaMinutes, r.st.ShortReplicaMinutes,
			r.hpa.LargestStep, r.st.LargestStep)
	}
}

// spikeCommits counts, for every spike of a trace (the need crossing 12.5 replicas from below),
// the changes a replay made from 3 minutes before it to 75 minutes after: the spike's commits.
func spikeCommits(trace []float64, r *engine.BacktestResult) []int {
	var out []int
	for i := 1; i < len(trace); i++ {
		if trace[i] > 25000 && trace[i-1] <= 25000 {
			n := 0
			for _, d := range r.Decisions {
				if k := int(d.Time.Sub(Start) / Step); k >= i-3 && k < i+75 {
					n++
				}
			}
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkSteadyVsHPA replays the HPA-default policy and Steady over every shape and seed (24
// week-long replays of 10 080 decisions) and prints the comparison table of
// docs/benchmarks.md once, with the commits each isolated spike cost.
func BenchmarkSteadyVsHPA(b *testing.B) {
	var rows []row
	for b.Loop() {
		rows = compareAll(b)
	}
	writeTable(os.Stdout, rows)
	for _, r := range rows {
		if r.shape == "spikes" {
			tr, err := Generate(r.shape, r.seed)
			require.NoError(b, err)
			hist := map[int]int{}
			for _, n := range spikeCommits(tr, &r.stResults) {
				hist[n]++
			}
			fmt.Printf("spikes seed %d: commits per spike (count: spikes) %v\n", r.seed, hist)
		}
	}
}

// TestSteadyAgainstHPADefault pins what the table shows on every shape and seed, so a change
// that makes it worse fails here. These synthetic shapes are unit-test fixtures now (the
// targets are measured on real traces, docs/benchmarks.md), pinned at the targets where
// Steady meets them: short at most 1 % of the time and no deeper than the HPA-default policy;
// at most 2× the need's replica-hours (1.35× on diurnal, where the target of 1.3× is met on
// seeds 1 and 3 only); at least 2× fewer changes than the HPA-default policy, 5× on diurnal;
// and the spikes cost two commits each on average (one a week costs four: the commit a spike's
// confirmation saved comes back as a second step up or down).
func TestSteadyAgainstHPADefault(t *testing.T) {
	week := 7 * 24 * time.Hour
	for _, r := range compareAll(t) {
		name := fmt.Sprintf("%s/%d", r.shape, r.seed)
		assert.LessOrEqual(t, r.st.ShortSeconds, week.Seconds()/100, "%s: short at most 1 %% of the time", name)
		assert.LessOrEqual(t, r.st.ShortReplicaMinutes, r.hpa.ShortReplicaMinutes, "%s: short no deeper than the HPA-default policy", name)
		fewer, rh := 2.0, 2.0
		if r.shape == "diurnal" {
			fewer, rh = 5, 1.35
		}
		assert.LessOrEqual(t, r.st.ReplicaHours, rh*r.needHours, "%s: replica-hours ≤ %g× the need's", name, rh)
		assert.LessOrEqual(t, fewer*float64(r.st.Changes), float64(r.hpa.Changes), "%s: ≥ %g× fewer changes", name, fewer)
		if r.shape == "spikes" {
			tr, err := Generate(r.shape, r.seed)
			require.NoError(t, err)
			commits := spikeCommits(tr, &r.stResults)
			require.Len(t, commits, 28, "%s: four spikes a day", name)
			total := 0
			for i, n := range commits {
				assert.LessOrEqual(t, n, 4, "%s: spike %d costs at most four commits", name, i)
				total += n
			}
			assert.LessOrEqual(t, total, 2*len(commits), "%s: two commits a spike on average", name)
		}
	}
}

// TestDiurnalCalibration pins the diurnal shape's calibration against the real week of the
// package documentation: the HPA-default policy makes about 470 changes and is short about 37 h.
func TestDiurnalCalibration(t *testing.T) {
	var changes, short float64
	for _, seed := range seeds {
		tr, err := Generate("diurnal", seed)
		require.NoError(t, err)
		_, as := engine.Compare([]*policy.Policy{hpaDefault()}, source(tr), weekOpts)
		changes += float64(as[0].Changes) / float64(len(seeds))
		short += as[0].ShortSeconds / 3600 / float64(len(seeds))
	}
	assert.InDelta(t, 470, changes, 40, "changes of the HPA-default policy, mean of the seeds")
	assert.InDelta(t, 37, short, 3, "hours short of the HPA-default policy, mean of the seeds")
}

func TestGenerateIsDeterministicPerSeed(t *testing.T) {
	for _, shape := range Shapes {
		a, err := Generate(shape, 7)
		require.NoError(t, err)
		b, _ := Generate(shape, 7)
		c, _ := Generate(shape, 8)
		assert.Equal(t, a, b, "%s: same seed, same trace", shape)
		assert.NotEqual(t, a, c, "%s: another seed, other noise", shape)
		assert.Len(t, a, 7*24*60)
	}
	_, err := Generate("sawtooth", 1)
	assert.ErrorContains(t, err, `unknown shape "sawtooth"`)
}

func TestShapes(t *testing.T) {
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	day := func(tr []float64, d int, fromH, toH int) []float64 { return tr[d*1440+fromH*60 : d*1440+toH*60] }

	di, _ := Generate("diurnal", 1)
	night, peak := mean(day(di, 1, 3, 5)), mean(day(di, 1, 11, 17))
	assert.InDelta(t, 10, peak/night, 1.5, "a weekday's peak is about ten times its night")
	assert.InDelta(t, 0.45, mean(day(di, 5, 11, 17))/peak, 0.08, "Saturday peaks at 45 %% of a weekday")

	sp, _ := Generate("spikes", 1)
	spikes := 0
	for i := 1; i < len(sp); i++ {
		if sp[i] > 25000 && sp[i-1] <= 25000 {
			spikes++
		}
	}
	assert.Equal(t, 28, spikes, "four spikes a day")

	ra, _ := Generate("ramp", 1)
	assert.InDelta(t, 10, mean(ra[len(ra)-60:])/mean(ra[:60]), 2, "the ramp grows about tenfold")

	no, _ := Generate("noisy", 1)
	assert.InDelta(t, 20000, mean(no), 500)
}
