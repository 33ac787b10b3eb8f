package gitobj

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold what the package writes to what the git binary reads: every object is
// checked by git fsck --strict, read back by git cat-file, and the packs by git verify-pack.

// gitRepo is a repository made by git init, with one commit of the given files.
type gitRepo struct {
	t    testing.TB
	dir  string
	head plumbing.Hash
	root plumbing.Hash
}

func newGitRepo(t testing.TB, files map[string]string) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	for name, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", "initial")
	r.head = plumbing.NewHash(r.git("rev-parse", "HEAD"))
	r.root = plumbing.NewHash(r.git("rev-parse", "HEAD^{tree}"))
	return r
}

// git runs git in the repository with a fixed identity and returns its trimmed output; a
// failure fails the test with git's own words.
func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	out, err := r.gitErr(args...)
	require.NoError(r.t, err, "git %s: %s", strings.Join(args, " "), out)
	return out
}

func (r *gitRepo) gitErr(args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// readTree reads a tree object through git cat-file, as a clone's storage would.
func (r *gitRepo) readTree(h plumbing.Hash) ([]byte, error) {
	out, err := exec.Command("git", "-C", r.dir, "cat-file", "tree", h.String()).Output()
	if err != nil {
		return nil, fmt.Errorf("git cat-file tree %s: %w", h, err)
	}
	return out, nil
}

func (r *gitRepo) packDir() string { return filepath.Join(r.dir, ".git", "objects", "pack") }

func sig(i int) object.Signature {
	return object.Signature{Name: "gitops-autoscaler", Email: "bot@example.com",
		When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Minute)}
}

// edit is one commit of the test: a file and its new content.
type edit struct{ file, content string }

// commitAll makes each edit a commit on the one before, into sink, and returns the commits.
func commitAll(t *testing.T, r *gitRepo, b *TreeBuilder, sink Sink, edits []edit) []plumbing.Hash {
	t.Helper()
	parent, root := r.head, r.root
	var commits []plumbing.Hash
	for i, e := range edits {
		c, tree, err := b.CommitFile(parent, root, e.file, []byte(e.content), sig(i), fmt.Sprintf("edit %d of %s\n", i, e.file), nil, sink)
		require.NoError(t, err, "edit %d", i)
		commits = append(commits, c)
		parent, root = c, tree
	}
	return commits
}

// checkCommits holds the commits to git: each is a commit whose first parent is the one
// before, changes exactly its edit's file, and holds its content there.
func checkCommits(t *testing.T, r *gitRepo, commits []plumbing.Hash, edits []edit) {
	t.Helper()
	parent := r.head
	for i, c := range commits {
		assert.Equal(t, "commit", r.git("cat-file", "-t", c.String()), "commit %d", i)
		assert.Equal(t, parent.String(), r.git("rev-parse", c.String()+"^"), "commit %d's parent", i)
		blob, err := exec.Command("git", "-C", r.dir, "cat-file", "blob", c.String()+":"+edits[i].file).Output()
		require.NoError(t, err, "commit %d's file", i)
		assert.Equal(t, edits[i].content, string(blob), "commit %d's file", i)
		assert.Equal(t, edits[i].file, r.git("diff-tree", "--no-commit-id", "--name-only", "-r", c.String()), "commit %d changes exactly its file", i)
		assert.Equal(t, fmt.Sprintf("edit %d of %s", i, edits[i].file), r.git("log", "-1", "--format=%B", c.String()))
		parent = c
	}
}

var chainLength = regexp.MustCompile(`(?m)^chain length = (\d+): (\d+) objects?$`)

// longestChain is the longest delta chain git verify-pack reports for the pack (0: no delta).
func longestChain(t *testing.T, r *gitRepo, idx string) int {
	t.Helper()
	out := r.git("verify-pack", "-v", idx)
	n := 0
	for _, m := range chainLength.FindAllStringSubmatch(out, -1) {
		l, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		n = max(n, l)
	}
	return n
}

func values(i int) string { return fmt.Sprintf("replicaCount: %d\n", i) }

