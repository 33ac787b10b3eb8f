package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// evalFlags are the flags evaluate and plan share.
type evalFlags struct {
	config      string
	policies    stringList
	policyFiles stringList
	repository  string
	dryRun      bool
	output      string
	metricsFile string
	at          string
	cacheDir    string
	logLevel    string
}

func (f *evalFlags) register(fs *flag.FlagSet, plan bool) {
	fs.StringVar(&f.config, "config", "", "service config file (AutoscalerConfig) — required")
	fs.Var(&f.policies, "policy", "evaluate only this policy (name or namespace/name); repeatable")
	fs.Var(&f.policyFiles, "policy-file", "extra policy file or directory, evaluated with the repository's own policies; repeatable")
	fs.StringVar(&f.repository, "repository", "", "the repository --policy-file policies belong to (default: the only one)")
	if !plan {
		fs.BoolVar(&f.dryRun, "dry-run", false, "decide and report, commit nothing")
	}
	fs.StringVar(&f.output, "o", "text", "output: text or json")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "read metric values from a trace CSV (timestamp,metric,value) instead of Prometheus")
	fs.StringVar(&f.at, "at", "", "decide as of this instant (RFC 3339 or unix seconds) instead of now")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "where repository clones are kept (default: config cacheDir, else the user cache)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
}

func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return evaluateCommand(ctx, "evaluate", args, stdout, stderr)
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return evaluateCommand(ctx, "plan", args, stdout, stderr)
}

func evaluateCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	plan := name == "plan"
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f evalFlags
	f.register(fs, plan)
	fs.Usage = func() {
		if plan {
			fmt.Fprint(stderr, `Usage: gitops-autoscaler plan --config FILE [flags]

A dry run of evaluate that also prints, for every decision, the diff of the file it would
commit (and the rendered workload's change when the policy has render verification). Nothing
is committed or pushed.

Example:
  gitops-autoscaler plan --config autoscaler.yaml --policy laravel-web

Flags:
`)
		} else {
			fmt.Fprint(stderr, `Usage: gitops-autoscaler evaluate --config FILE [flags]

One evaluation of every policy (or those named by --policy), then exit: fetch each repository,
query the metrics, decide, commit and push (or open pull requests), print the results. This is
what a Jenkins job or a cron calls. Exit status: 0 ok, 1 when a policy errored, 2 bad usage or
invalid config/policies.

Examples:
  gitops-autoscaler evaluate --config autoscaler.yaml
  gitops-autoscaler evaluate --config autoscaler.yaml --policy laravel-demo/laravel-web --dry-run -o json
  gitops-autoscaler evaluate --config autoscaler.yaml --metrics-file trace.csv --at 2026-11-22T09:00:00Z

Flags:
`)
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if plan {
		f.dryRun = true
	}
	env, code := setup(ctx, &f, stderr)
	if env == nil {
		return code
	}
	opts := gitops.CycleOptions{At: env.at, Only: f.policies, DryRun: f.dryRun, Diff: plan}
	var results []gitops.Result
	failed := false
	for _, repo := range env.repos {
		rep, err := env.runner.Cycle(ctx, repo, opts)
		if rep != nil {
			results = append(results, rep.Results...)
		}
		if err != nil {
			failed = true
			fmt.Fprintf(stderr, "error: %v\n", err)
			if isInvalid(err) {
				return exitUsage
			}
		}
	}
	for _, r := range results {
		if r.Action == gitops.ActionError {
			failed = true
		}
	}
	if err := printResults(stdout, f.output, results, plan); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	if failed {
		return exitFailure
	}
	return exitOK
}

// env is what the Git commands share: the config, the repositories and a wired runner.
type env struct {
	cfg    *policy.Config
	repos  []gitops.Repo
	runner *gitops.Runner
	at     time.Time
	log    *slog.Logger
}

// setup loads the config and extra policies and wires a runner; on failure it reports and
// returns the exit code.
func setup(ctx context.Context, f *evalFlags, stderr io.Writer) (*env, int) {
	if f.config == "" {
		fmt.Fprintln(stderr, "error: --config is required (see --help)")
		return nil, exitUsage
	}
	if f.output != "text" && f.output != "json" {
		fmt.Fprintf(stderr, "error: -o %q: want text or json\n", f.output)
		return nil, exitUsage
	}
	log := newLogger(stderr, f.logLevel)
	cfg, err := loadConfig(f.config, f.cacheDir)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, exitUsage
	}
	e := &env{cfg: cfg, log: log}
	if f.at != "" {
		t, err := promclient.ParseTime(f.at)
		if err != nil {
			fmt.Fprintf(stderr, "error: --at %q: %v\n", f.at, err)
			return nil, exitUsage
		}
		e.at = t
	}
	repos, err := reposFor(cfg, f.policyFiles, f.repository)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, exitUsage
	}
	e.repos = repos
	runner, _, err := newRunner(ctx, cfg, f.metricsFile, log)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return nil, exitUsage
	}
	e.runner = runner
	return e, exitOK
}

