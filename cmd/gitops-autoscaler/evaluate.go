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
	"os/exec"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
	"github.com/gitops-autoscaler/gitops-autoscaler/promclient"
)

// repoOptions are the options of the commands that work on the configured repositories
// (evaluate, plan, history, scale).
type repoOptions struct {
	config      string
	policyFiles stringList
	repository  string
	output      string
	cacheDir    string
	logLevel    string
}

// define registers the shared flags on fs; policyFile is the --policy-file usage, which says
// what the command does with the extra policies.
func (o *repoOptions) define(fs *flag.FlagSet, policyFile string) {
	fs.StringVar(&o.config, "config", "", "the service config `FILE` (AutoscalerConfig); required")
	fs.Var(&o.policyFiles, "policy-file", policyFile)
	fs.StringVar(&o.repository, "repository", "", "the repository `NAME` the --policy-file policies belong to (default: the only one)")
	fs.StringVar(&o.output, "o", "text", "output `FORMAT`: text or json")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "the `DIR` repository clones are kept in (default: the config's cacheDir, else the user cache)")
}

// check is the shared part of a command's check.
func (o *repoOptions) check(fs *flag.FlagSet) error {
	switch {
	case o.config == "":
		return errors.New("--config is required")
	case o.output != "text" && o.output != "json":
		return fmt.Errorf("-o %q: want text or json", o.output)
	}
	return noArguments(fs)
}

// evaluateOptions are the options of evaluate and plan.
type evaluateOptions struct {
	repoOptions
	policies    stringList
	dryRun      bool
	plan        bool
	metricsFile string
	at          time.Time
}

// define registers evaluate's (or plan's) flags on fs and returns its check.
func (o *evaluateOptions) define(fs *flag.FlagSet) func() error {
	o.repoOptions.define(fs, "an extra policy `FILE` or directory, evaluated with the repository's own policies; repeatable")
	fs.Var(&o.policies, "policy", "evaluate only this policy (`NAME` or namespace/name); repeatable")
	if !o.plan {
		fs.BoolVar(&o.dryRun, "dry-run", false, "decide and report, commit nothing")
	}
	fs.StringVar(&o.metricsFile, "metrics-file", "", "read metric values from a trace `CSV` (timestamp,metric,value) instead of Prometheus")
	var at string
	fs.StringVar(&at, "at", "", "decide as of the instant `T` (RFC 3339 or unix seconds) instead of now")
	fs.StringVar(&o.logLevel, "log-level", "warn", "the `LEVEL` of the log on stderr: debug, info, warn or error")
	return func() error {
		if err := o.repoOptions.check(fs); err != nil {
			return err
		}
		if at != "" {
			t, err := promclient.ParseTime(at)
			if err != nil {
				return fmt.Errorf("--at %q: %w", at, err)
			}
			o.at = t
		}
		if o.plan {
			o.dryRun = true
		}
		return nil
	}
}

var evaluateHelp = help{
	usage: "gitops-autoscaler evaluate --config FILE [--policy NAME]... [--dry-run] [-o text|json] [flags]",
	about: `One evaluation of every policy (or those named by --policy), then exit: fetch each repository,
query the metrics, decide, commit and push (or open pull requests), print the results. This is
what a Jenkins job or a cron calls. Each repository's cycle is bounded by the config's
cycleTimeout (default 2m), so a Git server that stops answering fails the run instead of hanging
it. --metrics-file and --at replay a trace instead of querying Prometheus, for demos and
air-gapped dry runs.`,
	example: `gitops-autoscaler evaluate --config autoscaler.yaml
gitops-autoscaler evaluate --config autoscaler.yaml --policy laravel-demo/laravel-web --dry-run -o json
gitops-autoscaler evaluate --config autoscaler.yaml --metrics-file trace.csv --at 2026-11-22T09:00:00Z`,
	exit: exitStatusEvaluate,
}

// exitStatusEvaluate is evaluate's and plan's exit status, documented for the jobs that read it
// (docs/design.md §8, "Exit codes tell the truth").
const exitStatusEvaluate = "0 every policy decided (committed, unchanged, held by a hold, or proposed); " +
	"1 a policy errored (its result says why; an invalid policy document in a repository is its policies' error, and the others are evaluated), or its decision did not land (action deferred: every push lost its race to concurrent changes); " +
	"2 usage error or invalid config or --policy-file; " +
	"3 no error, but some policies were blind: a metric had no usable value (Prometheus unreachable, a query failed or returned nothing, or the trace lacks it), so they held (action held-blind, field blind in -o json). " +
	"Precedence: 2, then 1, then 3."