func TestPackIsWhatGitReads(t *testing.T) {
	base := map[string]string{"apps/web/values.yaml": values(3), "apps/api/values.yaml": values(2), "README.md": "hi\n"}
	many := func(n int, file string) []edit {
		var out []edit
		for i := range n {
			out = append(out, edit{file, values(i + 4)})
		}
		return out
	}
	tests := []struct {
		name  string
		files map[string]string
		edits []edit
		// deltas is whether the pack holds deltas: a commit on the one before changes a
		// directory the pack already holds.
		deltas bool
	}{
		{"one change, nested", base, []edit{{"apps/web/values.yaml", values(6)}}, false},
		{"a new file in an existing directory", base, []edit{{"apps/web/values.yaml", values(6)}, {"apps/web/extra.yaml", "x: 1\n"}}, true},
		{"a new directory", base, []edit{{"apps/db/values.yaml", values(1)}, {"apps/db/values.yaml", values(2)}}, true},
		{"into an empty repository", nil, []edit{{"a/b/c.yaml", values(1)}, {"a/b/c.yaml", values(2)}}, true},
		{"two directories, alternating", base, []edit{{"apps/web/values.yaml", values(6)}, {"apps/api/values.yaml", values(7)},
			{"apps/web/values.yaml", values(8)}, {"apps/api/values.yaml", values(9)}}, true},
		{"a chain longer than git's pack.depth", base, many(120, "apps/web/values.yaml"), true},
		{"a top-level file", base, []edit{{"README.md", "hello\n"}, {"README.md", "hello again\n"}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newGitRepo(t, tc.files)
			p, err := NewPack(r.packDir())
			require.NoError(t, err)
			t.Cleanup(p.Discard)
			commits := commitAll(t, r, NewTreeBuilder(r.readTree), p, tc.edits)
			sum, err := p.Finish()
			require.NoError(t, err)
			rd, err := p.Reader()
			require.NoError(t, err)
			var sent bytes.Buffer
			_, err = sent.ReadFrom(rd)
			require.NoError(t, err)
			require.NoError(t, p.Install(sum))

			name := filepath.Join(r.packDir(), "pack-"+sum.String())
			kept, err := os.ReadFile(name + ".pack")
			require.NoError(t, err)
			assert.Equal(t, sent.Bytes(), kept, "the installed pack is the bytes a push sends")
			chain := longestChain(t, r, name+".idx")
			assert.LessOrEqual(t, chain, 50, "git's default pack.depth")
			assert.Equal(t, tc.deltas, chain > 0, "deltas (longest chain %d)", chain)
			assert.Contains(t, r.git("count-objects", "-v"), fmt.Sprintf("in-pack: %d\n", p.Len()), "git counts every object written")
			r.git("update-ref", "refs/heads/main", commits[len(commits)-1].String())
			r.git("fsck", "--full", "--strict", "--no-dangling")
			checkCommits(t, r, commits, tc.edits)
		})
	}
}

// A pull request's commit goes to a Store's memory, where go-git reads it, and Persist writes
// it into the clone as one pack that git reads.
func TestStorePersistIsWhatGitReads(t *testing.T) {
	tests := []struct {
		name  string
		edits []edit
	}{
		{"one commit", []edit{{"apps/web/values.yaml", values(6)}}},
		{"three commits", []edit{{"apps/web/values.yaml", values(6)}, {"apps/web/values.yaml", values(7)}, {"new/file.yaml", "a: b\n"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newGitRepo(t, map[string]string{"apps/web/values.yaml": values(3)})
			s := NewStore(filesystem.NewStorage(osfs.New(filepath.Join(r.dir, ".git")), cache.NewObjectLRUDefault()))
			t.Cleanup(func() { _ = s.Close() })
			commits := commitAll(t, r, NewTreeBuilder(r.readTree), s, tc.edits)
			assert.Equal(t, objectsWritten(tc.edits), s.InMemory(), "each edit's blob, trees and commit, in memory")
			last := commits[len(commits)-1]
			_, err := r.gitErr("cat-file", "-e", last.String())
			assert.Error(t, err, "git does not see an object before Persist")
			o, err := s.EncodedObject(plumbing.CommitObject, last)
			require.NoError(t, err, "go-git reads it from memory")
			assert.Equal(t, last, o.Hash())

			require.NoError(t, s.Persist())
			assert.Zero(t, s.InMemory())
			assert.Contains(t, r.git("count-objects", "-v"), "packs: 1\n")
			r.git("update-ref", "refs/heads/main", last.String())
			r.git("fsck", "--full", "--strict", "--no-dangling")
			checkCommits(t, r, commits, tc.edits)
		})
	}
}

// objectsWritten is how many objects the edits make, when no two are the same: each its
// blob, a tree for every directory along its path and the root's, and its commit.
func objectsWritten(edits []edit) int {
	n := 0
	for _, e := range edits {
		n += 1 + strings.Count(e.file, "/") + 1 + 1
	}
	return n
}

func TestHashIsGitsObjectID(t *testing.T) {
	r := newGitRepo(t, nil)
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"a values file", values(12)},
		{"binary", "\x00\x01\xff\xfe"},
		{"large", strings.Repeat("0123456789abcdef", 70000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("git", "-C", r.dir, "hash-object", "--stdin")
			cmd.Stdin = strings.NewReader(tc.content)
			out, err := cmd.Output()
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSpace(string(out)), Hash(plumbing.BlobObject, []byte(tc.content)).String())
		})
	}
}

