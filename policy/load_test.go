package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

var update = flag.Bool("update", false, "rewrite the golden *.err files of testdata/invalid")

// problems is what `validate` reports for one file: every load problem, then the set-level
// ones, one line each.
func problems(t *testing.T, file string) []string {
	t.Helper()
	docs, err := LoadFiles(file)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if len(docs.Configs) == 0 {
		errs = append(errs, ValidateSet(nil, docs.Policies))
	}
	for _, cfg := range docs.Configs {
		errs = append(errs, ValidateSet(cfg, docs.Policies))
	}
	if err := errors.Join(errs...); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	return nil
}

// TestInvalidDocuments checks every bad document of testdata/invalid against the exact
// messages of its *.err sibling. Run with -update to rewrite them, then review the diff.
func TestInvalidDocuments(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			got := problems(t, file)
			require.NotEmpty(t, got, "an invalid document validated")
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, strings.TrimRight(string(want), "\n"), strings.Join(got, "\n"))
		})
	}
}

func TestThreeMistakesGiveThreeLines(t *testing.T) {
	got := problems(t, "testdata/invalid/three-mistakes.yaml")
	require.Len(t, got, 3)
	assert.Contains(t, got[0], "spec.minReplicas: 12 is above maxReplicas 10")
	assert.Contains(t, got[1], "spec.schedule: invalid cron spec")
	assert.Contains(t, got[2], "spec.metrics[0].scaleUp.steps: unknown field (did you mean step?)")
}

func TestEveryProblemIsAFieldError(t *testing.T) {
	data, err := os.ReadFile("testdata/invalid/three-mistakes.yaml")
	require.NoError(t, err)
	_, err = LoadPolicies("p.yaml", data)
	require.Error(t, err)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	for _, e := range joined.Unwrap() {
		var fe *FieldError
		require.True(t, errors.As(e, &fe), "%v", e)
		assert.Equal(t, "p.yaml", fe.File)
		assert.Positive(t, fe.Line)
		assert.NotEmpty(t, fe.Field)
		assert.Equal(t, "p.yaml:"+strconv.Itoa(fe.Line)+": "+fe.Field+": "+fe.Msg, fe.Error())
	}
}

func TestSeedDocumentValidates(t *testing.T) {
	data, err := os.ReadFile("testdata/seed.yaml")
	require.NoError(t, err)
	docs, err := LoadDocuments("seed.yaml", data)
	require.NoError(t, err)
	require.Len(t, docs.Policies, 1)
	p := docs.Policies[0]
	assert.Equal(t, LegacyAPIVersion, p.APIVersion)
	assert.Equal(t, "laravel-demo/laravel-web", p.ID())
	assert.Equal(t, ModeCommit, p.Spec.Mode, "mode Apply is the original controller's Commit")
	assert.Equal(t, "http://prometheus.monitoring:9090", p.Spec.Prometheus.URL)
	assert.Empty(t, p.Spec.Prometheus.Server, "a policy URL does not also get the default server")
	assert.Equal(t, 2, *p.Spec.MinReplicas)
	assert.Equal(t, 250.0, *p.Spec.Metrics[0].ScaleUp.Threshold)
	assert.Equal(t, 120, *p.Spec.Behavior.StabilizationWindowSeconds)
	assert.Equal(t, []any{"seed.yaml", 1, ""}, []any{p.Source.File, p.Source.Line, p.Source.Repository})
	assert.Equal(t, 16, p.Source.LineOf("spec.metrics[0].scaleUp.threshold"))
	require.Len(t, docs.Warnings, 1)
	assert.Equal(t, "seed.yaml:6: warning: spec.replicas: not set: validate accepts the policy, but evaluate and serve need spec.replicas (file and path) to know where the count lives in Git",
		docs.Warnings[0].String())
}

