package convert

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// KEDA's defaults (keda.sh/v1alpha1 ScaledObject).
const (
	kedaPollingSeconds  = 30
	kedaCooldownSeconds = 300
	kedaMaxReplicas     = 100
)

// scaledObject translates a KEDA ScaledObject. KEDA creates an HPA with one External metric
// per trigger and moves the workload between 0 and the HPA's range itself.
func scaledObject(src *source, opts Options) (*Imported, error) {
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
		APIVersion: orDefault(ref.field("apiVersion").str(), "apps/v1"),
		Kind:       orDefault(ref.field("kind").str(), "Deployment"),
		Name:       ref.field("name").str(),
		Namespace:  ns,
	}
	ref.field("envSourceContainerName").use() // where KEDA reads environment variables from; nothing to scale
	if p.Spec.TargetRef.Name == "" {
		return nil, src.fail(ref.field("name"), "required")
	}

	polling := kedaPollingSeconds
	if v, ok, err := spec.field("pollingInterval").integer(); err != nil {
		return nil, src.fail(spec.field("pollingInterval"), "%v", err)
	} else if ok {
		polling = v
	}
	p.Spec.Schedule = fmt.Sprintf("@every %ds", polling)

	minR := 0
	if v, ok, err := spec.field("minReplicaCount").integer(); err != nil {
		return nil, src.fail(spec.field("minReplicaCount"), "%v", err)
	} else if ok {
		minR = v
	}
	maxR := kedaMaxReplicas
	if v, ok, err := spec.field("maxReplicaCount").integer(); err != nil {
		return nil, src.fail(spec.field("maxReplicaCount"), "%v", err)
	} else if ok {
		maxR = v
	}
	idle := spec.field("idleReplicaCount")
	idleN, idleSet, err := idle.integer()
	if err != nil {
		return nil, src.fail(idle, "%v", err)
	}
	scaleToZero := minR == 0
	switch {
	case idleSet && idleN == 0 && minR > 0:
		scaleToZero = true
		idle.warn("idle at 0 with minReplicaCount %d: the policy scales to 0 with minReplicas 0, and when a trigger is active its floor is 1, not %d", minR, minR)
		minR = 0
	case idleSet:
		idle.warn("idleReplicaCount %d not translated (KEDA supports only 0 here); the policy keeps minReplicas %d", idleN, minR)
	}
	p.Spec.MinReplicas, p.Spec.MaxReplicas = ptr(minR), maxR
	p.Spec.Tolerance = ptr(hpaTolerance)
	p.Spec.Aggregation = policy.AggregateMax

	hpaName := "keda-hpa-" + name
	adv := spec.field("advanced")
	hpaCfg := adv.field("horizontalPodAutoscalerConfig")
	if n := hpaCfg.field("name").str(); n != "" {
		hpaName = n
	}
	b, tol := hpaBehavior(hpaCfg.field("behavior"))
	p.Spec.Behavior = b
	if tol != nil {
		p.Spec.Tolerance = tol
	}
	if r := adv.field("restoreToOriginalReplicaCount"); r.present() {
		on, _, _ := r.boolean()
		if on {
			r.warn("true: when the ScaledObject is deleted KEDA sets the workload back to its count from before KEDA; set that count in Git first, or Argo CD and KEDA will disagree during the handover")
		}
	}
	if sm := adv.field("scalingModifiers"); sm.present() {
		sm.warn("not translated: the policy aggregates its metrics with max; a formula over the triggers has no equivalent")
	}
	if ic := spec.field("initialCooldownPeriod"); ic.present() {
		ic.warn("not translated: the policy has no start-up delay before its first scale to 0")
	}

	var metrics []policy.Metric
	for i, t := range spec.field("triggers").items() {
		switch typ := t.field("type").str(); typ {
		case "prometheus":
			m, ok, err := prometheusTrigger(src, t, i, scaleToZero, opts, p)
			if err != nil {
				return nil, err
			}
			if ok {
				metrics = append(metrics, m)
			}
		case "cron":
			if w, ok := cronTrigger(t, i, maxR); ok {
				p.Spec.Schedules = append(p.Spec.Schedules, w)
			}
		default:
			t.warn("trigger type %q not translated: only prometheus and cron triggers have a policy equivalent", typ)
		}
		t.use()
	}
	if len(metrics) == 0 {
		return nil, src.fail(spec.field("triggers"), "no prometheus trigger could be translated; a policy needs at least one metric")
	}
	uniqueNames(metrics)
	p.Spec.Metrics = metrics

	cooldown(spec.field("cooldownPeriod"), scaleToZero, p)
	fallback(spec.field("fallback"), len(metrics))

	p.Spec.Shadow = &policy.Shadow{PromQL: desiredReplicasQuery(ns, hpaName)}
	spec.leftovers()
	return &Imported{
		Policy:   p,
		From:     objectName("ScaledObject", ns, name),
		Handover: handoverCommand("scaledobject", ns, name) + " (KEDA deletes its HPA " + hpaName + " with it)",
	}, nil
}

