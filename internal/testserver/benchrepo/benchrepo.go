package benchrepo

import (
	"fmt"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// Layout is where a repository keeps its values files and policies.
type Layout string

const (
	// Flat keeps every values file in one folder (values/<app>.yaml) and every policy in
	// another (policies/<app>.yaml): two directories of N entries each, rewritten by every
	// commit.
	Flat Layout = "flat"
	// Nested is the layout of real platform repositories: envs/<env>/<team>/<app>/values.yaml
	// with the app's policy beside it (autoscaling.yaml), a few dozen apps per team.
	Nested Layout = "nested"
)

// Layouts are both layouts, in a stable order.
var Layouts = []Layout{Flat, Nested}

// Metric names the generated policies query: a policy on HotMetric scales (2 → 6 replicas at
// HotValue), one on SteadyMetric stays where it is (2 replicas at SteadyValue).
const (
	HotMetric    = "load_hot"
	SteadyMetric = "load_steady"
	HotValue     = 560.0
	SteadyValue  = 200.0
	// FromReplicas and ToReplicas are a scaling policy's count before and after.
	FromReplicas = 2
	ToReplicas   = 6
)

// Spec is one generated repository.
type Spec struct {
	Policies int
	Layout   Layout
	// Every makes one policy in Every scale (policy i when i % Every == 0); 1 scales all of
	// them, 0 none.
	Every int
}

// Changes is how many policies of the spec scale.
func (s Spec) Changes() int {
	if s.Every <= 0 {
		return 0
	}
	return (s.Policies + s.Every - 1) / s.Every
}

// Glob is the policy glob of the layout, for the repository's config.
func (s Spec) Glob() string {
	if s.Layout == Nested {
		return "envs/**/autoscaling.yaml"
	}
	return "policies/*.yaml"
}

// envs of the nested layout, and apps per team.
var envs = []string{"dev", "staging", "prod", "prod-eu"}

const appsPerTeam = 25

// App is one generated policy and its workload.
type App struct {
	// ID is the policy's ID (namespace/name).
	ID string
	// Values and Policy are the repository paths of its values file and policy document.
	Values, Policy string
	// Scales tells whether the metrics make it change its count.
	Scales bool
}

// Apps lists the spec's policies in a stable order.
func (s Spec) Apps() []App {
	apps := make([]App, s.Policies)
	for i := range s.Policies {
		a := App{Scales: s.Every > 0 && i%s.Every == 0}
		switch s.Layout {
		case Nested:
			env := envs[i%len(envs)]
			k := i / len(envs)
			team, app := fmt.Sprintf("team-%03d", k/appsPerTeam), fmt.Sprintf("app-%02d", k%appsPerTeam)
			dir := fmt.Sprintf("envs/%s/%s/%s", env, team, app)
			a.ID = fmt.Sprintf("%s-%s/%s", team, env, app)
			a.Values, a.Policy = dir+"/values.yaml", dir+"/autoscaling.yaml"
		default:
			name := fmt.Sprintf("app-%05d", i)
			a.ID = "bench/" + name
			a.Values, a.Policy = "values/"+name+".yaml", "policies/"+name+".yaml"
		}
		apps[i] = a
	}
	return apps
}

// policyDoc is one generated policy: a Commit-mode HPA-style target on one metric.
const policyDoc = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  replicas: {file: %[3]s, path: app.replicaCount}
  minReplicas: 1
  maxReplicas: 50
  mode: Commit
  metrics:
    - name: %[4]s
      promQL: sum(rate(http_requests_total{namespace="%[2]s",app="%[1]s"}[2m]))
      target: {type: AverageValue, averageValue: 100}
`

// valuesDoc is one app's values file, with the count at FromReplicas.
const valuesDoc = `# %[1]s — the replica count is managed by gitops-autoscaler.
app:
  image: {repository: registry.example.com/%[1]s, tag: "1.0.0"}
  replicaCount: %[2]d  # managed
  resources: {requests: {cpu: 100m, memory: 128Mi}}
`

// Files is the repository's content: path → file.
func (s Spec) Files() map[string]string {
	files := make(map[string]string, 2*s.Policies)
	for _, a := range s.Apps() {
		ns, name, _ := strings.Cut(a.ID, "/")
		metric := SteadyMetric
		if a.Scales {
			metric = HotMetric
		}
		files[a.Policy] = fmt.Sprintf(policyDoc, name, ns, a.Values, metric)
		files[a.Values] = fmt.Sprintf(valuesDoc, a.ID, FromReplicas)
	}
	return files
}

// Metrics are the metric values by name (for an in-process metric source).
func Metrics() map[string]float64 {
	return map[string]float64{HotMetric: HotValue, SteadyMetric: SteadyValue}
}

// Trace is a metrics file (`evaluate --metrics-file`) with the values at at.
func Trace(at time.Time) string {
	ts := at.UTC().Format(time.RFC3339)
	return fmt.Sprintf("timestamp,metric,value\n%s,%s,%g\n%s,%s,%g\n", ts, HotMetric, HotValue, ts, SteadyMetric, SteadyValue)
}

// Import creates the repository name on the server with the spec's content in one commit
// dated when, and returns the commit's sha.
func Import(s *gittest.Server, name string, spec Spec, when time.Time) string {
	s.CreateRepo(name, map[string]string{"README.md": fmt.Sprintf("# platform\n\n%d services, %s layout.\n", spec.Policies, spec.Layout)})
	return s.Import(name, []gittest.ImportCommit{{
		Files: spec.Files(), Message: fmt.Sprintf("%d services", spec.Policies),
		Author: "Platform Team <platform@example.com>", When: when,
	}})
}
