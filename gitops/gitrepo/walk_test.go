package gitrepo

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// reasonLines makes reasons of plain lines, as a person's or the loop's own lines are.
func reasonLines(lines ...string) []engine.Reason {
	out := make([]engine.Reason, 0, len(lines))
	for _, l := range lines {
		out = append(out, engine.Reason{Message: l})
	}
	return out
}

// walkFixture: four commits on the base after the repository's first, newest last, a minute
// apart from t0-5m — values 4, the README, values 5, a values file of over 200 bytes.
func walkFixture(t *testing.T, maxFile int64) (*Workspace, []string) {
	t.Helper()
	s, opts := newRepo(t)
	opts.MaxFileBytes = maxFile
	at := func(m int) time.Time { return t0.Add(time.Duration(m-5) * time.Minute) }
	shas := []string{
		s.CommitAt("platform", map[string]string{valuesFile: values("4")}, "four", "Ann <ann@example.com>", at(0)),
		s.CommitAt("platform", map[string]string{"README.md": "docs\n"}, "docs", "Bob <bob@example.com>", at(1)),
		s.CommitAt("platform", map[string]string{valuesFile: values("5")}, "five\n\nwith a body", "Ann <ann@example.com>", at(2)),
		s.CommitAt("platform", map[string]string{valuesFile: values("6") + "# " + strings.Repeat("x", 200) + "\n"}, "big", "Ann <ann@example.com>", at(3)),
	}
	return open(t, opts), shas
}

func TestWalkBaseVisitsFirstParentsNewestFirst(t *testing.T) {
	ws, shas := walkFixture(t, 0)
	for _, tc := range []struct {
		name  string
		since time.Time
		max   int
		want  []string // subjects' first words, newest first
	}{
		{"everything since the fixture began", t0.Add(-5 * time.Minute), 0, []string{"big", "five", "docs", "four"}},
		{"a window of three minutes and a half", t0.Add(-210 * time.Second), 0, []string{"big", "five"}},
		{"at most three commits", time.Time{}, 3, []string{"big", "five", "docs"}},
		{"a window in the future", t0.Add(time.Hour), 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			visited, err := ws.WalkBase(tc.since, tc.max, func(c *PastCommit) (bool, error) {
				got = append(got, strings.Fields(c.Message)[0])
				return true, nil
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, len(tc.want), visited)
		})
	}
	var first *PastCommit
	_, err := ws.WalkBase(time.Time{}, 0, func(c *PastCommit) (bool, error) { first = c; return false, nil })
	require.NoError(t, err)
	assert.Equal(t, shas[3], first.SHA, "the walk begins at the base")
	assert.Equal(t, "Ann <ann@example.com>", first.Author)
	assert.True(t, t0.Add(-2*time.Minute).Equal(first.At), "committed at %s", first.At)
}

func TestPastCommitFileChangeAndReadBlob(t *testing.T) {
	ws, shas := walkFixture(t, 150)
	byMessage := map[string]*PastCommit{}
	_, err := ws.WalkBase(time.Time{}, 0, func(c *PastCommit) (bool, error) {
		byMessage[strings.Fields(c.Message)[0]] = c
		return true, nil
	})
	require.NoError(t, err)

	read := func(id string) (string, bool) {
		data, ok, err := ws.ReadBlob(id)
		require.NoError(t, err)
		return string(data), ok
	}
	_, after, changed, err := byMessage["five"].FileChange("./" + valuesFile)
	require.NoError(t, err)
	require.True(t, changed, "five changed the values file (a leading ./ names the same file)")
	got, ok := read(after)
	assert.True(t, ok)
	assert.Equal(t, values("5"), got)

	_, _, changed, err = byMessage["docs"].FileChange(valuesFile)
	require.NoError(t, err)
	assert.False(t, changed, "docs did not touch the values file")

	before, after, changed, err := byMessage["big"].FileChange(valuesFile)
	require.NoError(t, err)
	require.True(t, changed)
	got, ok = read(before)
	assert.Equal(t, values("5"), got)
	assert.True(t, ok)
	_, ok = read(after)
	assert.False(t, ok, "a version over limits.git.maxFileBytes (150 here) is not read")

	c, ok := ws.LookupCommit(shas[0])
	require.True(t, ok)
	assert.Equal(t, "four", strings.TrimSpace(c.Message))
	assert.Same(t, c.Memo(), byMessage["four"].Memo(), "a commit's memo is one per sync, however it is reached")
	_, ok = ws.LookupCommit(strings.Repeat("0", 40))
	assert.False(t, ok, "a commit not in the clone")
	_, ok = ws.LookupCommit("not a sha")
	assert.False(t, ok)
}
