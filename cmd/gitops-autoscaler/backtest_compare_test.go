package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// steadyCopy writes web.yaml as demo/web-steady with the Steady strategy instead of its
// behavior block, and returns the file.
func steadyCopy(t *testing.T, from string) string {
	t.Helper()
	spec, err := os.ReadFile(from)
	require.NoError(t, err)
	s := strings.Replace(string(spec), "  name: web\n", "  name: web-steady\n", 1)
	i := strings.Index(s, "  behavior:")
	require.Positive(t, i)
	file := filepath.Join(t.TempDir(), "web-steady.yaml")
	require.NoError(t, os.WriteFile(file, []byte(s[:i]+"  strategy: {type: Steady}\n"), 0o600))
	return file
}

// importedKEDA runs `import` on a KEDA ScaledObject for the same workload and returns the policy
// file it wrote: the output of import, as a person would compare it.
func importedKEDA(t *testing.T) string {
	t.Helper()
	return importFile(t, kedaManifest(t))
}

// kedaManifest writes a KEDA ScaledObject for web.yaml's workload and returns its file.
func kedaManifest(t *testing.T) string {
	t.Helper()
	manifest := filepath.Join(t.TempDir(), "keda.yaml")
	require.NoError(t, os.WriteFile(manifest, []byte(`apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: web, namespace: demo}
spec:
  scaleTargetRef: {name: web}
  pollingInterval: 30
  minReplicaCount: 2
  maxReplicaCount: 10
  triggers:
    - type: prometheus
      name: http_rps
      metadata: {serverAddress: "http://prometheus.monitoring:9090", query: "sum(rate(http_requests_total{app=\"web\"}[2m]))", threshold: "40"}
`), 0o600))
	return manifest
}

// importFile runs `import` on a manifest and returns the policy file it wrote.
func importFile(t *testing.T, manifest string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "imported")
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitOK, run(context.Background(), []string{"import", manifest, "-o", out}, &stdout, &stderr), stderr.String())
	return filepath.Join(out, "demo-web.yaml")
}

func TestBacktestCompareText(t *testing.T) {
	steady, keda := steadyCopy(t, backtestData("web.yaml")), importedKEDA(t)
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--compare", steady, "--compare", keda,
		"--trace", backtestData("spike.csv"))
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	// web.yaml's step rule (+2 a minute under its cooldown, −1 every 2 minutes), the same rule
	// under Steady (confirms the spike and goes up twice as the rule's step asks for more; with
	// no needs before the trace and 17 minutes in all, nothing pays for coming down: it holds),
	// and the imported KEDA trigger (40 per replica, the HPA's defaults).
	assert.Equal(t, strings.Join([]string{
		"the same load: 2026-11-22T11:00:00Z to 2026-11-22T11:17:00Z every 30s, 35 evaluations (17m)",
		"                                demo/web (web.yaml)   demo/web-steady    demo/web (demo-web.yaml)",
		"changes                         9                     2                  3",
		"changes per day                 740.6                 164.6              246.9",
		"scale-ups / scale-downs         3 / 6                 2 / 0              2 / 1",
		"replica-hours                   1.4                   2.6                1.3",
		"short (below the need)          90 s (8.6 %)          2.0 min (11.4 %)   30 s (2.9 %)",
		"short depth (replica-minutes)   3.0                   4.0                1.0",
		"largest step                    2                     5                  6",
		"demo/web-steady against demo/web (web.yaml): 4.5× fewer changes, 1.79× the replica-hours",
		"demo/web (demo-web.yaml) against demo/web (web.yaml): 3.0× fewer changes, 0.92× the replica-hours",
		"",
	}, "\n"), out)
}

