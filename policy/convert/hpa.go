package convert

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// HPA controller defaults (kube-controller-manager flags and the autoscaling/v2 API defaults).
const (
	hpaSyncSeconds            = 15   // --horizontal-pod-autoscaler-sync-period
	hpaTolerance              = 0.1  // --horizontal-pod-autoscaler-tolerance
	hpaDownscaleWindowSeconds = 300  // --horizontal-pod-autoscaler-downscale-stabilization
	hpaDefaultCPUUtilization  = 80.0 // an HPA without metrics scales on CPU at 80 %
)

// hpa translates an autoscaling/v2 (or v1) HorizontalPodAutoscaler.
func hpa(src *source, opts Options, apiVersion string) (*Imported, error) {
	name, ns, err := metadata(src)
	if err != nil {
		return nil, err
	}
	top := src.top()
	top.field("status").use()
	spec := top.field("spec")
	p := newPolicy(name, ns)
	ref := spec.field("scaleTargetRef")
	p.Spec.TargetRef = policy.TargetRef{
		APIVersion: ref.field("apiVersion").str(),
		Kind:       ref.field("kind").str(),
		Name:       ref.field("name").str(),
		Namespace:  ns,
	}
	if p.Spec.TargetRef.Name == "" || p.Spec.TargetRef.Kind == "" {
		return nil, src.fail(ref, "required: kind and name of the scaled workload")
	}
	if err := bounds(src, spec, p, 1); err != nil {
		return nil, err
	}
	p.Spec.Schedule = fmt.Sprintf("@every %ds", hpaSyncSeconds)
	p.Spec.Tolerance = ptr(hpaTolerance)
	w := &workload{ref: p.Spec.TargetRef}

	var metrics []policy.Metric
	switch {
	case apiVersion == "autoscaling/v1":
		util := hpaDefaultCPUUtilization
		if f, ok, err := spec.field("targetCPUUtilizationPercentage").number(); err != nil {
			return nil, src.fail(spec.field("targetCPUUtilizationPercentage"), "%v", err)
		} else if ok {
			util = f
		}
		metrics = append(metrics, w.resourceMetric("cpu", "", policy.Target{Type: policy.TargetValue, Value: ptr(util)}))
	case !spec.field("metrics").present():
		// The API's default: CPU at 80 % utilization.
		metrics = append(metrics, w.resourceMetric("cpu", "", policy.Target{Type: policy.TargetValue, Value: ptr(hpaDefaultCPUUtilization)}))
	default:
		for _, m := range spec.field("metrics").items() {
			if pm, ok := hpaMetric(m, w, opts.Adapter); ok {
				metrics = append(metrics, pm)
			} else {
				m.use() // warned about once; its other fields need no warning of their own
			}
		}
	}
	if len(metrics) == 0 {
		return nil, src.fail(spec.field("metrics"), "no metric could be translated; a policy needs at least one")
	}
	uniqueNames(metrics)
	p.Spec.Metrics = metrics
	p.Spec.Aggregation = policy.AggregateMax

	b, tol := hpaBehavior(spec.field("behavior"))
	p.Spec.Behavior = b
	if tol != nil {
		p.Spec.Tolerance = tol
	}
	p.Spec.Shadow = &policy.Shadow{PromQL: desiredReplicasQuery(ns, name)}
	spec.leftovers()
	return &Imported{
		Policy:   p,
		From:     objectName("HorizontalPodAutoscaler", ns, name),
		Handover: handoverCommand("hpa", ns, name),
	}, nil
}

// newPolicy is a DryRun policy named after the original.
func newPolicy(name, ns string) *policy.Policy {
	return &policy.Policy{
		APIVersion: policy.APIVersion,
		Kind:       policy.KindPolicy,
		Metadata:   policy.Metadata{Name: name, Namespace: ns},
		Spec:       policy.Spec{Mode: policy.ModeDryRun},
	}
}

