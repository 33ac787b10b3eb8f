package traces_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/examples/traces"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func trace(format, gaps string, from, to time.Time, step time.Duration) *traces.Trace {
	return &traces.Trace{
		Name: "t", Measures: "test counts", Format: format, Gaps: gaps,
		Source: traces.Source{Repo: "o/r", Commit: strings.Repeat("0", 40), Path: "x", Licence: "MIT"},
		From:   from, To: to, Step: traces.Duration{Duration: step}, Metric: "rps",
		Per: traces.Duration{Duration: time.Second}, AverageValue: 1, MaxReplicas: 10,
	}
}

// rows returns the converted CSV's data rows.
func rows(t *testing.T, csv []byte) []string {
	t.Helper()
	var out []string
	header := false
	for _, l := range strings.Split(strings.TrimSpace(string(csv)), "\n") {
		switch {
		case strings.HasPrefix(l, "#"):
		case l == "timestamp,metric,value":
			header = true
		default:
			out = append(out, l)
		}
	}
	require.True(t, header, "the trace format's header")
	return out
}

// TestConvertSecondCounts: a bzip2 tar of per-second counts (testdata: the counts i mod 7 for
// seconds 0–299) is summed per minute from Origin, and divided into a rate per second.
func TestConvertSecondCounts(t *testing.T) {
	archive, err := os.ReadFile("testdata/second-counts.tbz2")
	require.NoError(t, err)
	tr := trace(traces.FormatSecondCounts, traces.GapsZero, t0.Add(time.Minute), t0.Add(4*time.Minute), time.Minute)
	tr.Origin, tr.Source.Member = &t0, "workload.txt"
	csv, err := traces.Convert(tr, archive)
	require.NoError(t, err)
	sum := func(from, to int) float64 {
		s := 0
		for i := from; i < to; i++ {
			s += i % 7
		}
		return float64(s) / 60
	}
	want := []string{
		"2026-01-05T00:01:00Z,rps," + fmtF(sum(60, 120)),
		"2026-01-05T00:02:00Z,rps," + fmtF(sum(120, 180)),
		"2026-01-05T00:03:00Z,rps," + fmtF(sum(180, 240)),
	}
	assert.Equal(t, want, rows(t, csv))
	assert.Contains(t, string(csv), "# source: github.com/o/r@0000000000000000000000000000000000000000 x (workload.txt)\n# licence: MIT\n")

	tr.Source.Member = "other.txt"
	_, err = traces.Convert(tr, archive)
	assert.EqualError(t, err, "x: no member other.txt")
	tr.Source.Member = "workload.txt"
	tr.To = t0.Add(10 * time.Minute) // the counts end after 5 minutes
	_, err = traces.Convert(tr, archive)
	assert.ErrorContains(t, err, "x: the data in the window runs from 2026-01-05T00:01:00Z to 2026-01-05T00:04:59Z, not over [2026-01-05T00:01:00Z, 2026-01-05T00:10:00Z)")
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TestConvertTimestampCounts: counts are summed per step; a step without rows is 0 when the
// source lists only what happened, and has no row when the source lost the sample.
func TestConvertTimestampCounts(t *testing.T) {
	src := []byte("period,count\n" +
		"2026-01-05 00:00:00,60\n2026-01-05 00:00:30,60\n" + // two rows in the first minute
		"2026-01-05 00:02:00,30\n" + // none in the second
		"2026-01-05 00:03:00,6.0\n" +
		"2026-01-05 00:04:00,600\n") // after the window
	tr := trace(traces.FormatTimestampCounts, traces.GapsZero, t0, t0.Add(4*time.Minute), time.Minute)
	csv, err := traces.Convert(tr, src)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"2026-01-05T00:00:00Z,rps,2", "2026-01-05T00:01:00Z,rps,0", "2026-01-05T00:02:00Z,rps,0.5", "2026-01-05T00:03:00Z,rps,0.1",
	}, rows(t, csv))

	tr.Gaps = traces.GapsMissing
	tr.Per = traces.Duration{Duration: time.Hour}
	csv, err = traces.Convert(tr, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"2026-01-05T00:00:00Z,rps,7200", "2026-01-05T00:02:00Z,rps,1800", "2026-01-05T00:03:00Z,rps,360"}, rows(t, csv))

	for _, tc := range []struct{ name, src, want string }{
		{"a bad timestamp", "h\n2026-01-05 00:00:00,1\n2026-13-05 00:01:00,1\n", `x:3: timestamp: parsing time "2026-13-05 00:01:00": month out of range`},
		{"a negative count", "h\n2026-01-05 00:00:00,-1\n", `x:2: want a count, got "-1"`},
		{"no comma", "h\n2026-01-05 00:00:00\n", `x:2: want timestamp,count, got "2026-01-05 00:00:00"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := traces.Convert(tr, []byte(tc.src))
			assert.EqualError(t, err, tc.want)
		})
	}
	_, err = traces.Convert(tr, make([]byte, traces.MaxUpstream+1))
	assert.ErrorContains(t, err, "over the 33554432 a source may have")
}

// TestConvertRequestLog: each request counts its context and generated tokens, summed per
// step into tokens per second.
func TestConvertRequestLog(t *testing.T) {
	src := []byte("TIMESTAMP,ContextTokens,GeneratedTokens\n" +
		"2026-01-05 00:00:01.1234567,100,20\n2026-01-05 00:00:29.9999999,50,10\n" +
		"2026-01-05 00:00:30.0000000,300,0\n2026-01-05 00:00:59.5,1,2\n")
	tr := trace(traces.FormatRequestLog, traces.GapsZero, t0, t0.Add(time.Minute), 30*time.Second)
	csv, err := traces.Convert(tr, src)
	require.NoError(t, err)
	assert.Equal(t, []string{"2026-01-05T00:00:00Z,rps,6", "2026-01-05T00:00:30Z,rps,10.1"}, rows(t, csv))
	_, err = traces.Convert(tr, []byte("h\n2026-01-05 00:00:01.1,100\n"))
	assert.EqualError(t, err, `x:2: want TIMESTAMP,ContextTokens,GeneratedTokens, got "2026-01-05 00:00:01.1,100"`)
}

// TestUpstreamReadsALocalClone: a source is read at its pinned commit from a local clone —
// not from the work tree, which may have moved on — and a missing commit is a clear error.
func TestUpstreamReadsALocalClone(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "x.csv"), []byte("pinned\n"), 0o644))
	git("add", ".")
	git("commit", "-qm", "one")
	pinned := git("rev-parse", "HEAD")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "x.csv"), []byte("later\n"), 0o644))
	git("commit", "-qam", "two")

	u := &traces.Upstream{Repos: map[string]string{"o/r": dir}}
	got, err := u.Read(context.Background(), traces.Source{Repo: "o/r", Commit: pinned, Path: "data/x.csv"})
	require.NoError(t, err)
	assert.Equal(t, "pinned\n", string(got))

	_, err = u.Read(context.Background(), traces.Source{Repo: "o/r", Commit: strings.Repeat("1", 40), Path: "data/x.csv"})
	assert.ErrorContains(t, err, "data/x.csv at 111111111111 in "+dir)

	_, err = (&traces.Upstream{}).Read(context.Background(), traces.Source{Repo: "o/r", Commit: pinned, Path: "data/x.csv"})
	assert.EqualError(t, err, "data/x.csv: no local copy of o/r (give --repo o/r=DIR or --file o/r/data/x.csv=FILE) and downloads are off")
}

// TestUpstreamDownloads: without a local copy the source is downloaded from the raw file host
// at its commit, and an answer over the bound is refused.
func TestUpstreamDownloads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/o/r/" + strings.Repeat("a", 40) + "/data/x.csv":
			w.Write([]byte("content\n"))
		case "/o/r/" + strings.Repeat("a", 40) + "/big":
			w.Write(make([]byte, traces.MaxUpstream+1))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u := &traces.Upstream{Client: srv.Client(), Base: srv.URL}
	got, err := u.Read(context.Background(), traces.Source{Repo: "o/r", Commit: strings.Repeat("a", 40), Path: "data/x.csv"})
	require.NoError(t, err)
	assert.Equal(t, "content\n", string(got))
	_, err = u.Read(context.Background(), traces.Source{Repo: "o/r", Commit: strings.Repeat("a", 40), Path: "big"})
	assert.ErrorContains(t, err, "over the 33554432 bytes a source may have")
	_, err = u.Read(context.Background(), traces.Source{Repo: "o/r", Commit: strings.Repeat("a", 40), Path: "nope"})
	assert.ErrorContains(t, err, "404 Not Found")
}

// TestLoadChecksTheChecksum: a converted trace whose bytes are not the recorded ones is
// refused, and says how to get the right ones.
func TestLoadChecksTheChecksum(t *testing.T) {
	dir := t.TempDir()
	tr := &traces.Trace{Name: "a"}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("x"), 0o644))
	got, err := traces.Load(dir, tr, map[string]string{"a": traces.Sum([]byte("x"))})
	require.NoError(t, err)
	assert.Equal(t, "x", string(got))
	_, err = traces.Load(dir, tr, map[string]string{"a": traces.Sum([]byte("y"))})
	assert.ErrorContains(t, err, "convert it again: go run ./examples/traces/corpus")
	_, err = traces.Load(dir, tr, map[string]string{})
	assert.EqualError(t, err, "a: no checksum recorded in SHA256SUMS")
}
