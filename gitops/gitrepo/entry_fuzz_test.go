package gitrepo

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitobj"
)

// memObjects is a blobSource over objects in memory, for checkouts without a clone.
type memObjects map[plumbing.Hash][]byte

func (m memObjects) put(t plumbing.ObjectType, content []byte) plumbing.Hash {
	h := gitobj.Hash(t, content)
	m[h] = content
	return h
}

func (m memObjects) ReadObject(_ plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	b, ok := m[h]
	if !ok {
		return nil, plumbing.ErrObjectNotFound
	}
	if int64(len(b)) > max {
		return nil, gitobj.TooLargeError{Size: int64(len(b)), Max: max}
	}
	return b, nil
}

func (m memObjects) OpenObject(t plumbing.ObjectType, h plumbing.Hash, max int64) (io.ReadCloser, int64, error) {
	b, err := m.ReadObject(t, h, max)
	if err != nil {
		return nil, int64(len(m[h])), err
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

// rawTreeOf encodes entries as a tree object, names unchecked (gitobj.EncodeTree refuses a NUL).
func rawTreeOf(entries ...[3]string) []byte {
	var raw []byte
	for _, e := range entries {
		raw = append(raw, e[0]+" "+e[1]+"\x00"...)
		h := plumbing.NewHash(e[2])
		raw = append(raw, h[:]...)
	}
	return raw
}

// FuzzTreeEntryNames: whatever the names of a tree's entries — and a symlink among them,
// whose target is fuzzed too — checking the tree out, and then a second tree over it, never
// writes or removes anything outside the clone's directory, and never touches its .git.
func FuzzTreeEntryNames(f *testing.F) {
	for _, seed := range [][4]string{
		{"values.yaml", "envs", "app.yaml", "target"},
		{"..", "..", "pwned", "../../.."},
		{"../../pwned", "a/../..", "x", "/etc"},
		{".git", ".GIT", "config", ".git"},
		{"link", "link", "pwned", "../.."},
		{".git.", "git~1", "HEAD", "."},
		{"", ".", "a\x00b", ""},
		{".gitmodules", "sub", ".gitmodules", "../../outside"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, fileName, dirName, innerName, linkTarget string) {
		base := t.TempDir()
		root := filepath.Join(base, "cache", "clone")
		for _, d := range []string{filepath.Join(root, ".git"), filepath.Join(base, "outside", "sub")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(root, ".git", "config"), []byte("ours"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A symlink the tree does not know, left in the worktree.
		if err := os.Symlink(filepath.Join(base, "outside"), filepath.Join(root, "stale")); err != nil {
			t.Fatal(err)
		}
		before := readTree(t, base)

		objs := memObjects{}
		blob := objs.put(plumbing.BlobObject, []byte("pwned\n")).String()
		link := objs.put(plumbing.BlobObject, []byte(linkTarget)).String()
		inner := objs.put(plumbing.TreeObject, rawTreeOf([3]string{"100644", innerName, blob})).String()
		first := objs.put(plumbing.TreeObject, rawTreeOf(
			[3]string{"100644", fileName, blob},
			[3]string{"40000", dirName, inner},
			[3]string{"120000", "link", link},
		))
		second := objs.put(plumbing.TreeObject, rawTreeOf(
			[3]string{"40000", fileName, inner},
			[3]string{"120000", dirName, link},
			[3]string{"40000", "stale", inner},
			[3]string{"40000", "link", inner},
		))
		co := newCheckout(root, objs, 1<<20)
		_ = co.resetTo(first)
		_ = co.resetTo(second)

		after := readTree(t, base)
		for p, v := range before {
			if p == filepath.Join("cache", "clone", "stale") {
				continue // the checkout may replace the stale link with a directory
			}
			if after[p] != v {
				t.Fatalf("%s changed: %q → %q (names %s %s %s, link %s)", p, v, after[p],
					strconv.Quote(fileName), strconv.Quote(dirName), strconv.Quote(innerName), strconv.Quote(linkTarget))
			}
		}
		clone := filepath.Join("cache", "clone") + string(filepath.Separator)
		for p := range after {
			if _, ok := before[p]; ok {
				continue
			}
			if len(p) <= len(clone) || p[:len(clone)] != clone {
				t.Fatalf("%s written outside the clone (names %s %s %s)", p,
					strconv.Quote(fileName), strconv.Quote(dirName), strconv.Quote(innerName))
			}
			if rel := p[len(clone):]; rel != filepath.Join(".git", markerName) && (rel == ".git/" || len(rel) > 5 && rel[:5] == ".git"+string(filepath.Separator)) {
				t.Fatalf("%s written inside the clone's .git", p)
			}
		}
	})
}
