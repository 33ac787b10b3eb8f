// Package convert turns the autoscalers a team already runs into policies: KEDA ScaledObjects
// (keda.sh/v1alpha1, their prometheus and cron triggers), autoscaling/v2
// HorizontalPodAutoscalers (External, Object and Pods metrics through a prometheus-adapter
// rules file; Resource and ContainerResource metrics through the usual cAdvisor and
// kube-state-metrics series), and PrometheusAutoscaler documents of the original controller's
// group (autoscaler.laravel.app/v1alpha1), normalised to ours.
//
// Import is pure: manifests in, policy documents out, each with the warnings that say what did
// not translate exactly, naming the field and its line. Nothing of the input is dropped
// silently: every field under spec is either translated or named in a warning. The policies
// are written in DryRun mode with a shadow query for the autoscaler they replace, so they can
// run beside it first; Handover says which object to delete before switching, because two
// autoscalers on one workload fight (and render verification refuses to commit while one
// exists).
//
// What each system does, and so what the translation keeps:
//
//   - KEDA feeds the HPA. Each prometheus trigger becomes one External metric of the HPA KEDA
//     creates (target AverageValue by default, or Value), the HPA takes the largest proposal,
//     and KEDA itself only moves between 0 (or idleReplicaCount) and minReplicaCount, when no
//     trigger's value is above its activationThreshold for cooldownPeriod. So: one metric per
//     trigger, aggregation max, minReplicas 0 with activation thresholds for scale to zero,
//     cooldownPeriod as the scale-down stabilization window when they agree, and the HPA's
//     own behavior and defaults for everything between 1 and maxReplicaCount.
//   - ignoreNullValues (true by default) turns an empty answer into 0: onEmpty: zero.
//   - A cron trigger adds desiredReplicas while its window is open: a schedule window.
//   - An HPA without behavior uses the controller's default limits (Behavior documents which);
//     tolerance is the controller's, 0.1, unless the behavior names its own.
//   - Resource metrics read cAdvisor's container_cpu_usage_seconds_total and
//     container_memory_working_set_bytes and kube-state-metrics'
//     kube_pod_container_resource_requests, for the pods named after the workload.
//
// ImportFiles is the import command's whole job around the pure core: it reads the manifest
// files, finds each replica count through the Locate function it is given (render/locate,
// which proves the key by rendering), and writes the policies and the report. Without a
// repository, or when nothing is found, spec.replicas is left for the user and a warning
// says so.
//
// Must not import: cmd/..., gitops/..., render/..., promclient/..., net/http, os/exec.
package convert
