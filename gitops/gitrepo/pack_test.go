package gitrepo

import (
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// A cycle's commits live in memory until pushed; then they are one pack in the clone, and a
// new process (a new Workspace on the same cache) reads them without fetching them again.
func TestPushedCommitsArePackedUnpushedAreDropped(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	ctx := context.Background()
	loose := func() int {
		n := 0
		require.NoError(t, ws.store.ForEachObjectHash(func(plumbing.Hash) error { n++; return nil }))
		return n
	}
	packs := func() int {
		p, err := ws.store.ObjectPacks()
		require.NoError(t, err)
		return len(p)
	}
	packsBefore, looseBefore := packs(), loose()

	var heads []string
	for i := range 60 { // longer than a delta chain may grow
		heads = append(heads, commitValues(t, ws, fmt.Sprint(i+4)))
	}
	assert.Equal(t, looseBefore, loose(), "commits are not written as loose objects")
	require.NoError(t, ws.Push(ctx))
	assert.Equal(t, packsBefore+1, packs(), "pushed objects are one pack")
	assert.Equal(t, looseBefore, loose())
	assert.Zero(t, ws.store.InMemory(), "nothing left in memory after the push")
	assert.Equal(t, heads[len(heads)-1], s.HeadSHA("platform", "main"))
	s.Git("platform", "fsck", "--strict")

	unpushed := commitValues(t, ws, "99")
	require.NoError(t, ws.Sync(ctx))
	_, err := ws.repo.CommitObject(plumbing.NewHash(unpushed))
	assert.ErrorIs(t, err, plumbing.ErrObjectNotFound, "an unpushed commit is dropped with the cycle")
	require.NoError(t, ws.Close())

	s.ResetCounts()
	again := open(t, opts)
	t.Cleanup(func() { _ = again.Close() })
	assert.Equal(t, 1, s.Requests("platform", gittest.UploadPack))
	for _, h := range heads {
		c, err := again.repo.CommitObject(plumbing.NewHash(h))
		require.NoError(t, err)
		f, err := c.File(valuesFile)
		require.NoError(t, err)
		_, err = f.Contents()
		assert.NoError(t, err)
	}
	// The local clone is a valid repository for git itself.
	out, err := exec.Command("git", "-C", again.Root(), "fsck", "--strict").CombinedOutput()
	assert.NoError(t, err, string(out))
}
