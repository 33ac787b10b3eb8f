package convert

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// workload is the scaled object, for the queries that select its pods and name it.
type workload struct {
	ref policy.TargetRef
}

// podPattern is a regular expression for the names of the workload's pods: the controller
// names them after the workload (a Deployment's pods name-<template hash>-<suffix>, a
// StatefulSet's name-<ordinal>).
func (w *workload) podPattern() string {
	name := regexp.QuoteMeta(w.ref.Name)
	switch w.ref.Kind {
	case "Deployment", "Rollout":
		return name + "-[a-z0-9]+-[a-z0-9]+"
	case "StatefulSet":
		return name + "-[0-9]+"
	case "ReplicaSet", "ReplicationController":
		return name + "-[a-z0-9]+"
	}
	return name + "-.+"
}

func (w *workload) podMatchers(extra ...matcher) string {
	ms := []matcher{}
	if w.ref.Namespace != "" {
		ms = append(ms, matcher{"namespace", "=", w.ref.Namespace})
	}
	ms = append(ms, matcher{"pod", "=~", w.podPattern()})
	ms = append(ms, extra...)
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

// resourceMetric is the HPA's Resource (or ContainerResource) metric as PromQL: cAdvisor's
// usage of the workload's containers, and for Utilization its ratio to the containers'
// requests (kube-state-metrics) in percent — the HPA's own sum(usage) / sum(requests).
func (w *workload) resourceMetric(res, container string, t policy.Target) policy.Metric {
	var usageSel, reqSel string
	if container != "" {
		usageSel = w.podMatchers(matcher{"container", "=", container})
		reqSel = w.podMatchers(matcher{"container", "=", container}, matcher{"resource", "=", res})
	} else {
		usageSel = w.podMatchers(matcher{"container", "!=", ""}, matcher{"container", "!=", "POD"})
		reqSel = w.podMatchers(matcher{"resource", "=", res})
	}
	var usage string
	if res == "cpu" {
		usage = fmt.Sprintf("sum(rate(container_cpu_usage_seconds_total{%s}[2m]))", usageSel)
	} else {
		usage = fmt.Sprintf("sum(container_memory_working_set_bytes{%s})", usageSel)
	}
	name := res
	if container != "" {
		name = metricName(container, "container") + "_" + res
	}
	m := policy.Metric{Name: name + "_usage", PromQL: usage}
	if t.Type == policy.TargetValue {
		// Utilization in percent of the requests.
		m.Name = name + "_utilization"
		m.PromQL = fmt.Sprintf("100 * %s / sum(kube_pod_container_resource_requests{%s})", usage, reqSel)
	}
	m.Target = &t
	return m
}

// externalQuery is an External metric through an externalRules entry: the metric selector's
// matchers and the namespace's (unless the rule is not namespaced), no group-by.
func (w *workload) externalQuery(rule *compiledRule, series string, selector []matcher) (string, error) {
	ms := append([]matcher(nil), selector...)
	namespaced := rule.rule.Resources.Namespaced == nil || *rule.rule.Resources.Namespaced
	if namespaced && w.ref.Namespace != "" {
		lbl, err := rule.labelFor("", "namespaces")
		if err != nil {
			return "", err
		}
		ms = append(ms, matcher{lbl, "=", w.ref.Namespace})
	}
	return rule.build(series, ms, []string{})
}

// objectQuery is an Object metric: the selector's matchers, the namespace's, and the described
// object's, grouped by the object's label, as the adapter builds a custom metrics query.
func (w *workload) objectQuery(rule *compiledRule, series string, selector []matcher, obj value) (string, error) {
	kind, name := obj.field("kind").str(), obj.field("name").str()
	apiVersion := obj.field("apiVersion").str()
	if kind == "" || name == "" {
		return "", fmt.Errorf("describedObject needs kind and name")
	}
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		group = ""
	}
	ms := append([]matcher(nil), selector...)
	if w.ref.Namespace != "" {
		lbl, err := rule.labelFor("", "namespaces")
		if err != nil {
			return "", err
		}
		ms = append(ms, matcher{lbl, "=", w.ref.Namespace})
	}
	lbl, err := rule.labelFor(group, plural(kind))
	if err != nil {
		return "", err
	}
	ms = append(ms, matcher{lbl, "=", name})
	return rule.build(series, ms, []string{lbl})
}

// podsQuery is a Pods metric: the selector's matchers, the namespace's, and the workload's
// pods by name, grouped by pod.
func (w *workload) podsQuery(rule *compiledRule, series string, selector []matcher) (string, error) {
	ms := append([]matcher(nil), selector...)
	if w.ref.Namespace != "" {
		lbl, err := rule.labelFor("", "namespaces")
		if err != nil {
			return "", err
		}
		ms = append(ms, matcher{lbl, "=", w.ref.Namespace})
	}
	lbl, err := rule.labelFor("", "pods")
	if err != nil {
		return "", err
	}
	ms = append(ms, matcher{lbl, "=~", w.podPattern()})
	return rule.build(series, ms, []string{lbl})
}
