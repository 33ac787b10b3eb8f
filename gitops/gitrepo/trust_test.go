package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// Git content is untrusted input (docs/design.md §6): these tests push, with git's plumbing,
// trees that no Git client would check out — a remote that checks no object accepts them, and
// a malicious remote serves them — and check that the workspace refuses them before it writes
// or removes anything.

// dir is a raw directory entry.
func dir(name string, entries ...gittest.RawEntry) gittest.RawEntry {
	return gittest.RawEntry{Name: name, Entries: entries}
}

// file is a raw file entry.
func file(name, content string) gittest.RawEntry {
	return gittest.RawEntry{Name: name, Content: content}
}

// symlink is a raw symlink entry.
func symlink(name, target string) gittest.RawEntry {
	return gittest.RawEntry{Mode: "120000", Name: name, Content: target}
}

// readTree is every file under root, .git included, as path → content (symlinks as their
// target): what a test compares before and after a sync to see that nothing was written.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link → " + target
			return err
		case fi.IsDir():
			out[rel+"/"] = "dir"
		default:
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	}))
	return out
}

// TestTreeEntryDotDotNeverWritesOutsideClone is finding 1 of issue 22: a tree entry named
// "..", holding a slash, or naming .git in any spelling was written where its name led —
// outside the clone, or into its .git. Each is now refused with an error naming the entry's
// path, and nothing under the directory that holds the cache changes; once the branch is
// repaired, the next sync checks it out.
func TestTreeEntryDotDotNeverWritesOutsideClone(t *testing.T) {
	tests := []struct {
		name    string
		entries []gittest.RawEntry
		path    string // the refused entry's path
	}{
		{"a directory named ..", []gittest.RawEntry{dir("..", file("pwned.txt", "x"))}, ".."},
		{"two levels of .. in one name", []gittest.RawEntry{file("../../pwned.txt", "x")}, "../../pwned.txt"},
		{"a/../b in one name", []gittest.RawEntry{file("a/../../../pwned.txt", "x")}, "a/../../../pwned.txt"},
		{".. under a directory", []gittest.RawEntry{dir("teams", dir("..", dir("..", file("pwned.txt", "x"))))}, "teams/.."},
		{"a directory named .", []gittest.RawEntry{dir(".", file("pwned.txt", "x"))}, "."},
		{".git at the root", []gittest.RawEntry{dir(".git", file("config", "[core]\n\thooksPath = /srv/hooks\n"))}, ".git"},
		{".GIT in another case", []gittest.RawEntry{dir(".GIT", file("config", "x"))}, ".GIT"},
		{".git deeper down", []gittest.RawEntry{dir("teams", dir(".git", file("config", "x")))}, "teams/.git"},
		{".git. as NTFS reads it", []gittest.RawEntry{dir(".git.", file("config", "x"))}, ".git."},
		{"git~1, .git's short name", []gittest.RawEntry{dir("GIT~1", file("config", "x"))}, "GIT~1"},
		{".git with a code point HFS+ ignores", []gittest.RawEntry{dir(".g\u200cit", file("config", "x"))}, ".g\u200cit"},
		{".gitmodules as a symlink", []gittest.RawEntry{symlink(".gitmodules", "/etc/passwd")}, ".gitmodules"},
		{"a symlink and a directory of one name", []gittest.RawEntry{
			symlink("escape", "../../.."), dir("escape", file("pwned.txt", "x"))}, "escape"},
		{"a mode git never writes", []gittest.RawEntry{{Mode: "100600", Name: "odd.txt", Content: "x"}}, "odd.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := newRepo(t)
			base := t.TempDir()
			opts.CacheDir = filepath.Join(base, "cache", "repos")
			ws := open(t, opts)
			t.Cleanup(func() { _ = ws.Close() })
			good := ws.Base()
			before := readTree(t, base)

			s.CommitRawEntries("platform", "malicious tree", tt.entries...)
			err := ws.Sync(context.Background())
			require.Error(t, err, "the tree must be refused")
			assert.Contains(t, err.Error(), "tree entry "+strconv.Quote(tt.path)+": ")
			// Nothing was written or removed, outside the clone or in it (its .git included,
			// but for the objects the fetch brought).
			after := readTree(t, base)
			for p := range after {
				if strings.Contains(p, string(filepath.Separator)+"objects"+string(filepath.Separator)) ||
					strings.HasSuffix(p, "FETCH_HEAD") || strings.Contains(p, "refs"+string(filepath.Separator)+"remotes") ||
					strings.HasSuffix(p, filepath.Join(".git", "packed-refs")) {
					delete(after, p)
					delete(before, p)
				}
			}
			marker := filepath.Join(ws.Root(), ".git", markerName)
			rel, _ := filepath.Rel(base, marker)
			delete(before, rel) // removed before a reset starts, written once it completes
			delete(after, rel)
			assert.Equal(t, before, after)

			// Repaired: the branch moved back and on, the next sync checks it out.
			s.Git("platform", "update-ref", "refs/heads/main", good)
			s.Commit("platform", map[string]string{valuesFile: values("5")}, "by hand", "Ann <ann@example.com>")
			require.NoError(t, ws.Sync(context.Background()))
			got, err := ws.ReadFile(valuesFile)
			require.NoError(t, err)
			assert.Equal(t, values("5"), string(got))
		})
	}
}

