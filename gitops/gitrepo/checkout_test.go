package gitrepo

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitIn runs git in dir as a person would, committing as one.
func gitIn(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
}

// snapshot is a worktree as paths to what each holds: file contents with their mode, link
// targets, directories. It skips .git.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			out[rel] = "link → " + target
			return err
		case fi.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			out[rel] = fi.Mode().Perm().String() + " " + string(b)
			return err
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestSyncChecksOutWhatGitChecksOut: after people change the repository in every way a tree
// can change — files added, changed, removed, renamed, made executable, turned into a
// directory and back, symlinks — the workspace's worktree after Sync is exactly git's own
// checkout of the same commit, and the cycle's commits on top of it land as git sees them.
func TestSyncChecksOutWhatGitChecksOut(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	t.Cleanup(func() { _ = ws.Close() })
	ctx := context.Background()
	human := s.Clone("platform")

	steps := []struct {
		name   string
		change func(dir string)
	}{
		{"add files and directories", func(dir string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "envs", "staging", "web"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "envs", "staging", "web", "values.yaml"), []byte("web: {replicaCount: 2}\n"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
			require.NoError(t, os.Symlink("envs/prod/web/values.yaml", filepath.Join(dir, "current.yaml")))
		}},
		{"change, chmod and rename", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("hello\n"), 0o644))
			require.NoError(t, os.Chmod(filepath.Join(dir, "run.sh"), 0o644))
			gitIn(t, dir, "mv", "envs/staging", "envs/stage")
		}},
		{"a file becomes a directory", func(dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "README.md")))
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "README.md"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md", "index.md"), []byte("# docs\n"), 0o644))
		}},
		{"a directory becomes a file, a link changes target", func(dir string) {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "envs", "stage")))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "envs", "stage"), []byte("gone\n"), 0o644))
			require.NoError(t, os.Remove(filepath.Join(dir, "current.yaml")))
			require.NoError(t, os.Symlink("README.md/index.md", filepath.Join(dir, "current.yaml")))
		}},
		{"remove nearly everything", func(dir string) {
			gitIn(t, dir, "rm", "-r", "--quiet", "README.md", "envs/stage", "run.sh", "current.yaml")
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			gitIn(t, human, "pull", "--quiet", "--rebase")
			step.change(human)
			gitIn(t, human, "add", "-A")
			gitIn(t, human, "commit", "--quiet", "-m", step.name)
			gitIn(t, human, "push", "--quiet", "origin", "HEAD:main")

			// A cycle commit the sync must drop, then the sync.
			commitValues(t, ws, "9")
			require.NoError(t, ws.Sync(ctx))
			assert.Equal(t, s.HeadSHA("platform", "main"), ws.Head())
			assert.Equal(t, snapshot(t, human), snapshot(t, ws.Root()))

			// A workspace opened afresh on the same cache trusts the checkout it finds.
			again := open(t, opts)
			assert.Equal(t, snapshot(t, human), snapshot(t, again.Root()))
			require.NoError(t, again.Close())
		})
	}

	// The cycle's commits on top: pushed, and what git checks out after them is what the
	// workspace holds.
	commitValues(t, ws, "5")
	commitValues(t, ws, "6")
	require.NoError(t, ws.Push(ctx))
	gitIn(t, human, "pull", "--quiet", "--rebase")
	assert.Equal(t, snapshot(t, human), snapshot(t, ws.Root()))
	s.Git("platform", "fsck", "--strict")
}

// TestOpenRepairsADamagedCache: a cache whose objects were deleted or damaged — a disk that
// lost them, a person cleaning up — is fetched or cloned again rather than failing every
// cycle.
func TestOpenRepairsADamagedCache(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, gitDir string)
	}{
		{"every pack removed", func(t *testing.T, gitDir string) {
			packs, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*"))
			require.NoError(t, err)
			require.NotEmpty(t, packs)
			for _, p := range packs {
				require.NoError(t, os.Remove(p))
			}
		}},
		{"a pack truncated", func(t *testing.T, gitDir string) {
			packs, err := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "*.pack"))
			require.NoError(t, err)
			require.NotEmpty(t, packs)
			for _, p := range packs {
				require.NoError(t, os.Truncate(p, 40))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := newRepo(t)
			ws := open(t, opts)
			require.NoError(t, ws.Close())
			s.Commit("platform", map[string]string{"README.md": "moved on\n"}, "docs", "Ann <ann@example.com>")
			tt.damage(t, filepath.Join(ws.Root(), ".git"))

			ws = open(t, opts)
			t.Cleanup(func() { _ = ws.Close() })
			assert.Equal(t, s.HeadSHA("platform", "main"), ws.Head())
			readme, err := ws.ReadFile("README.md")
			require.NoError(t, err)
			assert.Equal(t, "moved on\n", string(readme))
			out, err := exec.Command("git", "-C", ws.Root(), "fsck", "--strict").CombinedOutput()
			assert.NoError(t, err, string(out))
		})
	}
}
