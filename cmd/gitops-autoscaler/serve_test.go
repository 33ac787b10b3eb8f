package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// The serve tests start the service in-process on 127.0.0.1:0 against a real Git server, with
// metric values from a trace file and a clock the test sets.

const serveToken = "api-token-0123456789"

// serveT0 and serveT1 are the instants the tests decide at: at T0 the web tier sees 300 rps
// and the queue 150 jobs, at T1 320 rps and 450 jobs.
var (
	serveT0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	serveT1 = serveT0.Add(10 * time.Minute)
)

const serveTrace = `timestamp,metric,value
2026-11-22T08:56:00Z,http_rps,120
2026-11-22T08:58:00Z,http_rps,240
2026-11-22T09:00:00Z,http_rps,300
2026-11-22T09:05:00Z,http_rps,330
2026-11-22T09:10:00Z,http_rps,320
2026-11-22T09:00:00Z,queue_backlog,150
2026-11-22T09:05:00Z,queue_backlog,300
2026-11-22T09:10:00Z,queue_backlog,450
`

const webPolicyDoc = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: shop}
spec:
  targetRef: {kind: Deployment, name: web}
  replicas: {file: envs/prod/web.yaml, path: web.replicaCount}
  minReplicas: 1
  maxReplicas: 10
  mode: Commit
  metrics:
    - name: http_rps
      promQL: sum(rate(http_requests_total{app="web"}[2m]))
      scaleUp: {threshold: 200, step: 1}
      scaleDown: {threshold: 50, step: 1}
`

const workerPolicyDoc = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: worker, namespace: shop}
spec:
  targetRef: {kind: Deployment, name: worker}
  replicas: {file: envs/prod/worker.yaml, path: worker.replicaCount}
  minReplicas: 1
  maxReplicas: 20
  mode: Commit
  schedule: "@every 1m"
  metrics:
    - name: queue_backlog
      promQL: sum(queue_jobs_pending)
      target: {type: AverageValue, averageValue: 100}
`

