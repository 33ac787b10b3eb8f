package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	// Schedules name IANA time zones; embedding the database lets a minimal image (no
	// /usr/share/zoneinfo) validate and evaluate them the same as any other machine.
	_ "time/tzdata"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

var validateHelp = help{
	usage: "gitops-autoscaler validate [--repo DIR] PATH...",
	about: `Check policy and config files before they reach the autoscaler. Each PATH is a file or a
directory (its *.yaml and *.yml files, recursively); a file may hold several documents
separated by ---. Documents are told apart by kind: PrometheusAutoscaler (a policy) or
AutoscalerConfig (the service config).

What is checked:
  - YAML syntax, unknown fields and wrong types, at any depth
  - every policy rule: thresholds (present, numeric, scaleDown below scaleUp), steps >= 1,
    0 <= minReplicas <= maxReplicas, one rule form per metric (step rule or target),
    target types, weights only with aggregation: weighted, mode/delivery/aggregation values,
    cron specs and time zones, HPA behavior bounds, and that replicas.file and render paths
    stay inside the repository
  - config: repositories, URLs, exactly one auth form, secrets only by file or environment
    variable, Prometheus servers, policy globs
  - across documents: duplicate policy names, two policies writing the same file and path,
    and, when a config is given too, Prometheus servers it does not define
  - with --repo DIR, against the repository the policies belong to: that the chart,
    Application or HelmRelease a render block names is there and renders from this
    repository (no remote chart, no values from the cluster), and that replicas.file is
    among the files that render reads — a values file the Application does not list can
    never reach the workload

Every problem is printed to stderr as file:line: field: message, all of them, not just the
first. Warnings (e.g. a policy without spec.replicas) print as file:line: warning: … and do
not fail the check.`,
	example: `gitops-autoscaler validate --repo . config.yaml autoscaling/
autoscaling/web.yaml:14: spec.metrics[0].scaleDown.threshold: 300 must be below scaleUp.threshold 250
autoscaling/web.yaml:9: spec.replicas.file: envs/prod/web.yaml is not among the files the render reads (helm chart charts/web reads the chart's values.yaml, envs/prod/values.yaml, argocd/web.yaml spec.source.helm.valuesObject): an edit of it cannot reach the workload`,
	exit: "0 valid (warnings allowed), 2 invalid or usage error.",
}

// validateOptions are the parsed arguments of `validate`.
type validateOptions struct {
	paths []string
	repo  string
}

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate")
	var o validateOptions
	fs.StringVar(&o.repo, "repo", "", "the repository `DIR` the policies' replicas and render paths are relative to; "+
		"without it the checks against the repository are skipped")
	check := func() error {
		if fs.NArg() == 0 {
			return errors.New("no PATH given")
		}
		o.paths = fs.Args()
		return nil
	}
	if code, done := parse(fs, args, validateHelp, check, stdout, stderr); done {
		return code
	}
	return validate(o, stdout, stderr)
}

// validate loads every document under the paths, runs the set-level checks, and reports.
func validate(opts validateOptions, stdout, stderr io.Writer) int {
	docs, err := policy.LoadFiles(opts.paths...)
	problems := newLineSet()
	problems.add(err)
	if len(docs.Configs) == 0 {
		problems.add(policy.ValidateSet(nil, docs.Policies))
	}
	for _, cfg := range docs.Configs {
		problems.add(policy.ValidateSet(cfg, docs.Policies))
	}
	if err == nil && opts.repo != "" {
		for _, p := range docs.Policies {
			problems.add(render.CheckPolicy(opts.repo, nil, p))
		}
	}
	for _, w := range docs.Warnings {
		fmt.Fprintln(stderr, w)
	}
	for _, line := range problems.lines {
		fmt.Fprintln(stderr, line)
	}
	if len(problems.lines) > 0 {
		return exitUsage
	}
	fmt.Fprintf(stdout, "ok: %d policies, %d configs\n", len(docs.Policies), len(docs.Configs))
	return exitOK
}

// lineSet keeps the lines of joined errors in order, once each: with several configs the
// same set-level problem would otherwise print once per config.
type lineSet struct {
	lines []string
	seen  map[string]bool
}

func newLineSet() *lineSet { return &lineSet{seen: map[string]bool{}} }

func (s *lineSet) add(err error) {
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !s.seen[line] {
			s.seen[line] = true
			s.lines = append(s.lines, line)
		}
	}
}
