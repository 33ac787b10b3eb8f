package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/examples/traces"
)

type options struct {
	out       string
	repos     map[string]string
	files     map[string]string
	offline   bool
	only      []string
	writeSums string
}

func main() {
	o := options{repos: map[string]string{}, files: map[string]string{}}
	fs := flag.NewFlagSet("corpus", flag.ContinueOnError)
	fs.StringVar(&o.out, "o", "", "the `DIR` to write the traces to (default: $TRACES_DIR, else the user cache directory)")
	fs.Func("repo", "read owner/name from a local clone or Git directory holding the pinned commit: `OWNER/NAME=DIR` (repeatable)", pair(o.repos))
	fs.Func("file", "read one upstream file from a local copy: `OWNER/NAME/PATH=FILE` (repeatable)", pair(o.files))
	fs.BoolVar(&o.offline, "offline", false, "never download: every source must be given with --repo or --file")
	fs.Func("only", "convert only the trace `NAME` (repeatable)", func(s string) error { o.only = append(o.only, s); return nil })
	fs.StringVar(&o.writeSums, "write-sums", "", "write the converted files' checksums to `FILE` (examples/traces/SHA256SUMS) instead of checking them")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "corpus: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, o, os.Stdout, os.Stderr))
}

func pair(m map[string]string) func(string) error {
	return func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("want KEY=PATH, got %q", s)
		}
		m[k] = v
		return nil
	}
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) int {
	corpus, sums, err := traces.Corpus()
	if err != nil {
		fmt.Fprintf(stderr, "corpus: %v\n", err)
		return 2
	}
	for _, n := range o.only {
		if !slices.ContainsFunc(corpus, func(t traces.Trace) bool { return t.Name == n }) {
			fmt.Fprintf(stderr, "corpus: --only %s: no such trace in corpus.json\n", n)
			return 2
		}
	}
	dir := o.out
	if dir == "" {
		if dir, err = traces.Dir(); err != nil {
			fmt.Fprintf(stderr, "corpus: %v\n", err)
			return 1
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "corpus: %v\n", err)
		return 1
	}
	up := &traces.Upstream{Repos: o.repos, Files: o.files}
	if !o.offline {
		up.Client = http.DefaultClient
	}
	// One upstream file serves several traces: read it once.
	cache := map[traces.Source][]byte{}
	failed := 0
	got := map[string]string{}
	for i := range corpus {
		t := &corpus[i]
		if len(o.only) > 0 && !slices.Contains(o.only, t.Name) {
			continue
		}
		src := t.Source
		src.Member = ""
		data, ok := cache[src]
		if !ok {
			if data, err = up.Read(ctx, src); err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", t.Name, err)
				failed++
				continue
			}
			cache[src] = data
		}
		csv, err := traces.Convert(t, data)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", t.Name, err)
			failed++
			continue
		}
		name := filepath.Join(dir, t.Name+".csv")
		if err := os.WriteFile(name, csv, 0o644); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", t.Name, err)
			failed++
			continue
		}
		sum := traces.Sum(csv)
		got[t.Name] = sum
		switch want, ok := sums[t.Name]; {
		case o.writeSums != "":
			fmt.Fprintf(stdout, "%-28s %-8s %s\n", t.Name, t.Half, name)
		case !ok:
			fmt.Fprintf(stderr, "%s: no checksum recorded in SHA256SUMS (sha256 %s)\n", t.Name, sum)
			failed++
		case want != sum:
			fmt.Fprintf(stderr, "%s: sha256 %s, SHA256SUMS records %s: not the data the benchmarks were measured on\n", t.Name, sum, want)
			failed++
		default:
			fmt.Fprintf(stdout, "%-28s %-8s %s  ok\n", t.Name, t.Half, name)
		}
	}
	if o.writeSums != "" && failed == 0 {
		for n, s := range sums {
			if _, ok := got[n]; !ok {
				got[n] = s
			}
		}
		names := make([]string, 0, len(got))
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "%s  %s.csv\n", got[n], n)
		}
		if err := os.WriteFile(o.writeSums, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintf(stderr, "corpus: %v\n", err)
			return 1
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "corpus: %d of the traces failed\n", failed)
		return 1
	}
	fmt.Fprintf(stdout, "the corpus is in %s; run: %s=%s make bench-traces\n", dir, traces.EnvDir, dir)
	return 0
}