// serveEnv is a running service and the Git server it writes to.
type serveEnv struct {
	git    *gittest.Server
	base   string // http://127.0.0.1:port
	clock  *atomic.Pointer[time.Time]
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serveFixture writes the service's config (with an API token unless noToken) and trace for
// a Git server's "shop" repository, and returns the config path and the trace path.
func serveFixture(t *testing.T, srv *gittest.Server, extra string) (config, trace string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	pw := write("git-password", srv.Password()+"\n")
	token := write("api-token", serveToken+"\n")
	trace = write("trace.csv", serveTrace)
	config = write("autoscaler.yaml", fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: shop
    url: %s
    branch: main
    policies: ["policies/*.yaml"]
    auth: {username: %s, passwordFile: %s}
%sprometheus:
  - name: default
    url: http://127.0.0.1:9
commit: {authorName: gitops-autoscaler, authorEmail: autoscaler@example.com}
http: {listen: "127.0.0.1:0", tokenFile: %s}
cacheDir: %s
`, srv.URL("shop"), srv.User(), pw, extra, token, filepath.Join(dir, "cache")))
	return config, trace
}

func shopFiles() map[string]string {
	return map[string]string{
		"policies/web.yaml":     webPolicyDoc,
		"policies/worker.yaml":  workerPolicyDoc,
		"envs/prod/web.yaml":    "web:\n  image: shop/web:1.4\n  replicaCount: 2\n",
		"envs/prod/worker.yaml": "worker:\n  replicaCount: 1\n",
	}
}

// startServe runs `serve` in-process and waits for its listener.
func startServe(t *testing.T, srv *gittest.Server, extra string, edit ...func(*serveOptions)) *serveEnv {
	t.Helper()
	config, trace := serveFixture(t, srv, extra)
	return startServeConfig(t, srv, config, trace, edit...)
}

// startServeConfig runs `serve` in-process with a config and trace file of the test's own.
func startServeConfig(t *testing.T, srv *gittest.Server, config, trace string, edit ...func(*serveOptions)) *serveEnv {
	t.Helper()
	clock := &atomic.Pointer[time.Time]{}
	t0 := serveT0
	clock.Store(&t0)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	env := &serveEnv{git: srv, clock: clock, cancel: cancel, done: make(chan error, 1), logs: &syncBuffer{}}
	o := serveOptions{
		config: config, listen: "127.0.0.1:0", metricsFile: trace, logLevel: "debug",
		now:      func() time.Time { return *clock.Load() },
		onListen: func(a string) { addr <- a },
	}
	for _, e := range edit {
		e(&o)
	}
	go func() { env.done <- serve(ctx, o, env.logs) }()
	select {
	case a := <-addr:
		env.base = "http://" + a
	case err := <-env.done:
		t.Fatalf("serve: %v\n%s", err, env.logs.String())
	}
	t.Cleanup(func() { env.stop(t) })
	return env
}

func (e *serveEnv) stop(t *testing.T) {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	require.NoError(t, <-e.done)
	assert.NotContains(t, e.logs.String(), e.git.Password(), "no secret in the log")
	assert.NotContains(t, e.logs.String(), serveToken, "no secret in the log")
}

func (e *serveEnv) setTime(at time.Time) { e.clock.Store(&at) }

func (e *serveEnv) do(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func decodeResults(t *testing.T, body string) []gitops.Result {
	t.Helper()
	var doc struct {
		Results []gitops.Result `json:"results"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	return doc.Results
}

func TestServeEndpoints(t *testing.T) {
	release := make(chan struct{})
	inPush := make(chan struct{})
	var once sync.Once
	srv := gittest.NewServer(t, gittest.WithBeforeReceivePack(func(string) {
		once.Do(func() { close(inPush); <-release }) // hold the first cycle inside its push
	}))
	srv.CreateRepo("shop", shopFiles())
	env := startServe(t, srv, "")

	code, _ := env.do(t, "GET", "/healthz", "", "")
	assert.Equal(t, http.StatusOK, code, "/healthz while the first cycle runs")
	<-inPush
	code, body := env.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusServiceUnavailable, code, "/readyz before the first sync completes: %s", body)
	close(release)

	// An on-demand evaluation waits for the running cycle: once it answers, the first cycle
	// (with its push) is done.
	code, body = env.do(t, "POST", "/api/v1/evaluate?policy=worker", serveToken, "")
	require.Equal(t, http.StatusOK, code, body)
	results := decodeResults(t, body)
	require.Len(t, results, 1)
	assert.Equal(t, "shop/worker", results[0].Policy)
	assert.Equal(t, gitops.ActionUnchanged, results[0].Action, "the first cycle already scaled it")

	code, _ = env.do(t, "GET", "/readyz", "", "")
	assert.Equal(t, http.StatusOK, code, "/readyz after the first sync")

	code, body = env.do(t, "GET", "/metrics", "", "")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`gitops_autoscaler_evaluations_total{policy="shop/web",result="committed"} 1`,
		`gitops_autoscaler_evaluations_total{policy="shop/worker",result="unchanged"} 1`,
		`gitops_autoscaler_decisions_total{direction="up",policy="shop/web",result="committed"} 1`,
		`gitops_autoscaler_commits_total{repository="shop"} 2`,
		`gitops_autoscaler_push_retries_total{repository="shop"} 0`,
		`gitops_autoscaler_replayed_commits_total{repository="shop"} 0`,
		`gitops_autoscaler_push_races_lost_total{repository="shop"} 0`,
		`gitops_autoscaler_push_race_losing_cycles{repository="shop"} 0`,
		`gitops_autoscaler_decisions_not_landed_total{reason="push-race",repository="shop"} 0`,
		`gitops_autoscaler_current_replicas{policy="shop/web"} 3`,
		`gitops_autoscaler_desired_replicas{policy="shop/worker"} 2`,
		`gitops_autoscaler_last_evaluation_timestamp_seconds{policy="shop/web"} 1.795338e+09`, // serveT0
		`gitops_autoscaler_evaluation_duration_seconds_count{repository="shop"} 2`,
	} {
		assert.Contains(t, body, want)
	}

	code, body = env.do(t, "GET", "/api/v1/policies", "", "")
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		Policies []struct {
			ID, Repository, Target, Mode, LastAction, Commit string
			Current, Desired                                 int
			Reasons                                          []engine.Reason
			NextRun                                          time.Time
			LastEvaluated                                    *time.Time
		} `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	require.Len(t, doc.Policies, 2)
	web := doc.Policies[0]
	assert.Equal(t, "shop/web", web.ID)
	assert.Equal(t, "shop", web.Repository)
	assert.Equal(t, "envs/prod/web.yaml#web.replicaCount", web.Target)
	assert.Equal(t, "Commit", web.Mode)
	assert.Equal(t, "committed", web.LastAction)
	assert.Equal(t, 3, web.Current)
	assert.Equal(t, 3, web.Desired)
	require.NotEmpty(t, web.Reasons)
	assert.Contains(t, web.Reasons[0].Message, "http_rps = 300 > scaleUp.threshold 200")
	log := srv.Log("shop", "main") // web's and worker's decisions, pushed together
	require.Len(t, log, 3)
	assert.Equal(t, log[1].SHA, web.Commit)
	require.NotNil(t, web.LastEvaluated)
	assert.Equal(t, serveT0, web.LastEvaluated.UTC())
	assert.True(t, web.NextRun.After(serveT0), "next run scheduled")
	assert.Equal(t, "autoscale(shop/web): 2 → 3 replicas", log[1].Subject)
}

func TestServeAlertmanagerEvaluatesTheNamedPolicy(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", shopFiles())
	env := startServe(t, srv, "")
	// Wait for the scheduled first cycle, which evaluates every policy.
	require.Eventually(t, func() bool {
		code, body := env.do(t, "GET", "/api/v1/policies", "", "")
		return code == http.StatusOK && strings.Count(body, `"lastEvaluated"`) == 2
	}, 30*time.Second, 20*time.Millisecond, "the first cycle evaluates both policies")
	before := srv.HeadSHA("shop", "main")

	// Ten minutes on, both policies would scale: 320 rps (web 3 → 4), 450 jobs (worker 2 → 5).
	env.setTime(serveT1)
	payload := `{
	  "version": "4", "status": "firing", "receiver": "autoscaler", "groupKey": "{}:{alertname=\"WebLatency\"}",
	  "alerts": [
	    {"status": "firing", "labels": {"alertname": "WebLatency", "autoscaler_policy": "shop/web"}, "startsAt": "2026-11-22T09:09:00Z"},
	    {"status": "firing", "labels": {"alertname": "WebErrors", "autoscaler_policy": "shop/web"}, "startsAt": "2026-11-22T09:09:30Z"},
	    {"status": "resolved", "labels": {"alertname": "QueueBacklog", "autoscaler_policy": "shop/worker"}},
	    {"status": "firing", "labels": {"alertname": "Unrelated"}}
	  ]
	}`
	code, body := env.do(t, "POST", "/api/v1/alertmanager", serveToken, payload)
	require.Equal(t, http.StatusOK, code, body)
	results := decodeResults(t, body)
	require.Len(t, results, 1, "exactly the named policy, once")
	assert.Equal(t, "shop/web", results[0].Policy)
	assert.Equal(t, gitops.ActionCommitted, results[0].Action)
	assert.Equal(t, 4, results[0].To)

	commits := strings.Fields(srv.Git("shop", "rev-list", before+"..main"))
	require.Len(t, commits, 1, "one new commit")
	assert.Equal(t, "autoscale(shop/web): 3 → 4 replicas", srv.Log("shop", "main")[0].Subject)
	assert.Equal(t, "worker:\n  replicaCount: 2\n", srv.ReadFile("shop", "main", "envs/prod/worker.yaml"), "the worker was not evaluated")

	// A name this instance does not serve is ignored, not an error: Alertmanager sends every
	// instance the same payload.
	code, body = env.do(t, "POST", "/api/v1/alertmanager", serveToken,
		`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"autoscaler_policy":"other/api"}}]}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Empty(t, decodeResults(t, body))
	assert.Contains(t, body, `"ignored": [`)

	code, body = env.do(t, "POST", "/api/v1/alertmanager", serveToken, `not json`)
	assert.Equal(t, http.StatusBadRequest, code, body)
	code, body = env.do(t, "POST", "/api/v1/evaluate?policy=nope", serveToken, "")
	assert.Equal(t, http.StatusNotFound, code, body)
}

