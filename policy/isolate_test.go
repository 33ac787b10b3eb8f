package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// teamPolicy is one small valid policy document of a shared repository.
func teamPolicy(team, app string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  targetRef: {kind: Deployment, name: %[2]s}
  replicas: {file: envs/prod/%[1]s/%[2]s/values.yaml, path: replicaCount}
  maxReplicas: 10
  metrics:
    - name: rps
      promQL: |
        sum(rate(http_requests_total{app="%[2]s"}[2m]))
        # --- inside a literal, not a document marker (a PromQL comment)
      target: {type: AverageValue, averageValue: 100}
`, team, app)
}

func ids(ps []*Policy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID()
	}
	return out
}

// TestLoadEachIsolatesDocuments: a broken document fails only itself, whatever is broken.
func TestLoadEachIsolatesDocuments(t *testing.T) {
	good := func(apps ...string) string {
		var b strings.Builder
		for _, a := range apps {
			b.WriteString("---\n" + teamPolicy("shop", a))
		}
		return b.String()
	}
	tests := []struct {
		name      string
		doc       string
		wantIDs   []string
		wantWhere []string // file:line of each Invalid
		wantIDsOf []string // the policy each Invalid names
		wantErr   []string // a line of each Invalid's error
	}{
		{name: "all valid", doc: good("web", "api"), wantIDs: []string{"shop/web", "shop/api"}},
		{name: "a field error in the middle",
			doc:       good("web") + "---\n" + strings.Replace(teamPolicy("shop", "api"), "maxReplicas: 10", "maxReplicas: ten", 1) + good("cart"),
			wantIDs:   []string{"shop/web", "shop/cart"},
			wantWhere: []string{"p.yaml:16"}, wantIDsOf: []string{"shop/api"},
			wantErr: []string{`p.yaml:22: spec.maxReplicas: must be an integer, got "ten"`}},
		{name: "a YAML syntax error spoils only its document",
			doc:     good("web") + "---\n" + strings.Replace(teamPolicy("shop", "api"), "maxReplicas: 10", "maxReplicas: [10", 1) + good("cart"),
			wantIDs: []string{"shop/web", "shop/cart"},
			// The parser places an unclosed flow sequence a line before the one it opens on.
			wantWhere: []string{"p.yaml:21"}, wantIDsOf: []string{""},
			wantErr: []string{"p.yaml:21: invalid YAML: did not find expected ',' or ']'"}},
		{name: "a document of another kind",
			doc:       good("web") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n",
			wantIDs:   []string{"shop/web"},
			wantWhere: []string{"p.yaml:16"}, wantIDsOf: []string{""},
			wantErr: []string{`p.yaml:17: kind: must be PrometheusAutoscaler, got "ConfigMap"`}},
		{name: "a malformed name is not trusted as an ID",
			doc:       strings.Replace(teamPolicy("shop", "web"), "name: web,", "name: Web_1,", 1),
			wantWhere: []string{"p.yaml:1"}, wantIDsOf: []string{""},
			wantErr: []string{`p.yaml:3: metadata.name: must be a lowercase DNS name`}},
		{name: "a document marker followed by a comment",
			doc:     teamPolicy("shop", "web") + "--- # the api\n" + teamPolicy("shop", "api"),
			wantIDs: []string{"shop/web", "shop/api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, invalid := LoadEach("p.yaml", []byte(tt.doc))
			assert.Equal(t, tt.wantIDs, nilIfEmpty(ids(ps)))
			require.Len(t, invalid, len(tt.wantWhere))
			for i, iv := range invalid {
				assert.Equal(t, tt.wantWhere[i], iv.Where())
				assert.Equal(t, tt.wantIDsOf[i], iv.Policy)
				assert.Contains(t, iv.Error(), tt.wantErr[i])
			}
			// The strict loader refuses the same file as a whole.
			_, err := LoadPolicies("p.yaml", []byte(tt.doc))
			assert.Equal(t, len(invalid) > 0, err != nil)
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestLoadEachOneBrokenAmongFifty is the shared repository's case: fifty teams' documents in
// one file, one of them broken.
func TestLoadEachOneBrokenAmongFifty(t *testing.T) {
	var b strings.Builder
	brokenLine := 0
	for i := range 50 {
		doc := teamPolicy(fmt.Sprintf("team-%02d", i), "app")
		if i == 31 {
			brokenLine = strings.Count(b.String(), "\n") + 1
			doc = strings.Replace(doc, "averageValue: 100", "averageValue: lots", 1)
		}
		b.WriteString(doc + "---\n")
	}
	ps, invalid := LoadEach("shared.yaml", []byte(b.String()))
	assert.Len(t, ps, 49)
	require.Len(t, invalid, 1)
	assert.Equal(t, "team-31/app", invalid[0].Policy)
	assert.Equal(t, fmt.Sprintf("shared.yaml:%d", brokenLine), invalid[0].Where())
	assert.Equal(t, fmt.Sprintf(`shared.yaml:%d: spec.metrics[0].target.averageValue: must be a number, got "lots"`, brokenLine+12), invalid[0].Error())
}

// TestCheckSet: knowing nothing of the repository's history, a set-level conflict refuses
// exactly the policies involved, each naming the other, since which came first is not known;
// ValidateSet reports the same conflicts once, at the later policy. (TestCheckRepoSet settles
// them by history.)
func TestCheckSet(t *testing.T) {
	load := func(t *testing.T, file, doc string) *Policy {
		t.Helper()
		ps, err := LoadPolicies(file, []byte(doc))
		require.NoError(t, err)
		require.Len(t, ps, 1)
		return ps[0]
	}
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default"}}}
	tests := []struct {
		name    string
		docs    map[string]string // file → document, loaded in file order
		order   []string
		wantOK  []string
		wantBad map[string]string // ID → its error
	}{
		{name: "no conflict", order: []string{"a.yaml", "b.yaml"},
			docs:   map[string]string{"a.yaml": teamPolicy("shop", "web"), "b.yaml": teamPolicy("shop", "api")},
			wantOK: []string{"shop/web", "shop/api"}},
		{name: "duplicate IDs refuse both when the order is unknown",
			order: []string{"a.yaml", "b.yaml", "c.yaml"},
			docs: map[string]string{"a.yaml": teamPolicy("shop", "web"), "c.yaml": teamPolicy("shop", "api"),
				"b.yaml": strings.Replace(teamPolicy("shop", "web"), "envs/prod/shop/web", "envs/prod/shop/web2", 1)},
			wantOK: []string{"shop/api"},
			wantBad: map[string]string{
				"shop/web@a.yaml": "a.yaml:3: metadata.name: policy shop/web is claimed by b.yaml:3 too, and which came first is not known here: neither is evaluated until one gives it up",
				"shop/web@b.yaml": "b.yaml:3: metadata.name: policy shop/web is claimed by a.yaml:3 too, and which came first is not known here: neither is evaluated until one gives it up",
			}},
		{name: "one target written twice refuses both when the order is unknown", order: []string{"a.yaml", "b.yaml", "c.yaml"},
			docs: map[string]string{"a.yaml": teamPolicy("shop", "web"), "c.yaml": teamPolicy("shop", "api"),
				"b.yaml": strings.Replace(teamPolicy("shop", "web"), "name: web,", "name: web-copy,", 1)},
			wantOK: []string{"shop/api"},
			wantBad: map[string]string{
				"shop/web@a.yaml": "a.yaml:6: spec.replicas.path: the value it writes (envs/prod/shop/web/values.yaml replicaCount) is claimed by policy shop/web-copy (b.yaml:6) too, " +
					"and which came first is not known here: neither is evaluated until one gives it up",
				"shop/web-copy@b.yaml": "b.yaml:6: spec.replicas.path: the value it writes (envs/prod/shop/web/values.yaml replicaCount) is claimed by policy shop/web (a.yaml:6) too, " +
					"and which came first is not known here: neither is evaluated until one gives it up",
			}},
		{name: "an unknown server refuses only its policy", order: []string{"a.yaml", "b.yaml"},
			docs: map[string]string{"a.yaml": teamPolicy("shop", "web"),
				"b.yaml": strings.Replace(teamPolicy("shop", "api"), "  maxReplicas: 10\n", "  maxReplicas: 10\n  prometheus: {server: thanos}\n", 1)},
			wantOK: []string{"shop/web"},
			wantBad: map[string]string{
				"shop/api@b.yaml": `b.yaml:8: spec.prometheus.server: unknown Prometheus server "thanos": the config defines: default`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*Policy
			for _, f := range tt.order {
				ps = append(ps, load(t, f, tt.docs[f]))
			}
			ok, bad := CheckSet(cfg, ps)
			assert.Equal(t, tt.wantOK, ids(ok))
			got := map[string]string{}
			for _, iv := range bad {
				got[iv.Policy+"@"+iv.File] = iv.Error()
				assert.Equal(t, iv.File+":1", iv.Where(), "an Invalid locates the document")
			}
			assert.Equal(t, len(tt.wantBad), len(got))
			for k, want := range tt.wantBad {
				assert.Equal(t, want, got[k], k)
			}
			err := ValidateSet(cfg, ps)
			assert.Equal(t, len(bad) > 0, err != nil, "the strict check agrees")
		})
	}
}
