package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCorpus(t *testing.T, o options) (int, string, string) {
	t.Helper()
	if o.repos == nil {
		o.repos = map[string]string{}
	}
	if o.files == nil {
		o.files = map[string]string{}
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), o, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCorpusRefusesOtherData: upstream data that converts but is not the data the corpus
// was measured on is written, reported against SHA256SUMS, and fails the command; an unknown
// --only is a usage error.
func TestCorpusRefusesOtherData(t *testing.T) {
	// Four weeks of a constant taxi demand in NAB's format: valid, but not New York's.
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2014, 9, 8, 0, 0, 0, 0, time.UTC)
	for at := start; at.Before(start.Add(28 * 24 * time.Hour)); at = at.Add(30 * time.Minute) {
		fmt.Fprintf(&b, "%s,100\n", at.Format(time.DateTime))
	}
	src := filepath.Join(t.TempDir(), "nyc_taxi.csv")
	require.NoError(t, os.WriteFile(src, []byte(b.String()), 0o600))
	out := t.TempDir()
	code, _, stderr := runCorpus(t, options{out: out, offline: true, only: []string{"nyc-taxi-2014-09"},
		files: map[string]string{"numenta/NAB/data/realKnownCause/nyc_taxi.csv": src}})
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "nyc-taxi-2014-09: sha256 ")
	assert.Contains(t, stderr, "not the data the benchmarks were measured on")
	written, err := os.ReadFile(filepath.Join(out, "nyc-taxi-2014-09.csv"))
	require.NoError(t, err)
	assert.Contains(t, string(written), "2014-09-08T00:00:00Z,taxi_passengers_per_hour,200\n", "100 per 30 minutes is 200 an hour")

	code, _, stderr = runCorpus(t, options{out: out, offline: true, only: []string{"nyc-taxi-2014-09"}})
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no local copy of numenta/NAB (give --repo numenta/NAB=DIR")

	code, _, stderr = runCorpus(t, options{out: out, only: []string{"no-such-trace"}})
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--only no-such-trace: no such trace in corpus.json")
}