var planHelp = help{
	usage: "gitops-autoscaler plan --config FILE [--policy NAME]... [flags]",
	about: `A dry run of evaluate that also prints, for every decision, the diff of the file it would
commit (and the rendered workload's change when the policy has render verification). Nothing
is committed or pushed.`,
	example: "gitops-autoscaler plan --config autoscaler.yaml --policy laravel-web",
	exit:    exitStatusEvaluate,
}

func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEvaluateOrPlan(ctx, false, args, stdout, stderr)
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runEvaluateOrPlan(ctx, true, args, stdout, stderr)
}

func runEvaluateOrPlan(ctx context.Context, plan bool, args []string, stdout, stderr io.Writer) int {
	name, h := "evaluate", evaluateHelp
	if plan {
		name, h = "plan", planHelp
	}
	fs := newFlagSet(name)
	o := evaluateOptions{plan: plan}
	if code, done := parse(fs, args, h, o.define(fs), stdout, stderr); done {
		return code
	}
	return evaluate(ctx, o, stdout, stderr)
}

// evaluate runs one cycle of every configured repository and prints the results.
func evaluate(ctx context.Context, o evaluateOptions, stdout, stderr io.Writer) int {
	e, code := setup(ctx, o.repoOptions, o.metricsFile, stderr)
	if e == nil {
		return code
	}
	opts := gitops.CycleOptions{At: o.at, Only: o.policies, DryRun: o.dryRun, Diff: o.plan}
	var results []gitops.Result
	failed := false
	for _, repo := range e.repos {
		// A repository's cycle gets the config's cycleTimeout, as in serve: a Git server that
		// stops answering mid-fetch fails this run instead of hanging the job.
		cctx, cancel := context.WithTimeout(ctx, e.cfg.CycleTimeout.Duration)
		rep, err := e.runner.Cycle(cctx, repo, opts)
		cancel()
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
	blind := 0
	for _, r := range results {
		switch {
		case r.Action == gitops.ActionError, r.Action == gitops.ActionDeferred:
			// A deferred decision did not land, and a one-shot run has no next cycle.
			failed = true
		case len(r.Blind) > 0:
			blind++
		}
	}
	if err := printResults(stdout, o.output, results, o.plan); err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return exitUsage
	}
	switch {
	case failed:
		return exitFailure
	case blind > 0:
		fmt.Fprintf(stderr, "blind: %s could not see all %s metrics (a query failed, returned nothing, or the trace lacks it) and held (exit %d)\n",
			plural(blind, "policy", "policies"), pluralWord(blind, "its", "their"), exitBlind)
		return exitBlind
	}
	return exitOK
}

// env is what the Git commands share: the config, the repositories and a wired runner.
type env struct {
	cfg    *svcconfig.Config
	repos  []gitops.Repo
	runner *gitops.Runner
}

// setup loads the config and extra policies and wires a runner; on failure it reports and
// returns the exit code.
func setup(ctx context.Context, o repoOptions, metricsFile string, stderr io.Writer) (*env, int) {
	log := newLogger(stderr, o.logLevel)
	cfg, err := loadConfig(o.config, o.cacheDir)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, exitUsage
	}
	repos, err := reposFor(cfg, o.policyFiles, o.repository)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return nil, exitUsage
	}
	runner, _, _, err := newRunner(ctx, cfg, metricsFile, log)
	if err != nil {
		fmt.Fprintf(stderr, "error: %v\n", err)
		return nil, exitUsage
	}
	return &env{cfg: cfg, repos: repos, runner: runner}, exitOK
}

// loadConfig loads the service config; --cache-dir, when given, overrides its cacheDir.
func loadConfig(file, cacheDir string) (*svcconfig.Config, error) {
	cfg, err := svcconfig.LoadConfigFile(file)
	if err != nil {
		return nil, err
	}
	if cacheDir != "" {
		cfg.CacheDir = cacheDir
	}
	return cfg, nil
}