// bounds reads minReplicas and maxReplicas of an HPA spec.
func bounds(src *source, spec value, p *policy.Policy, defMin int) error {
	minR, ok, err := spec.field("minReplicas").integer()
	if err != nil {
		return src.fail(spec.field("minReplicas"), "%v", err)
	}
	if !ok {
		minR = defMin
	}
	maxR, ok, err := spec.field("maxReplicas").integer()
	if err != nil {
		return src.fail(spec.field("maxReplicas"), "%v", err)
	}
	if !ok {
		return src.fail(spec.field("maxReplicas"), "required")
	}
	p.Spec.MinReplicas, p.Spec.MaxReplicas = ptr(minR), maxR
	return nil
}

// hpaMetric translates one entry of an HPA's spec.metrics.
func hpaMetric(m value, w *workload, adapter *AdapterConfig) (policy.Metric, bool) {
	typ := m.field("type").str()
	switch typ {
	case "Resource", "ContainerResource":
		key := "resource"
		if typ == "ContainerResource" {
			key = "containerResource"
		}
		r := m.field(key)
		resName := r.field("name").str()
		container := ""
		if typ == "ContainerResource" {
			container = r.field("container").str()
		}
		if resName != "cpu" && resName != "memory" {
			r.field("name").warn("resource %q not translated: only cpu and memory have cAdvisor series", resName)
			return policy.Metric{}, false
		}
		t, ok := hpaTarget(r.field("target"), true)
		if !ok {
			return policy.Metric{}, false
		}
		return w.resourceMetric(resName, container, t), true
	case "Pods", "Object", "External":
		key := strings.ToLower(typ)
		src := m.field(key)
		mv := src.field("metric")
		metricNameV := mv.field("name")
		metric := metricNameV.str()
		if adapter == nil {
			src.warn("%s metric %q not translated: its PromQL is in the prometheus-adapter rules; pass them with --adapter-config", typ, metric)
			return policy.Metric{}, false
		}
		t, ok := hpaTarget(src.field("target"), false)
		if !ok {
			return policy.Metric{}, false
		}
		selector, err := labelSelector(mv.field("selector"))
		if err != nil {
			mv.field("selector").warn("%v; the metric is not translated", err)
			return policy.Metric{}, false
		}
		rule, series, lines := adapter.find(metric, typ == "External")
		if rule == nil {
			rulesKey := "rules"
			if typ == "External" {
				rulesKey = "externalRules"
			}
			metricNameV.warn("no %s entry of %s publishes %q, so the metric is not translated", rulesKey, adapter.File, metric)
			return policy.Metric{}, false
		}
		if len(lines) > 1 {
			metricNameV.warn("several rules of %s publish %q (lines %s); the first, at line %d, is used, as rules must not overlap", adapter.File, metric, joinInts(lines), lines[0])
		}
		var q string
		switch typ {
		case "External":
			q, err = w.externalQuery(rule, series, selector)
		case "Object":
			q, err = w.objectQuery(rule, series, selector, src.field("describedObject"))
		case "Pods":
			q, err = w.podsQuery(rule, series, selector)
			if err == nil {
				src.warn("the adapter selects the workload's pods by name; the policy selects them by the pattern %s (pods of a %s), so check it matches only this workload's pods", w.podPattern(), w.ref.Kind)
			}
		}
		if err != nil {
			src.warn("%s metric %q not translated: rule at %s:%d: %v", typ, metric, adapter.File, rule.rule.Line, err)
			return policy.Metric{}, false
		}
		pm := policy.Metric{Name: metricName(metric, strings.ToLower(typ)), PromQL: q, Target: &t}
		if typ != "Object" {
			// The HPA adds up what an External query returns, and Pods values are per pod.
			pm.Reduce = "sum"
		}
		return pm, true
	case "":
		m.field("type").warn("required; the metric is not translated")
	default:
		m.field("type").warn("metric type %q not translated", typ)
	}
	return policy.Metric{}, false
}

