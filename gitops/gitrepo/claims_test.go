package gitrepo

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClaimStarts walks a history of claims, each file holding "claim" from some commit on,
// newest last:
//
//	initial  values, README          (depth 6)
//	c1       a.txt claims; f.txt does not   (5)
//	c2       b.txt claims                   (4)
//	c3       a.txt edited, still claims     (3)
//	c4       c.txt and d.txt claim          (2)
//	c5       b.txt moved unchanged to moved/b.txt (1)
//	c6       f.txt now claims; g.txt added, not claiming (0, the base)
func TestClaimStarts(t *testing.T) {
	s, opts := newRepo(t)
	claim := "claim\n"
	author := "Team <team@example.com>"
	c := map[int]string{}
	c[1] = s.Commit("platform", map[string]string{"a.txt": claim, "f.txt": "nothing\n"}, "c1", author)
	c[2] = s.Commit("platform", map[string]string{"b.txt": claim}, "c2", author)
	c[3] = s.Commit("platform", map[string]string{"a.txt": claim + "more\n"}, "c3", author)
	c[4] = s.Commit("platform", map[string]string{"c.txt": claim, "d.txt": claim}, "c4", author)
	c[5] = s.Commit("platform", map[string]string{"b.txt": "", "moved/b.txt": claim}, "c5: move b", author)
	c[6] = s.Commit("platform", map[string]string{"f.txt": claim, "g.txt": "nothing\n"}, "c6", author)
	initial := s.Git("platform", "rev-list", "--max-parents=0", "main")
	ws := open(t, opts)

	holds := func(data []byte) bool { return bytes.Contains(data, []byte("claim")) }
	anything := func([]byte) bool { return true }
	older := ClaimStart{InBase: true}
	at := func(n, depth int) ClaimStart {
		return ClaimStart{InBase: true, Began: true, Commit: c[n], Depth: depth}
	}
	tests := []struct {
		name   string
		claims []Claim
		max    int
		want   []ClaimStart
	}{
		{name: "the older keeps going, the walk stops at the newer's start", claims: []Claim{{"a.txt", holds}, {"moved/b.txt", holds}},
			want: []ClaimStart{older, at(2, 4)}},
		{name: "an edit that still holds does not start a claim", claims: []Claim{{"a.txt", holds}, {"c.txt", holds}},
			want: []ClaimStart{older, at(4, 2)}},
		{name: "one commit, a tie", claims: []Claim{{"c.txt", holds}, {"d.txt", holds}},
			want: []ClaimStart{at(4, 2), at(4, 2)}},
		{name: "a file that held nothing before", claims: []Claim{{"f.txt", holds}, {"a.txt", holds}},
			want: []ClaimStart{at(6, 0), older}},
		{name: "not in the base, or not holding there", claims: []Claim{{"a.txt", holds}, {"nowhere.txt", holds}, {"g.txt", holds}, {"moved", holds}},
			want: []ClaimStart{older, {}, {}, {}}},
		{name: "the walk's bound", claims: []Claim{{"a.txt", holds}, {"moved/b.txt", holds}}, max: 2,
			want: []ClaimStart{{InBase: true, Bound: 2}, {InBase: true, Bound: 2}}},
		{name: "the root", claims: []Claim{{valuesFile, anything}, {"README.md", anything}},
			want: []ClaimStart{{InBase: true, Began: true, Commit: initial[:40], Depth: 6}, {InBase: true, Began: true, Commit: initial[:40], Depth: 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := tt.max
			if max == 0 {
				max = DefaultHistoryMax
			}
			got, err := claimStarts(ws.repo, ws.base, ws.history, tt.claims, max)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	// The same walk on a person's checkout (validate --repo) gives the same answers.
	h, err := OpenHistory(s.Clone("platform"))
	require.NoError(t, err)
	got, err := h.ClaimStarts([]Claim{{"a.txt", holds}, {"moved/b.txt", holds}})
	require.NoError(t, err)
	assert.Equal(t, []ClaimStart{older, at(2, 4)}, got)
	got, err = ws.ClaimStarts([]Claim{{"c.txt", holds}, {"d.txt", holds}})
	require.NoError(t, err)
	assert.Equal(t, []ClaimStart{at(4, 2), at(4, 2)}, got)

	_, err = OpenHistory(t.TempDir())
	assert.ErrorContains(t, err, "open the Git repository of")
}