// prometheusTrigger translates one prometheus trigger into a metric.
func prometheusTrigger(src *source, t value, i int, scaleToZero bool, opts Options, p *policy.Policy) (policy.Metric, bool, error) {
	md := t.field("metadata")
	name := t.field("name").str()
	if name == "" {
		name = md.field("metricName").str() // deprecated by KEDA, still a good name
	} else {
		md.field("metricName").use()
	}
	m := policy.Metric{Name: metricName(name, fmt.Sprintf("prometheus_%d", i))}
	m.PromQL = strings.TrimSpace(md.field("query").str())
	if m.PromQL == "" {
		return m, false, src.fail(md.field("query"), "required")
	}
	threshold, ok, err := md.field("threshold").number()
	if err != nil {
		return m, false, src.fail(md.field("threshold"), "%v", err)
	}
	if !ok || threshold <= 0 {
		return m, false, src.fail(md.field("threshold"), "required, above 0")
	}
	switch mt := t.field("metricType").str(); mt {
	case "", "AverageValue":
		m.Target = &policy.Target{Type: policy.TargetAverageValue, AverageValue: ptr(threshold)}
	case "Value":
		m.Target = &policy.Target{Type: policy.TargetValue, Value: ptr(threshold)}
	default:
		t.field("metricType").warn("metricType %q not translated (KEDA takes AverageValue or Value); the trigger is left out", mt)
		return m, false, nil
	}
	act := md.field("activationThreshold")
	a, aOK, err := act.number()
	if err != nil {
		return m, false, src.fail(act, "%v", err)
	}
	switch {
	case scaleToZero:
		m.ActivationThreshold = ptr(a) // KEDA's default is 0, as ours
	case aOK:
		act.warn("has no effect with minReplicaCount above 0 (KEDA uses it only to scale between 0 and 1), so it is left out")
	}
	// ignoreNullValues defaults to true: an empty answer counts as 0.
	ignore, set, err := md.field("ignoreNullValues").boolean()
	if err != nil {
		return m, false, src.fail(md.field("ignoreNullValues"), "%v", err)
	}
	if !set || ignore {
		m.OnEmpty = "zero"
	}
	if ref := prometheusRef(md.field("serverAddress"), opts.Servers); ref != nil {
		if p.Spec.Prometheus != nil && *p.Spec.Prometheus != *ref {
			md.field("serverAddress").warn("differs from an earlier trigger's server; a policy queries one Prometheus, the first trigger's")
		} else {
			p.Spec.Prometheus = ref
		}
	} else if !md.field("serverAddress").present() {
		return m, false, src.fail(md.field("serverAddress"), "required")
	}
	for _, k := range []string{"namespace", "customHeaders", "queryParameters", "unsafeSsl", "timeout", "authModes", "awsRegion", "identityOwner"} {
		if f := md.field(k); f.present() {
			f.warn("not translated: request options belong to the Prometheus server of the service config (headers, tls, timeout)")
		}
	}
	if a := t.field("authenticationRef"); a.present() {
		a.warn("not translated: credentials belong to the Prometheus server of the service config, read from a file or the environment")
	}
	t.field("useCachedMetrics").use() // a KEDA cache; the policy queries on its schedule
	return m, true, nil
}