// loadConfig loads the service config; --cache-dir, when given, overrides its cacheDir.
func loadConfig(file, cacheDir string) (*policy.Config, error) {
	cfg, err := policy.LoadConfigFile(file)
	if err != nil {
		return nil, err
	}
	if cacheDir != "" {
		cfg.CacheDir = cacheDir
	}
	return cfg, nil
}

// reposFor pairs the config's repositories with the policies given on the command line.
func reposFor(cfg *policy.Config, files []string, repoName string) ([]gitops.Repo, error) {
	repos := make([]gitops.Repo, len(cfg.Repositories))
	for i, r := range cfg.Repositories {
		repos[i] = gitops.Repo{Config: r}
	}
	if len(files) == 0 {
		return repos, nil
	}
	ps, err := policy.LoadPolicyFiles(files...)
	if err != nil {
		return nil, err
	}
	idx := -1
	for i, r := range repos {
		if r.Config.Name == repoName || (repoName == "" && len(repos) == 1) {
			idx = i
		}
	}
	if idx < 0 {
		if repoName == "" {
			return nil, errors.New("error: --policy-file with several repositories needs --repository NAME")
		}
		return nil, fmt.Errorf("error: --repository %q is not in the config", repoName)
	}
	for _, p := range ps {
		p.Source.Repository = repos[idx].Config.Name
	}
	repos[idx].Policies = ps
	return repos, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// isInvalid tells a config or policy problem (exit 2) from a runtime failure (exit 1).
func isInvalid(err error) bool {
	var fe *policy.FieldError
	return errors.As(err, &fe)
}

func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

func printResults(w io.Writer, format string, results []gitops.Result, plan bool) error {
	if results == nil {
		results = []gitops.Result{}
	}
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Results []gitops.Result `json:"results"`
		}{results})
	}
	for _, r := range results {
		line := fmt.Sprintf("%s  %s  %d → %d  %s", r.Policy, r.Target, r.From, r.To, r.Action)
		if r.Commit != "" {
			line += "  " + short(r.Commit)
		}
		if r.PullRequest != "" {
			line += "  " + r.PullRequest
		}
		fmt.Fprintln(w, line)
		for _, reason := range r.Reasons {
			fmt.Fprintf(w, "    %s\n", reason.Message)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", r.Error)
		}
		if plan && r.Diff != "" {
			fmt.Fprint(w, indent(r.Diff, "    "))
		}
		if plan && r.Rendered != "" {
			fmt.Fprint(w, indent(r.Rendered, "    "))
		}
	}
	return nil
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString(prefix + l)
	}
	if !strings.HasSuffix(b.String(), "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f evalFlags
	fs.StringVar(&f.config, "config", "", "service config file — required")
	var name string
	fs.StringVar(&name, "policy", "", "the policy (name or namespace/name) — required")
	fs.StringVar(&f.output, "o", "text", "output: text or json")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "where repository clones are kept")
	fs.Var(&f.policyFiles, "policy-file", "extra policy file or directory; repeatable")
	fs.StringVar(&f.repository, "repository", "", "the repository --policy-file policies belong to")
	since := fs.Duration("since", 7*24*time.Hour, "how far back to read")
	f.logLevel = "warn"
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: gitops-autoscaler history --config FILE --policy NAME [-o json] [--since 168h]

