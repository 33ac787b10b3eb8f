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
	if _, err := cluster.Build(func(f string, a ...any) { fmt.Printf(f+"\n", a...) }); err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
}