// cooldown maps cooldownPeriod, which KEDA applies only to the last step to 0: after no
// trigger was active for that long. The policy's scale to 0 goes through its scale-down
// stabilization window, so the two agree when the window equals the period.
func cooldown(v value, scaleToZero bool, p *policy.Policy) {
	period := kedaCooldownSeconds
	if n, ok, _ := v.integer(); ok {
		period = n
	}
	if !scaleToZero {
		if v.present() {
			v.warn("has no effect with minReplicaCount %d: KEDA applies it only to scaling to 0, so it is left out", *p.Spec.MinReplicas)
		}
		return
	}
	window := *p.Spec.Behavior.ScaleDown.StabilizationWindowSeconds
	if period != window {
		v.use()
		v.src.warns = append(v.src.warns, policy.Warning{File: v.src.file, Line: v.line(), Field: v.path,
			Msg: fmt.Sprintf("%d s before scaling to 0 differs from the HPA's scale-down window of %d s; the policy has one window for both and uses %d s", period, window, window)})
	}
	v.use()
}

// fallback maps KEDA's fallback. While a metric is missing the policy holds the count (no
// scale-down; other metrics may still scale up), which is KEDA's currentReplicas fallback for
// a single trigger; a fixed count has no equivalent.
func fallback(v value, triggers int) {
	if !v.present() {
		return
	}
	behavior := orDefault(v.field("behavior").str(), "static")
	replicas, _, _ := v.field("replicas").integer()
	failures, _, _ := v.field("failureThreshold").integer()
	if behavior == "currentReplicas" && triggers == 1 {
		v.use() // the policy's missing-metric rule holds the current count: the same
		return
	}
	v.warn("fallback (behavior %s, %d replicas after %d failures) not translated: while a metric is missing the policy holds the current count — it never scales down then, other metrics may still scale it up — and never moves to a fixed count", behavior, replicas, failures)
}

// cronTrigger turns a cron trigger into a schedule window: from start until end, the floor is
// desiredReplicas.
func cronTrigger(t value, i int, maxR int) (policy.ScheduleWindow, bool) {
	md := t.field("metadata")
	start, end := md.field("start").str(), md.field("end").str()
	desired, ok, err := md.field("desiredReplicas").integer()
	if err != nil || !ok {
		md.field("desiredReplicas").warn("required as a whole number; the cron trigger is left out")
		return policy.ScheduleWindow{}, false
	}
	d, err := cronDuration(start, end)
	if err != nil {
		md.field("end").warn("%v; the cron trigger is left out", err)
		return policy.ScheduleWindow{}, false
	}
	if desired > maxR {
		md.field("desiredReplicas").warn("%d is above maxReplicaCount %d; the window's floor is %d, as the HPA caps it", desired, maxR, maxR)
		desired = maxR
	}
	name := t.field("name").str()
	w := policy.ScheduleWindow{
		Name:        metricName(name, fmt.Sprintf("cron_%d", i)),
		Cron:        start,
		Duration:    policy.Duration{Duration: d},
		MinReplicas: ptr(desired),
		Timezone:    md.field("timezone").str(),
	}
	return w, true
}

// cronDuration is the time from a start cron to an end cron that fire on the same days at
// fixed times, such as "0 8 * * 1-5" to "0 18 * * 1-5".
func cronDuration(start, end string) (time.Duration, error) {
	s, e := strings.Fields(start), strings.Fields(end)
	if len(s) != 5 || len(e) != 5 {
		return 0, fmt.Errorf("start %q and end %q must be five-field cron specs", start, end)
	}
	if strings.Join(s[2:], " ") != strings.Join(e[2:], " ") {
		return 0, fmt.Errorf("start %q and end %q fire on different days; a schedule window needs one start and a duration", start, end)
	}
	at := func(f []string) (int, error) {
		m, err1 := strconv.Atoi(f[0])
		h, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("start %q and end %q need a fixed minute and hour", start, end)
		}
		return h*60 + m, nil
	}
	a, err := at(s)
	if err != nil {
		return 0, err
	}
	b, err := at(e)
	if err != nil {
		return 0, err
	}
	minutes := (b - a + 24*60) % (24 * 60)
	if minutes == 0 {
		return 0, fmt.Errorf("start %q and end %q are the same time", start, end)
	}
	return time.Duration(minutes) * time.Minute, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
