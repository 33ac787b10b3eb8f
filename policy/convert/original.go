package convert

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// original normalises a PrometheusAutoscaler of the original controller's group: the same
// document, in our group, with the policy engine's spelling of the mode, run in DryRun beside
// the original controller until it is removed. Every other field means what it meant, so the
// document is kept as written, comments included.
func original(src *source) (*Imported, error) {
	docs, err := policy.LoadDocuments(src.file, src.data)
	var p *policy.Policy
	for _, d := range docsPolicies(docs) {
		if d.Source.Line == src.root.Line {
			p = d
		}
	}
	if p == nil {
		// This document is the invalid one: report its own problems only.
		var mine []string
		for _, e := range splitJoined(err) {
			var fe *policy.FieldError
			if asFieldError(e, &fe) && fe.Line < src.root.Line {
				continue
			}
			mine = append(mine, e.Error())
		}
		return nil, fmt.Errorf("%s:%d: PrometheusAutoscaler is not valid: %s", src.file, src.root.Line, strings.Join(mine, "; "))
	}
	node := copyNode(src.root)
	setScalar(node, "apiVersion", policy.APIVersion)
	spec := yamlnode.MappingValue(node, "spec")
	top := src.top()
	modeV := top.field("spec").field("mode")
	was := p.Spec.Mode
	setScalar(spec, "mode", string(policy.ModeDryRun))
	if was != policy.ModeDryRun {
		modeV.warn("%s while the original controller runs: the policy shadows it in DryRun; set mode back to %s when you hand over", orDefault(modeV.str(), string(was)+" (the default)"), was)
	}
	if d := yamlnode.MappingValue(spec, "delivery"); d != nil {
		removeKey(spec, "delivery")
		top.field("spec").field("delivery").warn("left out while shadowing (a DryRun policy never delivers); put it back when you hand over")
	}
	ns := p.Metadata.Namespace
	if p.Spec.TargetRef.Namespace != "" {
		ns = p.Spec.TargetRef.Namespace
	}
	shadow := &policy.Shadow{PromQL: specReplicasQuery(p.Spec.TargetRef.Kind, ns, p.Spec.TargetRef.Name)}
	var sh yaml.Node
	if err := sh.Encode(shadow); err != nil {
		return nil, err
	}
	setValue(spec, "shadow", &sh)

	out := *p
	out.APIVersion = policy.APIVersion
	out.Spec.Mode = policy.ModeDryRun
	out.Spec.Delivery = nil
	out.Spec.Shadow = shadow
	out.Source = policy.Source{}
	return &Imported{
		Policy:   &out,
		From:     objectName("PrometheusAutoscaler", p.Metadata.Namespace, p.Metadata.Name) + " of " + policy.LegacyAPIVersion,
		Handover: handoverCommand("prometheusautoscalers.autoscaler.laravel.app", p.Metadata.Namespace, p.Metadata.Name) + " (the original controller's object; then set mode and drop spec.shadow here)",
		node:     node,
	}, nil
}

// specReplicasQuery is kube-state-metrics' series of a workload's spec.replicas: the count the
// original controller set.
func specReplicasQuery(kind, ns, name string) string {
	k := strings.ToLower(kind)
	if ns == "" {
		return fmt.Sprintf("kube_%s_spec_replicas{%s=%q}", k, k, name)
	}
	return fmt.Sprintf("kube_%s_spec_replicas{namespace=%q,%s=%q}", k, ns, k, name)
}

func docsPolicies(d *policy.Documents) []*policy.Policy {
	if d == nil {
		return nil
	}
	return d.Policies
}
