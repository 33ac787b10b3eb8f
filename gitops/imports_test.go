package gitops_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/gitops-autoscaler/gitops-autoscaler"

// TestNoUpwardImports: no package under gitops/ imports the loop above it (docs/design.md §3:
// imports point one way; the loop imports them), and nothing in the core — the loop and its
// packages, policy, promclient, render — imports the presentation in internal/web. (A host
// provider importing gitops/host, the vocabulary it shares with delivery, is a leaf's import.)
func TestNoUpwardImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}",
		"../...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, ": ")
		if strings.HasPrefix(pkg, module+"/") {
			imports[pkg] = strings.Fields(deps)
		}
	}
	require.Contains(t, imports, module+"/gitops/delivery", "the listing holds the module's packages")
	for pkg, deps := range imports {
		rel := strings.TrimPrefix(pkg, module+"/")
		for _, dep := range deps {
			if strings.HasPrefix(rel, "gitops/") && dep == module+"/gitops" {
				assert.Failf(t, "upward import", "%s imports the loop, package gitops, above it", rel)
			}
			core := rel == "gitops" || strings.HasPrefix(rel, "gitops/") || strings.HasPrefix(rel, "policy") ||
				strings.HasPrefix(rel, "promclient") || strings.HasPrefix(rel, "render")
			if core && dep == module+"/internal/web" {
				assert.Failf(t, "core imports the web face", "%s imports internal/web", rel)
			}
		}
	}
}
