package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/web"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/convert"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/optimum"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

var backtestHelp = help{
	usage: `gitops-autoscaler backtest --policy FILE [--compare FILE]... [--optimum] (--trace CSV | --prometheus URL --start T --end T) [flags]`,
	about: `Replay a policy over past metrics with the same decision engine the service runs, and see
every decision it would have made: when, from and to how many replicas, and why. Use it to
tune thresholds, cooldowns and stabilization windows before a policy touches Git.

Each change counts as committed at the instant it was decided, so cooldowns, rate limits and
stabilization windows see exactly the history a live run would have had.

With --compare, the policy and every compared one (an HPA-form copy, a Steady variant) are
replayed over the same trace at the same instants, and one table sets them side by side:
changes (the commits each would have made) and changes per day, scale-ups and scale-downs,
replica-hours, the time short of the need and its depth, and the largest single step. A
compared FILE may be what you run today — a KEDA ScaledObject, an HPA (with --adapter-config
for its External, Object and Pods metrics) or an original PrometheusAutoscaler — given as the
manifest itself: it is imported on the fly as import would, with its warnings on stderr.
This is how to decide to switch: "your HPA settings: 470 commits a week; Steady: 90"
(docs/benchmarks.md). --html then draws every replica line over the metric on one chart.

With --optimum, each replay is set against the offline optimum: with the whole trace known
in advance, the fewest changes of a count that is never below the need (within the bounds)
and costs no more replica-hours than the policy spent — "142 changes; the best possible at
these replica-hours: 41 (3.5×)" — computed exactly (docs/design.md §11), with the frontier of
changes against replica-hours. A policy that was short to spend less than the need itself
has no such schedule to compare with, and says so. With --compare it is a row for every
policy and a column of the first policy's optimum; with --html, its level line on the charts.`,
	example: `$ cat trace.csv
timestamp,metric,value
2026-11-22T10:59:30Z,http_rps,120
2026-11-22T11:00:00Z,http_rps,312.4
$ gitops-autoscaler backtest --policy web.yaml --trace trace.csv --html report.html
2026-11-22T11:00:00Z  3 → 6  http_rps = 312.4 > scaleUp.threshold 250 → 6; …
laravel-demo/laravel-web: 2 evaluations, 2026-11-22T10:59:30Z to 2026-11-22T11:00:00Z every 30s
changes: 1 (1 up, 0 down) — the commits a live run would have made
...
$ gitops-autoscaler backtest --policy policies/laravel-web-prod.yaml \
    --compare compare/laravel-web-hpa.yaml --trace trace.csv --initial 3
the same load: 2026-11-22T08:00:00Z to 2026-11-22T10:00:00Z every 30s, 241 evaluations (2h)
                                laravel-demo/laravel-web   laravel-demo/laravel-web-hpa
changes                         4                          12
changes per day                 47.8                       143.4
...
laravel-demo/laravel-web-hpa against laravel-demo/laravel-web: 3.0× the changes, 1.15× the replica-hours
$ gitops-autoscaler backtest --policy steady.yaml --trace nasa-1995-07-17.csv --optimum
…
changes: 160 (104 up, 56 down) — the commits a live run would have made
replica-hours: 4170.08 (average 24.82 replicas)
…
optimum: 160 changes; the best possible at these replica-hours: 112 (1.4×); the hull: 111.8 at these replica-hours, its vertex 112
frontier, changes → replica-hours (× the need's): 1 → 9072.0 (3.82×), 36 → 4748.4 (2.00×), 414 → 3562.6 (1.50×), …, 9151 → 2377.0 (1.00×)
$ gitops-autoscaler backtest --policy policies/laravel-web-prod.yaml \
    --compare cluster/hpa-laravel-web.yaml --adapter-config cluster/adapter.yaml \
    --prometheus http://prometheus:9090 --start 2026-11-15T00:00:00Z --end 2026-11-22T00:00:00Z
cluster/hpa-laravel-web.yaml: imported HorizontalPodAutoscaler laravel-demo/laravel-web as laravel-demo/laravel-web (1 warnings)
  cluster/hpa-laravel-web.yaml:1: warning: spec.behavior: absent: …
...`,
	exit: `0 done, 1 runtime failure (Prometheus unreachable, report not writable), 2 usage error,
invalid policy (all problems are printed) or malformed CSV (the line is named).`,
}