func TestServeCommandReturnsWhenCancelled(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", shopFiles())
	config, trace := serveFixture(t, srv, "")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"serve", "--config", config, "--listen", "127.0.0.1:0", "--metrics-file", trace, "--shard", "0/1", "--log-level", "error"}, io.Discard, pw)
		pw.Close()
	}()
	buf := make([]byte, 256)
	n, err := pr.Read(buf)
	require.NoError(t, err)
	assert.Contains(t, string(buf[:n]), "serving on http://127.0.0.1:")
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	assert.Equal(t, exitOK, <-code)

	assert.Equal(t, exitUsage, run(context.Background(), []string{"serve"}, io.Discard, io.Discard), "--config is required")
	assert.Equal(t, exitUsage, run(context.Background(), []string{"serve", "--config", config, "--shard", "2/2"}, io.Discard, io.Discard))
}

// TestServeIsolatesABrokenDocumentAmongFifty: fifty teams' policies in one repository, one
// document broken. The service evaluates the other 49, and names the broken one by file and
// line on the status page, in the API and in /metrics.
func TestServeIsolatesABrokenDocumentAmongFifty(t *testing.T) {
	files := map[string]string{}
	for i := range 50 {
		name := fmt.Sprintf("app-%02d", i)
		doc := strings.NewReplacer("name: web", "name: "+name, "envs/prod/web.yaml", "envs/prod/"+name+".yaml").Replace(webPolicyDoc)
		if i == 17 {
			doc = strings.Replace(doc, "maxReplicas: 10", "maxReplicas: ten", 1)
		}
		files["policies/"+name+".yaml"] = doc
		files["envs/prod/"+name+".yaml"] = "web:\n  replicaCount: 2\n"
	}
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", files)
	env := startServe(t, srv, "")

	code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "") // after the first cycle
	require.Equal(t, http.StatusOK, code, body)

	code, body = env.do(t, "GET", "/api/v1/policies", "", "")
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		Policies []gitops.PolicyStatus `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	require.Len(t, doc.Policies, 50)
	evaluated := 0
	for _, p := range doc.Policies {
		if p.ID == "shop/app-17" {
			assert.Equal(t, "policies/app-17.yaml:1", p.Invalid)
			assert.Equal(t, `policies/app-17.yaml:8: spec.maxReplicas: must be an integer, got "ten"`, p.LastError)
			continue
		}
		assert.Empty(t, p.Invalid)
		assert.Empty(t, p.LastError)
		assert.Equal(t, new(3), p.Current, p.ID)
		evaluated++
	}
	assert.Equal(t, 49, evaluated)
	assert.Contains(t, srv.ReadFile("shop", "main", "envs/prod/app-17.yaml"), "replicaCount: 2\n", "never touched")
	for i := range 50 {
		want := "replicaCount: 3\n"
		if i == 17 {
			want = "replicaCount: 2\n"
		}
		assert.Contains(t, srv.ReadFile("shop", "main", fmt.Sprintf("envs/prod/app-%02d.yaml", i)), want, i)
	}

	code, body = env.do(t, "GET", "/", "", "")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`data-policy="shop/app-17" data-invalid="policies/app-17.yaml:1"`,
		`invalid document <code>policies/app-17.yaml:1</code>`,
		`policies/app-17.yaml:8: spec.maxReplicas: must be an integer, got &#34;ten&#34;`,
		`<span class="invalid" id="invalid-count">1 invalid</span>`,
	} {
		assert.True(t, strings.Contains(body, want), "the status page shows %s", want)
	}
	assert.Equal(t, 1, strings.Count(body, "data-invalid="))
	row := body[strings.Index(body, `data-policy="shop/app-17"`):]
	row = row[:strings.Index(row, "</tr>")]
	assert.Contains(t, row, `<td class="replicas"><span class="sub" title="not evaluated: its count is whatever Git holds">invalid</span>`,
		"an invalid policy's count is shown as invalid, not as 0")

	code, body = env.do(t, "GET", "/metrics", "", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `gitops_autoscaler_invalid_policies{file="policies/app-17.yaml",repository="shop"} 1`)
	assert.Equal(t, 1, strings.Count(body, "gitops_autoscaler_invalid_policies{"))
	assert.NotContains(t, body, `gitops_autoscaler_current_replicas{policy="shop/app-17"}`, "an invalid policy reports no count of its own")
}