// TestEvilRepoCannotWriteIntoVictimClone is finding 1's attack: two repositories share the
// cache directory, and a push to "evil" holds ../<victim's clone>/values.yaml with an
// injected image. The victim's clone is untouched, and its next decision commits its own
// file.
func TestEvilRepoCannotWriteIntoVictimClone(t *testing.T) {
	s := gittest.NewServer(t)
	s.CreateRepo("victim", map[string]string{valuesFile: values("3")})
	s.CreateRepo("evil", map[string]string{"README.md": "hi\n"})
	cache := t.TempDir()
	optsOf := func(name string) Options {
		return Options{Name: name, URL: s.URL(name), CacheDir: cache,
			Auth:   &Auth{Username: s.User(), PasswordEnv: "GIT_PASSWORD"},
			Getenv: envOf(map[string]string{"GIT_PASSWORD": s.Password()})}
	}
	victim := open(t, optsOf("victim"))
	t.Cleanup(func() { _ = victim.Close() })
	evil := open(t, optsOf("evil"))
	t.Cleanup(func() { _ = evil.Close() })
	victimDir := filepath.Base(victim.Root())
	require.Equal(t, cache, filepath.Dir(victim.Root()))

	injected := "# web\nweb:\n  replicaCount: 3  # managed\n  image: {repository: evil.example.com/backdoor}\n"
	parts := strings.Split(valuesFile, "/")
	leaf := file(parts[len(parts)-1], injected)
	for i := len(parts) - 2; i >= 0; i-- {
		leaf = dir(parts[i], leaf)
	}
	s.CommitRawEntries("evil", "write into the victim", dir("..", dir(victimDir, leaf)))
	err := evil.Sync(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tree entry "..": `)

	onDisk, err := os.ReadFile(filepath.Join(victim.Root(), filepath.FromSlash(valuesFile)))
	require.NoError(t, err)
	assert.Equal(t, values("3"), string(onDisk), "the victim's clone is untouched")
	require.NoError(t, victim.Sync(context.Background()))
	h := commitValues(t, victim, "4")
	require.NoError(t, victim.Push(context.Background()))
	assert.Equal(t, values("4"), s.ReadFile("victim", h, valuesFile), "the victim's decision commits its own file")
	assert.NotContains(t, s.ReadFile("victim", "main", valuesFile), "backdoor")
}

// TestEveryWriteStaysInsideTheClone checks the checkout's second line: a path that reaches a
// write or a removal without a checked tree — a symlink the previous tree left on disk where
// the next one has a directory, a stale symlink planted in the worktree — never leads it
// outside the clone.
func TestEveryWriteStaysInsideTheClone(t *testing.T) {
	s, opts := newRepo(t)
	base := t.TempDir()
	opts.CacheDir = filepath.Join(base, "cache")
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	ws := open(t, opts)
	t.Cleanup(func() { _ = ws.Close() })

	// A symlink planted in the worktree (the tree does not have it) to a directory outside
	// that has a subdirectory; then a tree with a file under that subdirectory's path.
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "sub"), 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(ws.Root(), "out")))
	s.CommitRawEntries("platform", "a directory in its place", dir("out", dir("sub", file("pwned.txt", "x"))))
	require.NoError(t, ws.Sync(context.Background()))
	entries, err := os.ReadDir(filepath.Join(outside, "sub"))
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written through the link")
	fi, err := os.Lstat(filepath.Join(ws.Root(), "out"))
	require.NoError(t, err)
	assert.True(t, fi.IsDir(), "the link replaced by a real directory")
	got, err := os.ReadFile(filepath.Join(ws.Root(), "out", "sub", "pwned.txt"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))

	// The checkout's own write and remove refuse a path that leaves the root.
	r, err := ws.co.openRoot()
	require.NoError(t, err)
	defer ws.co.closeRoot(r)
	for _, rel := range []string{"../outside/x", "a/../../outside/x", ".git/config"} {
		err := ws.co.write(r, rel, fileEntry{hash: ws.co.files[valuesFile].hash, mode: 0o100644})
		assert.Error(t, err, rel)
	}
	require.NoError(t, os.WriteFile(filepath.Join(outside, "keep"), []byte("k"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(ws.Root(), "planted")))
	assert.NoError(t, ws.co.remove(r, "planted/keep"))
	_, err = os.Stat(filepath.Join(outside, "keep"))
	assert.NoError(t, err, "a removal never follows a symlink")
	entries, err = os.ReadDir(outside)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "sub and keep")
}

// TestCheckEntryName pins the names Git's fsck refuses, and some it accepts.
func TestCheckEntryName(t *testing.T) {
	tests := []struct {
		name    string
		mode    uint32
		refused bool
	}{
		{"values.yaml", 0o100644, false},
		{".gitignore", 0o100644, false},
		{".github", 0o40000, false},
		{".gitmodules", 0o100644, false},
		{"git~2", 0o40000, false},
		{".git-blame-ignore-revs", 0o100644, false},
		{"..values", 0o100644, false},
		{"a\\b", 0o100644, false},
		{"", 0o100644, true},
		{".", 0o40000, true},
		{"..", 0o40000, true},
		{"a/b", 0o100644, true},
		{"a\x00b", 0o100644, true},
		{".git", 0o40000, true},
		{".Git", 0o100644, true},
		{".git ", 0o40000, true},
		{".git..", 0o40000, true},
		{".git::$INDEX_ALLOCATION", 0o40000, true},
		{"git~1", 0o40000, true},
		{"\ufeff.git", 0o40000, true},
		{".gitmodules", 0o120000, true},
		{".GITMODULES.", 0o120000, true},
		{"gitmod~1", 0o120000, true},
		{"x", 0o100600, true},
		{"x", 0o160000, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q %o", tt.name, tt.mode), func(t *testing.T) {
			why := checkEntryName(tt.name, filemode.FileMode(tt.mode))
			assert.Equal(t, tt.refused, why != "", "reason %q", why)
		})
	}
}

// TestHugeFileIsNotReadWhole is finding 3's first bullet: a 1 GiB file anywhere in the
// repository (5 MB on the remote) was read whole at checkout, and one evaluate used 4 GB. A
// file over limits.git.maxFileBytes is now left out of the worktree unread: a checkout of
// the tree allocates far less than the file, and reading it is refused with an error naming
// the file and the limit. (The fetch that brings the blob still inflates it once, whole,
// while go-git indexes the pack, below limits.git.maxObjectBytes: docs/design.md §6.)
func TestHugeFileIsNotReadWhole(t *testing.T) {
	const size = 256 << 20 // a quarter of the finding's, to keep the test quick
	s, opts := newRepo(t)
	opts.MaxObjectBytes = size // the fetch takes it (TestHugeObjectFetchIsRefusedUnread)
	first := open(t, opts)
	// One blob of zeros: a few hundred KB in the pack.
	s.CommitRawEntries("platform", "a huge file", dir("assets", gittest.RawEntry{Name: "huge.bin", Blob: s.ZeroBlob("platform", size)}))
	require.NoError(t, first.Sync(context.Background()))
	require.NoError(t, first.Close())

	// A new process on the kept clone: nothing to fetch, and without the checkout's marker
	// every file of the tree is checked out again.
	require.NoError(t, os.Remove(filepath.Join(first.Root(), ".git", markerName)))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ws := open(t, opts)
	runtime.ReadMemStats(&after)
	t.Cleanup(func() { _ = ws.Close() })
	grown := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, grown, uint64(32<<20), "bytes allocated by the checkout: the file is never read")

	_, err := os.Lstat(filepath.Join(ws.Root(), "assets", "huge.bin"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the file is left out of the worktree")
	_, err = ws.ReadFile("assets/huge.bin")
	require.Error(t, err)
	assert.Equal(t, fmt.Sprintf("assets/huge.bin is %d bytes, over the 4194304 bytes a file may hold (limits.git.maxFileBytes): it is not read; make it smaller, or raise the limit in the service config", size), err.Error())
	files, err := ws.Files(func(string) bool { return true })
	require.NoError(t, err)
	assert.Contains(t, files, "assets/huge.bin", "still listed, so that a policy naming it fails by name")
	got, err := ws.ReadFile(valuesFile)
	require.NoError(t, err)
	assert.Equal(t, values("3"), string(got), "the other files are checked out")

	// Shrunk below the limit, it is checked out again.
	s.Git("platform", "update-ref", "refs/heads/main", strings.TrimSpace(s.Git("platform", "rev-parse", "main~1")))
	s.CommitRawEntries("platform", "shrink", dir("assets", file("huge.bin", "small\n")))
	require.NoError(t, ws.Sync(context.Background()))
	got, err = ws.ReadFile("assets/huge.bin")
	require.NoError(t, err)
	assert.Equal(t, "small\n", string(got))
}

// TestOversizedValuesFileRefusedNamingLimit is finding 3's fourth bullet: 100 MB policy and
// values files were accepted (40 s and 1.6 GB). Over limits.git.maxFileBytes, a file is
// refused by name and limit; at the limit it is read.
func TestOversizedValuesFileRefusedNamingLimit(t *testing.T) {
	const limit = 64 << 10
	const file = "teams/b/values.yaml"
	tests := []struct {
		name    string
		size    int64
		wantErr string
	}{
		{"at the limit", limit, ""},
		{"one byte over", limit + 1, fmt.Sprintf("%s is %d bytes, over the %d bytes a file may hold (limits.git.maxFileBytes)", file, limit+1, limit)},
		{"100 MB", 100 << 20, fmt.Sprintf("%s is %d bytes, over the %d bytes a file may hold (limits.git.maxFileBytes)", file, 100<<20, limit)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := newRepo(t)
			opts.MaxFileBytes = limit
			ws := open(t, opts)
			t.Cleanup(func() { _ = ws.Close() })
			blob := s.ZeroBlob("platform", tt.size)
			s.CommitRawEntries("platform", "pad", dir("teams", dir("b", gittest.RawEntry{Name: "values.yaml", Blob: blob})))
			require.NoError(t, ws.Sync(context.Background()))
			got, err := ws.ReadFile(file)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, int(tt.size))
		})
	}
}