// maxBacktestEvaluations keeps a mistyped --step from running for hours.
const maxBacktestEvaluations = 5_000_000

// backtestOptions are the parsed flags of `backtest`.
type backtestOptions struct {
	policyFile    string
	name          string
	traceFile     string
	prometheusURL string
	promTokenFile string
	start, end    time.Time
	step          time.Duration
	initial       *int
	output        string
	htmlFile      string
	// compare are the --compare files, each FILE or FILE#NAME.
	compare []string
	// adapterConfig is the prometheus-adapter rules file for an HPA given to --compare.
	adapterConfig string
	// optimum sets every replay against the offline optimum.
	optimum bool
}

func runBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backtest")
	var o backtestOptions
	check := o.define(fs)
	if code, done := parse(fs, args, backtestHelp, check, stdout, stderr); done {
		return code
	}
	return backtest(ctx, o, stdout, stderr)
}

// define registers backtest's flags on fs and returns the check that completes the options
// once they are parsed.
func (o *backtestOptions) define(fs *flag.FlagSet) func() error {
	var start, end, step string
	fs.StringVar(&o.policyFile, "policy", "", "the policy `FILE` (several documents allowed: pick one with --name)")
	fs.StringVar(&o.name, "name", "", "the policy to replay, as `NAME` or namespace/name")
	fs.StringVar(&o.traceFile, "trace", "", "metric values from a `CSV` file with the header timestamp,metric,value; "+
		"timestamp is RFC 3339 or unix seconds, metric is the policy's metric name; blank lines and # comments "+
		"are allowed, rows may come in any order. A sample counts for 5 minutes (as in Prometheus), then the "+
		"metric is missing.")
	fs.StringVar(&o.prometheusURL, "prometheus", "", "range-query the policy's PromQL on the Prometheus at `URL` instead "+
		"(needs --start and --end)")
	fs.StringVar(&o.promTokenFile, "prometheus-token-file", "", "a `FILE` holding a bearer token for --prometheus")
	fs.StringVar(&start, "start", "", "the start `T` of the range to replay, RFC 3339 or unix seconds (default: the trace's first sample)")
	fs.StringVar(&end, "end", "", "the end `T` of the range to replay, RFC 3339 or unix seconds (default: the trace's last sample)")
	fs.StringVar(&step, "step", "", "the time `D` between evaluations (default: the policy's \"@every D\" schedule, else 30s; "+
		"with --compare the shortest of the policies')")
	fs.Func("initial", "`N` replicas before the first evaluation (default: minReplicas)", func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("want a replica count (0 or more), got %q", s)
		}
		o.initial = &n
		return nil
	})
	fs.Func("compare", "replay the policy in `FILE` too, over the same trace at the same instants, and print one "+
		"table side by side; repeat to compare several. FILE#NAME picks one policy of a file with several (by name "+
		"or namespace/name). FILE may also be what you run today — a KEDA ScaledObject, an HPA or an original "+
		"PrometheusAutoscaler — imported on the fly as import would, its warnings on stderr", func(v string) error {
		if strings.TrimSpace(v) == "" {
			return errors.New("want a policy file")
		}
		o.compare = append(o.compare, v)
		return nil
	})
	fs.StringVar(&o.adapterConfig, "adapter-config", "", "the prometheus-adapter configuration `FILE` for an HPA given to "+
		"--compare whose External, Object or Pods metrics it names")
	fs.BoolVar(&o.optimum, "optimum", false, "also compute the offline optimum: the fewest changes that are never short and "+
		"spend no more replica-hours than the policy did, with the whole trace known (exact), and the frontier of changes "+
		"against replica-hours; with --compare a row for every policy and a column of the first one's optimum")
	fs.StringVar(&o.output, "o", "text", "output `FORMAT`: text or json")
	fs.StringVar(&o.htmlFile, "html", "", "also write a self-contained HTML report to `FILE`: each metric against the "+
		"replica count with every change marked, the summary and the decisions; with --compare, every policy's "+
		"replica line over the metric on one chart, and the table")
	return func() error {
		switch {
		case fs.NArg() > 0:
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		case o.policyFile == "":
			return errors.New("--policy FILE is required")
		case o.traceFile == "" && o.prometheusURL == "":
			return errors.New("give --trace CSV or --prometheus URL")
		case o.traceFile != "" && o.prometheusURL != "":
			return errors.New("give --trace or --prometheus, not both")
		case o.prometheusURL != "" && (start == "" || end == ""):
			return errors.New("--prometheus needs --start and --end")
		case o.promTokenFile != "" && o.prometheusURL == "":
			return errors.New("--prometheus-token-file needs --prometheus")
		case o.adapterConfig != "" && len(o.compare) == 0:
			return errors.New("--adapter-config needs --compare: it translates an HPA given there")
		case o.output != "text" && o.output != "json":
			return fmt.Errorf("-o must be text or json, not %q", o.output)
		}
		var err error
		if start != "" {
			if o.start, err = promclient.ParseTime(start); err != nil {
				return fmt.Errorf("--start: %w", err)
			}
		}
		if end != "" {
			if o.end, err = promclient.ParseTime(end); err != nil {
				return fmt.Errorf("--end: %w", err)
			}
		}
		if start != "" && end != "" && o.end.Before(o.start) {
			return fmt.Errorf("--end %s is before --start %s", end, start)
		}
		if step != "" {
			if o.step, err = time.ParseDuration(step); err != nil || o.step <= 0 {
				return fmt.Errorf("--step: want a positive duration such as 30s, got %q", step)
			}
		}
		return nil
	}
}