func TestBacktestCompareJSONAndHTML(t *testing.T) {
	steady := steadyCopy(t, backtestData("web.yaml"))
	report := filepath.Join(t.TempDir(), "compare.html")
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--compare", steady,
		"--trace", backtestData("spike.csv"), "-o", "json", "--html", report)
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "report written to "+report+"\n", stderr)

	var got struct {
		Start, End, Step string
		Evaluations      int
		Policies         []map[string]any
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&got), out)
	assert.Equal(t, "2026-11-22T11:00:00Z", got.Start)
	assert.Equal(t, "30s", got.Step)
	assert.Equal(t, 35, got.Evaluations)
	require.Len(t, got.Policies, 2)
	assert.Equal(t, "demo/web", got.Policies[0]["label"])
	assert.Equal(t, "demo/web", got.Policies[0]["policy"])
	assert.Equal(t, 9.0, got.Policies[0]["changes"])
	assert.Equal(t, 90.0, got.Policies[0]["shortSeconds"])
	assert.Equal(t, "demo/web-steady", got.Policies[1]["label"])
	assert.Equal(t, 2.0, got.Policies[1]["changes"])
	assert.Equal(t, 5.0, got.Policies[1]["largestStep"])

	page, err := os.ReadFile(report)
	require.NoError(t, err)
	html := string(page)
	assert.Equal(t, 1, strings.Count(html, "<svg"), "one chart")
	assert.Equal(t, 3, strings.Count(html, "<polyline"), "the metric and one replica line per policy")
	assert.Contains(t, html, "<th>demo/web</th><th>demo/web-steady</th>")
	assert.Contains(t, html, `<tr><td>changes</td><td class="v">9</td><td class="v">2</td></tr>`)
	assert.NotContains(t, html, "<script")
	assert.NotContains(t, html, "https://")
}

func TestBacktestCompareErrors(t *testing.T) {
	two := backtestData("two.yaml")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"a missing file", []string{"--compare", "nope.yaml"}, "nope.yaml"},
		{"a file with several policies needs #NAME", []string{"--compare", two},
			"backtest: " + two + " holds 2 policies (demo/web, demo/worker); pick one with --compare " + two + "#NAME\n"},
		{"#NAME names a policy of the file", []string{"--compare", two + "#cache"},
			"backtest: " + two + " has no policy \"cache\"; it has demo/web, demo/worker\n"},
		{"an invalid policy", []string{"--compare", backtestData("invalid.yaml")}, "invalid.yaml:"},
		{"an empty --compare", []string{"--compare", " "}, "want a policy file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runBacktestCLI(t, append([]string{"--policy", backtestData("web.yaml"), "--trace", backtestData("spike.csv")}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tt.want)
		})
	}

	// #NAME picks the one policy of the two.
	code, out, stderr := runBacktestCLI(t, "--policy", backtestData("web.yaml"), "--compare", two+"#worker", "--trace", backtestData("spike.csv"))
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	assert.Contains(t, out, "demo/worker against demo/web: ")
	assert.NotContains(t, out, "demo/web (two.yaml)", "only worker was picked")
}

