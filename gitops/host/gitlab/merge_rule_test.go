package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// TestRefusesUncheckedMerge: the client answers from gitlab.allowAutoMergeWithoutPipeline
// whether a merge request may merge while the project does not require pipelines to succeed.
func TestRefusesUncheckedMerge(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow bool
		want  string
	}{
		{name: "refused by default", want: "auto-merge refused: the project does not require pipelines to succeed; merge request !7 waits for review (gitlab.allowAutoMergeWithoutPipeline allows it)"},
		{name: "allowed by the setting", allow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(&svcconfig.GitLabRepo{Project: "acme/apps", AllowAutoMergeWithoutPipeline: tc.allow}, Options{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, g.RefusesUncheckedMerge("main", "merge request !7"))
		})
	}
}