// hpaTarget reads an autoscaling/v2 MetricTarget. Utilization (resources only) becomes a
// Value target on the utilization in percent, which is the HPA's own ratio.
func hpaTarget(t value, resourceMetric bool) (policy.Target, bool) {
	typ := t.field("type").str()
	switch typ {
	case "Utilization":
		if !resourceMetric {
			t.field("type").warn("Utilization applies only to resource metrics; the metric is not translated")
			return policy.Target{}, false
		}
		u, ok, err := t.field("averageUtilization").integer()
		if err != nil || !ok {
			t.field("averageUtilization").warn("required for a Utilization target; the metric is not translated")
			return policy.Target{}, false
		}
		return policy.Target{Type: policy.TargetValue, Value: ptr(float64(u))}, true
	case "AverageValue":
		q, ok := quantity(t.field("averageValue"))
		if !ok {
			return policy.Target{}, false
		}
		return policy.Target{Type: policy.TargetAverageValue, AverageValue: ptr(q)}, true
	case "Value":
		if resourceMetric {
			t.field("type").warn("a resource metric takes Utilization or AverageValue; the metric is not translated")
			return policy.Target{}, false
		}
		q, ok := quantity(t.field("value"))
		if !ok {
			return policy.Target{}, false
		}
		return policy.Target{Type: policy.TargetValue, Value: ptr(q)}, true
	}
	t.field("type").warn("target type %q not translated", typ)
	return policy.Target{}, false
}

// quantity reads a Kubernetes quantity ("1000", "500m", "512Mi").
func quantity(v value) (float64, bool) {
	s := v.str()
	q, err := resource.ParseQuantity(s)
	if err != nil {
		v.warn("not a Kubernetes quantity (%q); the metric is not translated", s)
		return 0, false
	}
	f := q.AsApproximateFloat64()
	if f <= 0 {
		v.warn("must be above 0, got %q; the metric is not translated", s)
		return 0, false
	}
	return f, true
}

// hpaBehavior copies an autoscaling/v2 behavior. Absent, the HPA uses the controller's
// built-in limits, which the policy writes as the documented default behavior (with a warning
// on where they differ).
func hpaBehavior(b value) (*policy.Behavior, *float64) {
	if !b.present() {
		b.warn("absent: the HPA then uses its built-in limits, which the policy writes as the documented default behavior " +
			"(scale up by max(4 pods, 100 %%) per 15 s, scale down after a 300 s window by up to 100 %% per 15 s); " +
			"below 4 replicas the built-in limit is max(2 × current, 4) per sync, so from 1 replica the HPA reaches 4 where the policy reaches 5; and it keeps a recommendation exactly 300 s old in its window, so it scales down one sync after the policy")
		return defaultHPABehavior(), nil
	}
	out := &policy.Behavior{
		ScaleUp:   scalingRules(b.field("scaleUp"), true),
		ScaleDown: scalingRules(b.field("scaleDown"), false),
	}
	// Per-direction tolerance (Kubernetes 1.33) is copied as it is; spec.tolerance keeps the
	// controller's for the direction that names none.
	if t, ok := tolerance(b.field("scaleUp").field("tolerance")); ok {
		out.ScaleUp.Tolerance = ptr(t)
	}
	if t, ok := tolerance(b.field("scaleDown").field("tolerance")); ok {
		out.ScaleDown.Tolerance = ptr(t)
	}
	return out, nil
}

func tolerance(v value) (float64, bool) {
	if !v.present() {
		return 0, false
	}
	q, err := resource.ParseQuantity(v.str())
	if err != nil {
		v.warn("not a quantity (%q); the controller's tolerance %g is kept", v.n.Value, hpaTolerance)
		return 0, false
	}
	return q.AsApproximateFloat64(), true
}

