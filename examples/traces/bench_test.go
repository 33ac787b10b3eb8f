package traces_test

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/examples/traces"
)

var half = flag.String("traces.half", "", "replay only this half of the corpus (held-out or tuning); both by default")

// BenchmarkTraces replays the HPA's defaults and Steady over every trace of the corpus and
// prints the table of docs/benchmarks.md, held-out half first, with the optimum at each
// policy's replica-hours. The corpus is read from $TRACES_DIR (else the user cache
// directory), each file checked against SHA256SUMS first; without it the benchmark says how to
// get it and skips (the corpus is not part of `make test`).
//
//	make bench-traces
//	go test ./examples/traces/ -run '^$' -bench Traces -benchtime 1x -traces.half tuning
func BenchmarkTraces(b *testing.B) {
	corpus, sums, err := traces.Corpus()
	require.NoError(b, err)
	dir, err := traces.Dir()
	require.NoError(b, err)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Printf("BenchmarkTraces: no corpus in %s. Get it (about 4 MB) with\n"+
			"  go run ./examples/traces/corpus           # from GitHub at the pinned commits\n"+
			"and run again, or point %s at a directory that holds it (docs/traces.md).\n", dir, traces.EnvDir)
		b.Skip("no corpus")
	}
	var selected []traces.Trace
	for _, t := range corpus {
		if *half == "" || t.Half == *half {
			selected = append(selected, t)
		}
	}
	require.NotEmpty(b, selected, "-traces.half %q selects no trace", *half)
	data := make([][]byte, len(selected))
	for i := range selected {
		data[i], err = traces.Load(dir, &selected[i], sums)
		require.NoError(b, err, "convert the corpus again: go run ./examples/traces/corpus")
	}
	var results []traces.Result
	for b.Loop() {
		results = results[:0]
		for i := range selected {
			r, err := traces.Measure(&selected[i], data[i])
			require.NoError(b, err)
			results = append(results, r)
		}
	}
	traces.WriteTable(os.Stdout, results)
}
