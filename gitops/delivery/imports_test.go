package delivery

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/gitops-autoscaler/gitops-autoscaler/"

// TestImportsWhatItsDocAllows: delivery imports neither the loop nor a host provider, nor
// anything above it (doc.go): the loop imports delivery, and the providers implement it.
func TestImportsWhatItsDocAllows(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, module+"gitops/commitmsg", "the listing holds what delivery does import")
	for _, forbidden := range []string{
		"gitops", "gitops/host/github", "gitops/host/gitlab", "gitops/host/hosts", "internal/web", "cmd/gitops-autoscaler",
	} {
		t.Run(forbidden, func(t *testing.T) {
			assert.NotContains(t, deps, module+forbidden)
		})
	}
}
