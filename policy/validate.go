package policy

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/repopath"
)

// Validate checks a defaulted policy against every rule of docs/design.md §4 and returns all
// problems joined (each a *FieldError located through p.Source). The loader runs it; a policy built
// in code should run SetDefaults and then Validate.
func (p *Policy) Validate() error {
	c := &checker{Checker: strictyaml.Checker{Src: p.Source}}
	c.policy(p)
	return strictyaml.Join(c.Errs)
}

// Warnings lists what is allowed in the policy but probably not meant:
//   - no spec.replicas: `validate` accepts it, but `evaluate` and `serve` need to know where
//     the count lives in Git;
//   - activationThreshold with minReplicas above 0: activation only decides between 0 and 1
//     replicas (docs/design.md §5), so the threshold never takes effect.
func (p *Policy) Warnings() []Warning {
	c := &checker{Checker: strictyaml.Checker{Src: p.Source}}
	c.policy(p)
	return c.Warns
}

// checker collects the problems of one document (strictyaml.Checker), with the checks of
// policies and configs as its methods.
type checker struct {
	strictyaml.Checker
}

var (
	// dns1123Subdomain is a Kubernetes object name; policy names become branch names and
	// commit trailers, so they keep to it.
	dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	dns1123Label     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// metricNameRE is what a metric name must be: it appears in reasons and trailers as `name=value`.
	metricNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

var (
	validModes        = []string{string(ModeDryRun), string(ModeCommit), string(ModePullRequest), string(ModeAutoMerge)}
	validAggregations = []string{string(AggregateMax), string(AggregateMin), string(AggregateAverage), string(AggregateWeighted)}
	validReduces      = []string{"sum", "max", "min", "avg"}
	validSelects      = []string{SelectMax, SelectMin, SelectDisabled}
	validHPATypes     = []string{PolicyPods, PolicyPercent}
)

func isOneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (c *checker) enum(field, v string, allowed []string) {
	if !isOneOf(v, allowed) {
		c.Errorf(field, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	}
}

// policy checks one policy document.
func (c *checker) policy(p *Policy) {
	svcconfig.CheckAPIVersion(&c.Checker, p.APIVersion)
	if p.Kind != KindPolicy {
		c.Errorf("kind", "must be %s, got %q", KindPolicy, p.Kind)
	}
	switch m := p.Metadata; {
	case m.Name == "":
		c.Errorf("metadata.name", "required")
	case len(m.Name) > 253 || !dns1123Subdomain.MatchString(m.Name):
		c.Errorf("metadata.name", "must be a lowercase DNS name (a-z, 0-9, '-', '.'), got %q", m.Name)
	}
	if ns := p.Metadata.Namespace; ns != "" && (len(ns) > 63 || !dns1123Label.MatchString(ns)) {
		c.Errorf("metadata.namespace", "must be a lowercase DNS label (a-z, 0-9, '-'), got %q", ns)
	}
	s := &p.Spec
	if s.TargetRef.Kind == "" {
		c.Errorf("spec.targetRef.kind", "required, e.g. Deployment")
	}
	if s.TargetRef.Name == "" {
		c.Errorf("spec.targetRef.name", "required")
	}
	c.replicas(s.Replicas)
	c.render(s.Render)
	c.bounds(s)
	c.enum("spec.mode", string(s.Mode), validModes)
	if s.Delivery != nil {
		if m := s.Delivery.ScaleUp; m != "" {
			c.enum("spec.delivery.scaleUp", string(m), validModes)
		}
		if m := s.Delivery.ScaleDown; m != "" {
			c.enum("spec.delivery.scaleDown", string(m), validModes)
		}
	}
	c.cron("spec.schedule", s.Schedule)
	c.prometheusRef(s.Prometheus)
	c.enum("spec.aggregation", string(s.Aggregation), validAggregations)
	c.metrics(s)
	if s.Tolerance != nil && (*s.Tolerance < 0 || *s.Tolerance >= 1) {
		// At 1 or more, every ratio below 2 is "within tolerance": the policy never scales down.
		c.Errorf("spec.tolerance", "must be at least 0 and below 1, got %g", *s.Tolerance)
	}
	c.schedules(s.Schedules)
	c.behavior(s.Behavior)
	c.strategy(s)
	if h := s.Holds; h != nil {
		c.nonNegative("spec.holds.afterRevertSeconds", h.AfterRevertSeconds)
		c.nonNegative("spec.holds.afterManualEditSeconds", h.AfterManualEditSeconds)
	}
	if sc := s.SyncCheck; sc != nil {
		c.promQL("spec.syncCheck.promQL", sc.PromQL, "required")
		if sc.TimeoutSeconds < 1 {
			c.Errorf("spec.syncCheck.timeoutSeconds", "must be at least 1, got %d", sc.TimeoutSeconds)
		}
	}
	if sh := s.Shadow; sh != nil {
		c.promQL("spec.shadow.promQL", sh.PromQL, "required: the live autoscaler's desired replicas, e.g. kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"…\",horizontalpodautoscaler=\"…\"}")
		if shadowCommits(s) {
			c.Errorf("spec.shadow", "needs mode DryRun (and no delivery override): a policy that commits beside the live autoscaler would fight it; delete that autoscaler, then drop shadow and choose a mode")
		}
	}
}

// writes reports whether a policy may ever write its target: any mode but DryRun, or a
// delivery override that is not DryRun.
func writes(s *Spec) bool { return shadowCommits(s) }

// shadowCommits reports whether a shadowing policy could commit.
func shadowCommits(s *Spec) bool {
	if s.Mode != ModeDryRun {
		return true
	}
	return s.Delivery != nil && ((s.Delivery.ScaleUp != "" && s.Delivery.ScaleUp != ModeDryRun) || (s.Delivery.ScaleDown != "" && s.Delivery.ScaleDown != ModeDryRun))
}

func (c *checker) replicas(r *ReplicasLocation) {
	if r == nil {
		c.Warnf("spec.replicas", "not set: validate accepts the policy, but evaluate and serve need spec.replicas (file and path) to know where the count lives in Git")
		return
	}
	c.repoPath("spec.replicas.file", r.File, false)
	if clean, err := repopath.Clean(r.File); err == nil {
		if why := ForbiddenTarget(clean); why != "" {
			c.Errorf("spec.replicas.file", "%s", forbiddenTargetMsg(r.File, why))
		}
	}
	if r.Path == "" {
		c.Errorf("spec.replicas.path", "required, e.g. laravelWeb.replicaCount")
	} else if _, err := ParsePath(r.Path); err != nil {
		c.Errorf("spec.replicas.path", "%v", err)
	}
	if r.Document != nil && r.Document.Kind == "" && r.Document.Name == "" {
		c.Errorf("spec.replicas.document", "needs kind or name (or leave document out)")
	}
}

func (c *checker) render(r *Render) {
	if r == nil {
		return
	}
	var set []string
	for name, on := range map[string]bool{"helm": r.Helm != nil, "kustomize": r.Kustomize != nil, "argocd": r.ArgoCD != nil, "flux": r.Flux != nil} {
		if on {
			set = append(set, name)
		}
	}
	sort.Strings(set)
	switch {
	case len(set) > 1:
		c.Errorf("spec.render", "set one of helm, kustomize, argocd and flux, not %s", strings.Join(set, " and "))
	case len(set) == 0:
		c.Errorf("spec.render", "set one of helm, kustomize, argocd and flux (or leave render out)")
	}
	if h := r.Helm; h != nil {
		c.repoPath("spec.render.helm.chart", h.Chart, true)
		for i, f := range h.ValuesFiles {
			c.repoPath(fmt.Sprintf("spec.render.helm.valuesFiles[%d]", i), f, false)
		}
		if h.ReleaseName != "" && (len(h.ReleaseName) > 53 || !dns1123Subdomain.MatchString(h.ReleaseName)) {
			c.Errorf("spec.render.helm.releaseName", "must be a lowercase DNS name of at most 53 characters, as Helm requires, got %q", h.ReleaseName)
		}
		if ns := h.Namespace; ns != "" && (len(ns) > 63 || !dns1123Label.MatchString(ns)) {
			c.Errorf("spec.render.helm.namespace", "must be a lowercase DNS label (a-z, 0-9, '-'), got %q", ns)
		}
		c.cluster("spec.render.helm", h.KubeVersion, h.APIVersions)
	}
	if k := r.Kustomize; k != nil {
		c.repoPath("spec.render.kustomize.dir", k.Dir, true)
	}
	if a := r.ArgoCD; a != nil {
		switch {
		case a.Application != "" && a.ApplicationSet != "":
			c.Errorf("spec.render.argocd", "set application or applicationSet, not both")
		case a.ApplicationSet != "":
			c.repoPath("spec.render.argocd.applicationSet", a.ApplicationSet, false)
			if a.Name == "" {
				c.Errorf("spec.render.argocd.name", "required with applicationSet: the name of the Application it generates")
			}
		default:
			c.repoPath("spec.render.argocd.application", a.Application, false)
		}
		c.objectName("spec.render.argocd.name", a.Name)
		c.cluster("spec.render.argocd", a.KubeVersion, a.APIVersions)
	}
	if f := r.Flux; f != nil {
		c.repoPath("spec.render.flux.helmRelease", f.HelmRelease, false)
		c.objectName("spec.render.flux.name", f.Name)
		c.cluster("spec.render.flux", f.KubeVersion, f.APIVersions)
	}
}

var (
	// kubeVersionRE is what Helm's --kube-version accepts: a version with an optional v, minor
	// and patch, and pre-release or build suffixes (v1.30.2-gke.1587003).
	kubeVersionRE = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	// apiVersionRE is an entry of Helm's --api-versions: [group/]version[/Kind].
	apiVersionRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+[a-z0-9]*(/[A-Z][A-Za-z0-9]*)?$`)
)

// cluster checks the kubeVersion and apiVersions of a render block.
func (c *checker) cluster(field, kubeVersion string, apiVersions []string) {
	if kubeVersion != "" && !kubeVersionRE.MatchString(kubeVersion) {
		c.Errorf(field+".kubeVersion", "must be a Kubernetes version such as v1.33.0 or 1.33, got %q", kubeVersion)
	}
	for i, v := range apiVersions {
		if !apiVersionRE.MatchString(v) {
			c.Errorf(fmt.Sprintf("%s.apiVersions[%d]", field, i), "must be [group/]version[/Kind], e.g. monitoring.coreos.com/v1 or apps/v1/Deployment, got %q", v)
		}
	}
}

// objectName checks an optional Kubernetes object name.
func (c *checker) objectName(field, name string) {
	if name != "" && (len(name) > 253 || !dns1123Subdomain.MatchString(name)) {
		c.Errorf(field, "must be a lowercase DNS name (a-z, 0-9, '-', '.'), got %q", name)
	}
}

// repoPath checks a path that is joined under the repository root: relative, slash-separated,
// without `..`, not inside .git (docs/design.md §9 invariant 8; policy/repopath enforces the same
// rule, symlinks included, where the path is joined). A directory may be the root itself.
func (c *checker) repoPath(field, p string, dirOK bool) {
	switch clean := path.Clean(p); {
	case p == "":
		c.Errorf(field, "required: a path relative to the repository root")
	case strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || (len(p) > 1 && p[1] == ':'):
		c.Errorf(field, "must be relative to the repository root (slash-separated), got %q", p)
	case repopath.HasDotDot(p):
		c.Errorf(field, "must stay inside the repository: no '..' elements, got %q", p)
	case repopath.InGitDir(clean):
		c.Errorf(field, "must not be inside .git, got %q", p)
	case clean == "." && !dirOK:
		c.Errorf(field, "must name a file inside the repository, got %q", p)
	}
}

func (c *checker) bounds(s *Spec) {
	minR := DefaultMinReplicas
	if s.MinReplicas != nil {
		minR = *s.MinReplicas
	}
	if minR < 0 {
		c.Errorf("spec.minReplicas", "must be at least 0, got %d", minR)
	}
	switch {
	case s.MaxReplicas < 1 && !c.Src.Written("spec.maxReplicas"):
		c.Errorf("spec.maxReplicas", "required: at least 1")
	case s.MaxReplicas < 1:
		c.Errorf("spec.maxReplicas", "must be at least 1, got %d", s.MaxReplicas)
	case minR > s.MaxReplicas:
		c.Errorf("spec.minReplicas", "%d is above maxReplicas %d", minR, s.MaxReplicas)
	}
}

// cron checks a schedule with robfig/cron's standard parser: five fields, or a descriptor such
// as @hourly or @every 30s.
func (c *checker) cron(field, spec string) {
	if spec == "" {
		c.Errorf(field, "required: a cron spec such as \"0 8 * * 1-5\" or \"@every 30s\"")
		return
	}
	if _, err := cron.ParseStandard(spec); err != nil {
		c.Errorf(field, "invalid cron spec %q: %v", spec, err)
	}
}

func (c *checker) prometheusRef(r *PrometheusRef) {
	if r == nil {
		return
	}
	if r.Server != "" && r.URL != "" {
		c.Errorf("spec.prometheus", "set server or url, not both")
	}
	if r.URL != "" {
		if err := svcconfig.CheckHTTPURL(r.URL); err != nil {
			c.Errorf("spec.prometheus.url", "%v", err)
		}
	}
}

func (c *checker) metrics(s *Spec) {
	if len(s.Metrics) == 0 {
		c.Errorf("spec.metrics", "at least one metric is required")
		return
	}
	first := map[string]string{}
	for i := range s.Metrics {
		m := &s.Metrics[i]
		f := fmt.Sprintf("spec.metrics[%d]", i)
		switch {
		case m.Name == "":
			c.Errorf(f+".name", "required")
		case !metricNameRE.MatchString(m.Name):
			c.Errorf(f+".name", "must be a simple identifier (letters, digits, _; not starting with a digit), got %q", m.Name)
		case first[m.Name] != "":
			c.Errorf(f+".name", "duplicate metric name %q (first at line %d)", m.Name, c.Src.LineOf(first[m.Name]))
		default:
			first[m.Name] = f + ".name"
		}
		c.promQL(f+".promQL", m.PromQL, "required")
		c.metricRule(f, m)
		if m.OnEmpty != "" && m.OnEmpty != "zero" {
			c.Errorf(f+".onEmpty", "must be zero (or left out), got %q", m.OnEmpty)
		}
		if m.Reduce != "" {
			c.enum(f+".reduce", m.Reduce, validReduces)
		}
		switch {
		case s.Aggregation == AggregateWeighted && (m.Weight == nil || *m.Weight <= 0):
			c.Errorf(f+".weight", "must be above 0 with aggregation: weighted")
		case s.Aggregation != AggregateWeighted && m.Weight != nil && !c.DecodeFailed("spec.aggregation"):
			c.Errorf(f+".weight", "only with aggregation: weighted (aggregation is %s)", s.Aggregation)
		}
		if m.ActivationThreshold != nil && s.MinReplicas != nil && *s.MinReplicas > 0 {
			c.Warnf(f+".activationThreshold", "has no effect with minReplicas %d: activation only decides between 0 and 1 replicas", *s.MinReplicas)
		}
	}
}

func (c *checker) stepRule(f string, r *StepRule) {
	if r == nil {
		return
	}
	if r.Threshold == nil {
		c.Errorf(f+".threshold", "required: a number")
	}
	if r.Step < 1 {
		c.Errorf(f+".step", "must be at least 1, got %d", r.Step)
	}
}

// metricRule checks a metric's rule: the step rule (scaleUp and scaleDown) or a target.
func (c *checker) metricRule(f string, m *Metric) {
	step := m.ScaleUp != nil || m.ScaleDown != nil
	switch {
	case step && m.Target != nil:
		c.Errorf(f, "set either the step rule (scaleUp, scaleDown) or target, not both")
		return
	case !step && m.Target == nil:
		c.Errorf(f, "needs a rule: scaleUp and scaleDown (step rule) or target")
		return
	}
	if step {
		if m.ScaleUp == nil {
			c.Errorf(f+".scaleUp", "required with scaleDown (step rule)")
		}
		if m.ScaleDown == nil {
			c.Errorf(f+".scaleDown", "required with scaleUp (step rule)")
		}
		c.stepRule(f+".scaleUp", m.ScaleUp)
		c.stepRule(f+".scaleDown", m.ScaleDown)
		if m.ScaleUp != nil && m.ScaleDown != nil && m.ScaleUp.Threshold != nil && m.ScaleDown.Threshold != nil &&
			*m.ScaleDown.Threshold >= *m.ScaleUp.Threshold {
			c.Errorf(f+".scaleDown.threshold", "%g must be below scaleUp.threshold %g", *m.ScaleDown.Threshold, *m.ScaleUp.Threshold)
		}
		return
	}
	t := m.Target
	tf := f + ".target"
	switch t.Type {
	case TargetAverageValue:
		if t.AverageValue == nil || *t.AverageValue <= 0 {
			c.Errorf(tf+".averageValue", "must be above 0 with type AverageValue")
		}
		if t.Value != nil {
			c.Errorf(tf+".value", "only with type Value")
		}
	case TargetValue:
		if t.Value == nil || *t.Value <= 0 {
			c.Errorf(tf+".value", "must be above 0 with type Value")
		}
		if t.AverageValue != nil {
			c.Errorf(tf+".averageValue", "only with type AverageValue")
		}
	case "":
		c.Errorf(tf+".type", "required: AverageValue or Value")
	default:
		c.Errorf(tf+".type", "must be AverageValue or Value, got %q", t.Type)
	}
}

func (c *checker) schedules(ws []ScheduleWindow) {
	names := map[string]string{}
	for i, w := range ws {
		f := fmt.Sprintf("spec.schedules[%d]", i)
		switch {
		case w.Name == "":
			c.Errorf(f+".name", "required: reasons name the active window")
		case names[w.Name] != "":
			c.Errorf(f+".name", "duplicate schedule name %q (first at line %d)", w.Name, c.Src.LineOf(names[w.Name]))
		default:
			names[w.Name] = f + ".name"
		}
		if w.Cron == "" {
			c.Errorf(f+".cron", "required: a cron spec such as \"0 8 * * 1-5\"")
		} else {
			c.cron(f+".cron", w.Cron)
		}
		switch {
		case w.Duration.Duration <= 0 && !c.Src.Written(f+".duration"):
			c.Errorf(f+".duration", "required: how long the window lasts, e.g. 10h")
		case w.Duration.Duration <= 0:
			c.Errorf(f+".duration", "must be above 0, got %s", w.Duration)
		}
		switch w.Timezone {
		case "":
		case "Local":
			// The machine's zone would make the service and a one-shot run decide differently.
			c.Errorf(f+".timezone", "must be an IANA zone such as Europe/Berlin; Local depends on the machine")
		default:
			if _, err := time.LoadLocation(w.Timezone); err != nil {
				c.Errorf(f+".timezone", "unknown timezone %q", w.Timezone)
			}
		}
		if w.MinReplicas == nil && w.MaxReplicas == nil {
			c.Errorf(f, "needs minReplicas or maxReplicas")
		}
		if w.MinReplicas != nil && *w.MinReplicas < 0 {
			c.Errorf(f+".minReplicas", "must be at least 0, got %d", *w.MinReplicas)
		}
		if w.MaxReplicas != nil && *w.MaxReplicas < 1 {
			c.Errorf(f+".maxReplicas", "must be at least 1, got %d", *w.MaxReplicas)
		}
		if w.MinReplicas != nil && w.MaxReplicas != nil && *w.MaxReplicas >= 1 && *w.MinReplicas > *w.MaxReplicas {
			c.Errorf(f+".minReplicas", "%d is above maxReplicas %d", *w.MinReplicas, *w.MaxReplicas)
		}
	}
}

func (c *checker) behavior(b *Behavior) {
	if b == nil {
		return
	}
	const f = "spec.behavior"
	c.window(f+".stabilizationWindowSeconds", b.StabilizationWindowSeconds)
	c.nonNegative(f+".scaleUpCooldownSeconds", b.ScaleUpCooldownSeconds)
	c.nonNegative(f+".scaleDownCooldownSeconds", b.ScaleDownCooldownSeconds)
	if p := b.MaxScaleUpStepPercent; p != nil && *p < 1 {
		c.Errorf(f+".maxScaleUpStepPercent", "must be at least 1, got %d", *p)
	}
	if p := b.MaxScaleDownStepPercent; p != nil && (*p < 1 || *p > 100) {
		c.Errorf(f+".maxScaleDownStepPercent", "must be 1 to 100, got %d", *p)
	}
	c.scalingRules(f+".scaleUp", b.ScaleUp)
	c.scalingRules(f+".scaleDown", b.ScaleDown)
}

var validStrategies = []string{StrategyRules, StrategySteady}

// strategy checks spec.strategy. Steady replaces the behavior block (its confirmation, waits and
// delay are the stabilization, rate limits and cooldowns), so the two together are an error
// rather than a behavior silently ignored.
func (c *checker) strategy(s *Spec) {
	st := s.Strategy
	if st == nil {
		return
	}
	const f = "spec.strategy"
	c.enum(f+".type", st.Type, validStrategies)
	if st.Type != StrategySteady {
		knobs := []struct {
			name string
			set  bool
		}{{"headroomPercent", st.HeadroomPercent != nil}, {"maxChangesPerDay", st.MaxChangesPerDay != nil},
			{"scaleDownDelaySeconds", st.ScaleDownDelaySeconds != nil}, {"horizonSeconds", st.HorizonSeconds != nil},
			{"changeCost", st.ChangeCost != nil}}
		for _, k := range knobs {
			if k.set && st.Type == StrategyRules {
				c.Errorf(f+"."+k.name, "applies to strategy Steady only (type is %s)", st.Type)
			}
		}
		return
	}
	if v := st.HeadroomPercent; v != nil && (*v < 0 || *v > 1000) {
		c.Errorf(f+".headroomPercent", "must be 0 to 1000, got %d", *v)
	}
	c.nonNegative(f+".maxChangesPerDay", st.MaxChangesPerDay)
	if v := st.ScaleDownDelaySeconds; v != nil && (*v < 0 || *v > 86400) {
		c.Errorf(f+".scaleDownDelaySeconds", "must be 0 to 86400 (a day), got %d", *v)
	}
	// The horizon is read from Prometheus a day and a week back (the memory): at most a day.
	if v := st.HorizonSeconds; v != nil && (*v < 600 || *v > 86400) {
		c.Errorf(f+".horizonSeconds", "must be 600 to 86400 (ten minutes to a day), got %d", *v)
	}
	if v := st.ChangeCost; v != nil && (!(*v >= 0) || *v > 1e6) {
		c.Errorf(f+".changeCost", "must be 0 to 1000000 replica-hours, got %g", *v)
	}
	if s.Behavior != nil {
		c.Errorf("spec.behavior", "not used by strategy Steady: remove it (Steady's knobs are spec.strategy.headroomPercent, maxChangesPerDay, scaleDownDelaySeconds, horizonSeconds and changeCost)")
	}
}

// scalingRules checks the HPA form against the HPA's own validation.
func (c *checker) scalingRules(rf string, r *ScalingRules) {
	if r == nil {
		return
	}
	c.window(rf+".stabilizationWindowSeconds", r.StabilizationWindowSeconds)
	// The HPA allows any tolerance ≥ 0 here: a scale-down tolerance of 1 or more never scales
	// down, which is a choice, not a mistake.
	if t := r.Tolerance; t != nil && (*t < 0 || math.IsNaN(*t) || math.IsInf(*t, 0)) {
		c.Errorf(rf+".tolerance", "must be a number at least 0, got %g", *t)
	}
	if r.SelectPolicy != nil {
		c.enum(rf+".selectPolicy", *r.SelectPolicy, validSelects)
	}
	for i, hp := range r.Policies {
		pf := fmt.Sprintf("%s.policies[%d]", rf, i)
		c.enum(pf+".type", hp.Type, validHPATypes)
		if hp.Value < 1 {
			c.Errorf(pf+".value", "must be above 0, got %d", hp.Value)
		}
		// The HPA's bounds: a period is at most 30 minutes.
		if hp.PeriodSeconds < 1 || hp.PeriodSeconds > 1800 {
			c.Errorf(pf+".periodSeconds", "must be 1 to 1800, got %d", hp.PeriodSeconds)
		}
	}
}

// window checks a stabilization window against the HPA's bounds: at most one hour.
func (c *checker) window(field string, v *int) {
	if v != nil && (*v < 0 || *v > 3600) {
		c.Errorf(field, "must be 0 to 3600, got %d", *v)
	}
}

func (c *checker) nonNegative(field string, v *int) {
	if v != nil && *v < 0 {
		c.Errorf(field, "must be at least 0, got %d", *v)
	}
}

// ValidateSet checks what no single document can: duplicate policy IDs, two policies writing
// the same target (they would flip-flop), and, with a config, Prometheus servers the config
// does not define and policy URLs it does not allow. Targets are compared within one
// repository (Source.Repository). cfg may be nil when only policy files are checked. Every
// problem is a *FieldError naming the file and line of the offending field. It is strict, for
// `validate` in CI; CheckSet is the isolating form the loop uses.
func ValidateSet(cfg *svcconfig.Config, policies []*Policy) error {
	conflicts := setConflicts(cfg, policies)
	errs := make([]*FieldError, len(conflicts))
	for i, c := range conflicts {
		errs[i] = c.at(c.p, c.msg)
	}
	return strictyaml.Join(errs)
}

// targetKey identifies what a policy writes: repository, cleaned file, normalized path and
// document selector.
func targetKey(repo string, r *ReplicasLocation) string {
	p := r.Path
	if parsed, err := ParsePath(r.Path); err == nil {
		p = parsed.String()
	}
	doc := ""
	if r.Document != nil {
		doc = r.Document.Kind + "/" + r.Document.Name
	}
	return strings.Join([]string{repo, path.Clean(r.File), p, doc}, "\x00")
}
