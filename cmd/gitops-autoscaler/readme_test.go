package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// TestREADMEPolicyIsTheRecommendedOneAndLoads: the first policy a reader copies from the README
// loads as written and is the one we recommend — targets and Steady, no
// step rule (issue 21 item 5: a step rule climbs to maxReplicas one step at a time).
func TestREADMEPolicyIsTheRecommendedOneAndLoads(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	var first string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		if strings.Contains(m[1], "kind: PrometheusAutoscaler") {
			first = m[1]
			break
		}
	}
	require.NotEmpty(t, first, "the README shows a policy")
	ps, err := policy.LoadPolicies("README.md", []byte(first))
	require.NoError(t, err)
	require.Len(t, ps, 1)
	p := ps[0]
	require.NotNil(t, p.Spec.Strategy, "a strategy")
	assert.Equal(t, "Steady", string(p.Spec.Strategy.Type))
	require.NotEmpty(t, p.Spec.Metrics)
	for _, m := range p.Spec.Metrics {
		assert.Nil(t, m.ScaleUp, "%s: a target, not a step rule", m.Name)
		require.NotNil(t, m.Target, m.Name)
	}
}
