package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/status-page.png and status-page-800.png from the browser test")

func TestStatusPageRendersRowsAndCharts(t *testing.T) {
	srv := gittest.NewServer(t)
	files := shopFiles()
	// The worker scales on two metrics: each gets its own panel.
	files["policies/worker.yaml"] = workerPolicyDoc + "    - name: job_age\n      promQL: max(queue_job_age_seconds)\n      target: {type: Value, value: 60}\n"
	srv.CreateRepo("shop", files)
	env := startServe(t, srv, "    github: {owner: acme, repo: shop-gitops, apiURL: \"https://ghe.example.com/api/v3/\"}\n")
	// Two requests: the first may win the lock before the first scheduled cycle and commit
	// itself; either way the second finds the instant already decided, and so does the
	// scheduled cycle if it runs later.
	for range 2 {
		code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "")
		require.Equal(t, http.StatusOK, code, body)
	}

	code, page := env.do(t, "GET", "/", "", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, strings.Count(page, `<tr class="policy"`), "a row per policy")
	assert.Contains(t, page, `data-policy="shop/web"`)
	assert.Contains(t, page, "envs/prod/web.yaml#web.replicaCount")
	assert.Contains(t, page, "already decided at 2026-11-22T09:00:00Z", "the last decision's reasons")
	assert.Equal(t, 3, strings.Count(page, "<svg"), "a panel per metric: web's one, the worker's two")
	worker := page[strings.Index(page, `data-policy="shop/worker"`):]
	worker = worker[:strings.Index(worker, "</tbody>")] // the row and its chart row
	assert.Equal(t, 2, strings.Count(worker, "<svg"))
	assert.Contains(t, worker, `data-series="queue_backlog"`)
	assert.Contains(t, worker, `data-series="job_age"`)
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

// policyRow cuts a policy's row out of the status page.
func policyRow(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<tr class="policy" data-policy="`+id+`"`)
	require.GreaterOrEqual(t, i, 0, "a row for %s", id)
	end := strings.Index(page[i:], "</tbody>") // the row and its chart row
	require.Positive(t, end)
	return page[i : i+end]
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
	// The API tier still runs under its HPA; a Steady policy runs beside it in shadow.
	"policies/api.yaml": `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: laravel-api, namespace: laravel-demo}
spec:
  targetRef: {kind: Deployment, name: laravel-api}
  replicas: {file: envs/prod/laravel-api/values.yaml, path: laravelApi.replicaCount}
  minReplicas: 3
  maxReplicas: 12
  mode: DryRun
  strategy: {type: Steady}
  shadow:
    promQL: kube_horizontalpodautoscaler_status_desired_replicas{namespace="laravel-demo",horizontalpodautoscaler="laravel-api"}
  metrics:
    - name: http_rps
      promQL: sum(rate(http_requests_total{app="laravel-api"}[2m]))
      target: {type: AverageValue, averageValue: 150}
