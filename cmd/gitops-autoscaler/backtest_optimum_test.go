package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Over spike.csv, average.yaml's need is 2 for 3 steps, 6 for 6, then 1 for 26 (30 s steps,
// from 1 replica). Its replay goes 1 → 2 → 6 and back to 1 after its window: 3 changes,
// 2×3 + 6×9 + 1×23 = 83 replica-steps (0.69 replica-hours). By hand, the never-short schedules:
// one change (6 throughout) costs 210, two (6 from the start, back to 1 after the spike) 80,
// three (the need itself) 68 — so within 83 the best is 2 changes.

func TestBacktestOptimumText(t *testing.T) {
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("average.yaml"), "--trace", backtestData("spike.csv"), "--optimum")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "changes: 3 (2 up, 1 down)")
	assert.Contains(t, out, "\noptimum: 3 changes; the best possible at these replica-hours: 2 (1.5×); the hull: 2.0 at these replica-hours, its vertex 2\n")
	// 210, 80 and 68 replica-steps of 30 s, and each ÷ 68.
	assert.Contains(t, out, "\nfrontier, changes → replica-hours (× the need's): 1 → 1.8 (3.09×), 2 → 0.7 (1.18×), 3 → 0.6 (1.00×)\n")

	code, plain, _ := runBacktestCLI(t, "--policy", backtestData("average.yaml"), "--trace", backtestData("spike.csv"))
	require.Equal(t, exitOK, code)
	assert.NotContains(t, plain, "optimum", "only with --optimum")
	assert.True(t, strings.HasPrefix(out, plain), "--optimum adds lines after the summary and changes none")
}

func TestBacktestOptimumJSON(t *testing.T) {
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("average.yaml"), "--trace", backtestData("spike.csv"), "--optimum", "-o", "json")
	require.Equal(t, exitOK, code, stderr)
	var got struct {
		Policy  string `json:"policy"`
		Summary struct {
			Changes int `json:"changes"`
		} `json:"summary"`
		Optimum struct {
			Budget int64 `json:"budgetReplicaSteps"`
			Fits   bool  `json:"fits"`
			Floor  struct {
				Changes int   `json:"changes"`
				Cost    int64 `json:"replicaSteps"`
			} `json:"floor"`
			Exact struct {
				Changes int   `json:"changes"`
				Cost    int64 `json:"replicaSteps"`
			} `json:"exact"`
			Frontier []struct {
				Changes int   `json:"changes"`
				Cost    int64 `json:"replicaSteps"`
			} `json:"frontier"`
		} `json:"optimum"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "demo/web-average", got.Policy)
	assert.Equal(t, 3, got.Summary.Changes)
	assert.Equal(t, int64(83), got.Optimum.Budget)
	assert.True(t, got.Optimum.Fits)
	assert.Equal(t, 3, got.Optimum.Floor.Changes)
	assert.Equal(t, int64(68), got.Optimum.Floor.Cost)
	assert.Equal(t, 2, got.Optimum.Exact.Changes)
	assert.Equal(t, int64(80), got.Optimum.Exact.Cost)
	require.Len(t, got.Optimum.Frontier, 3)
	assert.Equal(t, int64(210), got.Optimum.Frontier[0].Cost)
}

func TestBacktestOptimumHTML(t *testing.T) {
	report := filepath.Join(t.TempDir(), "report.html")
	code, _, stderr := runBacktestCLI(t, "--policy", backtestData("average.yaml"), "--trace", backtestData("spike.csv"), "--optimum", "--html", report)
	require.Equal(t, exitOK, code, stderr)
	html, err := os.ReadFile(report)
	require.NoError(t, err)
	page := string(html)
	assert.Contains(t, page, "the best possible at these replica-hours: 2 (1.5×)")
	assert.Contains(t, page, "optimum (right axis)", "the optimum's level line in the legend")
	assert.Equal(t, 1, strings.Count(page, `data-series="optimum"`),
		"one optimum line on the one chart")
}

func TestBacktestCompareOptimum(t *testing.T) {
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("average.yaml"), "--compare", backtestData("web.yaml"),
		"--trace", backtestData("spike.csv"), "--optimum")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(out, "\n")
	var header, changes, short, best string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "demo/web-average") && header == "":
			header = l
		case strings.HasPrefix(l, "changes   "):
			changes = l
		case strings.HasPrefix(l, "short (below the need)"):
			short = l
		case strings.HasPrefix(l, "best possible at these replica-hours"):
			best = l
		}
	}
	assert.Contains(t, header, "optimum at the replica-hours of demo/web-average", "the first policy's optimum is a column")
	assert.Equal(t, []string{"changes", "3", "9", "2"}, strings.Fields(changes))
	assert.True(t, strings.HasSuffix(strings.TrimSpace(short), "0 s (0.0 %)"), "the optimum is never short: %q", short)
	f := strings.Fields(best)
	require.GreaterOrEqual(t, len(f), 8, best)
	assert.Equal(t, []string{"2", "(1.5×)"}, f[5:7], "the first policy: 3 changes, 2 at best")
	assert.Equal(t, "—", f[len(f)-1], "the optimum's own column has no optimum")
	assert.Contains(t, out, "\ndemo/web-average: 3 changes; the best possible at these replica-hours: 2 (1.5×)\n")
	assert.Contains(t, out, "\ndemo/web: 9 changes; ")
	assert.NotContains(t, out, "optimum at the replica-hours of demo/web-average against", "the optimum's column is not a policy to rank")
}