// backtest loads the policy and the metrics, replays, and reports.
func backtest(ctx context.Context, o backtestOptions, stdout, stderr io.Writer) int {
	p, code := loadBacktestPolicy(o.policyFile, o.name, "--name", stderr)
	if p == nil {
		return code
	}
	if len(o.compare) > 0 {
		return compareBacktest(ctx, o, p, stdout, stderr)
	}
	if o.step == 0 {
		o.step = engine.BacktestInterval(p)
	}
	src, code := backtestValues(ctx, &o, []*policy.Policy{p}, stderr)
	if src == nil {
		return code
	}
	r := engine.Backtest(p, src(p), engine.BacktestOptions{Start: o.start, End: o.end, Step: o.step, Initial: o.initial})
	if o.optimum {
		return reportBacktestOptimum(o, p, r, stdout, stderr)
	}
	return reportBacktest(o, p, r, stdout, stderr)
}

// measureOptimum is the offline optimum at a replay's own replica-hours, with its schedule as
// a replay when it is exact.
func measureOptimum(p *policy.Policy, r *engine.BacktestResult, label string) (*web.BacktestOptimum, error) {
	m, err := optimum.Measure(optimum.ProblemOf(p, r), optimum.Spent(r), optimum.Limits{})
	if err != nil {
		return nil, fmt.Errorf("optimum of %s: %w", p.ID(), err)
	}
	out := &web.BacktestOptimum{Result: m}
	if m.Exact != nil {
		rep := optimum.Replay(m.Exact, r, label)
		out.Replay = &rep
	}
	return out, nil
}

// reportBacktestOptimum is reportBacktest with the offline optimum: its lines after the
// summary, an "optimum" field in the JSON, its level line in the report.
func reportBacktestOptimum(o backtestOptions, p *policy.Policy, r engine.BacktestResult, stdout, stderr io.Writer) int {
	opt, err := measureOptimum(p, &r, "optimum")
	if err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		return exitFailure
	}
	out := struct {
		engine.BacktestResult
		Optimum *optimum.Result `json:"optimum"`
	}{r, &opt.Result}
	return report(o, func(w io.Writer) error { return web.WriteBacktestReport(w, p, r, opt) }, out,
		func(w io.Writer) {
			printBacktest(w, r)
			printOptimum(w, r.Summary.Changes, &opt.Result, r.Step)
		}, stdout, stderr)
}

// printOptimum writes the optimum's lines: the policy's distance to it, then the frontier.
func printOptimum(w io.Writer, changes int, m *optimum.Result, step time.Duration) {
	line := fmt.Sprintf("optimum: %d changes; %s", changes, web.OptimumText(changes, m, step))
	if h := web.HullText(m); h != "" {
		line += "; " + h
	}
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, "frontier, changes → replica-hours (× the need's): %s\n", web.FrontierText(m, step))
}

