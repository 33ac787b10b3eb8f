package gitrepo

import (
	"context"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

func TestCommitOnBaseReplacesOneFileOnTheBase(t *testing.T) {
	g := gittest.NewServer(t)
	base := g.CreateRepo("platform", map[string]string{valuesFile: values("3"), "README.md": "hi\n", "envs/prod/other.yaml": "x: 1\n"})
	ws, err := Open(context.Background(), Options{
		Name: "platform", URL: g.URL("platform"), CacheDir: t.TempDir(),
		Auth:   &Auth{Username: g.User(), PasswordEnv: "PW"},
		Getenv: func(string) string { return g.Password() },
	})
	require.NoError(t, err)
	require.Equal(t, base, ws.Base())
	parent := plumbing.NewHash(base)
	req := CommitRequest{File: valuesFile, Content: []byte(values("6")), Message: "scale\n", When: t0}

	sha, err := ws.CommitOnBase(req)
	require.NoError(t, err)
	c, err := ws.repo.CommitObject(plumbing.NewHash(sha))
	require.NoError(t, err)
	assert.Equal(t, []plumbing.Hash{parent}, c.ParentHashes)
	assert.Equal(t, DefaultAuthorName, c.Author.Name)
	pc, err := ws.repo.CommitObject(parent)
	require.NoError(t, err)
	changes, err := pc.Tree()
	require.NoError(t, err)
	tree, err := c.Tree()
	require.NoError(t, err)
	diff, err := changes.Diff(tree)
	require.NoError(t, err)
	require.Len(t, diff, 1, "exactly one file changed")
	f, err := tree.File(valuesFile)
	require.NoError(t, err)
	content, err := f.Contents()
	require.NoError(t, err)
	assert.Equal(t, values("6"), content)
	assert.Equal(t, base, ws.Head(), "the worktree's branch does not move")

	for _, tc := range []struct {
		name string
		file string
		want string
	}{
		{name: "escapes the repository", file: "../x.yaml", want: "not inside the repository"},
		{name: "absolute", file: "/etc/passwd", want: "not inside the repository"},
		{name: "inside .git", file: ".git/config", want: "inside .git"},
		{name: "missing file", file: "envs/prod/nope.yaml", want: "no such file"},
		{name: "a directory", file: "envs/prod", want: "not a regular file"},
		{name: "through a file", file: "README.md/x", want: "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			r.File = tc.file
			_, err := ws.CommitOnBase(r)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("unchanged", func(t *testing.T) {
		r := req
		r.Content = []byte(values("3"))
		_, err := ws.CommitOnBase(r)
		assert.ErrorIs(t, err, ErrNothingToCommit)
	})
}

func BenchmarkCommitOnBase(b *testing.B) {
	g := gittest.NewServer(b)
	files := map[string]string{valuesFile: "web:\n  replicaCount: 3\n"}
	for i := range 200 {
		files["envs/prod/app"+strings.Repeat("x", i%7)+"/"+string(rune('a'+i%26))+".yaml"] = "x: 1\n"
	}
	g.CreateRepo("platform", files)
	ws, err := Open(context.Background(), Options{
		Name: "platform", URL: g.URL("platform"), CacheDir: b.TempDir(),
		Auth:   &Auth{Username: g.User(), PasswordEnv: "PW"},
		Getenv: func(string) string { return g.Password() },
	})
	require.NoError(b, err)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		req := CommitRequest{File: valuesFile, Content: []byte("web:\n  replicaCount: " + string(rune('4'+i%5)) + "\n"), Message: "scale\n", When: t0}
		if _, err := ws.CommitOnBase(req); err != nil {
			b.Fatal(err)
		}
	}
}