// EncodeTree after SortTree is the tree git mktree makes of the same entries, whatever order
// they are given in, and DecodeTree reads it back.
func TestEncodeTreeIsGitsTree(t *testing.T) {
	r := newGitRepo(t, nil)
	blob := plumbing.NewHash(r.git("hash-object", "-w", "--stdin"))
	empty := plumbing.NewHash(r.git("hash-object", "-w", "-t", "tree", "/dev/null"))
	require.Equal(t, Hash(plumbing.TreeObject, nil), empty, "the empty tree")
	for _, tc := range []struct {
		name    string
		entries []object.TreeEntry
	}{
		{"empty", nil},
		{"one file", []object.TreeEntry{{Name: "values.yaml", Mode: filemode.Regular, Hash: blob}}},
		{"a directory sorts as if it ended in a slash", []object.TreeEntry{
			{Name: "a.b", Mode: filemode.Regular, Hash: blob},
			{Name: "a", Mode: filemode.Dir, Hash: empty},
			{Name: "a-b", Mode: filemode.Regular, Hash: blob},
		}},
		{"modes", []object.TreeEntry{
			{Name: "run.sh", Mode: filemode.Executable, Hash: blob},
			{Name: "link", Mode: filemode.Symlink, Hash: blob},
			{Name: "dir", Mode: filemode.Dir, Hash: empty},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in strings.Builder
			for _, e := range tc.entries {
				typ := "blob"
				if e.Mode == filemode.Dir {
					typ = "tree"
				}
				fmt.Fprintf(&in, "%06o %s %s\t%s\n", uint32(e.Mode), typ, e.Hash, e.Name)
			}
			cmd := exec.Command("git", "-C", r.dir, "mktree")
			cmd.Stdin = strings.NewReader(in.String())
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))

			entries := append([]object.TreeEntry(nil), tc.entries...)
			SortTree(entries)
			raw, err := EncodeTree(entries)
			require.NoError(t, err)
			assert.Equal(t, strings.TrimSpace(string(out)), Hash(plumbing.TreeObject, raw).String())
			got, err := DecodeTree(raw)
			require.NoError(t, err)
			assert.Equal(t, len(entries), len(got))
			for i := range got {
				assert.Equal(t, entries[i], got[i])
			}
		})
	}
}

// CommitFile refuses an unchanged file (ErrNoChange: no empty commit), a file where the tree
// has a directory, and a path through a file; it writes no commit for any of them.
func TestCommitFileRefuses(t *testing.T) {
	r := newGitRepo(t, map[string]string{"apps/web/values.yaml": values(3), "notes.txt": "n\n"})
	for _, tc := range []struct {
		name, file, content string
		want                error
		wantText            string
	}{
		{"unchanged", "apps/web/values.yaml", values(3), ErrNoChange, ""},
		{"a directory in the file's place", "apps/web", "x\n", nil, "web is not a regular file in the commit"},
		{"a file in a directory's place", "notes.txt/x.yaml", "x\n", nil, "notes.txt is not a directory in the commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPack(r.packDir())
			require.NoError(t, err)
			t.Cleanup(p.Discard)
			_, _, err = NewTreeBuilder(r.readTree).CommitFile(r.head, r.root, tc.file, []byte(tc.content), sig(0), "m\n", nil, p)
			if tc.want != nil {
				assert.True(t, errors.Is(err, tc.want), "error %v", err)
			} else {
				assert.EqualError(t, err, tc.wantText)
			}
			for _, o := range p.order {
				assert.NotEqual(t, "commit", objectType(t, p, o), "no commit written")
			}
		})
	}
}

// objectType is the type of an object the pack wrote whole, read from its entry header.
func objectType(t *testing.T, p *Pack, h plumbing.Hash) string {
	t.Helper()
	require.NoError(t, p.w.Flush())
	var hdr [1]byte
	_, err := p.f.ReadAt(hdr[:], p.entries[h].offset)
	require.NoError(t, err)
	return plumbing.ObjectType(hdr[0] >> 4 & 7).String()
}

// ReadObject and OpenObject refuse an object over the bound before reading it, naming both
// sizes; under the bound they read it whole.
func TestStoreBoundsAnObjectsSize(t *testing.T) {
	r := newGitRepo(t, map[string]string{"big.txt": strings.Repeat("x", 1000)})
	blob := plumbing.NewHash(r.git("rev-parse", "HEAD:big.txt"))
	s := NewStore(filesystem.NewStorage(osfs.New(filepath.Join(r.dir, ".git")), cache.NewObjectLRUDefault()))
	t.Cleanup(func() { _ = s.Close() })
	for _, tc := range []struct {
		name string
		max  int64
		err  string
	}{
		{"over", 999, "the object is 1000 bytes, more than the 999 it may hold"},
		{"at", 1000, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := s.ReadObject(plumbing.BlobObject, blob, tc.max)
			if tc.err != "" {
				var big TooLargeError
				require.ErrorAs(t, err, &big)
				assert.Equal(t, TooLargeError{Size: 1000, Max: tc.max}, big)
				assert.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, strings.Repeat("x", 1000), string(b))
		})
	}
}
