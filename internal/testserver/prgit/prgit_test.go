package prgit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repo makes a repository with main (one file) and two branches off it: "side", which changes
// another file, and "clash", which changes main's file as main's second commit does.
func repo(t *testing.T) (r *Repo, sha map[string]string) {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	run("init", "-q", "-b", "main")
	write("a.txt", "one\n")
	run("add", "-A")
	run("commit", "-q", "-m", "first")
	sha = map[string]string{"first": run("rev-parse", "HEAD")}
	run("checkout", "-q", "-b", "side")
	write("b.txt", "side\n")
	run("add", "-A")
	run("commit", "-q", "-m", "side")
	sha["side"] = run("rev-parse", "HEAD")
	run("checkout", "-q", "-b", "clash", "main")
	write("a.txt", "clash\n")
	run("commit", "-q", "-am", "clash")
	run("checkout", "-q", "main")
	write("a.txt", "two\n")
	run("commit", "-q", "-am", "second")
	sha["main"] = run("rev-parse", "HEAD")
	return New(filepath.Join(dir, ".git"), t.TempDir()), sha
}

func TestRepo(t *testing.T) {
	r, sha := repo(t)
	t.Run("branch and resolve", func(t *testing.T) {
		for _, tc := range []struct{ ref, branch, resolved string }{
			{"main", sha["main"], sha["main"]},
			{"side", sha["side"], sha["side"]},
			{sha["first"], "", sha["first"]},
			{"nope", "", ""},
			{"", "", ""},
		} {
			assert.Equal(t, tc.branch, r.BranchSHA(tc.ref), "BranchSHA(%q)", tc.ref)
			assert.Equal(t, tc.resolved, r.Resolve(tc.ref), "Resolve(%q)", tc.ref)
		}
	})
	t.Run("ancestor", func(t *testing.T) {
		assert.True(t, r.IsAncestor(sha["first"], sha["main"]))
		assert.True(t, r.IsAncestor(sha["main"], sha["main"]))
		assert.False(t, r.IsAncestor(sha["side"], sha["main"]))
	})
	t.Run("merge tree", func(t *testing.T) {
		for _, tc := range []struct {
			name, base, head string
			ok               bool
		}{
			{"clean", sha["main"], sha["side"], true},
			{"conflict", sha["main"], r.BranchSHA("clash"), false},
			{"no base", "", sha["side"], false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tree, ok := r.MergeTree(tc.base, tc.head)
				assert.Equal(t, tc.ok, ok)
				if tc.ok {
					out, err := r.Git(nil, "", "ls-tree", "--name-only", tree)
					require.NoError(t, err)
					assert.Equal(t, "a.txt\nb.txt\n", out, "both sides' files")
				}
			})
		}
	})
	t.Run("git's error is returned", func(t *testing.T) {
		_, err := r.Git(nil, "", "cat-file", "-t", "0000000000000000000000000000000000000001")
		assert.ErrorContains(t, err, "git cat-file -t 0000000000000000000000000000000000000001: exit status")
	})
}
