package main

import (
	"fmt"
	"os"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/cluster"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/testserver/cluster/prebuild   (builds the cluster tier's binaries; no flags)")
		os.Exit(2)
	}
	dir, err := cluster.CacheDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
	fmt.Printf("cluster tier: Kubernetes %s, Flux source-controller %s, kustomize-controller %s, notification-controller %s, helm-controller %s, kube-state-metrics %s, in %s\n",
		cluster.KubernetesVersion, cluster.FluxSourceVersion, cluster.FluxKustomizeVer, cluster.FluxNotificationVersion, cluster.FluxHelmVersion,
		cluster.KubeStateMetricsVersion, dir)
	logf := func(f string, a ...any) { fmt.Printf(f+"\n", a...) }
	if _, err := cluster.Build(logf); err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
	argo, err := cluster.ArgoCDCacheDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
	fmt.Printf("cluster tier: Argo CD %s, helm %s, in %s\n", cluster.ArgoCDVersion, cluster.HelmVersion, argo)
	if _, err := cluster.BuildArgoCD(logf); err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
}
