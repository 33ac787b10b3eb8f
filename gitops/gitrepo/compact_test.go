package gitrepo

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyncKeepsThePackCountBounded: every fetch that brings commits writes a pack into the
// kept clone, and reads slow down with every pack. Twice maxPacks syncs, each bringing a
// person's edit of the count, leave at most maxPacks packs — not one per fetch — and a clone
// that lost nothing: git fsck passes, history reads every edit, and a commit still pushes.
func TestSyncKeepsThePackCountBounded(t *testing.T) {
	ctx := context.Background()
	s, opts := newRepo(t)
	ws := open(t, opts)
	packs := func() int {
		p, err := filepath.Glob(filepath.Join(ws.root, ".git", "objects", "pack", "pack-*.pack"))
		require.NoError(t, err)
		return len(p)
	}
	const syncs = 2 * maxPacks
	for i := 1; i <= syncs; i++ {
		s.Commit("platform", map[string]string{valuesFile: values(strconv.Itoa(3 + i))}, "edit "+strconv.Itoa(i), "Ann <ann@example.com>")
		require.NoError(t, ws.Sync(ctx))
		require.LessOrEqual(t, packs(), maxPacks, "after sync %d", i)
	}

	fsck := exec.Command("git", "-C", ws.root, "fsck", "--strict", "--no-progress")
	fsck.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := fsck.CombinedOutput()
	require.NoError(t, err, "git fsck of the clone: %s", out)
	// Every edit is still read back through the walk: each version of the file, newest first.
	var versions []string
	_, err = ws.WalkBase(time.Now().Add(-time.Hour), 0, func(c *PastCommit) (bool, error) {
		_, after, changed, err := c.FileChange(valuesFile)
		if err != nil || !changed {
			return err == nil, err
		}
		data, ok, err := ws.ReadBlob(after)
		require.True(t, ok)
		versions = append(versions, string(data))
		return true, err
	})
	require.NoError(t, err)
	require.Len(t, versions, syncs, "every edit is still read")
	for i, v := range versions {
		assert.Equal(t, values(strconv.Itoa(3+syncs-i)), v)
	}
	commitValues(t, ws, "9")
	require.NoError(t, ws.Push(ctx))
	assert.Equal(t, values("9"), s.ReadFile("platform", "main", valuesFile))
}
