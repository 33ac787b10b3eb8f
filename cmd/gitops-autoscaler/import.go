package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/convert"
	"github.com/gitops-autoscaler/gitops-autoscaler/render/locate"
)

var importHelp = help{
	usage: "gitops-autoscaler import FILE|DIR... [--adapter-config FILE] [--config FILE] [--repo DIR] [-o DIR]",
	about: `Turn the autoscalers you run today into policies, to run beside them before you switch.
Each FILE or DIR (its *.yaml and *.yml files, recursively) may hold any manifests; these are
imported and the rest skipped — other kinds, and files that are not YAML before rendering (a
chart's templates) and name none of these kinds — with a count of what was skipped:

  KEDA ScaledObject (keda.sh/v1alpha1)
      each prometheus trigger becomes a metric (threshold → target AverageValue, or Value
      with metricType: Value; activationThreshold; ignoreNullValues → onEmpty: zero),
      several triggers aggregate with max as KEDA's HPA does, cron triggers become schedule
      windows; min/max/idleReplicaCount, pollingInterval → schedule, cooldownPeriod,
      advanced.horizontalPodAutoscalerConfig.behavior, and fallback (or a warning).
  HorizontalPodAutoscaler (autoscaling/v2, v1)
      External, Object and Pods metrics become the PromQL prometheus-adapter would run,
      from its rules file (--adapter-config); Resource and ContainerResource cpu/memory
      become cAdvisor and kube-state-metrics PromQL; behavior and tolerance are copied.
  PrometheusAutoscaler of the original group (autoscaler.laravel.app/v1alpha1)
      normalised to ours, comments kept.

Every policy is written in mode DryRun with spec.shadow, the live autoscaler's desired
replicas from kube-state-metrics, so the status page and /metrics set our count against
theirs. Whatever does not translate exactly is a warning naming the file, line and field;
nothing is dropped silently. The report (stderr) ends with the handover for each policy: the
HPA or ScaledObject to delete before you set a committing mode, because the two would fight
(render verification refuses to commit while one exists). Flags may come before or after the
paths.`,
	example: `gitops-autoscaler import cluster/keda/ cluster/hpa.yaml --adapter-config adapter.yaml \
    --repo . -o autoscaling/
ScaledObject default/prometheus-scaledobject: replicas found by rendering chart charts/app: replicaCount of envs/prod/values.yaml reaches Deployment default/go-prom-app
ScaledObject default/prometheus-scaledobject → autoscaling/default-prometheus-scaledobject.yaml (2 warnings)
  cluster/keda/app.yaml:7: warning: spec.cooldownPeriod: has no effect with minReplicaCount 1: KEDA applies it only to scaling to 0, so it is left out
  …
  handover: kubectl delete scaledobject prometheus-scaledobject -n default (KEDA deletes its HPA keda-hpa-prometheus-scaledobject with it)
gitops-autoscaler validate autoscaling/`,
	exit: `0 all imported (warnings allowed), 1 a file could not be read or written, 2 a document could
not be translated (the others are still written) or usage error.`,
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("import")
	var opts convert.FileOptions
	fs.StringVar(&opts.AdapterConfig, "adapter-config", "", "the prometheus-adapter configuration `FILE` (its rules and externalRules)")
	fs.StringVar(&opts.Config, "config", "", "the service config `FILE`: a KEDA serverAddress that matches one of its "+
		"Prometheus servers becomes prometheus: {server: NAME}")
	fs.StringVar(&opts.Repo, "repo", "", "the GitOps repository `DIR`: find each workload's replica count there, proven by "+
		"rendering (Argo CD Applications' Helm sources, charts with each values file, kustomizations, plain manifests); "+
		"when none is found, spec.replicas is left for you and the report says so")
	fs.StringVar(&opts.OutDir, "o", "", "write one file per policy, `DIR`/<namespace>-<name>.yaml (default: all policies to stdout)")
	check := func() error {
		if fs.NArg() == 0 {
			return errors.New("no FILE or DIR given")
		}
		opts.Paths = fs.Args()
		return nil
	}
	if code, done := parse(fs, interleaved(fs, args), importHelp, check, stdout, stderr); done {
		return code
	}
	opts.Locate = findReplicas
	res, err := convert.ImportFiles(ctx, opts, stdout, stderr)
	switch {
	case res == nil:
		fmt.Fprintf(stderr, "import: %v\n", err)
		return exitFailure
	case err != nil:
		fmt.Fprintf(stderr, "import: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// findReplicas is locate.Find in the shape ImportFiles takes.
func findReplicas(ctx context.Context, root string, t policy.TargetRef) (*policy.ReplicasLocation, *policy.Render, string, error) {
	f, err := locate.Find(ctx, root, t)
	if err != nil {
		return nil, nil, "", err
	}
	return &f.Replicas, f.Render, f.How, nil
}

// interleaved moves flags after the positional arguments to the front, so that
// `import a.yaml -o out` works as `import -o out a.yaml`.
func interleaved(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := a[1:]
			if len(name) > 0 && name[0] == '-' {
				name = name[1:]
			}
			if f := fs.Lookup(name); f != nil && i+1 < len(args) && !containsEq(a) {
				if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
					flags = append(flags, args[i+1])
					i++
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func containsEq(s string) bool {
	for _, c := range s {
		if c == '=' {
			return true
		}
	}
	return false
}
