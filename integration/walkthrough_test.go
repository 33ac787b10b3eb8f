package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWalkthrough is item 4 of issue 21: the hand-written walkthrough of examples/README.md
// ("Play the loop offline") runs as a script, as a reader would paste it, with every command
// checked (set -e; the pipeline's commands too) — it pushed to a checked-out, non-bare
// repository and the push was refused. Only `make build` is replaced, by the test's binary.
func TestWalkthrough(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "examples", "README.md"))
	require.NoError(t, err)
	block := regexp.MustCompile("(?s)### Play the loop offline.*?```sh\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, block, "the walkthrough's sh block")
	script := string(block[1])
	require.Contains(t, script, "make build\n")
	script = strings.Replace(script, "make build\n", "", 1)
	bin := filepath.Dir(binary(t))
	script = strings.ReplaceAll(script, "bin/gitops-autoscaler", filepath.Join(bin, "gitops-autoscaler"))
	script = strings.ReplaceAll(script, "--html web.html", "--html \"$work.html\"")

	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = ".." // the module root: the walkthrough's paths are relative to it
	cmd.Env = append(os.Environ(), "HOME="+home, "TMPDIR="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Reader", "GIT_AUTHOR_EMAIL=reader@example.com", "GIT_COMMITTER_NAME=Reader", "GIT_COMMITTER_EMAIL=reader@example.com")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the walkthrough as a script:\n%s", out)

	// git log -p -1 of the bare repository shows the autoscaler's last commit: its subject,
	// reasons, trailers and the diff of the one number; history lists the web decision.
	assert.Regexp(t, `(?m)^Author: gitops-autoscaler <`, string(out))
	assert.Regexp(t, `(?m)^\s+autoscale\(laravel-[a-z]+/laravel-web\): \d+ → \d+ replicas$`, string(out))
	assert.Regexp(t, `(?m)^\s+Autoscaler-Decision-Id: [0-9a-f]{20}$`, string(out))
	assert.Regexp(t, `(?m)^\+\s+replicaCount: \d+`, string(out), "the diff of the one number")
	assert.Regexp(t, `(?m)^\S+\s+decision\s+3 → 6\s`, string(out), "history lists the decision")
}