// reposFor pairs the config's repositories with the policies given on the command line.
func reposFor(cfg *svcconfig.Config, files []string, repoName string) ([]gitops.Repo, error) {
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
		if r.Invalid != "" {
			name := r.Policy
			if name == "" {
				name = "(unnamed)"
			}
			fmt.Fprintf(w, "%s  invalid document %s  %s\n%s", name, r.Invalid, r.Action, indent(r.Error+"\n", "    "))
			continue
		}
		line := fmt.Sprintf("%s  %s  %d → %d  %s", r.Policy, r.Target, r.From, r.To, r.Action)
		if r.Action == gitops.ActionError && r.From == 0 && r.To == 0 {
			// The count was never read: "0 → 0" would be a count it does not know.
			line = fmt.Sprintf("%s  %s  %s", r.Policy, r.Target, r.Action)
		}
		if r.Commit != "" {
			line += "  " + gitname.Short(r.Commit)
		}
		if r.PullRequest != "" {
			line += "  " + r.PullRequest
		}
		fmt.Fprintln(w, line)
		for _, reason := range r.Reasons {
			fmt.Fprintf(w, "    %s\n", reason.Message)
		}
		for _, b := range r.Blind {
			fmt.Fprintf(w, "    blind: %s\n", b)
		}
		if r.Shadow != nil {
			fmt.Fprintf(w, "    %s\n", r.Shadow.Summary())
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

// historyOptions are the options of `history`.
type historyOptions struct {
	repoOptions
	policy string
	since  time.Duration
}

var historyHelp = help{
	usage: "gitops-autoscaler history --config FILE --policy NAME [--since 168h] [-o text|json]",
	about: `The policy's past decisions, the reverts of them and the manual edits of its replica count,
newest first, read from Git: the first parents of the base branch and their Autoscaler-*
trailers.`,
	example: `gitops-autoscaler history --config autoscaler.yaml --policy laravel-demo/laravel-web --since 24h
TIME                  KIND      FROM → TO  COMMIT        AUTHOR                                             SUBJECT
2026-11-22T09:24:00Z  decision  4 → 3      7cb466cdf447  gitops-autoscaler <gitops-autoscaler@example.com>  autoscale(laravel-demo/laravel-web): 4 → 3 replicas`,
	exit: "0 done, 1 the repository could not be read or has no such policy, 2 usage error or invalid config.",
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history")
	o := historyOptions{repoOptions: repoOptions{logLevel: "warn"}}
	o.repoOptions.define(fs, "a policy `FILE` or directory not committed to the repository yet, whose history to read; repeatable")
	fs.StringVar(&o.policy, "policy", "", "the policy (`NAME` or namespace/name); required")
	fs.DurationVar(&o.since, "since", 7*24*time.Hour, "how far back to read, as a duration `D`")
	check := func() error {
		if err := o.repoOptions.check(fs); err != nil {
			return err
		}
		if o.policy == "" {
			return errors.New("--policy is required")
		}
		return nil
	}
	if code, done := parse(fs, args, historyHelp, check, stdout, stderr); done {
		return code
	}
	return history(ctx, o, stdout, stderr)
}

// history prints the policy's events from the first repository that has it.
func history(ctx context.Context, o historyOptions, stdout, stderr io.Writer) int {
	e, code := setup(ctx, o.repoOptions, "", stderr)
	if e == nil {
		return code
	}
	now := e.runner.Now()
	for _, repo := range e.repos {
		events, _, err := e.runner.History(ctx, repo, o.policy, now.Add(-o.since))
		if err != nil {
			if errors.Is(err, gitops.ErrUnknownPolicy) && len(e.repos) > 1 {
				continue
			}
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitFailure
		}
		sort.SliceStable(events, func(i, j int) bool { return events[i].At.After(events[j].At) })
		if o.output == "json" {
			if events == nil {
				events = []engine.Event{}
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(struct {
				Events []engine.Event `json:"events"`
			}{events})
			return exitOK
		}
		if len(events) == 0 {
			fmt.Fprintf(stdout, "no decisions, reverts or manual edits of %s since %s (--since %s)\n",
				o.policy, now.Add(-o.since).UTC().Format(time.RFC3339), shortDuration(o.since.String()))
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TIME\tKIND\tFROM → TO\tCOMMIT\tAUTHOR\tSUBJECT")
		for _, ev := range events {
			fmt.Fprintf(tw, "%s\t%s\t%d → %d\t%s\t%s\t%s\n", ev.At.UTC().Format(time.RFC3339), ev.Kind, ev.From, ev.To, gitname.Short(ev.Commit), ev.Author, ev.Subject)
		}
		_ = tw.Flush()
		return exitOK
	}
	fmt.Fprintf(stderr, "error: no policy %q\n", o.policy)
	return exitFailure
}

// scaleOptions are the options of `scale`.
type scaleOptions struct {
	repoOptions
	scale gitops.ManualScale
}

var scaleHelp = help{
	usage: "gitops-autoscaler scale --config FILE --policy NAME --to N --reason TEXT [--hold 1h] [--requested-by NAME] [flags]",
	about: `A manual, audited scale through the same path as a decision: one commit changing the one
replica number, with your reason, who asked (Autoscaler-Requested-By, and Co-authored-by when
it is "Name <email>") and the Autoscaler-Manual trailer, pushed to the base branch. The count
must be within the policy's minReplicas and maxReplicas.

--hold decides how long the policy then leaves the count alone: for that long its decisions
hold (reason ManualEditHold, "… < its --hold 3600s"), after which it follows load again. The
hold is written in the commit (Autoscaler-Hold), so the service and every one-shot run see
the same. --hold 0 lets the policy move the count at its next run. The policy's
afterManualEditSeconds is for edits by hand, not for this command.`,
	example: `gitops-autoscaler scale --config autoscaler.yaml --policy laravel-web --to 12 --reason "launch at 10:00" --hold 2h
laravel-demo/laravel-web  envs/prod/values.yaml#web.replicaCount  4 → 12  committed  1f0c2a9d3b4e`,
	exit: "0 committed (or nothing to change), 1 the scale failed, 2 usage error or invalid config.",
}

// defaultRequestedBy is who asks for a manual scale when --requested-by is not given: the Git
// config's user.name and user.email as "Name <email>", else $USER, else "".
func defaultRequestedBy() string {
	get := func(key string) string {
		out, err := exec.Command("git", "config", "--get", key).Output()
		if err != nil || len(out) > 1024 {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	name, email := get("user.name"), get("user.email")
	switch {
	case name != "" && email != "":
		return name + " <" + email + ">"
	case name != "":
		return name
	}
	return os.Getenv("USER")
}

func runScale(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("scale")
	o := scaleOptions{repoOptions: repoOptions{logLevel: "warn"}}
	o.repoOptions.define(fs, "a policy `FILE` or directory not committed to the repository yet, whose bounds the scale keeps to; repeatable")
	fs.IntVar(&o.scale.To, "to", -1, "the replica count `N` to set (required; within the policy's minReplicas and maxReplicas)")
	fs.StringVar(&o.scale.Policy, "policy", "", "the policy (`NAME` or namespace/name); required")
	fs.StringVar(&o.scale.Reason, "reason", "", "why, in the commit message: `TEXT`; required")
	requestedBy := fs.String("requested-by", "", "who asks, as the Autoscaler-Requested-By trailer (and Co-authored-by when it is \"Name <email>\"): `NAME` "+
		"(default: git config user.name and user.email, else $USER)")
	fs.DurationVar(&o.scale.Hold, "hold", time.Hour, "how long the policy leaves the new count alone, as a duration `D`; 0: the policy may move it at its next run")
	check := func() error {
		if err := o.repoOptions.check(fs); err != nil {
			return err
		}
		if o.scale.Policy == "" || o.scale.To < 0 || strings.TrimSpace(o.scale.Reason) == "" {
			return errors.New("--policy, --to and --reason are required")
		}
		if o.scale.Hold < 0 {
			return fmt.Errorf("--hold %s: must not be negative", o.scale.Hold)
		}
		o.scale.RequestedBy = strings.TrimSpace(*requestedBy)
		if o.scale.RequestedBy == "" {
			o.scale.RequestedBy = defaultRequestedBy()
		}
		return nil
	}
	if code, done := parse(fs, args, scaleHelp, check, stdout, stderr); done {
		return code
	}
	return scale(ctx, o, stdout, stderr)
}

// scale commits the manual scale in the first repository that has the policy.
func scale(ctx context.Context, o scaleOptions, stdout, stderr io.Writer) int {
	e, code := setup(ctx, o.repoOptions, "", stderr)
	if e == nil {
		return code
	}
	for _, repo := range e.repos {
		rep, err := e.runner.Scale(ctx, repo, o.scale)
		if err != nil && errors.Is(err, gitops.ErrUnknownPolicy) && len(e.repos) > 1 {
			continue
		}
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return exitFailure
		}
		if err := printResults(stdout, o.output, rep.Results, false); err != nil {
			return exitUsage
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "error: no policy %q\n", o.scale.Policy)
	return exitFailure
}
