package gitrepo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// firstWord keys a commit by its subject's first word: enough to tell the index's key lists
// from its file lists.
func firstWord(c *PastCommit) ([]string, error) { return strings.Fields(c.Message)[:1], nil }

// TestWalkBaseTouchingIsWalkBaseFiltered: the indexed walk visits exactly the commits of the
// full walk that changed the file or carry the key, in the same order, and counts the same
// window — for every window, bound and file.
func TestWalkBaseTouchingIsWalkBaseFiltered(t *testing.T) {
	ws, _ := walkFixture(t, 0)
	for _, tc := range []struct {
		name      string
		since     time.Time
		max       int
		file, key string
		want      []string // subjects' first words, newest first
	}{
		{name: "the values file", since: t0.Add(-5 * time.Minute), file: valuesFile, want: []string{"big", "five", "four"}},
		{name: "the values file, written with ./", since: t0.Add(-5 * time.Minute), file: "./" + valuesFile, want: []string{"big", "five", "four"}},
		{name: "the README or the key docs, once", since: t0.Add(-5 * time.Minute), file: "README.md", key: "docs", want: []string{"docs"}},
		{name: "a key alone", since: t0.Add(-5 * time.Minute), file: "nothing.yaml", key: "five", want: []string{"five"}},
		{name: "file and another key", since: t0.Add(-5 * time.Minute), file: "README.md", key: "big", want: []string{"big", "docs"}},
		{name: "a window of three minutes and a half", since: t0.Add(-210 * time.Second), file: valuesFile, want: []string{"big", "five"}},
		{name: "at most three commits", max: 3, file: valuesFile, want: []string{"big", "five"}},
		{name: "a window in the future", since: t0.Add(time.Hour), file: valuesFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var full []string
			window, err := ws.WalkBase(tc.since, tc.max, func(c *PastCommit) (bool, error) {
				_, _, changed, err := c.FileChange(tc.file)
				if changed || strings.Fields(c.Message)[0] == tc.key {
					full = append(full, strings.Fields(c.Message)[0])
				}
				return true, err
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, full, "the reference: the full walk, filtered")

			var got []string
			gotWindow, visited, err := ws.WalkBaseTouching(tc.since, tc.max, tc.file, tc.key, firstWord, func(c *PastCommit) (bool, error) {
				got = append(got, strings.Fields(c.Message)[0])
				return true, nil
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, window, gotWindow, "the same window as the full walk")
			assert.Equal(t, len(tc.want), visited)
		})
	}
}

// TestHistoryCacheDiffsEachCommitOnce: across syncs a commit is diffed once — a sync diffs the
// commits new since the last, not the window again (issue 23: a busy repository's hour of
// history re-diffed every cycle made a cycle's cost grow with the run) — and a commit no walk
// used for two syncs is dropped, so the cache is bounded by what walks read.
func TestHistoryCacheDiffsEachCommitOnce(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	ctx := context.Background()
	next := 0
	commit := func(n int) {
		for range n {
			next++
			s.CommitAt("platform", map[string]string{valuesFile: values(fmt.Sprint(next))}, fmt.Sprintf("c%d", next), "Ann <ann@example.com>", t0.Add(time.Duration(next)*time.Second))
		}
	}
	walk := func() (window, visited int) {
		window, visited, err := ws.WalkBaseTouching(t0.Add(-time.Hour), 0, valuesFile, "", firstWord, func(*PastCommit) (bool, error) { return true, nil })
		require.NoError(t, err)
		return window, visited
	}
	_, _ = walk() // the repository's first commit
	for _, step := range []struct {
		name      string
		push      int // new commits on the remote before the sync
		walks     int
		wantDiffs int // commits diffed by this step
	}{
		{name: "three new commits", push: 3, walks: 2, wantDiffs: 3},
		{name: "nothing new", push: 0, walks: 1, wantDiffs: 0},
		{name: "two new commits, walked three times", push: 2, walks: 3, wantDiffs: 2},
	} {
		t.Run(step.name, func(t *testing.T) {
			commit(step.push)
			require.NoError(t, ws.Sync(ctx))
			before := ws.history.diffs
			for range step.walks {
				window, visited := walk()
				assert.Equal(t, next, window, "every commit of the last hour (the repository's first is older)")
				assert.Equal(t, next, visited, "every one changed the values file")
			}
			assert.Equal(t, step.wantDiffs, ws.history.diffs-before)
		})
	}

	kept := len(ws.history.commits)
	require.Equal(t, next+1, kept, "the window's commits and the first older one, where the walk stopped")
	for i, want := range []int{kept, kept, 0} {
		require.NoError(t, ws.Sync(ctx))
		assert.Equal(t, want, len(ws.history.commits), "after %d syncs without a walk", i+1)
	}
}
