package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// raceTrace is a trace around now, a point a second from ten minutes before to ten after: the
// web tier's rate and the queue swing, so that decisions move both ways while the test runs.
func raceTrace(now time.Time) string {
	var b strings.Builder
	b.WriteString("timestamp,metric,value\n")
	start := now.Add(-10 * time.Minute).Truncate(time.Second)
	for i := range 20 * 60 {
		at := start.Add(time.Duration(i) * time.Second)
		phase := float64(at.Unix()) / 7
		fmt.Fprintf(&b, "%s,http_rps,%.0f\n", at.Format(time.RFC3339), 170+150*math.Sin(phase))
		fmt.Fprintf(&b, "%s,queue_backlog,%.0f\n", at.Format(time.RFC3339), 450+400*math.Cos(phase))
	}
	return b.String()
}

// TestServeUnderConcurrentTrafficIsRaceFree runs `serve` in-process on the real clock, both
// policies scheduled every second, while clients call every face of it at once: the
// Alertmanager webhook, the status page, GET /api/v1/policies and POST /api/v1/evaluate.
// `make test` runs it under the race detector (`make race`), where any unsynchronized access
// between the scheduler, on-demand evaluations and the status readers fails it. Without the
// detector it still checks that every request was answered as it should be and that
// scheduled and on-demand cycles both ran: the traffic goes on past RACE_TRAFFIC (default 6s)
// until a scheduled cycle has run between the ones on demand, for a minute at the most.
func TestServeUnderConcurrentTrafficIsRaceFree(t *testing.T) {
	traffic := 6 * time.Second
	if v := os.Getenv("RACE_TRAFFIC"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "RACE_TRAFFIC")
		traffic = d
	}
	srv := gittest.NewServer(t)
	files := shopFiles()
	files["policies/web.yaml"] = strings.Replace(webPolicyDoc, "  mode: Commit\n", "  mode: Commit\n  schedule: \"@every 1s\"\n", 1)
	files["policies/worker.yaml"] = strings.Replace(workerPolicyDoc, `schedule: "@every 1m"`, `schedule: "@every 1s"`, 1)
	srv.CreateRepo("shop", files)
	config, _ := serveFixture(t, srv, "")
	trace := filepath.Join(t.TempDir(), "trace.csv")
	require.NoError(t, os.WriteFile(trace, []byte(raceTrace(time.Now())), 0o600))
	env := startServeConfig(t, srv, config, trace, func(o *serveOptions) { o.now = nil; o.logLevel = "info" })
	// Before the first sync the service knows no policy, and a webhook naming one is ignored.
	require.Eventually(t, func() bool {
		code, _ := env.do(t, "GET", "/readyz", "", "")
		return code == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond)

	cyclesSoFar := func() int {
		code, metrics := env.do(t, "GET", "/metrics", "", "")
		require.Equal(t, http.StatusOK, code)
		m := regexp.MustCompile(`gitops_autoscaler_evaluation_duration_seconds_count\{repository="shop"\} (\d+)`).FindStringSubmatch(metrics)
		require.Len(t, m, 2, "the cycle count is exported")
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		return n
	}
	// Ready means synced; the first cycle's duration is exported when it ends, a moment later.
	require.Eventually(t, func() bool {
		_, metrics := env.do(t, "GET", "/metrics", "", "")
		return strings.Contains(metrics, `gitops_autoscaler_evaluation_duration_seconds_count{repository="shop"}`)
	}, 30*time.Second, 10*time.Millisecond, "the first cycle ends")
	before := cyclesSoFar()

	webhook := `{"version":"4","status":"firing","alerts":[` +
		`{"status":"firing","labels":{"alertname":"WebLatency","autoscaler_policy":"shop/web"}},` +
		`{"status":"firing","labels":{"alertname":"QueueBacklog","autoscaler_policy":"shop/worker"}}]}`
	calls := []struct {
		name, method, path, token, body string
	}{
		{"webhook", "POST", "/api/v1/alertmanager", serveToken, webhook},
		{"evaluate", "POST", "/api/v1/evaluate", serveToken, ""},
		{"evaluate one", "POST", "/api/v1/evaluate?policy=worker", serveToken, ""},
		{"status page", "GET", "/", "", ""},
		{"status JSON", "GET", "/api/v1/policies", "", ""},
		{"metrics", "GET", "/metrics", "", ""},
	}
	var (
		mu      sync.Mutex
		answers = map[string]map[int]int{} // call → status → count
		wg      sync.WaitGroup
	)
	// The traffic lasts `traffic`, and then until a scheduled cycle has run between the ones
	// on demand (at most a minute more): on a loaded machine a cycle takes seconds, and the
	// first on-demand requests, all sent at once, queue ahead of the scheduler's first turn.
	// What must never happen is a scheduler starved for as long as the traffic goes on.
	var (
		onDemandSoFar atomic.Int64
		done          atomic.Bool
		cycleRE       = regexp.MustCompile(`gitops_autoscaler_evaluation_duration_seconds_count\{repository="shop"\} (\d+)`)
	)
	scheduledRan := func() bool {
		resp, err := http.Get(env.base + "/metrics")
		if err != nil {
			return false
		}
		metrics, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		m := cycleRE.FindSubmatch(metrics)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(string(m[1]))
		return int64(n-before) > onDemandSoFar.Load()
	}
	go func() {
		time.Sleep(traffic)
		for deadline := time.Now().Add(time.Minute); !scheduledRan() && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
		}
		done.Store(true)
	}()
	client := &http.Client{Timeout: time.Minute}
	for _, c := range calls {
		answers[c.name] = map[int]int{}
		for range 2 {
			wg.Go(func() {
				for !done.Load() {
					req, err := http.NewRequest(c.method, env.base+c.path, strings.NewReader(c.body))
					if err != nil {
						t.Error(err)
						return
					}
					if c.token != "" {
						req.Header.Set("Authorization", "Bearer "+c.token)
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("%s: %v", c.name, err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					_ = resp.Body.Close()
					code := resp.StatusCode
					if c.method == "POST" && code == http.StatusOK && !strings.Contains(string(body), `"policy": "shop/`) {
						t.Errorf("%s answered without results: %s", c.name, body)
					}
					mu.Lock()
					answers[c.name][code]++
					mu.Unlock()
					if c.method == "POST" && code == http.StatusOK {
						onDemandSoFar.Add(1)
					}
					if c.method == "POST" {
						// Evaluations on demand come now and then, as alerts do: the
						// scheduler gets its turns between them.
						time.Sleep(100 * time.Millisecond)
					}
				}
			})
		}
	}
	wg.Wait()

	during := cyclesSoFar() - before
	env.stop(t)
	for name, byCode := range answers {
		assert.NotEmpty(t, byCode, "%s was called", name)
		for code, n := range byCode {
			assert.Equal(t, http.StatusOK, code, "%s answered %d %d times", name, code, n)
		}
	}
	onDemand := 0
	for _, name := range []string{"webhook", "evaluate", "evaluate one"} {
		onDemand += answers[name][http.StatusOK]
	}
	t.Logf("answers: %v", answers)
	t.Logf("%d cycles during the traffic, %d of them on demand; %d commits in all", during, onDemand, len(srv.Log("shop", "main"))-1)
	assert.Greater(t, during, onDemand, "scheduled cycles ran between the ones on demand")
	assert.Equal(t, "", strings.TrimSpace(srv.Git("shop", "fsck", "--no-progress")), "the remote is whole")
}
