package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/integration/gittest"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/status-page.png from the browser test")

func TestStatusPageRendersRowsAndCharts(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", shopFiles())
	env := startServe(t, srv, "    github: {owner: acme, repo: shop-gitops, apiURL: \"https://ghe.example.com/api/v3/\"}\n")
	code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "") // after the first cycle
	require.Equal(t, http.StatusOK, code, body)

	code, page := env.do(t, "GET", "/", "", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, strings.Count(page, `<tr class="policy"`), "a row per policy")
	assert.Contains(t, page, `data-policy="shop/web"`)
	assert.Contains(t, page, "envs/prod/web.yaml#web.replicaCount")
	assert.Contains(t, page, "already decided at 2026-11-22T09:00:00Z", "the last decision's reasons")
	assert.Equal(t, 2, strings.Count(page, "<svg"), "a chart per policy")
	assert.Contains(t, page, "<polyline")
	assert.Contains(t, page, "https://ghe.example.com/acme/shop-gitops/commit/"+srv.Log("shop", "main")[1].SHA, "the commit links to GitHub Enterprise")
	assert.NotRegexp(t, regexp.MustCompile(`(?i)(src|href)="(https?:)?//[^"]*\.(css|js)`), page, "no external assets")
	assert.NotContains(t, page, "<script")
}

func TestStatusPageShowsNoDataWhenQueriesFail(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", shopFiles())
	// No trace: the policies query a Prometheus that is not there.
	env := startServe(t, srv, "", func(o *serveOptions) { o.metricsFile = "" })
	code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "")
	require.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"reason": "AllMetricsMissing"`, "all metrics missing: hold")

	code, page := env.do(t, "GET", "/", "", "")
	require.Equal(t, http.StatusOK, code, "a failing range query never breaks the page")
	assert.Equal(t, 2, strings.Count(page, `<tr class="policy"`))
	assert.Contains(t, page, "http_rps: no data")
	assert.Contains(t, page, "queue_backlog: no data")

	_, metrics := env.do(t, "GET", "/metrics", "", "")
	assert.Regexp(t, `gitops_autoscaler_query_errors_total\{server="default"\} [1-9]`, metrics)
}

// chromium finds the headless browser; without one the test fails in CI and skips elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium is not installed: apt-get install -y --no-install-recommends chromium (or run integration/install-deps.sh as root)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func chromiumArgs(profile string, extra ...string) []string {
	return append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir=" + profile}, extra...)
}

// demoPolicies are the Laravel example's web and worker tiers, replayed from its trace.
var demoPolicies = map[string]string{
	"policies/web.yaml": `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: laravel-web, namespace: laravel-demo}
spec:
  targetRef: {kind: Deployment, name: laravel-web}
  replicas: {file: envs/prod/laravel-web/values.yaml, path: laravelWeb.replicaCount}
  minReplicas: 3
  maxReplicas: 12
  mode: Commit
  metrics:
    - name: http_rps
      promQL: sum(rate(http_requests_total{app="laravel-web"}[2m]))
      scaleUp: {threshold: 450, step: 3}
      scaleDown: {threshold: 150, step: 1}
  behavior: {scaleDownCooldownSeconds: 300}
`,
	"policies/worker.yaml": `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: laravel-worker, namespace: laravel-demo}
spec:
  targetRef: {kind: Deployment, name: laravel-worker}
  replicas: {file: envs/prod/laravel-worker/values.yaml, path: laravelWorker.replicaCount}
  minReplicas: 1
  maxReplicas: 20
  mode: Commit
  schedule: "@every 1m"
  metrics:
    - name: queue_backlog
      promQL: sum(laravel_queue_jobs_pending)
      target: {type: AverageValue, averageValue: 100}
      onEmpty: zero
  behavior: {scaleDownCooldownSeconds: 600}
`,
	"envs/prod/laravel-web/values.yaml":    "laravelWeb:\n  replicaCount: 3\n",
	"envs/prod/laravel-worker/values.yaml": "laravelWorker:\n  replicaCount: 1\n",
}

// TestStatusPageInBrowser replays the Laravel example's trace through the service (an
// evaluation every two minutes from 08:00 to 10:00), then loads the status page in headless
// Chromium and checks the rendered DOM. With -update-screenshot it also writes
// docs/status-page.png.
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromium(t)
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", demoPolicies)
	trace, err := filepath.Abs(filepath.Join("..", "..", "examples", "laravel", "trace.csv"))
	require.NoError(t, err)
	start := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	env := startServe(t, srv, "", func(o *serveOptions) { o.metricsFile = trace; o.logLevel = "warn" })
	env.setTime(start)
	for at := start; !at.After(end); at = at.Add(2 * time.Minute) {
		env.setTime(at)
		code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "")
		require.Equal(t, http.StatusOK, code, body)
	}
	log := srv.Log("shop", "main")
	require.Greater(t, len(log), 5, "the replay made decisions")

	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, chromiumArgs(profile, "--dump-dom", env.base+"/")...).Output()
	require.NoError(t, err, "chromium --dump-dom")
	dom := string(out)
	assert.Equal(t, 2, strings.Count(dom, `<tr class="policy"`), "a row per policy in the rendered DOM")
	assert.Contains(t, dom, `data-policy="laravel-demo/laravel-web"`)
	assert.Contains(t, dom, `data-policy="laravel-demo/laravel-worker"`)
	assert.Equal(t, 2, strings.Count(dom, "<svg"), "a chart per policy")
	assert.GreaterOrEqual(t, strings.Count(dom, "<polyline"), 4, "metric and replica lines")
	assert.Contains(t, dom, "decision", "change marks carry their tooltips")

	shot := filepath.Join(t.TempDir(), "status-page.png")
	cmd := exec.CommandContext(ctx, bin, chromiumArgs(t.TempDir(), "--screenshot="+shot, "--window-size=1280,900", env.base+"/")...)
	outErr, err := cmd.CombinedOutput()
	require.NoError(t, err, "chromium --screenshot: %s", outErr)
	png, err := os.ReadFile(shot)
	require.NoError(t, err)
	require.Greater(t, len(png), 8)
	assert.Equal(t, "\x89PNG", string(png[:4]), "a PNG")
	assert.Less(t, len(png), 300<<10, "small enough for the README")
	if *updateScreenshot {
		dst := filepath.Join("..", "..", "docs", "status-page.png")
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, png, 0o644))
		t.Log(fmt.Sprintf("wrote %s (%d bytes)", dst, len(png)))
	}
}