// compareJSON runs backtest -o json and returns its policies' columns.
func compareJSON(t *testing.T, args ...string) ([]map[string]any, string) {
	t.Helper()
	code, out, stderr := runBacktestCLI(t, append(args, "-o", "json")...)
	require.Equal(t, exitOK, code, stderr)
	var got struct {
		Policies []map[string]any `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	return got.Policies, stderr
}

// TestBacktestCompareImportsOnTheFly: --compare takes what a team runs today — a KEDA
// ScaledObject, an HPA with its prometheus-adapter rules, an original PrometheusAutoscaler —
// imports it as import would, prints the translation's warnings, and replays exactly what
// the imported file would replay.
func TestBacktestCompareImportsOnTheFly(t *testing.T) {
	web := backtestData("web.yaml")
	trace := []string{"--trace", backtestData("spike.csv")}

	t.Run("a KEDA ScaledObject, as its imported file", func(t *testing.T) {
		manifest := kedaManifest(t)
		written := importFile(t, manifest)
		direct, stderr := compareJSON(t, append([]string{"--policy", web, "--compare", manifest}, trace...)...)
		viaFile, _ := compareJSON(t, append([]string{"--policy", web, "--compare", written}, trace...)...)
		require.Len(t, direct, 2)
		assert.Equal(t, "demo/web (keda.yaml)", direct[1]["label"])
		delete(direct[1], "label")
		delete(viaFile[1], "label")
		assert.Equal(t, viaFile[1], direct[1], "the same replay as the output of import")
		assert.Equal(t, 3.0, direct[1]["changes"])
		assert.Contains(t, stderr, manifest+": imported ScaledObject demo/web as demo/web (")
		assert.Contains(t, stderr, manifest+":1: warning: ", "the translation's warnings, each with its line")
	})

	t.Run("an HPA through prometheus-adapter rules", func(t *testing.T) {
		dir := t.TempDir()
		hpa := filepath.Join(dir, "hpa.yaml")
		require.NoError(t, os.WriteFile(hpa, []byte(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: demo}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: External
      external:
        metric: {name: http_rps}
        target: {type: AverageValue, averageValue: "40"}
`), 0o600))
		adapter := filepath.Join(dir, "adapter.yaml")
		require.NoError(t, os.WriteFile(adapter, []byte(`externalRules:
  - seriesQuery: 'http_requests_total{app!=""}'
    resources: {overrides: {namespace: {resource: namespace}}}
    name: {matches: "^http_requests_total$", as: "http_rps"}
    metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m]))'
`), 0o600))

		code, out, stderr := runBacktestCLI(t, append([]string{"--policy", web, "--compare", hpa}, trace...)...)
		assert.Equal(t, exitUsage, code, "an External metric needs the adapter's rules")
		assert.Empty(t, out)
		assert.Contains(t, stderr, "backtest: --compare "+hpa+": ")
		assert.Contains(t, stderr, "adapter")

		cols, stderr := compareJSON(t, append([]string{"--policy", web, "--compare", hpa, "--adapter-config", adapter}, trace...)...)
		require.Len(t, cols, 2)
		assert.Equal(t, "demo/web (hpa.yaml)", cols[1]["label"])
		assert.Positive(t, cols[1]["changes"], "the HPA's AverageValue 40 follows the spike")
		assert.Contains(t, stderr, hpa+": imported HorizontalPodAutoscaler demo/web as demo/web (")
		assert.NotContains(t, stderr, "no samples of metric", "the imported metric keeps the adapter's name, the trace's")
	})

	t.Run("an original PrometheusAutoscaler decides as the policy it is", func(t *testing.T) {
		doc, err := os.ReadFile(web)
		require.NoError(t, err)
		original := filepath.Join(t.TempDir(), "original.yaml")
		require.NoError(t, os.WriteFile(original, []byte(strings.Replace(string(doc),
			"apiVersion: autoscaler.gitops.dev/v1alpha1", "apiVersion: autoscaler.laravel.app/v1alpha1", 1)), 0o600))
		cols, stderr := compareJSON(t, append([]string{"--policy", web, "--compare", original}, trace...)...)
		require.Len(t, cols, 2)
		for _, k := range []string{"changes", "scaleUps", "scaleDowns", "replicaHours", "shortSeconds", "largestStep"} {
			assert.Equal(t, cols[0][k], cols[1][k], k)
		}
		assert.Contains(t, stderr, original+": imported PrometheusAutoscaler demo/web of autoscaler.laravel.app/v1alpha1 as demo/web (")
	})

	t.Run("a manifest that does not translate", func(t *testing.T) {
		job := filepath.Join(t.TempDir(), "job.yaml")
		require.NoError(t, os.WriteFile(job, []byte("apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {name: batch}\nspec: {}\n"), 0o600))
		code, out, stderr := runBacktestCLI(t, append([]string{"--policy", web, "--compare", job}, trace...)...)
		assert.Equal(t, exitUsage, code)
		assert.Empty(t, out)
		assert.Contains(t, stderr, job+":2: kind: a ScaledJob starts Jobs rather than scaling replicas")
	})

	t.Run("--adapter-config without --compare", func(t *testing.T) {
		code, _, stderr := runBacktestCLI(t, append([]string{"--policy", web, "--adapter-config", "adapter.yaml"}, trace...)...)
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "--adapter-config needs --compare")
	})
}