// scalingRules copies HPAScalingRules exactly, with the API's defaults written out for what
// it leaves out (as the API server fills them in): an HPA with a behavior block uses them.
func scalingRules(v value, up bool) *policy.ScalingRules {
	def := defaultHPABehavior()
	r := def.ScaleDown
	if up {
		r = def.ScaleUp
	}
	if !v.present() {
		return r
	}
	if w, ok, err := v.field("stabilizationWindowSeconds").integer(); err != nil {
		v.field("stabilizationWindowSeconds").warn("%v; the default %d is used", err, *r.StabilizationWindowSeconds)
	} else if ok {
		r.StabilizationWindowSeconds = ptr(w)
	}
	if s := v.field("selectPolicy").str(); s != "" {
		r.SelectPolicy = ptr(s)
	}
	if ps := v.field("policies"); ps.present() {
		r.Policies = nil
		for _, it := range ps.items() {
			val, _, _ := it.field("value").integer()
			period, _, _ := it.field("periodSeconds").integer()
			r.Policies = append(r.Policies, policy.HPAPolicy{Type: it.field("type").str(), Value: val, PeriodSeconds: period})
		}
	}
	return r
}

// defaultHPABehavior is the autoscaling/v2 default behavior, written out.
func defaultHPABehavior() *policy.Behavior {
	return &policy.Behavior{
		ScaleUp: &policy.ScalingRules{
			StabilizationWindowSeconds: ptr(0),
			SelectPolicy:               ptr(policy.SelectMax),
			Policies: []policy.HPAPolicy{
				{Type: policy.PolicyPods, Value: 4, PeriodSeconds: 15},
				{Type: policy.PolicyPercent, Value: 100, PeriodSeconds: 15},
			},
		},
		ScaleDown: &policy.ScalingRules{
			StabilizationWindowSeconds: ptr(hpaDownscaleWindowSeconds),
			SelectPolicy:               ptr(policy.SelectMax),
			Policies:                   []policy.HPAPolicy{{Type: policy.PolicyPercent, Value: 100, PeriodSeconds: 15}},
		},
	}
}

// labelSelector turns a metav1.LabelSelector into the adapter's label matchers, sorted by
// label as a labels.Selector's requirements are.
func labelSelector(v value) ([]matcher, error) {
	if !v.present() {
		return nil, nil
	}
	v.use()
	var out []matcher
	for _, k := range v.field("matchLabels").keys() {
		out = append(out, matcher{k, "=", v.field("matchLabels").field(k).str()})
	}
	for _, e := range v.field("matchExpressions").items() {
		key, op := e.field("key").str(), e.field("operator").str()
		var vals []string
		for _, it := range e.field("values").items() {
			vals = append(vals, it.str())
		}
		sort.Strings(vals)
		joined := strings.Join(vals, "|")
		switch op {
		case "In":
			out = append(out, matcher{key, "=~", joined})
		case "NotIn":
			out = append(out, matcher{key, "!~", joined})
		case "Exists":
			out = append(out, matcher{key, "!=", ""})
		case "DoesNotExist":
			out = append(out, matcher{key, "=", ""})
		default:
			return nil, fmt.Errorf("operator %q of %s is not supported by prometheus-adapter", op, e.path)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].label < out[j].label })
	return out, nil
}

// desiredReplicasQuery is kube-state-metrics' series for the count an HPA wants.
func desiredReplicasQuery(ns, hpaName string) string {
	if ns == "" {
		return fmt.Sprintf("kube_horizontalpodautoscaler_status_desired_replicas{horizontalpodautoscaler=%q}", hpaName)
	}
	return fmt.Sprintf("kube_horizontalpodautoscaler_status_desired_replicas{namespace=%q,horizontalpodautoscaler=%q}", ns, hpaName)
}

func handoverCommand(resource, ns, name string) string {
	if ns == "" {
		return fmt.Sprintf("kubectl delete %s %s", resource, name)
	}
	return fmt.Sprintf("kubectl delete %s %s -n %s", resource, name, ns)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
