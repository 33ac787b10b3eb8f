package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func backtestData(name string) string { return filepath.Join("testdata", "backtest", name) }

func runBacktestCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"backtest"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// TestBacktestSummarySaysWhichMetricsTheTraceLacks is from item 9 of issue 21: a trace without
// one of the policy's metrics gave a summary that did not say so, though that metric blocks
// every scale-down.
func TestBacktestSummarySaysWhichMetricsTheTraceLacks(t *testing.T) {
	web, err := os.ReadFile(backtestData("web.yaml"))
	require.NoError(t, err)
	cases := []struct {
		name, extra string
		want        []string
	}{
		{name: "every metric in the trace", want: nil},
		{name: "one metric the trace lacks", extra: "    - {name: queue_depth, promQL: max(queue_depth), target: {type: AverageValue, averageValue: 10}}\n",
			want: []string{"missing: queue_depth in 35 of 35 evaluations (no value in the trace): while a metric is missing the policy never scales down"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(string(web), "  behavior:\n", tc.extra+"  behavior:\n", 1)
			policyFile := filepath.Join(t.TempDir(), "p.yaml")
			require.NoError(t, os.WriteFile(policyFile, []byte(doc), 0o644))
			code, out, stderr := runBacktestCLI(t, "--policy", policyFile, "--trace", backtestData("spike.csv"))
			require.Equal(t, exitOK, code, stderr)
			var got []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "missing: ") {
					got = append(got, l)
				}
			}
			assert.Equal(t, tc.want, got, out)
		})
	}
}

func TestBacktestCommandText(t *testing.T) {
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--trace", backtestData("spike.csv"))
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 9+1+4, out)
	assert.Equal(t, "2026-11-22T11:01:30Z  2 → 4  http_rps = 300 > scaleUp.threshold 100 → 4", lines[0])
	assert.Equal(t, "2026-11-22T11:16:00Z  3 → 2  http_rps = 20 < scaleDown.threshold 50 → 2", lines[8])
	assert.Equal(t, "", lines[9])
	assert.Equal(t, []string{
		"demo/web: 35 evaluations, 2026-11-22T11:00:00Z to 2026-11-22T11:17:00Z every 30s, starting at 2 replicas",
		"changes: 9 (3 up, 6 down) — the commits a live run would have made",
		"replica-hours: 1.43 (average 4.91 replicas)",
		// While the cooldown holds the spike's steps, the step rule asks for 2 more: short.
		"under-provisioned: 1m30s (8.6 % of the time below the metrics' need; 3.0 replica-minutes short)",
	}, lines[10:])
}

func TestBacktestCommandJSON(t *testing.T) {
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--trace", backtestData("spike.csv"),
		"-o", "json", "--start", "2026-11-22T11:00:00Z", "--end", "1795345500", "--initial", "3")
	require.Equal(t, exitOK, code, stderr)

	var got struct {
		Policy    string `json:"policy"`
		Decisions []struct {
			Time    string             `json:"time"`
			From    int                `json:"from"`
			To      int                `json:"to"`
			Metrics map[string]float64 `json:"metrics"`
			Reasons []struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"reasons"`
		} `json:"decisions"`
		Summary map[string]float64 `json:"summary"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields() // exactly policy, decisions, summary
	require.NoError(t, dec.Decode(&got), out)

	assert.Equal(t, "demo/web", got.Policy)
	require.Len(t, got.Decisions, 3) // 11:00 to 11:05 from 3: the three scale-ups
	d := got.Decisions[0]
	assert.Equal(t, "2026-11-22T11:01:30Z", d.Time)
	assert.Equal(t, 3, d.From)
	assert.Equal(t, 5, d.To)
	assert.Equal(t, map[string]float64{"http_rps": 300}, d.Metrics)
	require.NotEmpty(t, d.Reasons)
	assert.Equal(t, "MetricValue", d.Reasons[0].Reason)
	assert.Equal(t, "http_rps = 300 > scaleUp.threshold 100 → 5", d.Reasons[0].Message)
	// Replicas after each of the 11 steps: 3,3,3, 5,5, 7,7, 9,9,9,9 = 69. Short by the rule's
	// step of 2 at the three steps the scale-up cooldown holds.
	assert.Equal(t, map[string]float64{
		"evaluations": 11, "changes": 3, "scaleUps": 3, "scaleDowns": 0,
		"replicaSeconds": 69 * 30, "underProvisionedSeconds": 3 * 30, "underProvisionedReplicaSeconds": 3 * 2 * 30,
	}, got.Summary)
}

func TestBacktestCommandHTML(t *testing.T) {
	report := filepath.Join(t.TempDir(), "report.html")
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--trace", backtestData("spike.csv"), "--html", report)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "changes: 9")
	assert.Equal(t, "report written to "+report+"\n", stderr)
	page, err := os.ReadFile(report)
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(page, []byte("<svg")))
	assert.Equal(t, 3, bytes.Count(page, []byte("<polyline")), "the metric, the count and the need")
	assert.Equal(t, 9, bytes.Count(page, []byte(`class="mark `)))
	assert.NotContains(t, string(page), "http://")
	assert.NotContains(t, string(page), "https://")
}

func TestBacktestCommandMalformedCSV(t *testing.T) {
	bad := backtestData("bad.csv")
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--trace", bad)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Equal(t, "backtest: "+bad+`:5: value "abc" is not a number`+"\n", stderr)
}