The policy's past decisions, reverts of them and manual edits, read from Git (first parent of
the base branch, commit trailers).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if name == "" {
		fmt.Fprintln(stderr, "error: --policy is required (see --help)")
		return exitUsage
	}
	e, code := setup(ctx, &f, stderr)
	if e == nil {
		return code
	}
	now := e.runner.Now()
	for _, repo := range e.repos {
		events, _, err := e.runner.History(ctx, repo, name, now.Add(-*since))
		if err != nil {
			if strings.Contains(err.Error(), "no policy") && len(e.repos) > 1 {
				continue
			}
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitFailure
		}
		sort.SliceStable(events, func(i, j int) bool { return events[i].At.After(events[j].At) })
		if f.output == "json" {
			if events == nil {
				events = []policy.Event{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(struct {
				Events []policy.Event `json:"events"`
			}{events})
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tKIND\tFROM → TO\tCOMMIT\tAUTHOR\tSUBJECT")
		for _, ev := range events {
			fmt.Fprintf(tw, "%s\t%s\t%d → %d\t%s\t%s\t%s\n", ev.At.UTC().Format(time.RFC3339), ev.Kind, ev.From, ev.To, short(ev.Commit), ev.Author, ev.Subject)
		}
		_ = tw.Flush()
		return exitOK
	}
	fmt.Fprintf(stderr, "error: no policy %q\n", name)
	return exitFailure
}

func runScale(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f evalFlags
	fs.StringVar(&f.config, "config", "", "service config file — required")
	var name, reason, by string
	to := fs.Int("to", -1, "the replica count to set — required")
	fs.StringVar(&name, "policy", "", "the policy (name or namespace/name) — required")
	fs.StringVar(&reason, "reason", "", "why: goes into the commit message — required")
	fs.StringVar(&by, "requested-by", os.Getenv("USER"), "who asks (Autoscaler-Requested-By trailer)")
	fs.StringVar(&f.output, "o", "text", "output: text or json")
	fs.StringVar(&f.cacheDir, "cache-dir", "", "where repository clones are kept")
	fs.Var(&f.policyFiles, "policy-file", "extra policy file or directory; repeatable")
	fs.StringVar(&f.repository, "repository", "", "the repository --policy-file policies belong to")
	f.logLevel = "warn"
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: gitops-autoscaler scale --config FILE --policy NAME --to N --reason TEXT

A manual, audited scale through the same path as a decision: one commit changing the one
replica number, with your reason and the Autoscaler-Manual trailer, pushed to the base branch.
The policy's manual-edit hold does not apply to it; its cooldowns do.

Example:
  gitops-autoscaler scale --config autoscaler.yaml --policy laravel-web --to 12 --reason "launch at 10:00"

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if name == "" || *to < 0 || strings.TrimSpace(reason) == "" {
		fmt.Fprintln(stderr, "error: --policy, --to and --reason are required (see --help)")
		return exitUsage
	}
	e, code := setup(ctx, &f, stderr)
	if e == nil {
		return code
	}
	for _, repo := range e.repos {
		rep, err := e.runner.Scale(ctx, repo, gitops.ManualScale{Policy: name, To: *to, Reason: reason, RequestedBy: by})
		if err != nil && strings.Contains(err.Error(), "no policy") && len(e.repos) > 1 {
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitFailure
		}
		if err := printResults(stdout, f.output, rep.Results, false); err != nil {
			return exitUsage
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "error: no policy %q\n", name)
	return exitFailure
}