// backtestValues is each policy's metric source for the replay: the trace (whose first and last
// samples are the range unless --start and --end say otherwise), keyed by each policy's metric
// names, or the --prometheus range queried once per policy, each with its own PromQL, at the
// same instants. On failure it has reported and returns nil with the exit code.
func backtestValues(ctx context.Context, o *backtestOptions, ps []*policy.Policy, stderr io.Writer) (func(*policy.Policy) func(time.Time) []engine.MetricValue, int) {
	var tr *promclient.Trace
	if o.traceFile != "" {
		var err error
		if tr, err = readTraceFile(o.traceFile); err != nil {
			fmt.Fprintf(stderr, "backtest: %v\n", err)
			return nil, exitUsage
		}
		if o.start.IsZero() {
			o.start = tr.Start()
		}
		if o.end.IsZero() {
			o.end = tr.End()
		}
		for _, p := range ps {
			for _, m := range p.Spec.Metrics {
				if tr.Samples(m.Name) == 0 {
					fmt.Fprintf(stderr, "warning: %s has no samples of metric %s of %s (it has %s); it is missing at every step\n",
						o.traceFile, m.Name, p.ID(), strings.Join(tr.Metrics(), ", "))
				}
			}
		}
	}
	if o.end.Before(o.start) {
		fmt.Fprintf(stderr, "backtest: --end %s is before --start %s\n", o.end.Format(time.RFC3339), o.start.Format(time.RFC3339))
		return nil, exitUsage
	}
	if n := o.end.Sub(o.start)/o.step + 1; n > maxBacktestEvaluations {
		fmt.Fprintf(stderr, "backtest: %d evaluations from %s to %s every %s is too many (at most %d); use a larger --step\n",
			n, o.start.Format(time.RFC3339), o.end.Format(time.RFC3339), o.step, maxBacktestEvaluations)
		return nil, exitUsage
	}
	if tr != nil {
		return func(p *policy.Policy) func(time.Time) []engine.MetricValue {
			return func(at time.Time) []engine.MetricValue { return tr.Values(p, at) }
		}, exitOK
	}
	queried := make(map[*policy.Policy][][]engine.MetricValue, len(ps))
	for _, p := range ps {
		values, err := prometheusValues(ctx, *o, p, o.step)
		if err != nil {
			fmt.Fprintf(stderr, "backtest: %v\n", err)
			return nil, exitFailure
		}
		queried[p] = values
	}
	start, step := o.start, o.step
	return func(p *policy.Policy) func(time.Time) []engine.MetricValue {
		values := queried[p]
		return func(at time.Time) []engine.MetricValue { return values[int(at.Sub(start)/step)] }
	}, exitOK
}

// compareBacktest replays p and every --compare policy over the same metrics at the same
// instants (--step, else the shortest of their intervals) and prints them side by side.
func compareBacktest(ctx context.Context, o backtestOptions, p *policy.Policy, stdout, stderr io.Writer) int {
	var conv convert.Options
	if o.adapterConfig != "" {
		data, err := os.ReadFile(o.adapterConfig)
		if err == nil {
			conv.Adapter, err = convert.ParseAdapterConfig(o.adapterConfig, data)
		}
		if err != nil {
			fmt.Fprintf(stderr, "backtest: --adapter-config: %v\n", err)
			return exitUsage
		}
	}
	ps, labels := []*policy.Policy{p}, []string{o.policyFile}
	for _, arg := range o.compare {
		file, name, _ := strings.Cut(arg, "#")
		q, code := loadCompared(file, name, conv, stderr)
		if q == nil {
			return code
		}
		ps, labels = append(ps, q), append(labels, file)
	}
	labels = compareLabels(ps, labels)
	if o.step == 0 {
		for _, q := range ps {
			if st := engine.BacktestInterval(q); o.step == 0 || st < o.step {
				o.step = st
			}
		}
	}
	src, code := backtestValues(ctx, &o, ps, stderr)
	if src == nil {
		return code
	}
	results, as := engine.Compare(ps, src, engine.BacktestOptions{Start: o.start, End: o.end, Step: o.step, Initial: o.initial})
	cs := make([]web.ComparedPolicy, len(ps))
	for i := range ps {
		cs[i] = web.ComparedPolicy{Label: labels[i], Policy: ps[i], Result: results[i], Assessment: as[i]}
	}
	if o.optimum {
		var err error
		if cs, err = withOptimum(cs); err != nil {
			fmt.Fprintf(stderr, "backtest: %v\n", err)
			return exitFailure
		}
	}
	type column struct {
		Label string `json:"label"`
		engine.Assessment
		Optimum *optimum.Result `json:"optimum,omitempty"`
	}
	out := struct {
		Start       time.Time `json:"start"`
		End         time.Time `json:"end"`
		Step        string    `json:"step"`
		Evaluations int       `json:"evaluations"`
		Policies    []column  `json:"policies"`
	}{Start: results[0].Start, End: results[0].End, Step: o.step.String(), Evaluations: results[0].Summary.Evaluations}
	for _, c := range cs {
		out.Policies = append(out.Policies, column{c.Label, c.Assessment, c.Optimum})
	}
	return report(o, func(w io.Writer) error { return web.WriteCompareHTML(w, cs) }, out,
		func(w io.Writer) { printComparison(w, cs) }, stdout, stderr)
}

