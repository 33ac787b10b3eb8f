package traces

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCorpusManifest: the manifest the repository carries is valid, has at least 8 traces of
// at least 4 kinds, a checksum for every trace and none for another, and the held-out half
// comes first.
func TestCorpusManifest(t *testing.T) {
	ts, sums, err := Corpus()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ts), 8)
	pairs := map[string]bool{}
	for _, tr := range ts {
		pairs[tr.Pair] = true
		assert.Contains(t, sums, tr.Name, "%s has a checksum", tr.Name)
	}
	assert.GreaterOrEqual(t, len(pairs), 4)
	assert.Len(t, sums, len(ts), "SHA256SUMS names only the corpus")
	seenTuning := false
	for _, tr := range ts {
		if tr.Half == Tuning {
			seenTuning = true
		}
		assert.False(t, seenTuning && tr.Half == HeldOut, "held-out first: %s", tr.Name)
	}
}

// TestSplitFollowsTheRule pins the split of docs/traces.md: of each pair, the trace whose
// name has the smaller SHA-256 is held out, the other is for tuning.
func TestSplitFollowsTheRule(t *testing.T) {
	ts, _, err := Corpus()
	require.NoError(t, err)
	byPair := map[string][]Trace{}
	for _, tr := range ts {
		byPair[tr.Pair] = append(byPair[tr.Pair], tr)
	}
	for pair, two := range byPair {
		require.Len(t, two, 2, pair)
		h := func(s string) string { x := sha256.Sum256([]byte(s)); return hex.EncodeToString(x[:]) }
		held, tune := two[0], two[1]
		if h(tune.Name) < h(held.Name) {
			held, tune = tune, held
		}
		assert.Equal(t, HeldOut, held.Half, "%s: %s is held out", pair, held.Name)
		assert.Equal(t, Tuning, tune.Half, "%s: %s is for tuning", pair, tune.Name)
	}
}

func TestManifestRefusesBadTraces(t *testing.T) {
	good := `{"name": "a", "pair": "p", "half": "held-out", "shape": "s", "measures": "m",
	  "source": {"repo": "o/r", "commit": "0123456789abcdef0123456789abcdef01234567", "path": "x.csv", "licence": "MIT"},
	  "format": "timestamp-counts", "gaps": "zero", "from": "2026-01-01T00:00:00Z", "to": "2026-01-01T01:00:00Z",
	  "step": "60s", "metric": "rps", "per": "1s", "averageValue": 2, "maxReplicas": 10, "capacity": "c"}`
	other := strings.Replace(strings.Replace(good, `"a"`, `"b"`, 1), "held-out", "tuning", 1)
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"unknown field", `{"traces": [` + strings.Replace(good, `"pair"`, `"colour": 1, "pair"`, 1) + `]}`, `unknown field "colour"`},
		{"a pair of one", `{"traces": [` + good + `]}`, `pair "p" has 1 traces (a), want 2`},
		{"bad half", `{"traces": [` + strings.Replace(good, "held-out", "training", 1) + `,` + other + `]}`, `traces[0] (a): half: want "held-out" or "tuning", got "training"`},
		{"short commit", `{"traces": [` + strings.Replace(good, "0123456789abcdef0123456789abcdef01234567", "abc123", 1) + `,` + other + `]}`, `traces[0] (a): source.commit: want a full commit id, got "abc123"`},
		{"steps do not divide", `{"traces": [` + strings.Replace(good, `"60s"`, `"7m"`, 1) + `,` + other + `]}`, `traces[0] (a): from: want from < to, a whole number of steps apart`},
		{"bad duration", `{"traces": [` + strings.Replace(good, `"60s"`, `"soon"`, 1) + `,` + other + `]}`, `want a positive duration such as 60s, got "soon"`},
		{"gaps", `{"traces": [` + strings.Replace(good, `"zero"`, `"guess"`, 1) + `,` + other + `]}`, `traces[0] (a): gaps: want "zero" or "missing", got "guess"`},
		{"second counts need an origin", `{"traces": [` + strings.Replace(good, "timestamp-counts", "second-counts", 1) + `,` + other + `]}`, `traces[0] (a): origin: a second-counts source needs origin and source.member`},
		{"duplicate name", `{"traces": [` + good + `,` + strings.Replace(good, "held-out", "tuning", 1) + `]}`, `traces[1] (a): name: want a unique lower-case file name, got "a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseManifest("corpus.json", []byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "corpus.json")
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	ts, err := parseManifest("corpus.json", []byte(`{"traces": [`+other+`,`+good+`]}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, []string{ts[0].Name, ts[1].Name}, "held-out first")
}

func TestParseSums(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	got, err := parseSums("SHA256SUMS", []byte(sum+"  a.csv\n\n"+sum+"  b.csv\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": sum, "b": sum}, got)
	_, err = parseSums("SHA256SUMS", []byte(sum+"  a.csv\nnonsense\n"))
	assert.EqualError(t, err, `SHA256SUMS:2: want "<sha256>  <name>.csv", got "nonsense"`)
}
