package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	// Schedules name IANA time zones; embedding the database lets a minimal image (no
	// /usr/share/zoneinfo) validate and evaluate them the same as any other machine.
	_ "time/tzdata"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/render"
)

var validateHelp = help{
	usage: "gitops-autoscaler validate [--repo DIR] PATH...",
	about: `Check policy and config files before they reach the autoscaler. Each PATH is a file or a
directory (its *.yaml and *.yml files, recursively); a file may hold several documents
separated by ---. Documents are told apart by kind: PrometheusAutoscaler (a policy) or
AutoscalerConfig (the service config). In a directory, YAML files that are not ours (no such
kind and no autoscaler.gitops.dev apiVersion: a chart's Chart.yaml and templates, Argo CD
Applications, manifests) are skipped, and the summary says how many; a file named itself is
always checked.

What is checked:
  - YAML syntax, unknown fields and wrong types, at any depth
  - every PromQL query (metrics, shadow, syncCheck), parsed by Prometheus's own parser: an
    error names the parser's line:column in the query; warnings for rate() or increase() over
    a name not ending in _total, _count, _sum or _bucket, and a range shorter than 60s
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
  - with --repo DIR, that every file the documents name exists: each replicas.file in DIR, and
    each secret, key and CA file of a config (tokenFile, passwordFile, privateKeyFile, …) on
    this machine — checked for existence only, never read or printed; run it where the
    service's secrets are mounted, or leave the config out
  - with --repo DIR, what the loop refuses across the repository's policies (its documents
    under the config's policy globs, plus those given): a policy that writes another team's
    file (the config's owners), a policy document, the service config, Git's or CI's
    configuration; and of two policies with one name or on one value (however its path is
    spelled), the newcomer — the one that claimed it later in the history of DIR's HEAD (a
    document not committed yet is the newcomer), both when they came in one commit. DIR is
    the repository's root. With a config of several repositories, --repository names the
    one DIR is a checkout of (default: the one whose policy globs the given documents
    match). A CODEOWNERS file in DIR while the config declares no owners is a warning

Every problem is printed to stderr as file:line: field: message, all of them, not just the
first. Warnings (e.g. a policy without spec.replicas) print as file:line: warning: … and do
not fail the check.`,
	example: `gitops-autoscaler validate --repo . config.yaml autoscaling/
autoscaling/web.yaml:14: spec.metrics[0].scaleDown.threshold: 300 must be below scaleUp.threshold 250
autoscaling/web.yaml:9: spec.replicas.file: envs/prod/web.yaml is not among the files the render reads (helm chart charts/web reads the chart's values.yaml, envs/prod/values.yaml, argocd/web.yaml spec.source.helm.valuesObject): an edit of it cannot reach the workload
autoscaling/copy.yaml:4: metadata.name: policy shop/web is already claimed by autoscaling/web.yaml:4, first in Git history (this one is not in the branch's history yet); this one is refused`,
	exit: "0 valid (warnings allowed), 2 invalid or usage error.",
}

// validateOptions are the parsed arguments of `validate`.
type validateOptions struct {
	paths      []string
	repo       string
	repository string
}

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("validate")
	var o validateOptions
	fs.StringVar(&o.repo, "repo", "", "the repository `DIR` the policies' replicas and render paths are relative to; "+
		"without it the checks against the repository are skipped")
	fs.StringVar(&o.repository, "repository", "", "with --repo and a config of several repositories, the configured repository `NAME` DIR is a checkout of")
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
	warnings := make([]string, 0, len(docs.Warnings))
	for _, w := range docs.Warnings {
		warnings = append(warnings, w.String())
	}
	switch {
	case opts.repo != "" && len(docs.Configs) == 0:
		problems.add(checkRepo(nil, nil, opts.repo, docs.Policies))
	case opts.repo != "":
		for _, cfg := range docs.Configs {
			rc, err := repositoryOf(cfg, opts, docs.Policies)
			if err != nil {
				fmt.Fprintf(stderr, "error: %v\n", err)
				return exitUsage
			}
			problems.add(checkRepo(cfg, rc, opts.repo, docs.Policies))
			if w := codeOwnersWarning(cfg, rc, opts.repo); w != "" {
				warnings = append(warnings, w)
			}
		}
	case len(docs.Configs) == 0:
		problems.add(policy.ValidateSet(nil, docs.Policies))
	default:
		for _, cfg := range docs.Configs {
			problems.add(policy.ValidateSet(cfg, docs.Policies))
		}
	}
	if opts.repo != "" {
		problems.add(checkReferencedFiles(opts.repo, docs))
	}
	if err == nil && opts.repo != "" {
		for _, p := range docs.Policies {
			problems.add(render.CheckPolicy(opts.repo, nil, p))
		}
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	for _, line := range problems.lines {
		fmt.Fprintln(stderr, line)
	}
	skipped := ""
	if n := len(docs.Skipped); n > 0 {
		skipped = fmt.Sprintf("; skipped %s with no %s or %s (not ours)", plural(n, "YAML file", "YAML files"), policy.KindPolicy, policy.KindConfig)
	}
	if len(problems.lines) > 0 {
		if skipped != "" {
			fmt.Fprintln(stderr, strings.TrimPrefix(skipped, "; "))
		}
		return exitUsage
	}
	fmt.Fprintf(stdout, "ok: %s, %s%s\n", plural(len(docs.Policies), "policy", "policies"), plural(len(docs.Configs), "config", "configs"), skipped)
	return exitOK
}

