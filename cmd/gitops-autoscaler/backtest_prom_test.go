package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// seededSpike starts a real Prometheus whose history holds testdata/backtest/spike.csv as the
// gauge demo_http_rps{app="web"} (seeded with promtool), and writes web.yaml with its query
// pointed at that gauge. It returns the server and the policy file.
func seededSpike(t *testing.T) (*promtest.Prometheus, string) {
	t.Helper()
	f, err := os.Open(backtestData("spike.csv"))
	require.NoError(t, err)
	defer f.Close()
	series := promtest.Series{Name: "demo_http_rps", Labels: map[string]string{"app": "web"}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "timestamp,") {
			continue
		}
		fields := strings.Split(line, ",")
		require.Len(t, fields, 3, line)
		require.Equal(t, "http_rps", fields[1], line)
		at, err := promclient.ParseTime(fields[0])
		require.NoError(t, err, line)
		v, err := strconv.ParseFloat(fields[2], 64)
		require.NoError(t, err, line)
		series.Samples = append(series.Samples, promtest.Sample{At: at, Value: v})
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, series.Samples)

	dataDir := filepath.Join(t.TempDir(), "data")
	promtest.Seed(t, dataDir, promtest.OpenMetrics(series))
	prom := promtest.Start(t, promtest.WithDataDir(dataDir))

	spec, err := os.ReadFile(backtestData("web.yaml"))
	require.NoError(t, err)
	const rateQuery = `sum(rate(http_requests_total{app="web"}[2m]))`
	require.Contains(t, string(spec), rateQuery)
	policyFile := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(policyFile, []byte(strings.Replace(string(spec), rateQuery, `demo_http_rps{app="web"}`, 1)), 0o600))
	return prom, policyFile
}

// TestBacktestPrometheusMatchesTrace replays the same history twice — from a CSV trace and from
// range queries against a real Prometheus holding that history — and expects the same
// decisions, summary and JSON: the trace's staleness rule and Prometheus's lookback agree, and
// --prometheus adds nothing of its own.
func TestBacktestPrometheusMatchesTrace(t *testing.T) {
	prom, policyFile := seededSpike(t)
	window := []string{"--start", "2026-11-22T11:00:00Z", "--end", "2026-11-22T11:17:00Z"}

	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			code, fromTrace, stderr := runBacktestCLI(t, append([]string{"--policy", policyFile, "--trace", backtestData("spike.csv"), "-o", format}, window...)...)
			require.Equal(t, exitOK, code, stderr)
			code, fromProm, stderr := runBacktestCLI(t, append([]string{"--policy", policyFile, "--prometheus", prom.URL(), "-o", format}, window...)...)
			require.Equal(t, exitOK, code, stderr)
			assert.Empty(t, stderr)
			assert.Equal(t, fromTrace, fromProm)
		})
	}

	// The decisions themselves, so that equal-but-empty replays cannot pass.
	code, out, stderr := runBacktestCLI(t, append([]string{"--policy", policyFile, "--prometheus", prom.URL()}, window...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, out, "2026-11-22T11:01:30Z  2 → 4  http_rps = 300 > scaleUp.threshold 100 → 4\n")
	assert.Contains(t, out, "2026-11-22T11:16:00Z  3 → 2  http_rps = 20 < scaleDown.threshold 50 → 2\n")
	assert.Contains(t, out, "demo/web: 35 evaluations, 2026-11-22T11:00:00Z to 2026-11-22T11:17:00Z every 30s")
	assert.Contains(t, out, "changes: 9 (3 up, 6 down)")
}

// TestBacktestPrometheusDown: a replay needs every value, so an unreachable Prometheus is a
// runtime failure (exit 1) whose message names the query and never the bearer token.
func TestBacktestPrometheusDown(t *testing.T) {
	prom, policyFile := seededSpike(t)
	const token = "backtest-token-s3cret"
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	prom.Stop()

	code, out, stderr := runBacktestCLI(t, "--policy", policyFile, "--prometheus", prom.URL(), "--prometheus-token-file", tokenFile,
		"--start", "2026-11-22T11:00:00Z", "--end", "2026-11-22T11:05:00Z")

	assert.Equal(t, exitFailure, code)
	assert.Empty(t, out)
	assert.Contains(t, stderr, `demo_http_rps{app=\"web\"}`)
	assert.Contains(t, stderr, "connection refused")
	assert.NotContains(t, stderr, token)
}

// TestBacktestPrometheusCompareMatchesTrace compares two policies over a real Prometheus: each
// is range-queried with its own PromQL at the same instants, and the table is the one the trace
// gives.
func TestBacktestPrometheusCompareMatchesTrace(t *testing.T) {
	prom, policyFile := seededSpike(t)
	steady := steadyCopy(t, policyFile)
	window := []string{"--start", "2026-11-22T11:00:00Z", "--end", "2026-11-22T11:17:00Z"}
	code, fromTrace, stderr := runBacktestCLI(t, append([]string{"--policy", policyFile, "--compare", steady, "--trace", backtestData("spike.csv")}, window...)...)
	require.Equal(t, exitOK, code, stderr)
	code, fromProm, stderr := runBacktestCLI(t, append([]string{"--policy", policyFile, "--compare", steady, "--prometheus", prom.URL()}, window...)...)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	assert.Equal(t, fromTrace, fromProm)
	assert.Contains(t, fromProm, "demo/web-steady against demo/web: 4.5× fewer changes")
}
