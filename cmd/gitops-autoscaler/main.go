package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// version is set at build time (-ldflags -X main.version=…).
var version = "dev"

// Exit codes (docs/design.md §8).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitBlind: evaluate and plan ran without error, but some policies held blind — a metric
	// had no usable value (docs/design.md §8, "Exit codes tell the truth").
	exitBlind = 3
)

// command is one subcommand: its one-line summary and its entry point, which parses its
// arguments into the command's options and runs with them.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the CLI's table of subcommands.
func commands() map[string]command {
	return map[string]command{
		"version":  {"print the version", runVersion},
		"serve":    {"the service: every policy on its schedule, HTTP API, metrics and status page", runServe},
		"validate": {"check policy and config files; every error as file:line: field: message", runValidate},
		"evaluate": {"evaluate every (or the named) policy once, commit and push, then exit", runEvaluate},
		"plan":     {"evaluate as a dry run and print the diff each decision would commit", runPlan},
		"history":  {"a policy's past decisions, reverts and manual edits, from Git", runHistory},
		"scale":    {"a manual, audited scale through the same path as a decision", runScale},
		"backtest": {"replay a policy over past metrics: every decision it would have made, and why", runBacktest},
		"import":   {"turn KEDA ScaledObjects, HPAs and original PrometheusAutoscalers into policies", runImport},
	}
}

func main() {
	// Only main turns signals into cancellation.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	switch {
	case len(args) == 0:
		usage(stderr, cmds)
		return exitUsage
	case args[0] == "help" && len(args) > 1:
		if c, ok := cmds[args[1]]; ok {
			return c.run(ctx, []string{"--help"}, stdout, stderr)
		}
		args = args[1:]
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		usage(stdout, cmds)
		return exitOK
	case args[0] == "--version" || args[0] == "-version" || args[0] == "-v":
		return runVersion(ctx, args[1:], stdout, stderr)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "gitops-autoscaler: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

// usage is the CLI's own help, in the style of every command's.
func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprint(w, `Usage: gitops-autoscaler <command> [flags]

gitops-autoscaler scales Kubernetes workloads on Prometheus signals by committing the replica
count to Git — it never calls the Kubernetes API.

Commands:
`)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprint(w, `
Run 'gitops-autoscaler <command> --help' (or 'gitops-autoscaler help <command>') for a command's
flags and an example; 'gitops-autoscaler --version' prints the version.

Example:
  gitops-autoscaler validate autoscaler.yaml autoscaling/
  gitops-autoscaler plan --config autoscaler.yaml
  gitops-autoscaler serve --config autoscaler.yaml

Exit status: 0 done, 1 runtime failure, 2 usage error or invalid config or policy, 3 (evaluate,
plan) some policies held blind: a metric had no usable value.
`)
}

var versionHelp = help{
	usage:   "gitops-autoscaler version (or --version)",
	about:   "Print the version of this build.",
	example: "gitops-autoscaler version\ngitops-autoscaler dev",
	exit:    "0 always, 2 usage error.",
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version")
	if code, done := parse(fs, args, versionHelp, func() error { return noArguments(fs) }, stdout, stderr); done {
		return code
	}
	fmt.Fprintf(stdout, "gitops-autoscaler %s\n", version)
	return exitOK
}
