package promtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Series is one time series of seeded history.
type Series struct {
	// Name is the metric name; Type its OpenMetrics type (gauge when empty).
	Name   string
	Type   string
	Labels map[string]string
	// Samples need not be sorted; OpenMetrics writes them in time order.
	Samples []Sample
}

// Sample is one value at one instant (millisecond precision).
type Sample struct {
	At    time.Time
	Value float64
}

// OpenMetrics renders series as OpenMetrics text, ending with "# EOF", as `promtool tsdb
// create-blocks-from openmetrics` reads it: each metric family in one block with its TYPE
// line, samples in time order with timestamps in seconds.
func OpenMetrics(series ...Series) string {
	byName := map[string][]Series{}
	var names []string
	for _, s := range series {
		if _, ok := byName[s.Name]; !ok {
			names = append(names, s.Name)
		}
		byName[s.Name] = append(byName[s.Name], s)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		family := byName[name]
		typ := family[0].Type
		if typ == "" {
			typ = "gauge"
		}
		b.WriteString("# TYPE " + name + " " + typ + "\n")
		for _, s := range family {
			labels := formatLabels(s.Labels)
			samples := slices.Clone(s.Samples)
			sort.Slice(samples, func(i, j int) bool { return samples[i].At.Before(samples[j].At) })
			for _, p := range samples {
				ts := strconv.FormatFloat(float64(p.At.UnixMilli())/1000, 'f', 3, 64)
				b.WriteString(name + labels + " " + formatValue(p.Value) + " " + ts + "\n")
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// Seed writes history into dataDir before Prometheus starts on it (pass WithDataDir(dataDir)
// to Start), by running `promtool tsdb create-blocks-from openmetrics`. Samples up to a few
// seconds before now are fine on a fresh data directory: Prometheus then appends scraped
// samples after the newest seeded block.
func Seed(t testing.TB, dataDir string, openmetrics string) {
	t.Helper()
	promtool := lookPath(t, "promtool")
	file := filepath.Join(t.TempDir(), "seed.om.txt")
	if err := os.WriteFile(file, []byte(openmetrics), 0o600); err != nil {
		t.Fatalf("promtest: write openmetrics: %v", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatalf("promtest: create data dir: %v", err)
	}
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("promtest: promtool tsdb create-blocks-from openmetrics: %v\n%s", err, out)
	}
}

func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + `="` + labelEscaper.Replace(labels[k]) + `"`
	}
	return "{" + strings.Join(parts, ",") + "}"
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'g', -1, 64)
}
