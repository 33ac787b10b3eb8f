package traces

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The bounds on what is read from upstream: an upstream file, and a member of an archive
// once decompressed.
const (
	MaxUpstream = 32 << 20
	MaxMember   = 64 << 20
	maxLine     = 1 << 20
)

// Convert turns an upstream file into the trace's CSV: a comment naming the source, the header
// timestamp,metric,value, and one row per step from From to To, the step's counts summed × Per
// ÷ Step (a step without upstream rows is 0, or has no row: Gaps). It fails, naming the upstream file and line, on
// anything it cannot read, and when the upstream data does not cover the window.
func Convert(t *Trace, upstream []byte) ([]byte, error) {
	if len(upstream) > MaxUpstream {
		return nil, fmt.Errorf("%s: %d bytes, over the %d a source may have", t.Source.Path, len(upstream), MaxUpstream)
	}
	n := int(t.To.Sub(t.From) / t.Step.Duration)
	b := &buckets{t: t, sums: make([]float64, n), rows: make([]int32, n)}
	var err error
	switch t.Format {
	case FormatSecondCounts:
		err = readSecondCounts(t, upstream, b)
	case FormatTimestampCounts:
		err = readLines(t.Source.Path, upstream, 1, func(line int, text string) error {
			ts, v, ok := strings.Cut(text, ",")
			if !ok {
				return fmt.Errorf("want timestamp,count, got %q", text)
			}
			at, err := time.Parse(time.DateTime, strings.TrimSpace(ts))
			if err != nil {
				return fmt.Errorf("timestamp: %w", err)
			}
			c, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || c < 0 {
				return fmt.Errorf("want a count, got %q", v)
			}
			b.add(at, c)
			return nil
		})
	case FormatRequestLog:
		err = readLines(t.Source.Path, upstream, 1, func(line int, text string) error {
			f := strings.Split(text, ",")
			if len(f) != 3 {
				return fmt.Errorf("want TIMESTAMP,ContextTokens,GeneratedTokens, got %q", text)
			}
			at, err := time.Parse("2006-01-02 15:04:05.9999999", strings.TrimSpace(f[0]))
			if err != nil {
				return fmt.Errorf("timestamp: %w", err)
			}
			ctx, err1 := strconv.Atoi(strings.TrimSpace(f[1]))
			gen, err2 := strconv.Atoi(strings.TrimSpace(f[2]))
			if err1 != nil || err2 != nil || ctx < 0 || gen < 0 {
				return fmt.Errorf("want token counts, got %q", text)
			}
			b.add(at, float64(ctx+gen))
			return nil
		})
	default:
		err = fmt.Errorf("unknown format %q", t.Format)
	}
	if err != nil {
		return nil, err
	}
	if b.events == 0 || b.first.After(t.From.Add(t.Step.Duration)) || b.last.Before(t.To.Add(-t.Step.Duration)) {
		return nil, fmt.Errorf("%s: the data in the window runs from %s to %s, not over [%s, %s)", t.Source.Path,
			b.first.Format(time.RFC3339), b.last.Format(time.RFC3339), t.From.Format(time.RFC3339), t.To.Format(time.RFC3339))
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# %s: %s\n# source: github.com/%s@%s %s", t.Name, t.Measures, t.Source.Repo, t.Source.Commit, t.Source.Path)
	if t.Source.Member != "" {
		fmt.Fprintf(&out, " (%s)", t.Source.Member)
	}
	fmt.Fprintf(&out, "\n# licence: %s\ntimestamp,metric,value\n", t.Source.Licence)
	scale := float64(t.Per.Duration) / float64(t.Step.Duration)
	for k, s := range b.sums {
		if b.rows[k] == 0 && t.Gaps == GapsMissing {
			continue
		}
		out.WriteString(t.From.Add(time.Duration(k) * t.Step.Duration).UTC().Format(time.RFC3339))
		out.WriteByte(',')
		out.WriteString(t.Metric)
		out.WriteByte(',')
		out.WriteString(strconv.FormatFloat(s*scale, 'f', -1, 64))
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

// buckets sums events into the trace's steps; events outside [From, To) are counted for the
// coverage check only.
type buckets struct {
	t           *Trace
	sums        []float64
	rows        []int32
	events      int
	first, last time.Time
}

func (b *buckets) add(at time.Time, v float64) {
	if at.Before(b.t.From) || !at.Before(b.t.To) {
		return
	}
	if b.events == 0 || at.Before(b.first) {
		b.first = at
	}
	if b.events == 0 || at.After(b.last) {
		b.last = at
	}
	b.events++
	k := int(at.Sub(b.t.From) / b.t.Step.Duration)
	b.sums[k] += v
	b.rows[k]++
}

// readLines calls f with every non-empty line after the first skip ones, numbered from 1,
// and names the file and line of the first error.
func readLines(file string, data []byte, skip int, f func(line int, text string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if line <= skip || text == "" {
			continue
		}
		if err := f(line, text); err != nil {
			return fmt.Errorf("%s:%d: %w", file, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// readSecondCounts reads the member of a bzip2 tar archive, counts one per second from Origin.
func readSecondCounts(t *Trace, archive []byte, b *buckets) error {
	tr := tar.NewReader(bzip2.NewReader(bytes.NewReader(archive)))
	name := t.Source.Path + ":" + t.Source.Member
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: no member %s", t.Source.Path, t.Source.Member)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", t.Source.Path, err)
		}
		if h.Name != t.Source.Member && strings.TrimPrefix(h.Name, "./") != t.Source.Member {
			continue
		}
		if h.Size > MaxMember {
			return fmt.Errorf("%s: %d bytes, over the %d a member may have", name, h.Size, MaxMember)
		}
		sc := bufio.NewScanner(io.LimitReader(tr, MaxMember))
		sc.Buffer(make([]byte, 0, 64<<10), maxLine)
		sc.Split(bufio.ScanWords)
		for i := 0; sc.Scan(); i++ {
			c, err := strconv.ParseUint(sc.Text(), 10, 32)
			if err != nil {
				return fmt.Errorf("%s: count %d: want a count, got %q", name, i+1, sc.Text())
			}
			at := t.Origin.Add(time.Duration(i) * time.Second)
			if !at.Before(t.To) {
				return nil
			}
			b.add(at, float64(c))
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}