// checkReferencedFiles is the part of --repo that checks that what the documents name exists:
// each policy's replicas.file in the repository at dir, and each config's secret, key and CA
// files (every field named …File) on this machine. It stats them only: a secret is never read,
// and only its path is printed.
func checkReferencedFiles(dir string, docs *policy.Documents) error {
	var errs []error
	for _, p := range docs.Policies {
		r := p.Spec.Replicas
		if r == nil || r.File == "" {
			continue
		}
		if info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(r.File))); err != nil || !info.Mode().IsRegular() {
			errs = append(errs, &policy.FieldError{File: p.Source.File, Line: p.Source.LineOf("spec.replicas.file"), Field: "spec.replicas.file",
				Msg: fmt.Sprintf("%s does not exist in the repository %s", r.File, dir)})
		}
	}
	for _, cfg := range docs.Configs {
		for _, ref := range fileFields(reflect.ValueOf(cfg).Elem(), "") {
			if info, err := os.Stat(ref.path); err != nil || info.IsDir() {
				errs = append(errs, &policy.FieldError{File: cfg.Source.File, Line: cfg.Source.LineOf(ref.field), Field: ref.field,
					Msg: fmt.Sprintf("%s does not exist (checked for existence only, never read)", ref.path)})
			}
		}
	}
	return errors.Join(errs...)
}

// fileRef is a file a config field names: the field's path (repositories[0].auth.tokenFile)
// and the file.
type fileRef struct{ field, path string }

// fileFields lists the non-empty string fields of v whose YAML name ends in "File", at any
// depth, with their field paths.
func fileFields(v reflect.Value, prefix string) []fileRef {
	var out []fileRef
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			out = append(out, fileFields(v.Elem(), prefix)...)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			out = append(out, fileFields(v.Index(i), fmt.Sprintf("%s[%d]", prefix, i))...)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" || name == "-" {
				continue
			}
			field := name
			if prefix != "" {
				field = prefix + "." + name
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.String && strings.HasSuffix(name, "File") {
				if fv.String() != "" {
					out = append(out, fileRef{field: field, path: fv.String()})
				}
				continue
			}
			out = append(out, fileFields(fv, field)...)
		}
	}
	return out
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

// repositoryOf is the configured repository the checkout at --repo is of: --repository's, the
// config's only one, or the one whose policy globs the given documents match.
func repositoryOf(cfg *policy.Config, opts validateOptions, given []*policy.Policy) (*policy.Repository, error) {
	var names []string
	for i := range cfg.Repositories {
		names = append(names, cfg.Repositories[i].Name)
		if opts.repository != "" && cfg.Repositories[i].Name == opts.repository {
			return &cfg.Repositories[i], nil
		}
	}
	switch {
	case opts.repository != "":
		return nil, fmt.Errorf("--repository %q is not in %s (it has: %s)", opts.repository, cfg.Source.File, strings.Join(names, ", "))
	case len(cfg.Repositories) == 1:
		return &cfg.Repositories[0], nil
	}
	var matched []*policy.Repository
	for i := range cfg.Repositories {
		rc := &cfg.Repositories[i]
		for _, p := range given {
			if rel := inRepo(opts.repo, p.Source.File); rel != "" && matchesAny(rc.Policies, rel) {
				matched = append(matched, rc)
				break
			}
		}
	}
	if len(matched) == 1 {
		return matched[0], nil
	}
	return nil, fmt.Errorf("--repo with %s, which has several repositories (%s): name the one %s is a checkout of with --repository NAME",
		cfg.Source.File, strings.Join(names, ", "), opts.repo)
}

