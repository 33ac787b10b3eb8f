package promclient

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

func TestSyncValue(t *testing.T) {
	const q = `kube_deployment_spec_replicas{deployment="web"}`
	sample := func(v float64) *model.Sample { return &model.Sample{Value: model.SampleValue(v)} }
	tests := []struct {
		name      string
		value     model.Value
		err       error
		want      engine.SyncStatus
		wantCause string // a substring of the cause, for missing values
	}{
		{name: "one series", value: model.Vector{sample(5)}, want: engine.SyncStatus{Observed: 5}},
		{name: "scalar", value: &model.Scalar{Value: 3}, want: engine.SyncStatus{Observed: 3}},
		{name: "zero replicas", value: model.Vector{sample(0)}, want: engine.SyncStatus{Observed: 0}},
		{name: "fraction rounds to nearest", value: model.Vector{sample(4.6)}, want: engine.SyncStatus{Observed: 5}},
		{name: "fraction below half rounds down", value: model.Vector{sample(4.4)}, want: engine.SyncStatus{Observed: 4}},
		{name: "negative counts as zero", value: model.Vector{sample(-2)}, want: engine.SyncStatus{Observed: 0}},
		{name: "empty is missing", value: model.Vector{}, want: engine.SyncStatus{Missing: true}, wantCause: CauseEmpty},
		{name: "NaN is missing", value: model.Vector{sample(math.NaN())}, want: engine.SyncStatus{Missing: true}, wantCause: "NaN"},
		{name: "+Inf is missing", value: model.Vector{sample(math.Inf(1))}, want: engine.SyncStatus{Missing: true}, wantCause: "+Inf"},
		{name: "huge is missing", value: model.Vector{sample(1e12)}, want: engine.SyncStatus{Missing: true}, wantCause: "not a replica count"},
		{
			name:  "several series are missing and the cause says how to fix the query",
			value: model.Vector{sample(3), sample(3)}, want: engine.SyncStatus{Missing: true}, wantCause: "returned 2 series, want 1 (aggregate in the query",
		},
		{name: "matrix is missing", value: model.Matrix{}, want: engine.SyncStatus{Missing: true}, wantCause: "returned a matrix"},
		{name: "query error is missing with the error", err: errors.New("connection refused"), want: engine.SyncStatus{Missing: true}, wantCause: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cause := SyncValue(q, tt.value, tt.err)
			assert.Equal(t, tt.want, got)
			if tt.want.Missing {
				assert.Contains(t, cause, tt.wantCause)
			} else {
				assert.Empty(t, cause)
			}
		})
	}
}

func syncPolicy(server string, sc *policy.SyncCheck) *policy.Policy {
	p := testPolicy("web", server, "q1")
	p.Spec.SyncCheck = sc
	return p
}

func TestSyncCheckerObserved(t *testing.T) {
	const q = `kube_deployment_spec_replicas{deployment="web"}`
	answer := func(status int, data string) func(int, *http.Request, http.ResponseWriter) {
		return func(_ int, _ *http.Request, w http.ResponseWriter) {
			if status != http.StatusOK {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
				return
			}
			success(w, data)
		}
	}
	tests := []struct {
		name    string
		answer  func(int, *http.Request, http.ResponseWriter)
		policy  *policy.Policy
		want    engine.SyncStatus
		queried bool   // the sync query reached the server
		logged  string // a substring of the log, "" for no warning
	}{
		{
			name:   "the count the cluster runs",
			answer: answer(http.StatusOK, `{"resultType":"vector","result":[{"metric":{},"value":[1795345200,"6"]}]}`),
			policy: syncPolicy("", &policy.SyncCheck{PromQL: q}), want: engine.SyncStatus{Observed: 6}, queried: true,
		},
		{
			name:   "empty answer is missing and logged",
			answer: answer(http.StatusOK, `{"resultType":"vector","result":[]}`),
			policy: syncPolicy("", &policy.SyncCheck{PromQL: q}), want: engine.SyncStatus{Missing: true}, queried: true, logged: CauseEmpty,
		},
		{
			name:   "bad query is missing and logged with the query",
			answer: answer(http.StatusBadRequest, ""),
			policy: syncPolicy("", &policy.SyncCheck{PromQL: q}), want: engine.SyncStatus{Missing: true}, queried: true, logged: "kube_deployment_spec_replicas",
		},
		{
			name:   "unknown server is missing and logged",
			answer: answer(http.StatusOK, `{"resultType":"vector","result":[]}`),
			policy: syncPolicy("elsewhere", &policy.SyncCheck{PromQL: q}), want: engine.SyncStatus{Missing: true}, logged: "is not configured",
		},
		{
			name:   "no syncCheck asks nothing",
			answer: answer(http.StatusOK, `{"resultType":"vector","result":[]}`),
			policy: syncPolicy("", nil), want: engine.SyncStatus{Missing: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, tt.answer)
			cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
			cfg.SetDefaults()
			servers, err := NewServers(cfg, WithRetry(1, 0, 0))
			require.NoError(t, err)
			var logs bytes.Buffer
			sc := NewSyncChecker(servers, slog.New(slog.NewTextHandler(&logs, nil)))

			got := sc.Observed(context.Background(), tt.policy, at)

			assert.Equal(t, tt.want, got)
			if tt.queried {
				require.Equal(t, 1, f.count())
				assert.Equal(t, []string{q}, f.queries)
				assert.Equal(t, strconv.FormatInt(at.Unix(), 10), f.last().Form.Get("time"), "queried at the decision's instant")
			} else {
				assert.Zero(t, f.count())
			}
			if tt.logged == "" {
				assert.Empty(t, logs.String())
			} else {
				assert.Contains(t, logs.String(), tt.logged)
			}
		})
	}
}

func TestSyncCheckerNilLoggerDiscards(t *testing.T) {
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: "http://127.0.0.1:9", Timeout: policy.Duration{Duration: time.Second}}}}
	cfg.SetDefaults()
	servers, err := NewServers(cfg, WithRetry(1, 0, 0))
	require.NoError(t, err)
	got := NewSyncChecker(servers, nil).Observed(context.Background(), syncPolicy("", &policy.SyncCheck{PromQL: "up"}), at)
	assert.Equal(t, engine.SyncStatus{Missing: true}, got, "an unreachable server is missing")
}