func TestBacktestCommandInvalidPolicy(t *testing.T) {
	code, _, stderr := runBacktestCLI(t, "--policy", backtestData("invalid.yaml"), "--trace", backtestData("spike.csv"))
	assert.Equal(t, exitUsage, code)
	f := backtestData("invalid.yaml")
	assert.Contains(t, stderr, f+":7: spec.minReplicas: 5 is above maxReplicas 3")
	assert.Contains(t, stderr, f+":10: spec.metrics[0].scaleUp.step: must be at least 1, got 0")
	assert.Contains(t, stderr, f+":10: spec.metrics[0].scaleDown.threshold: 150 must be below scaleUp.threshold 100")
}

func TestBacktestCommandPicksPolicy(t *testing.T) {
	two := backtestData("two.yaml")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "several policies need --name", code: exitUsage,
			stderr: "backtest: " + two + " holds 2 policies (demo/web, demo/worker); pick one with --name\n"},
		{name: "by name", args: []string{"--name", "worker"}, code: exitOK, stdout: "demo/worker: 35 evaluations"},
		{name: "by namespace/name", args: []string{"--name", "demo/web"}, code: exitOK, stdout: "demo/web: 35 evaluations"},
		{name: "unknown name", args: []string{"--name", "api"}, code: exitUsage,
			stderr: "backtest: " + two + ` has no policy "api"; it has demo/web, demo/worker` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--policy", two, "--trace", backtestData("spike.csv")}, tt.args...)
			code, out, stderr := runBacktestCLI(t, args...)
			assert.Equal(t, tt.code, code, stderr)
			if tt.stderr != "" {
				assert.Equal(t, tt.stderr, stderr)
			}
			assert.Contains(t, out, tt.stdout)
		})
	}
}

func TestBacktestCommandUsage(t *testing.T) {
	policyFile, trace := backtestData("web.yaml"), backtestData("spike.csv")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no policy", args: []string{"--trace", trace}, want: "--policy FILE is required"},
		{name: "no source", args: []string{"--policy", policyFile}, want: "give --trace CSV or --prometheus URL"},
		{name: "both sources", args: []string{"--policy", policyFile, "--trace", trace, "--prometheus", "http://prom:9090"}, want: "give --trace or --prometheus, not both"},
		{name: "prometheus without range", args: []string{"--policy", policyFile, "--prometheus", "http://prom:9090"}, want: "--prometheus needs --start and --end"},
		{name: "bad output", args: []string{"--policy", policyFile, "--trace", trace, "-o", "yaml"}, want: `-o must be text or json, not "yaml"`},
		{name: "bad step", args: []string{"--policy", policyFile, "--trace", trace, "--step", "0s"}, want: `--step: want a positive duration such as 30s, got "0s"`},
		{name: "bad initial", args: []string{"--policy", policyFile, "--trace", trace, "--initial", "-1"}, want: `want a replica count (0 or more), got "-1"`},
		{name: "bad start", args: []string{"--policy", policyFile, "--trace", trace, "--start", "noon"}, want: `--start: timestamp "noon" is neither RFC 3339 nor unix seconds`},
		{name: "end before start", args: []string{"--policy", policyFile, "--trace", trace, "--start", "1795345300", "--end", "1795345200"}, want: "--end 1795345200 is before --start 1795345300"},
		{name: "end before trace start", args: []string{"--policy", policyFile, "--trace", trace, "--end", "2026-11-22T10:00:00Z"}, want: "--end 2026-11-22T10:00:00Z is before --start 2026-11-22T11:00:00Z"},
		{name: "too many evaluations", args: []string{"--policy", policyFile, "--trace", trace, "--step", "1ns"}, want: "is too many (at most 5000000); use a larger --step"},
		{name: "unknown flag", args: []string{"--policy", policyFile, "--trace", trace, "--verbose"}, want: "flag provided but not defined: -verbose"},
		{name: "stray argument", args: []string{"--policy", policyFile, "--trace", trace, "extra"}, want: `unexpected argument "extra"`},
		{name: "missing trace file", args: []string{"--policy", policyFile, "--trace", backtestData("nope.csv")}, want: "--trace: open " + backtestData("nope.csv")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runBacktestCLI(t, tt.args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestBacktestCommandHelp(t *testing.T) {
	code, out, _ := runBacktestCLI(t, "--help")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "Usage: gitops-autoscaler backtest")
	assert.Contains(t, out, "Example:")
	assert.Contains(t, out, "timestamp,metric,value")
}

// TestBacktestCommandPrometheus replays over range queries answered by a fake Prometheus that
// speaks the query_range API: 70 req/s until 11:01:30, 300 after.
func TestBacktestCommandPrometheus(t *testing.T) {
	var queries int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		queries++
		start, _ := strconv.ParseFloat(r.FormValue("start"), 64)
		end, _ := strconv.ParseFloat(r.FormValue("end"), 64)
		step, _ := strconv.ParseFloat(r.FormValue("step"), 64)
		var vals []string
		for ts := start; ts <= end; ts += step {
			v := 70
			if ts >= 1795345290 {
				v = 300
			}
			vals = append(vals, fmt.Sprintf(`[%.3f,"%d"]`, ts, v))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(vals, ","))
	}))
	defer srv.Close()

	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--prometheus", srv.URL,
		"--start", "2026-11-22T11:00:00Z", "--end", "2026-11-22T11:03:00Z")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, 1, queries, "one range query per metric")
	assert.Contains(t, out, "2026-11-22T11:01:30Z  2 → 4  http_rps = 300 > scaleUp.threshold 100 → 4\n")
	assert.Contains(t, out, "2026-11-22T11:02:30Z  4 → 6  http_rps = 300 > scaleUp.threshold 100 → 6\n")
	assert.Contains(t, out, "demo/web: 7 evaluations")
}