// withOptimum sets every compared replay against the optimum at its own replica-hours, and
// adds a column for the first policy's optimum when it is exact: its schedule, replayed over
// the same steps, assessed like the others and drawn on the chart.
func withOptimum(cs []web.ComparedPolicy) ([]web.ComparedPolicy, error) {
	var first *web.BacktestOptimum
	for i := range cs {
		label := "optimum at the replica-hours of " + cs[i].Label
		opt, err := measureOptimum(cs[i].Policy, &cs[i].Result, label)
		if err != nil {
			return nil, err
		}
		cs[i].Optimum = &opt.Result
		if i == 0 {
			first = opt
		}
	}
	if first.Replay != nil {
		cs = append(cs, web.ComparedPolicy{Label: first.Replay.Policy, Policy: cs[0].Policy, Result: *first.Replay,
			Assessment: engine.Assess(cs[0].Policy, first.Replay)})
	}
	return cs, nil
}

// compareLabels names each compared policy by its ID, adding its file where two share an ID
// (an imported policy keeps the name of the workload it scales).
func compareLabels(ps []*policy.Policy, files []string) []string {
	count := map[string]int{}
	for _, p := range ps {
		count[p.ID()]++
	}
	labels := make([]string, len(ps))
	for i, p := range ps {
		labels[i] = p.ID()
		if count[p.ID()] > 1 {
			labels[i] += " (" + filepath.Base(files[i]) + ")"
		}
	}
	return labels
}

// span writes a trace's length as a person reads it: "17m", "2h30m", "1.5 days" — not "0.0 days".
func span(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%.1f days", d.Hours()/24)
	}
	return shortDuration(d.Round(time.Minute).String())
}

// printComparison writes the table of a comparison, then each compared policy against the
// first.
func printComparison(w io.Writer, cs []web.ComparedPolicy) {
	r := &cs[0].Result
	fmt.Fprintf(w, "the same load: %s to %s every %s, %s (%s)\n",
		r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Step, plural(r.Summary.Evaluations, "evaluation", "evaluations"), span(r.End.Sub(r.Start)))
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	header := []string{""}
	for _, c := range cs {
		header = append(header, c.Label)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range web.ComparisonRows(cs) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	first := &cs[0].Assessment
	for _, c := range cs[1:] {
		if c.Optimum == nil && cs[0].Optimum != nil {
			continue // the optimum's own column
		}
		a := &c.Assessment
		fmt.Fprintf(w, "%s against %s: %s, %s the replica-hours\n", c.Label, cs[0].Label,
			changesAgainst(a.Changes, first.Changes), ratio(a.ReplicaHours, first.ReplicaHours))
	}
	for _, c := range cs {
		if c.Optimum != nil {
			fmt.Fprintf(w, "%s: %d changes; %s\n", c.Label, c.Assessment.Changes, web.OptimumText(c.Assessment.Changes, c.Optimum, c.Result.Step))
		}
	}
}

// changesAgainst says how a's changes compare with b's: "5.5× fewer changes", "3.0× the
// changes", "as many changes".
func changesAgainst(a, b int) string {
	switch {
	case a == b:
		return "as many changes"
	case a == 0:
		return "no changes"
	case a < b:
		return strconv.FormatFloat(float64(b)/float64(a), 'f', 1, 64) + "× fewer changes"
	case b == 0:
		return strconv.Itoa(a) + " changes where it made none"
	}
	return strconv.FormatFloat(float64(a)/float64(b), 'f', 1, 64) + "× the changes"
}

// ratio writes a / b as "1.21×", or "–" when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64) + "×"
}

