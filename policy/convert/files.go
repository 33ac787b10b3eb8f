package convert

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// FileOptions are what `gitops-autoscaler import` is given.
type FileOptions struct {
	// Paths are manifest files and directories (their *.yaml and *.yml files, recursively).
	Paths []string
	// AdapterConfig is the prometheus-adapter rules file, if any.
	AdapterConfig string
	// Config is the service config, whose Prometheus servers KEDA's serverAddress maps to.
	Config string
	// Repo is the GitOps repository to find each workload's replica count in; "" to leave it.
	Repo string
	// Locate finds the replica count of a workload in Repo (render/locate.Find).
	Locate func(ctx context.Context, root string, target policy.TargetRef) (*policy.ReplicasLocation, *policy.Render, string, error)
	// OutDir receives one file per policy, <namespace>-<name>.yaml; "" writes them to the
	// output as one multi-document stream.
	OutDir string
}

// ImportFiles reads the manifests, translates them, finds each replica count when a
// repository is given, and writes the policies; the report (what was written, the handover,
// every warning) goes to report. A document that fails does not stop the others; the error
// names each failure.
func ImportFiles(ctx context.Context, opts FileOptions, out, report io.Writer) (*Result, error) {
	var conv Options
	if opts.AdapterConfig != "" {
		data, err := os.ReadFile(opts.AdapterConfig)
		if err != nil {
			return nil, fmt.Errorf("read adapter config: %w", err)
		}
		if conv.Adapter, err = ParseAdapterConfig(opts.AdapterConfig, data); err != nil {
			return nil, err
		}
	}
	if opts.Config != "" {
		docs, err := policy.LoadFiles(opts.Config)
		if err != nil {
			return nil, err
		}
		if len(docs.Configs) == 0 {
			return nil, fmt.Errorf("%s: no AutoscalerConfig document", opts.Config)
		}
		conv.Servers = docs.Configs[0].Prometheus
	}
	inputs, err := readInputs(opts.Paths)
	if err != nil {
		return nil, err
	}
	res, importErr := Import(inputs, conv)
	for _, imp := range res.Policies {
		if imp.Policy.Spec.Replicas != nil {
			continue
		}
		if opts.Repo == "" || opts.Locate == nil {
			imp.Warn("spec.replicas", "not set: fill in the file and path of %s's count in Git (or run import with --repo to find it)", imp.Policy.Spec.TargetRef.Name)
			continue
		}
		loc, r, how, err := opts.Locate(ctx, opts.Repo, imp.Policy.Spec.TargetRef)
		if err != nil {
			imp.Warn("spec.replicas", "not set: %v; fill in the file and path of the count by hand", err)
			continue
		}
		if err := imp.SetReplicas(loc, r); err != nil {
			return nil, err
		}
		fmt.Fprintf(report, "%s: replicas found by %s\n", imp.From, how)
	}
	if err := write(res, opts.OutDir, out, report); err != nil {
		return nil, err
	}
	if res.Skipped > 0 || res.SkippedFiles > 0 {
		fmt.Fprintf(report, "skipped %s of other kinds and %s not YAML before rendering (chart templates); import reads ScaledObject, HorizontalPodAutoscaler and PrometheusAutoscaler\n",
			count(res.Skipped, "document", "documents"), count(res.SkippedFiles, "file", "files"))
	}
	return res, importErr
}

func write(res *Result, dir string, out, report io.Writer) error {
	for i, imp := range res.Policies {
		data, err := Marshal(imp)
		if err != nil {
			return err
		}
		dest := "the output"
		if dir != "" {
			name := imp.Policy.Metadata.Name + ".yaml"
			if ns := imp.Policy.Metadata.Namespace; ns != "" {
				name = ns + "-" + name
			}
			dest = filepath.Join(dir, name)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write policies: %w", err)
			}
			if err := os.WriteFile(dest, data, 0o644); err != nil {
				return fmt.Errorf("write policies: %w", err)
			}
		} else {
			if i > 0 {
				fmt.Fprintln(out, "---")
			}
			if _, err := out.Write(data); err != nil {
				return err
			}
		}
		fmt.Fprintf(report, "%s → %s (%s)\n", imp.From, dest, count(len(imp.Warnings), "warning", "warnings"))
		for _, w := range imp.Warnings {
			fmt.Fprintf(report, "  %s\n", w)
		}
		if imp.Handover != "" {
			fmt.Fprintf(report, "  handover: %s\n", imp.Handover)
		}
	}
	return nil
}

// count is "1 warning" or "2 warnings".
func count(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// readInputs reads files and the YAML files of directories, in lexical order, as policy
// files are read.
func readInputs(paths []string) ([]Input, error) {
	files, err := policy.ReadYAMLFiles("manifests", paths...)
	inputs := make([]Input, len(files))
	for i, f := range files {
		inputs[i] = Input{File: f.Name, Data: f.Data}
	}
	return inputs, err
}
