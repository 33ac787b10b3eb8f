package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

func TestSpliceDeltaRebuildsTheTarget(t *testing.T) {
	long := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160,000 bytes: copies split
	tests := []struct {
		name     string
		src, tgt []byte
	}{
		{"identical", []byte("replicaCount: 3\n"), []byte("replicaCount: 3\n")},
		{"one value changed", []byte("a: 1\nreplicaCount: 3\nb: 2\n"), []byte("a: 1\nreplicaCount: 12\nb: 2\n")},
		{"inserted", []byte("ab"), []byte("a-very-long-insert-" + strings.Repeat("x", 300) + "b")},
		{"deleted", []byte("abcdef"), []byte("af")},
		{"to nothing", []byte("old file\n"), nil},
		{"nothing in common", []byte("abc"), []byte("xyz")},
		{"large, middle changed", long, append(append(bytes.Clone(long[:80000]), "CHANGED"...), long[80007:]...)},
		{"large, offsets past 64 KiB", long, append(bytes.Clone(long[:150000]), 'Z')},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			delta := spliceDelta(tc.src, tc.tgt)
			got, err := packfile.PatchDelta(tc.src, delta)
			require.NoError(t, err)
			assert.Equal(t, len(tc.tgt), len(got))
			assert.True(t, bytes.Equal(tc.tgt, got), "patched content differs")
		})
	}
}

func TestEncodeTreeIsGoGitsEncoding(t *testing.T) {
	h := plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
	tests := []struct {
		name    string
		entries []object.TreeEntry
	}{
		{"empty", nil},
		{"modes", []object.TreeEntry{
			{Name: "dir", Mode: filemode.Dir, Hash: h},
			{Name: "exec.sh", Mode: filemode.Executable, Hash: h},
			{Name: "link", Mode: filemode.Symlink, Hash: h},
			{Name: "values.yaml", Mode: filemode.Regular, Hash: h},
		}},
		{"unicode name", []object.TreeEntry{{Name: "wërte.yaml", Mode: filemode.Regular, Hash: h}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want plumbing.MemoryObject
			require.NoError(t, (&object.Tree{Entries: tc.entries}).Encode(&want))
			r, err := want.Reader()
			require.NoError(t, err)
			wantRaw, err := io.ReadAll(r)
			require.NoError(t, err)
			got, err := encodeTree(tc.entries)
			require.NoError(t, err)
			assert.Equal(t, wantRaw, got)
		})
	}
	_, err := encodeTree([]object.TreeEntry{{Name: "a\x00b", Mode: filemode.Regular, Hash: h}})
	assert.ErrorContains(t, err, "malformed filename")
}

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
	assert.Empty(t, ws.store.mem, "nothing left in memory after the push")
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