// reportBacktest writes the HTML report when asked, then the result as text or JSON.
func reportBacktest(o backtestOptions, p *policy.Policy, r engine.BacktestResult, stdout, stderr io.Writer) int {
	return report(o, func(w io.Writer) error { return web.WriteBacktestHTML(w, p, r) }, r,
		func(w io.Writer) { printBacktest(w, r) }, stdout, stderr)
}

// report writes the HTML page (html) to --html when asked, then v as JSON or the text (text),
// as -o says.
func report(o backtestOptions, html func(io.Writer) error, v any, text func(io.Writer), stdout, stderr io.Writer) int {
	if o.htmlFile != "" {
		var buf bytes.Buffer
		if err := html(&buf); err != nil {
			fmt.Fprintf(stderr, "backtest: %v\n", err)
			return exitFailure
		}
		if err := os.WriteFile(o.htmlFile, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintf(stderr, "backtest: write report: %v\n", err)
			return exitFailure
		}
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "backtest: %v\n", err)
			return exitFailure
		}
	} else {
		text(stdout)
	}
	if o.htmlFile != "" {
		fmt.Fprintf(stderr, "report written to %s\n", o.htmlFile)
	}
	return exitOK
}

// loadBacktestPolicy loads and validates a policy file and picks the one policy to replay:
// the one named (by name or namespace/name), or the file's only one; pick says how to name one.
// On failure it has printed every problem and returns nil with the exit code.
func loadBacktestPolicy(file, name, pick string, stderr io.Writer) (*policy.Policy, int) {
	ps, err := policy.LoadPolicyFiles(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitUsage
	}
	return pickBacktestPolicy(file, name, pick, ps, stderr)
}

// loadCompared loads a --compare FILE: the policies it holds, or — when it holds KEDA
// ScaledObjects, HPAs or original PrometheusAutoscalers — those translated by package convert,
// each exactly as import writes it and the loader reads it back, with the translation's
// warnings on stderr. It picks one as loadBacktestPolicy does.
func loadCompared(file, name string, conv convert.Options, stderr io.Writer) (*policy.Policy, int) {
	pick := "--compare " + file + "#NAME"
	files, err := policy.ReadYAMLFiles("manifests", file)
	if err != nil {
		fmt.Fprintf(stderr, "backtest: %v\n", err)
		return nil, exitUsage
	}
	inputs := make([]convert.Input, len(files))
	for i, f := range files {
		inputs[i] = convert.Input{File: f.Name, Data: f.Data}
	}
	res, err := convert.Import(inputs, conv)
	if err == nil && len(res.Policies) == 0 {
		return loadBacktestPolicy(file, name, pick, stderr) // policies of ours
	}
	if err != nil {
		fmt.Fprintf(stderr, "backtest: --compare %s: %v\n", file, err)
		return nil, exitUsage
	}
	ps := make([]*policy.Policy, len(res.Policies))
	for i, imp := range res.Policies {
		if ps[i], err = imp.Load(); err != nil {
			fmt.Fprintf(stderr, "backtest: --compare %s: %v\n", file, err)
			return nil, exitUsage
		}
	}
	p, code := pickBacktestPolicy(file, name, pick, ps, stderr)
	if p == nil {
		return nil, code
	}
	for i, imp := range res.Policies {
		if ps[i] != p {
			continue
		}
		fmt.Fprintf(stderr, "%s: imported %s as %s (%d warnings)\n", file, imp.From, p.ID(), len(imp.Warnings))
		for _, w := range imp.Warnings {
			fmt.Fprintf(stderr, "  %s\n", w)
		}
	}
	return p, exitOK
}