func TestFullExampleValidates(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(t, err)
	policies, err := LoadPolicies("full.yaml", data)
	require.NoError(t, err)
	require.Len(t, policies, 1)
	s := policies[0].Spec
	assert.Equal(t, 10*time.Hour, s.Schedules[0].Duration.Duration)
	assert.Equal(t, "Europe/Berlin", s.Schedules[0].Timezone)
	assert.Equal(t, ModePullRequest, s.Mode)
	assert.Equal(t, ModePullRequest, s.Delivery.ScaleDown)
	assert.Equal(t, "default", s.Prometheus.Server)
	assert.Equal(t, "laravelWeb.replicaCount", s.Replicas.Path, "comments do not leak into values")
	assert.Equal(t, TargetValue, s.Metrics[2].Target.Type)
	assert.Equal(t, 0.3, *s.Metrics[2].Target.Value)
	require.Len(t, s.Behavior.ScaleUp.Policies, 2)
	assert.Equal(t, HPAPolicy{Type: PolicyPods, Value: 4, PeriodSeconds: 15}, s.Behavior.ScaleUp.Policies[1])
	assert.Equal(t, 600, s.SyncCheck.TimeoutSeconds)
	assert.Empty(t, policies[0].Warnings())

	cfg, err := svcconfig.LoadConfig("config.yaml", mustRead(t, "testdata/config.yaml"))
	require.NoError(t, err)
	assert.NoError(t, ValidateSet(cfg, policies))
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	return data
}

func TestLoadPolicies(t *testing.T) {
	const base = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: web, namespace: demo}
spec:
  targetRef: {kind: Deployment, name: web}
  replicas: {file: values.yaml, path: replicaCount}
  maxReplicas: 5
  metrics:
    - {name: rps, promQL: up, target: {type: AverageValue, averageValue: 10}}
