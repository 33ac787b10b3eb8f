package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPromQLParsedAtValidate is item 1 of issue 21: a query Prometheus's parser rejects is a
// validation error naming file, line, field and the parser's position; a query it accepts
// passes, with the lint's warnings where they apply.
func TestPromQLParsedAtValidate(t *testing.T) {
	doc := func(query string) string {
		return `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web}
spec:
  targetRef: {kind: Deployment, name: web}
  replicas: {file: values.yaml, path: replicaCount}
  maxReplicas: 10
  metrics:
    - name: rps
      promQL: ` + query + `
      target: {type: AverageValue, averageValue: 100}
`
	}
	cases := []struct {
		name     string
		query    string
		errs     []string // substrings of the one error; none: valid
		warnings []string // substrings, one per warning, in order
	}{
		{name: "unclosed parenthesis", query: `'sum(rate(http_requests_total[2m])'`,
			errs: []string{"p.yaml:10: spec.metrics[0].promQL: parse error at 1:", "unclosed left parenthesis", `sum(rate(http_requests_total[2m])`}},
		{name: "unknown function", query: `'sum(rat(http_requests_total[2m]))'`,
			errs: []string{"p.yaml:10: spec.metrics[0].promQL: parse error at 1:5", `unknown function with name "rat"`}},
		{name: "bad duration", query: `'rate(x_total[2q])'`,
			errs: []string{"p.yaml:10: spec.metrics[0].promQL: parse error at 1:"}},
		{name: "multi-line query names the query's line", query: "|\n        sum(\n          rate(x_total[2m])\n        ) by (",
			errs: []string{"p.yaml:10: spec.metrics[0].promQL: parse error at 4:1", "unclosed left parenthesis"}},
		{name: "valid counter rate", query: `sum(rate(http_requests_total{app="web"}[2m]))`},
		{name: "valid histogram quantile", query: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`},
		{name: "valid gauge without rate", query: `max(queue_depth)`},
		{name: "rate over a gauge name warns", query: `sum(rate(queue_depth[2m]))`,
			warnings: []string{"p.yaml:10: warning: spec.metrics[0].promQL: rate() over queue_depth, whose name does not end in _total, _count, _sum, _bucket"}},
		{name: "increase over a gauge name warns", query: `increase(memory_bytes[5m])`,
			warnings: []string{"increase() over memory_bytes"}},
		{name: "short range warns", query: `sum(rate(http_requests_total[30s]))`,
			warnings: []string{"p.yaml:10: warning: spec.metrics[0].promQL: range [30s] of http_requests_total is shorter than 1m"}},
		{name: "both lints", query: `rate(temperature[15s])`,
			warnings: []string{"rate() over temperature", "range [15s] of temperature"}},
		{name: "range of exactly 1m passes", query: `rate(x_count[1m])`},
		{name: "short subquery warns", query: `max_over_time(rate(x_total[1m])[30s:5s])`,
			warnings: []string{"subquery range [30s] is shorter than 1m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := LoadDocuments("p.yaml", []byte(doc(tc.query)))
			if len(tc.errs) > 0 {
				require.Error(t, err)
				for _, want := range tc.errs {
					assert.Contains(t, err.Error(), want)
				}
				assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one error: %v", err)
				return
			}
			require.NoError(t, err)
			require.Len(t, docs.Policies, 1)
			var got []string
			for _, w := range docs.Warnings {
				got = append(got, w.String())
			}
			require.Len(t, got, len(tc.warnings), "warnings: %q", got)
			for i, want := range tc.warnings {
				assert.Contains(t, got[i], want)
			}
		})
	}
}

// TestPromQLOtherFields: the shadow and syncCheck queries are parsed too.
func TestPromQLOtherFields(t *testing.T) {
	base := `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web}
spec:
  targetRef: {kind: Deployment, name: web}
  replicas: {file: values.yaml, path: replicaCount}
  maxReplicas: 10
  mode: DryRun
  metrics:
    - {name: rps, promQL: up, target: {type: AverageValue, averageValue: 100}}
`
	cases := []struct{ name, extra, want string }{
		{name: "shadow", extra: "  shadow: {promQL: 'max(kube_hpa_desired{'}\n", want: "p.yaml:11: spec.shadow.promQL: parse error at 1:"},
		{name: "syncCheck", extra: "  syncCheck: {promQL: 'sum(kube_deployment_spec_replicas))', timeoutSeconds: 60}\n", want: "p.yaml:11: spec.syncCheck.promQL: parse error at 1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDocuments("p.yaml", []byte(base+tc.extra))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// FuzzCheckPromQL: whatever a user writes as a query, the check neither panics nor accepts what
// the parser rejects, and an error always names the parser's position.
func FuzzCheckPromQL(f *testing.F) {
	for _, s := range []string{"sum(rate(http_requests_total[2m])", "up", "rate(x[10s])", "a{b=\"c\"} offset 5m", "histogram_quantile(0.9, x_bucket)", "((", "\"\\x\"", "x[5m:1m]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		lint, err := CheckPromQL(q)
		if err != nil {
			if len(q) <= maxPromQL && !strings.HasPrefix(err.Error(), "parse error") {
				t.Fatalf("%q: error without the parser's position: %v", q, err)
			}
			if len(lint) > 0 {
				t.Fatalf("%q: lint on a query that does not parse", q)
			}
			return
		}
		if _, perr := promQLParser.ParseExpr(q); perr != nil {
			t.Fatalf("%q accepted, but the parser says %v", q, perr)
		}
	})
}
