package gitrepo

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestChangedSince: after a push race the caller asks what the commits that came in changed;
// ChangedSince answers with every path added, changed, removed or turned into another kind of
// entry between the old base and the new one, and refuses a base that is not an ancestor.
func TestChangedSince(t *testing.T) {
	tests := []struct {
		name string
		// theirs are the commits others push, each a set of files (empty content: removed).
		theirs []map[string]string
		want   []string
	}{
		{name: "nothing came in", want: nil},
		{name: "one file changed", theirs: []map[string]string{{"README.md": "theirs\n"}}, want: []string{"README.md"}},
		{
			name:   "added, changed and removed over two commits",
			theirs: []map[string]string{{"apps/a/values.yaml": "a: 1\n", "README.md": ""}, {"apps/a/values.yaml": "a: 2\n", "apps/b/x": "x\n"}},
			want:   []string{"README.md", "apps/a/values.yaml", "apps/b/x"},
		},
		{
			name:   "changed and changed back",
			theirs: []map[string]string{{"README.md": "theirs\n"}, {"README.md": "hi\n"}},
			want:   []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := newRepo(t)
			ws := open(t, opts)
			old := ws.Base()
			for _, files := range tt.theirs {
				s.Commit("platform", files, "theirs", "Ann <ann@example.com>")
			}
			require.NoError(t, ws.Sync(context.Background()))
			got, err := ws.ChangedSince(context.Background(), old)
			require.NoError(t, err)
			if len(tt.want) == 0 {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, tt.want, got)
			}
		})
	}
	t.Run("a rewritten branch is not comparable", func(t *testing.T) {
		s, opts := newRepo(t)
		ws := open(t, opts)
		commitValues(t, ws, "6")
		require.NoError(t, ws.Push(context.Background()))
		pushed := ws.Base()
		s.Git("platform", "update-ref", "refs/heads/main", pushed+"~1")
		s.Commit("platform", map[string]string{"README.md": "rewritten\n"}, "theirs", "Ann <ann@example.com>")
		require.NoError(t, ws.Sync(context.Background()))
		_, err := ws.ChangedSince(context.Background(), pushed)
		assert.ErrorIs(t, err, ErrNotComparable)
	})
}

// TestMadeListsTheCommitsAFailedPushDropped: the commits of a cycle stay listed, with the
// requests that made them, after a push race dropped them from the branch, and replaying
// them on the new head makes the same changes on top of the person's commit.
func TestMadeListsTheCommitsAFailedPushDropped(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	ours := commitValues(t, ws, "6")
	their := s.Commit("platform", map[string]string{"README.md": "theirs\n"}, "docs", "Ann <ann@example.com>")
	require.ErrorIs(t, ws.Push(context.Background()), ErrPushRace)
	made := ws.Made()
	require.Len(t, made, 1)
	assert.Equal(t, ours, made[0].SHA)
	assert.Equal(t, valuesFile, made[0].Request.File)
	assert.Equal(t, values("6"), string(made[0].Request.Content))

	old := ws.Base()
	require.NoError(t, ws.Sync(context.Background()))
	assert.Empty(t, ws.Made(), "a sync forgets them")
	changed, err := ws.ChangedSince(context.Background(), old)
	require.NoError(t, err)
	assert.Equal(t, []string{"README.md"}, changed)
	again, err := ws.Commit(context.Background(), made[0].Request)
	require.NoError(t, err)
	require.NoError(t, ws.Push(context.Background()))
	log := s.Log("platform", "main")
	assert.Equal(t, []string{again, their}, []string{log[0].SHA, log[1].SHA})
	assert.Equal(t, values("6"), s.ReadFile("platform", "main", valuesFile))
	assert.Equal(t, "theirs\n", s.ReadFile("platform", "main", "README.md"))
	assert.Empty(t, ws.Made(), "a push that lands forgets them")
}