// pickBacktestPolicy picks the one policy of a file's to replay (see loadBacktestPolicy) and
// compiles it.
func pickBacktestPolicy(file, name, pick string, ps []*policy.Policy, stderr io.Writer) (*policy.Policy, int) {
	var picked []*policy.Policy
	for _, p := range ps {
		if name == "" || name == p.Metadata.Name || name == p.ID() {
			picked = append(picked, p)
		}
	}
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID()
	}
	switch {
	case len(ps) == 0:
		fmt.Fprintf(stderr, "backtest: %s holds no PrometheusAutoscaler policy\n", file)
		return nil, exitUsage
	case len(picked) == 0:
		fmt.Fprintf(stderr, "backtest: %s has no policy %q; it has %s\n", file, name, strings.Join(ids, ", "))
		return nil, exitUsage
	case len(picked) > 1:
		fmt.Fprintf(stderr, "backtest: %s holds %d policies (%s); pick one with %s\n", file, len(picked), strings.Join(ids, ", "), pick)
		return nil, exitUsage
	}
	p := picked[0]
	if err := p.Compile(); err != nil {
		fmt.Fprintf(stderr, "backtest: %s: %v\n", p.ID(), err)
		return nil, exitUsage
	}
	return p, exitOK
}

func readTraceFile(name string) (*promclient.Trace, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	defer f.Close()
	return promclient.ReadTrace(name, f)
}

// prometheusValues range-queries the policy's metrics on the --prometheus server.
func prometheusValues(ctx context.Context, o backtestOptions, p *policy.Policy, step time.Duration) ([][]engine.MetricValue, error) {
	c, err := promclient.New(svcconfig.PrometheusServer{
		Name:            secret.RedactURLs(o.prometheusURL),
		URL:             o.prometheusURL,
		BearerTokenFile: o.promTokenFile,
	})
	if err != nil {
		return nil, err
	}
	return promclient.RangeValues(ctx, c, p, o.start, o.end, step)
}

// printBacktest writes one line per change, then the summary.
func printBacktest(w io.Writer, r engine.BacktestResult) {
	for _, d := range r.Decisions {
		msgs := make([]string, len(d.Reasons))
		for i, reason := range d.Reasons {
			msgs[i] = reason.Message
		}
		fmt.Fprintf(w, "%s  %d → %d  %s\n", d.Time.UTC().Format(time.RFC3339), d.From, d.To, strings.Join(msgs, "; "))
	}
	s := r.Summary
	if len(r.Decisions) > 0 {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%s: %d evaluations, %s to %s every %s, starting at %d replicas\n",
		r.Policy, s.Evaluations, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), r.Step, r.Initial)
	fmt.Fprintf(w, "changes: %d (%d up, %d down) — the commits a live run would have made\n", s.Changes, s.ScaleUps, s.ScaleDowns)
	avg := 0.0
	if s.Evaluations > 0 {
		avg = s.ReplicaSeconds / r.Step.Seconds() / float64(s.Evaluations)
	}
	fmt.Fprintf(w, "replica-hours: %.2f (average %.2f replicas)\n", s.ReplicaSeconds/3600, avg)
	pct := 0.0
	if total := float64(s.Evaluations) * r.Step.Seconds(); total > 0 {
		pct = 100 * s.UnderProvisionedSeconds / total
	}
	fmt.Fprintf(w, "under-provisioned: %s (%.1f %% of the time below the metrics' need; %.1f replica-minutes short)\n",
		time.Duration(s.UnderProvisionedSeconds*float64(time.Second)), pct, s.UnderProvisionedReplicaSeconds/60)
	// A metric the trace lacks blocks every scale-down: the summary says so rather than leave
	// the figures above to look like the policy's own (docs/design.md §9, invariant 2).
	missing := map[string]int{}
	var order []string
	for _, st := range r.Steps {
		for _, m := range st.Metrics {
			if m.Missing {
				if missing[m.Name] == 0 {
					order = append(order, m.Name)
				}
				missing[m.Name]++
			}
		}
	}
	for _, name := range order {
		fmt.Fprintf(w, "missing: %s in %d of %s (no value in the trace): while a metric is missing the policy never scales down\n",
			name, missing[name], plural(len(r.Steps), "evaluation", "evaluations"))
	}
}