`,
	"envs/prod/laravel-api/values.yaml": "laravelApi:\n  replicaCount: 3\n",
}

// withLiveHPA copies a trace and adds what the API tier's live HPA wants at every http_rps
// sample: ceil(rps / 150) within [3, 12], with no stabilization (an HPA that follows every
// wobble). It returns the new trace's path, and the live counts in time order.
func withLiveHPA(t *testing.T, trace string) (string, []int) {
	t.Helper()
	data, err := os.ReadFile(trace)
	require.NoError(t, err)
	var b strings.Builder
	b.Write(data)
	var live []int
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 3 || f[1] != "http_rps" {
			continue
		}
		rps, err := strconv.ParseFloat(f[2], 64)
		require.NoError(t, err)
		n := min(max(int(math.Ceil(rps/150)), 3), 12)
		live = append(live, n)
		fmt.Fprintf(&b, "%s,shadow,%d\n", f[0], n)
	}
	out := filepath.Join(t.TempDir(), "trace.csv")
	require.NoError(t, os.WriteFile(out, []byte(b.String()), 0o600))
	return out, live
}

// TestStatusPageInBrowser replays the Laravel example's trace through the service (an
// evaluation every two minutes from 08:00 to 10:00), then loads the status page in headless
// Chromium and checks the rendered DOM. With -update-screenshot it also writes
// docs/status-page.png.
func TestStatusPageInBrowser(t *testing.T) {
	bin := chromium(t)
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", demoPolicies)
	trace, live := withLiveHPA(t, filepath.Join("..", "..", "examples", "laravel", "trace.csv"))
	liveChanges := 0
	for i := 1; i < len(live); i++ {
		if live[i] != live[i-1] {
			liveChanges++
		}
	}
	require.Greater(t, liveChanges, 3, "the live HPA follows the load's wobbles")
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

	// The shadow policy's comparison, as the API serves it: the live side counted from the
	// trace by the test, ours from the replay.
	code, body := env.do(t, "GET", "/api/v1/policies", "", "")
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		Policies []gitops.PolicyStatus `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	var shadow *engine.ShadowComparison
	for _, st := range doc.Policies {
		if st.ID == "laravel-demo/laravel-api" {
			shadow = st.Shadow
		} else {
			assert.Nil(t, st.Shadow, st.ID)
		}
	}
	require.NotNil(t, shadow, "the shadow policy's status carries its comparison")
	require.NotNil(t, shadow.Live)
	require.NotNil(t, shadow.Ours)
	assert.Equal(t, live[len(live)-1], *shadow.Live, "the live count at 10:00")
	assert.Equal(t, liveChanges, shadow.LiveChanges, "every change of the live HPA over the trace")
	assert.Equal(t, start, shadow.Start, "from the first live sample")
	assert.Less(t, shadow.OurChanges, liveChanges, "Steady changes less often than an HPA without stabilization")
	assert.Positive(t, shadow.OurChanges)
	// The offline optimum beside it: the live HPA follows the need exactly, so at its own
	// replica-hours the need itself is the only never-short count, with as many changes.
	require.NotNil(t, shadow.LiveBest, "the optimum at the live side's replica-hours")
	assert.Equal(t, engine.ShadowBest{Fits: true, Exact: true, Changes: liveChanges}, *shadow.LiveBest)
	require.NotNil(t, shadow.OurBest, "and at ours")
	_, metrics := env.do(t, "GET", "/metrics", "", "")
	assert.Contains(t, metrics, fmt.Sprintf(`gitops_autoscaler_shadow_live_replicas{policy="laravel-demo/laravel-api"} %d`, *shadow.Live))
	assert.Contains(t, metrics, fmt.Sprintf(`gitops_autoscaler_shadow_desired_replicas{policy="laravel-demo/laravel-api"} %d`, *shadow.Ours))
	assert.Contains(t, metrics, fmt.Sprintf(`gitops_autoscaler_shadow_changes{policy="laravel-demo/laravel-api",side="live"} %d`, liveChanges))
	assert.Contains(t, metrics, fmt.Sprintf(`gitops_autoscaler_shadow_changes{policy="laravel-demo/laravel-api",side="ours"} %d`, shadow.OurChanges))

	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, chromiumArgs(profile, "--dump-dom", env.base+"/")...).Output()
	require.NoError(t, err, "chromium --dump-dom")
	dom := string(out)
	assert.Equal(t, 3, strings.Count(dom, `<tr class="policy"`), "a row per policy in the rendered DOM")
	assert.Contains(t, dom, `data-policy="laravel-demo/laravel-web"`)
	assert.Contains(t, dom, `data-policy="laravel-demo/laravel-worker"`)
	assert.Equal(t, 3, strings.Count(dom, "<svg"), "a chart per policy")
	assert.GreaterOrEqual(t, strings.Count(dom, "<polyline"), 7, "metric and replica lines, and the live line")
	assert.Contains(t, dom, "decision", "change marks carry their tooltips")

	// The shadow row: our count against the live one, the changes each made, and a chart that
	// draws the live line beside ours.
	row := policyRow(t, dom, "laravel-demo/laravel-api")
	assert.Contains(t, row, `data-shadow="true"`)
	assert.Contains(t, row, fmt.Sprintf(`data-live="%d" data-ours="%d"`, *shadow.Live, *shadow.Ours))
	assert.Contains(t, row, fmt.Sprintf(`live %d</span> · <span class="ours`, *shadow.Live))
	assert.Contains(t, row, "changes in 2h00m:", "over the time the live count has been known (08:00 to 10:00)")
	assert.Contains(t, row, fmt.Sprintf("live %d</span> · <span class=\"our-changes\">ours %d</span>", liveChanges, shadow.OurChanges))
	assert.Contains(t, row, fmt.Sprintf(`best possible at these replica-hours: <span class="live-best">live %d</span>`, liveChanges))
	assert.Contains(t, row, `data-series="live"`)
	assert.Contains(t, row, `data-series="ours"`)
	assert.Contains(t, row, `data-series="http_rps"`)
	assert.Contains(t, row, "ours would", "our would-be changes are marked")
	assert.NotContains(t, policyRow(t, dom, "laravel-demo/laravel-web"), `data-series="live"`, "only a shadow policy has a live line")

	// The page at a wide and a narrow window, as docs/status-page.png and status-page-800.png.
	for _, shot := range []struct {
		name  string
		width int
	}{{name: "status-page.png", width: 1400}, {name: "status-page-800.png", width: 800}} {
		file := filepath.Join(t.TempDir(), shot.name)
		cmd := exec.CommandContext(ctx, bin, chromiumArgs(t.TempDir(), "--screenshot="+file, fmt.Sprintf("--window-size=%d,1000", shot.width), env.base+"/")...)
		outErr, err := cmd.CombinedOutput()
		require.NoError(t, err, "chromium --screenshot: %s", outErr)
		png, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Greater(t, len(png), 8)
		assert.Equal(t, "\x89PNG", string(png[:4]), "a PNG")
		assert.Less(t, len(png), 300<<10, "small enough for the README")
		if *updateScreenshot {
			dst := filepath.Join("..", "..", "docs", shot.name)
			require.NoError(t, os.WriteFile(dst, png, 0o644))
			t.Logf("wrote %s (%d bytes)", dst, len(png))
		}
	}
}