`
	tests := []struct {
		name    string
		doc     string
		wantIDs []string
		wantErr string
	}{
		{name: "one document", doc: base, wantIDs: []string{"demo/web"}},
		{name: "several documents and empty ones", doc: "---\n" + base + "---\n" + strings.Replace(base, "name: web,", "name: worker,", 1) + "---\n",
			wantIDs: []string{"demo/web", "demo/worker"}},
		{name: "comments only", doc: "# nothing here\n", wantIDs: nil},
		{name: "anchors and merge keys", doc: strings.Replace(base, "  metrics:\n    - {name: rps, promQL: up, target: {type: AverageValue, averageValue: 10}}\n",
			"  metrics:\n    - &m {name: rps, promQL: up, target: {type: AverageValue, averageValue: 10}}\n    - {<<: *m, name: rps2}\n", 1),
			wantIDs: []string{"demo/web"}},
		{name: "a config is not a policy", doc: "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\n",
			wantErr: "p.yaml:2: kind: must be PrometheusAutoscaler, got \"AutoscalerConfig\""},
		{name: "kind missing", doc: "apiVersion: autoscaler.gitops.dev/v1alpha1\n",
			wantErr: "p.yaml:1: kind: required: PrometheusAutoscaler"},
		{name: "null means unset", doc: strings.Replace(base, "maxReplicas: 5", "maxReplicas: ~", 1),
			wantErr: "p.yaml:7: spec.maxReplicas: required: at least 1"},
		{name: "float for an integer", doc: strings.Replace(base, "maxReplicas: 5", "maxReplicas: 5.5", 1),
			wantErr: "p.yaml:7: spec.maxReplicas: must be an integer, got \"5.5\""},
		{name: "NaN threshold", doc: strings.Replace(base, "averageValue: 10", "averageValue: .nan", 1),
			wantErr: "p.yaml:9: spec.metrics[0].target.averageValue: must be a finite number, got \".nan\""},
		{name: "number for a string", doc: strings.Replace(base, "name: web,", "name: 42,", 1),
			wantErr: "p.yaml:3: metadata.name: must be a string, got \"42\""},
		{name: "list for a mapping", doc: strings.Replace(base, "targetRef: {kind: Deployment, name: web}", "targetRef: [Deployment]", 1),
			wantErr: "p.yaml:5: spec.targetRef: must be a mapping, got a list"},
		{name: "alias bomb is bounded", doc: aliasBomb(), wantErr: "document too large"},
		{name: "timezone Local depends on the machine", doc: base + "  schedules: [{name: day, cron: '0 8 * * *', duration: 1h, minReplicas: 2, timezone: Local}]\n",
			wantErr: "p.yaml:10: spec.schedules[0].timezone: must be an IANA zone such as Europe/Berlin; Local depends on the machine"},
		{name: "cron descriptors", doc: base + "  schedule: '@hourly'\n  schedules: [{name: day, cron: '@every 1h', duration: 1h, minReplicas: 2}]\n",
			wantIDs: []string{"demo/web"}},
		{name: "secret-looking unknown field", doc: strings.Replace(base, "targetRef:", "token: abc\n  targetRef:", 1),
			wantErr: "p.yaml:5: spec.token: unknown field: secrets are read only from files or the environment; use the field's File or Env form"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadPolicies("p.yaml", []byte(tt.doc))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Nil(t, got)
				return
			}
			require.NoError(t, err)
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID())
			}
			assert.Equal(t, tt.wantIDs, ids)
		})
	}
}

// aliasBomb is a "billion laughs" document through merge keys: ten levels, each merging ten
// aliases of the level below.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: PrometheusAutoscaler\nx0: &a0 {name: web}\n")
	for i := 1; i < 10; i++ {
		b.WriteString("x" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " {<<: [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]}\n")
	}
	b.WriteString("metadata: {<<: *a9}\n")
	return b.String()
}

func TestLoadPolicyFiles(t *testing.T) {
	dir := t.TempDir()
	seed := mustRead(t, "testdata/seed.yaml")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "team-a", ".hidden"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team-a", "web.yaml"), seed, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team-a", "worker.yml"), []byte(strings.Replace(string(seed), "name: laravel-web\n", "name: laravel-worker\n", 1)), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team-a", "README.md"), []byte("not yaml"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "team-a", ".hidden", "x.yaml"), []byte("broken: ["), 0o644))

	policies, err := LoadPolicyFiles(dir)
	require.NoError(t, err)
	require.Len(t, policies, 2)
	assert.Equal(t, "laravel-demo/laravel-web", policies[0].ID())
	assert.Equal(t, filepath.Join(dir, "team-a", "web.yaml"), policies[0].Source.File)
	assert.Equal(t, "laravel-demo/laravel-worker", policies[1].ID())

	_, err = LoadPolicyFiles(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.yaml")
}

func TestLineOfFallsBackToWrittenAncestor(t *testing.T) {
	policies, err := LoadPolicies("seed.yaml", mustRead(t, "testdata/seed.yaml"))
	require.NoError(t, err)
	src := policies[0].Source
	tests := []struct {
		name  string
		field string
		want  int
	}{
		{name: "written field", field: "spec.maxReplicas", want: 9},
		{name: "list item", field: "spec.metrics[1]", want: 18},
		{name: "defaulted field", field: "spec.holds.afterRevertSeconds", want: 6},
		{name: "nothing known", field: "status", want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, src.LineOf(tt.field))
		})
	}
	assert.Equal(t, 0, Source{}.LineOf("spec"), "a policy built in code has no lines")
}

func TestValidateInCodePolicy(t *testing.T) {
	p := &Policy{APIVersion: APIVersion, Kind: KindPolicy, Metadata: Metadata{Name: "web"},
		Spec: Spec{TargetRef: TargetRef{Kind: "Deployment", Name: "web"}, MaxReplicas: 3, MinReplicas: ptr(4),
			Metrics: []Metric{{Name: "rps", PromQL: "up", Target: &Target{Type: TargetValue, Value: ptr(1.0)}}}}}
	p.SetDefaults()
	err := p.Validate()
	require.Error(t, err)
	assert.Equal(t, "spec.minReplicas: 4 is above maxReplicas 3", err.Error())
}

func TestDurationEncoding(t *testing.T) {
	d := Duration{Duration: 90 * time.Second}
	b, err := d.MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `"1m30s"`, string(b))
	var back Duration
	require.NoError(t, back.UnmarshalJSON([]byte(`"10h"`)))
	assert.Equal(t, 10*time.Hour, back.Duration)
	assert.Error(t, back.UnmarshalJSON([]byte(`"ten hours"`)))
	y, err := d.MarshalYAML()
	require.NoError(t, err)
	assert.Equal(t, "1m30s", y)
}

// FuzzLoadPolicies: whatever a user writes, loading never panics, every problem names the
// file, and a policy that loads satisfies the invariants the engine relies on.
func FuzzLoadPolicies(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/invalid/*.yaml"} {
		files, err := filepath.Glob(glob)
		require.NoError(f, err)
		for _, file := range files {
			f.Add(mustReadF(f, file))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		policies, err := LoadPolicies("f.yaml", data)
		// The isolating loader agrees: all documents valid, or at least one Invalid, each
		// naming its file on every line.
		each, invalid := LoadEach("f.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				assert.True(t, strings.HasPrefix(line, "f.yaml:"), "problem without its file: %q", line)
			}
			require.NotEmpty(t, invalid, "LoadPolicies failed, LoadEach found nothing invalid")
			for _, iv := range invalid {
				for _, line := range strings.Split(iv.Error(), "\n") {
					assert.True(t, strings.HasPrefix(line, "f.yaml:"), "problem without its file: %q", line)
				}
			}
			return
		}
		require.Empty(t, invalid)
		require.Len(t, each, len(policies))
		for _, p := range policies {
			s := p.Spec
			require.NotNil(t, s.MinReplicas)
			assert.GreaterOrEqual(t, *s.MinReplicas, 0)
			assert.GreaterOrEqual(t, s.MaxReplicas, 1)
			assert.LessOrEqual(t, *s.MinReplicas, s.MaxReplicas)
			assert.NotEmpty(t, s.Metrics)
			for _, m := range s.Metrics {
				hasStep := m.ScaleUp != nil && m.ScaleDown != nil
				assert.NotEqual(t, hasStep, m.Target != nil, "exactly one rule form")
				if hasStep {
					assert.Less(t, *m.ScaleDown.Threshold, *m.ScaleUp.Threshold)
					assert.GreaterOrEqual(t, m.ScaleUp.Step, 1)
					assert.GreaterOrEqual(t, m.ScaleDown.Step, 1)
				}
			}
			assert.NotEqual(t, ModeApply, s.Mode)
			assert.NoError(t, p.Validate())
		}
	})
}

func mustReadF(f *testing.F, file string) []byte {
	f.Helper()
	data, err := os.ReadFile(file)
	require.NoError(f, err)
	return data
}

// BenchmarkLoadPolicies measures loading the full example policy of docs/design.md §4: decode,
// defaults, validation.
func BenchmarkLoadPolicies(b *testing.B) {
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadPolicies("full.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPolicyWarnings(t *testing.T) {
	const doc = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: worker}
spec:
  targetRef: {kind: Deployment, name: worker}
  replicas: {file: values.yaml, path: worker.replicas}
  minReplicas: 0
  maxReplicas: 5
  metrics:
    - {name: backlog, promQL: sum(jobs), activationThreshold: 1, target: {type: AverageValue, averageValue: 10}}
`
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{name: "scale to zero: activation is meant", doc: doc},
		{name: "activation with a floor above zero", doc: strings.Replace(doc, "minReplicas: 0", "minReplicas: 2", 1), want: []string{
			"w.yaml:10: warning: spec.metrics[0].activationThreshold: has no effect with minReplicas 2: activation only decides between 0 and 1 replicas"}},
		{name: "activation with the default floor", doc: strings.Replace(doc, "  minReplicas: 0\n", "", 1), want: []string{
			"w.yaml:9: warning: spec.metrics[0].activationThreshold: has no effect with minReplicas 1: activation only decides between 0 and 1 replicas"}},
		{name: "no replicas location", doc: strings.Replace(doc, "  replicas: {file: values.yaml, path: worker.replicas}\n", "", 1), want: []string{
			"w.yaml:4: warning: spec.replicas: not set: validate accepts the policy, but evaluate and serve need spec.replicas (file and path) to know where the count lives in Git"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := LoadDocuments("w.yaml", []byte(tt.doc))
			require.NoError(t, err, "warnings never make a document invalid")
			var got []string
			for _, w := range docs.Warnings {
				got = append(got, w.String())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadYAMLFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"b.yaml": "b", "a.yml": "a", "sub/c.yaml": "c", "notes.txt": "x", ".hidden/d.yaml": "d", "sub/.e.yaml": "e",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	single := filepath.Join(dir, "notes.txt")
	missing := filepath.Join(dir, "nope.yaml")

	files, err := ReadYAMLFiles("manifests", dir, missing, single)

	require.Error(t, err)
	assert.Equal(t, "read manifests: stat "+missing+": no such file or directory", err.Error())
	assert.Equal(t, []YAMLFile{
		{Name: filepath.Join(dir, "a.yml"), Data: []byte("a"), InDirectory: true},
		{Name: filepath.Join(dir, "b.yaml"), Data: []byte("b"), InDirectory: true},
		{Name: filepath.Join(dir, "sub", "c.yaml"), Data: []byte("c"), InDirectory: true},
		{Name: single, Data: []byte("x")},
	}, files, "a directory's YAML files in order (InDirectory), hidden ones skipped; a file named is read whatever its name; one bad path hides nothing else")
}
