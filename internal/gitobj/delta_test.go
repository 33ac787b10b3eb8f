package gitobj

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			delta := SpliceDelta(tc.src, tc.tgt)
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
			got, err := EncodeTree(tc.entries)
			require.NoError(t, err)
			assert.Equal(t, wantRaw, got)
		})
	}
	_, err := EncodeTree([]object.TreeEntry{{Name: "a\x00b", Mode: filemode.Regular, Hash: h}})
	assert.ErrorContains(t, err, "malformed filename")
}