// TestAPIShowsAnInvalidPolicyWithoutACountOrNextRun: GET /api/v1/policies must not make an
// invalid policy look like 0 replicas due at year 1 (docs/design.md §8): its current and
// desired counts are null and nextRun absent, while invalid names file:line and lastError the
// problem; a valid policy beside it keeps its numbers.
func TestAPIShowsAnInvalidPolicyWithoutACountOrNextRun(t *testing.T) {
	files := map[string]string{}
	for _, name := range []string{"good", "bad"} {
		doc := strings.NewReplacer("name: web", "name: "+name, "envs/prod/web.yaml", "envs/prod/"+name+".yaml").Replace(webPolicyDoc)
		if name == "bad" {
			doc = strings.Replace(doc, "maxReplicas: 10", "maxReplicas: ten", 1)
		}
		files["policies/"+name+".yaml"] = doc
		files["envs/prod/"+name+".yaml"] = "web:\n  replicaCount: 2\n"
	}
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", files)
	env := startServe(t, srv, "")
	code, body := env.do(t, "POST", "/api/v1/evaluate", serveToken, "")
	require.Equal(t, http.StatusOK, code, body)

	code, body = env.do(t, "GET", "/api/v1/policies", "", "")
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		Policies []map[string]json.RawMessage `json:"policies"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
	byID := map[string]map[string]json.RawMessage{}
	for _, p := range doc.Policies {
		var id string
		require.NoError(t, json.Unmarshal(p["id"], &id))
		byID[id] = p
	}
	require.Len(t, byID, 2, body)
	for _, tc := range []struct {
		name, id string
		want     map[string]string // field → raw JSON; "" means absent
	}{
		{name: "invalid: no count, no decision, no next run", id: "shop/bad", want: map[string]string{
			"current": "null", "desired": "null", "nextRun": "",
			"invalid":   `"policies/bad.yaml:1"`,
			"lastError": `"policies/bad.yaml:8: spec.maxReplicas: must be an integer, got \"ten\""`,
		}},
		{name: "valid: its numbers", id: "shop/good", want: map[string]string{
			"current": "3", "desired": "3", "invalid": "", "lastError": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := byID[tc.id]
			require.NotNil(t, p, body)
			for field, want := range tc.want {
				got, ok := p[field]
				if want == "" {
					assert.False(t, ok, "%s absent, got %s", field, got)
					continue
				}
				assert.Equal(t, want, string(got), field)
			}
		})
	}
	var next time.Time
	require.NoError(t, json.Unmarshal(byID["shop/good"]["nextRun"], &next))
	assert.False(t, next.IsZero(), "the valid policy is scheduled")
}