// checkRepo runs the loop's set checks (gitops.CheckCheckout) over the repository's policies at
// dir — its documents under rc's policy globs and the given ones — and returns every refusal,
// and every repository document that does not load, as problems.
func checkRepo(cfg *policy.Config, rc *policy.Repository, dir string, given []*policy.Policy) error {
	var errs []error
	all := append([]*policy.Policy(nil), given...)
	seen := map[string]bool{}
	for _, p := range given {
		seen[absPath(p.Source.File)] = true
	}
	if rc != nil && len(rc.Policies) > 0 {
		found, bad, err := repoDocuments(dir, rc.Policies, seen)
		all = append(all, found...)
		for _, iv := range bad {
			errs = append(errs, iv)
		}
		errs = append(errs, err)
	}
	name := ""
	if rc != nil {
		name = rc.Name
	}
	for _, p := range all {
		p.Source.Repository = name
	}
	_, refused := gitops.CheckCheckout(cfg, rc, dir, all, func(p *policy.Policy) string { return inRepo(dir, p.Source.File) })
	for _, iv := range refused {
		errs = append(errs, iv)
	}
	return errors.Join(errs...)
}

// repoDocuments loads the policy documents under the globs in the checkout at dir that are not
// among skip (absolute paths), each file on its own, each at most maxRepoDocument bytes.
func repoDocuments(dir string, globs []string, skip map[string]bool) ([]*policy.Policy, []policy.Invalid, error) {
	var ps []*policy.Policy
	var bad []policy.Invalid
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" && p != dir {
			return filepath.SkipDir
		}
		rel, rerr := filepath.Rel(dir, p)
		if rerr != nil || !d.Type().IsRegular() || skip[absPath(p)] || !matchesAny(globs, filepath.ToSlash(rel)) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxRepoDocument {
			bad = append(bad, policy.Invalid{File: p, Err: fmt.Errorf("%s: larger than %d bytes, not read", p, maxRepoDocument)})
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found, invalid := policy.LoadEach(p, data)
		ps, bad = append(ps, found...), append(bad, invalid...)
		return nil
	})
	if err != nil {
		err = fmt.Errorf("read the policies of %s: %w", dir, err)
	}
	return ps, bad, err
}

// maxRepoDocument bounds a policy document validate reads from the repository it checks.
const maxRepoDocument = 4 << 20

// codeOwnersWarning warns when the checkout has a CODEOWNERS file — paths with their own
// reviewers — while the config declares no owners for it: every policy may then write any
// file no rule forbids (docs/design.md §4, "Ownership between teams").
func codeOwnersWarning(cfg *policy.Config, rc *policy.Repository, dir string) string {
	if rc == nil || len(rc.Owners) > 0 {
		return ""
	}
	for _, f := range []string{"CODEOWNERS", ".github/CODEOWNERS", ".gitlab/CODEOWNERS", "docs/CODEOWNERS"} {
		if info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err == nil && info.Mode().IsRegular() {
			i := slices.IndexFunc(cfg.Repositories, func(r policy.Repository) bool { return r.Name == rc.Name })
			field := fmt.Sprintf("repositories[%d]", i)
			return policy.Warning{File: cfg.Source.File, Line: cfg.Source.LineOf(field), Field: field + ".owners",
				Msg: fmt.Sprintf("%s has %s, but repository %s declares no owners: every policy may write any file no rule forbids; declare which policies may write which files (docs/design.md §4)",
					dir, f, rc.Name)}.String()
		}
	}
	return ""
}

// inRepo is file's path relative to the repository root dir (slashes), or "" when it is not
// inside it.
func inRepo(dir, file string) string {
	rel, err := filepath.Rel(absPath(dir), absPath(file))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func matchesAny(globs []string, rel string) bool {
	for _, g := range globs {
		if policy.MatchGlob(g, rel) {
			return true
		}
	}
	return false
}
