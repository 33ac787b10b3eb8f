// Command gitops-autoscaler scales Kubernetes workloads on Prometheus signals by writing the
// decision into Git. See the README and `gitops-autoscaler help`.
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
)

// command is one subcommand: its one-line summary and its entry point.
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
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "gitops-autoscaler: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprint(w, `gitops-autoscaler scales Kubernetes workloads on Prometheus signals by committing the
replica count to Git — it never calls the Kubernetes API.

Usage: gitops-autoscaler <command> [flags]

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
	fmt.Fprint(w, "\nRun 'gitops-autoscaler <command> --help' for a command's flags.\n")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "gitops-autoscaler %s\n", version)
	return exitOK
}
