package convert

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// SetReplicas records where the workload's count lives in Git (and how to render it), as
// render/locate found it.
func (imp *Imported) SetReplicas(loc *policy.ReplicasLocation, r *policy.Render) error {
	imp.Policy.Spec.Replicas = loc
	if r != nil {
		imp.Policy.Spec.Render = r
	}
	if imp.node == nil {
		return nil
	}
	spec := yamlnode.MappingValue(imp.node, "spec")
	var n yaml.Node
	if err := n.Encode(loc); err != nil {
		return err
	}
	compact(&n)
	insertAfter(spec, "targetRef", "replicas", &n)
	if r != nil {
		var rn yaml.Node
		if err := rn.Encode(r); err != nil {
			return err
		}
		insertAfter(spec, "replicas", "render", &rn)
	}
	return nil
}

// Warn adds a warning to the import, e.g. that the replica key was not found.
func (imp *Imported) Warn(field, format string, args ...any) {
	imp.Warnings = append(imp.Warnings, policy.Warning{File: imp.File, Line: imp.Line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Marshal writes the imported policy as a YAML document: a header saying where it came from,
// how to hand over and every warning, then the policy.
func Marshal(imp *Imported) ([]byte, error) {
	var body yaml.Node
	if imp.node != nil {
		body = *imp.node
		body.HeadComment = ""
	} else {
		if err := body.Encode(imp.Policy); err != nil {
			return nil, fmt.Errorf("encode policy: %w", err)
		}
		compact(&body)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Imported by gitops-autoscaler import from %s", imp.From)
	if imp.File != "" {
		fmt.Fprintf(&b, " (%s:%d)", imp.File, imp.Line)
	}
	b.WriteString(".\n")
	if imp.Handover != "" {
		b.WriteString("# It runs in DryRun beside the live autoscaler (spec.shadow compares the two) until you hand over:\n")
		fmt.Fprintf(&b, "#   %s\n", imp.Handover)
		b.WriteString("# then choose a mode (e.g. PullRequest) and remove spec.shadow; render verification refuses to\n")
		b.WriteString("# commit while an HPA or ScaledObject still targets the workload.\n")
	}
	if len(imp.Warnings) > 0 {
		b.WriteString("# Warnings:\n")
		for _, w := range imp.Warnings {
			for i, line := range strings.Split(w.String(), "\n") {
				if i == 0 {
					fmt.Fprintf(&b, "#   %s\n", line)
				} else {
					fmt.Fprintf(&b, "#     %s\n", line)
				}
			}
		}
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&body); err != nil {
		return nil, fmt.Errorf("encode policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// compact writes small mappings of scalars in flow style ({kind: Deployment, name: web}), as
// people write them.
func compact(n *yaml.Node) {
	for _, c := range n.Content {
		compact(c)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!float" {
		// 536870912, not 5.36870912e+08.
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e15 {
			n.Value = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	if n.Kind != yaml.MappingNode || len(n.Content) > 8 {
		return
	}
	width := 0
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || strings.ContainsAny(c.Value, "\n") {
			return
		}
		width += len(c.Value) + 4
	}
	if width <= 100 {
		n.Style = yaml.FlowStyle
	}
}
