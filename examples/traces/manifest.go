package traces

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The halves of the corpus.
const (
	HeldOut = "held-out"
	Tuning  = "tuning"
)

// Trace is one trace of the corpus: where its upstream data is, how it is converted, and the
// policy target it is replayed with.
type Trace struct {
	// Name is the trace's file name without .csv; Pair names the kind it shares with the one
	// other trace of its pair, Half the half the split rule gave it.
	Name string `json:"name"`
	Pair string `json:"pair"`
	Half string `json:"half"`
	// Shape says what the traffic looks like; Measures what the upstream value is.
	Shape    string `json:"shape"`
	Measures string `json:"measures"`
	Source   Source `json:"source"`
	// Format is how the upstream file is read: FormatSecondCounts, FormatTimestampCounts or
	// FormatRequestLog.
	Format string `json:"format"`
	// Origin is the instant of the first count of a FormatSecondCounts file.
	Origin *time.Time `json:"origin,omitempty"`
	// Gaps says what a step without any upstream row is: GapsZero (nothing happened: the
	// source lists only what did) or GapsMissing (the source lost the sample: the trace has
	// no row, and the metric is missing or holds, as in Prometheus).
	Gaps string `json:"gaps"`
	// From and To bound the trace (From included, To not); Step is both the trace's and the
	// policy's step: every step's events are summed into one sample at the step's start.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Step Duration  `json:"step"`
	// Metric is the trace's metric name and the unit of its values: the step's sum × Per ÷
	// Step (Per 1s: a rate per second).
	Metric string   `json:"metric"`
	Per    Duration `json:"per"`
	// AverageValue is the policy's AverageValue target, the Metric one replica serves, and
	// MaxReplicas its upper bound (minReplicas is 1). Capacity says how AverageValue was
	// chosen.
	AverageValue float64 `json:"averageValue"`
	MaxReplicas  int     `json:"maxReplicas"`
	Capacity     string  `json:"capacity"`
}

// Source is an upstream file: a path in a public GitHub repository at a commit.
type Source struct {
	Repo    string `json:"repo"`
	Commit  string `json:"commit"`
	Path    string `json:"path"`
	Licence string `json:"licence"`
	// Member is the file inside a tar archive (.tbz2), when Path is one.
	Member string `json:"member,omitempty"`
}

// RawBase is where GitHub serves a file of a repository at a commit.
const RawBase = "https://raw.githubusercontent.com"

// URL is where the source can be downloaded from at its commit, under base (RawBase).
func (s Source) URL(base string) string {
	return base + "/" + s.Repo + "/" + s.Commit + "/" + s.Path
}

// The upstream formats.
const (
	// FormatSecondCounts: a bzip2 tar archive holding one file of whitespace-separated
	// counts, one per second from Origin.
	FormatSecondCounts = "second-counts"
	// FormatTimestampCounts: CSV with a header and rows "YYYY-MM-DD HH:MM:SS,count" (UTC).
	FormatTimestampCounts = "timestamp-counts"
	// FormatRequestLog: CSV with the header TIMESTAMP,ContextTokens,GeneratedTokens, one row
	// per request ("YYYY-MM-DD HH:MM:SS.fffffff", UTC); a request counts its tokens.
	FormatRequestLog = "request-log"
)

// What a step without upstream rows is.
const (
	GapsZero    = "zero"
	GapsMissing = "missing"
)

// Duration is a time.Duration written as "60s" in the manifest.
type Duration struct{ time.Duration }

// UnmarshalJSON reads "60s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("want a positive duration such as 60s, got %q", s)
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes "60s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

//go:embed corpus.json
var manifestJSON []byte

//go:embed SHA256SUMS
var sumsText []byte

// Corpus returns every trace of the manifest, held-out half first, each half in the
// manifest's order, with its checksum.
func Corpus() ([]Trace, map[string]string, error) {
	ts, err := parseManifest("corpus.json", manifestJSON)
	if err != nil {
		return nil, nil, err
	}
	sums, err := parseSums("SHA256SUMS", sumsText)
	if err != nil {
		return nil, nil, err
	}
	return ts, sums, nil
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// parseManifest decodes the manifest strictly (unknown fields are errors) and checks every
// trace, naming it; the traces come back held-out half first.
func parseManifest(file string, data []byte) ([]Trace, error) {
	var m struct {
		Traces []Trace `json:"traces"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var errs []error
	seen := map[string]bool{}
	pairs := map[string][]string{}
	for i, t := range m.Traces {
		bad := func(field, msg string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: traces[%d] (%s): %s: %s", file, i, t.Name, field, fmt.Sprintf(msg, args...)))
		}
		if !namePattern.MatchString(t.Name) || seen[t.Name] {
			bad("name", "want a unique lower-case file name, got %q", t.Name)
		}
		seen[t.Name] = true
		pairs[t.Pair] = append(pairs[t.Pair], t.Name)
		if t.Half != HeldOut && t.Half != Tuning {
			bad("half", "want %q or %q, got %q", HeldOut, Tuning, t.Half)
		}
		if t.Source.Repo == "" || strings.Count(t.Source.Repo, "/") != 1 {
			bad("source.repo", "want owner/name, got %q", t.Source.Repo)
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(t.Source.Commit) {
			bad("source.commit", "want a full commit id, got %q", t.Source.Commit)
		}
		if t.Source.Path == "" || t.Source.Licence == "" {
			bad("source", "path and licence are required")
		}
		switch t.Format {
		case FormatSecondCounts:
			if t.Origin == nil || t.Source.Member == "" {
				bad("origin", "a %s source needs origin and source.member", t.Format)
			}
		case FormatTimestampCounts, FormatRequestLog:
		default:
			bad("format", "unknown format %q", t.Format)
		}
		if t.Gaps != GapsZero && t.Gaps != GapsMissing {
			bad("gaps", "want %q or %q, got %q", GapsZero, GapsMissing, t.Gaps)
		}
		if !t.To.After(t.From) || t.Step.Duration <= 0 || t.To.Sub(t.From)%t.Step.Duration != 0 {
			bad("from", "want from < to, a whole number of steps apart")
		}
		if t.Metric == "" || t.Per.Duration <= 0 || !(t.AverageValue > 0) || t.MaxReplicas < 1 {
			bad("metric", "metric, per, a positive averageValue and maxReplicas ≥ 1 are required")
		}
	}
	for pair, names := range pairs {
		if len(names) != 2 {
			errs = append(errs, fmt.Errorf("%s: pair %q has %d traces (%s), want 2", file, pair, len(names), strings.Join(names, ", ")))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]Trace, 0, len(m.Traces))
	for _, half := range []string{HeldOut, Tuning} {
		for _, t := range m.Traces {
			if t.Half == half {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// parseSums reads "sha256  name.csv" lines (sha256sum's format).
func parseSums(file string, data []byte) (map[string]string, error) {
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		sum, name, ok := strings.Cut(text, "  ")
		if !ok || len(sum) != 64 || !strings.HasSuffix(name, ".csv") {
			return nil, fmt.Errorf("%s:%d: want \"<sha256>  <name>.csv\", got %q", file, line, text)
		}
		sums[strings.TrimSuffix(name, ".csv")] = sum
	}
	return sums, sc.Err()
}

// EnvDir is the environment variable that names the corpus directory.
const EnvDir = "TRACES_DIR"

// Dir is where the converted traces live: $TRACES_DIR, else gitops-autoscaler/traces under
// the user's cache directory.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no corpus directory: set %s (%w)", EnvDir, err)
	}
	return filepath.Join(c, "gitops-autoscaler", "traces"), nil
}
