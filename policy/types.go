package policy

import (
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// API groups accepted for policy and config documents. The laravel group is the group of the
// original controller this project grew from; its documents keep working unchanged.
const (
	APIVersion       = svcconfig.APIVersion
	LegacyAPIVersion = svcconfig.LegacyAPIVersion
	KindPolicy       = "PrometheusAutoscaler"
	KindConfig       = svcconfig.KindConfig
)

// Mode is how a decision is delivered to Git.
type Mode string

// Delivery modes (docs/design.md §7). ModeApply is the original controller's spelling of ModeCommit
// and is normalized to it at load.
const (
	ModeDryRun      Mode = "DryRun"
	ModeCommit      Mode = "Commit"
	ModePullRequest Mode = "PullRequest"
	ModeAutoMerge   Mode = "AutoMerge"
	ModeApply       Mode = "Apply"
)

// Aggregation combines the per-metric recommendations into one.
type Aggregation string

// Aggregations (docs/design.md §5).
const (
	AggregateMax      Aggregation = "max"
	AggregateMin      Aggregation = "min"
	AggregateAverage  Aggregation = "average"
	AggregateWeighted Aggregation = "weighted"
)

// Policy is one PrometheusAutoscaler document.
type Policy struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Kind       string   `yaml:"kind" json:"kind"`
	Metadata   Metadata `yaml:"metadata" json:"metadata"`
	Spec       Spec     `yaml:"spec" json:"spec"`

	// Source is where the document was read from; set by the loader.
	Source Source `yaml:"-" json:"-"`
}

// Metadata names a policy. The policy's identity is Namespace/Name.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Namespace   string            `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// Spec is the body of a policy (docs/design.md §4).
type Spec struct {
	TargetRef   TargetRef         `yaml:"targetRef" json:"targetRef"`
	Replicas    *ReplicasLocation `yaml:"replicas,omitempty" json:"replicas,omitempty"`
	Render      *Render           `yaml:"render,omitempty" json:"render,omitempty"`
	MinReplicas *int              `yaml:"minReplicas,omitempty" json:"minReplicas,omitempty"` // default 1
	MaxReplicas int               `yaml:"maxReplicas" json:"maxReplicas"`
	Mode        Mode              `yaml:"mode,omitempty" json:"mode,omitempty"` // default PullRequest
	Delivery    *Delivery         `yaml:"delivery,omitempty" json:"delivery,omitempty"`
	Schedule    string            `yaml:"schedule,omitempty" json:"schedule,omitempty"` // default "@every 30s"
	Suspend     bool              `yaml:"suspend,omitempty" json:"suspend,omitempty"`
	Prometheus  *PrometheusRef    `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	Aggregation Aggregation       `yaml:"aggregation,omitempty" json:"aggregation,omitempty"` // default max
	Metrics     []Metric          `yaml:"metrics" json:"metrics"`
	Tolerance   *float64          `yaml:"tolerance,omitempty" json:"tolerance,omitempty"` // default 0.1
	Strategy    *Strategy         `yaml:"strategy,omitempty" json:"strategy,omitempty"`   // default Rules
	Schedules   []ScheduleWindow  `yaml:"schedules,omitempty" json:"schedules,omitempty"`
	Behavior    *Behavior         `yaml:"behavior,omitempty" json:"behavior,omitempty"`
	Holds       *Holds            `yaml:"holds,omitempty" json:"holds,omitempty"`
	SyncCheck   *SyncCheck        `yaml:"syncCheck,omitempty" json:"syncCheck,omitempty"`
	Shadow      *Shadow           `yaml:"shadow,omitempty" json:"shadow,omitempty"`
}

// Strategy types: how the metrics' recommendation becomes the count to commit.
const (
	// StrategyRules follows the rules as written: recommendation, behavior, bounds (the default).
	StrategyRules = "Rules"
	// StrategySteady commits rarely and keeps the need covered: one forecast of the need, with
	// the memory of yesterday and last week, and a plan that weighs replica-hours against the
	// cost of a change (steady.go).
	StrategySteady = "Steady"
)

// Strategy selects and tunes the strategy. The knobs apply to Steady only; SetDefaults fills
// them for a Steady policy.
type Strategy struct {
	Type string `yaml:"type" json:"type"`
	// HeadroomPercent is a margin kept above the forecast's band: every level Steady plans is
	// the band × (1 + headroomPercent/100), rounded up (default 0).
	HeadroomPercent *int `yaml:"headroomPercent,omitempty" json:"headroomPercent,omitempty"`
	// MaxChangesPerDay bounds the changes in any 24 h, counted from Git history; it never holds
	// back a scale-up the need requires.
	MaxChangesPerDay *int `yaml:"maxChangesPerDay,omitempty" json:"maxChangesPerDay,omitempty"`
	// ScaleDownDelaySeconds is the look-back: how far back the forecast's band looks for the
	// excess of the needs over its model (default 7200).
	ScaleDownDelaySeconds *int `yaml:"scaleDownDelaySeconds,omitempty" json:"scaleDownDelaySeconds,omitempty"`
	// HorizonSeconds is how far ahead the forecast plans (default 7200).
	HorizonSeconds *int `yaml:"horizonSeconds,omitempty" json:"horizonSeconds,omitempty"`
	// ChangeCost is what a change is worth, in replica-hours: the plan over the horizon weighs
	// it against the replica-hours a change saves (default: 45 minutes of the count, up to twice
	// that on a jittery series; docs/steady.md).
	ChangeCost *float64 `yaml:"changeCost,omitempty" json:"changeCost,omitempty"`
}

// TargetRef names the workload whose replicas the policy scales.
type TargetRef struct {
	APIVersion string `yaml:"apiVersion,omitempty" json:"apiVersion,omitempty"`
	Kind       string `yaml:"kind" json:"kind"`
	Name       string `yaml:"name" json:"name"`
	Namespace  string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// ReplicasLocation says where the replica count lives in Git.
type ReplicasLocation struct {
	// File is relative to the repository root and never leaves it.
	File string `yaml:"file" json:"file"`
	// Path is a dot path; list items are selected as items[name=web].replicas.
	Path string `yaml:"path" json:"path"`
	// Document selects one document of a multi-document manifest file.
	Document *DocumentSelector `yaml:"document,omitempty" json:"document,omitempty"`
}

// DocumentSelector picks one document of a multi-document file by kind and metadata.name.
type DocumentSelector struct {
	Kind string `yaml:"kind,omitempty" json:"kind,omitempty"`
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
}

// Render names the optional render verification of a decision (docs/design.md §2 step 7):
// exactly one of Helm, Kustomize, ArgoCD and Flux says how the repository is rendered.
type Render struct {
	Helm      *HelmRender      `yaml:"helm,omitempty" json:"helm,omitempty"`
	Kustomize *KustomizeRender `yaml:"kustomize,omitempty" json:"kustomize,omitempty"`
	ArgoCD    *ArgoCDRender    `yaml:"argocd,omitempty" json:"argocd,omitempty"`
	Flux      *FluxRender      `yaml:"flux,omitempty" json:"flux,omitempty"`
	// AllowPodRestart accepts an edit that also changes the target workload's pod template
	// (e.g. a checksum of the values in a pod annotation), which restarts every pod on sync.
	// Off, such an edit is refused.
	AllowPodRestart bool `yaml:"allowPodRestart,omitempty" json:"allowPodRestart,omitempty"`
}

// HelmRender renders a chart from the repository with ordered values files.
type HelmRender struct {
	Chart       string   `yaml:"chart" json:"chart"`
	ValuesFiles []string `yaml:"valuesFiles,omitempty" json:"valuesFiles,omitempty"`
	ReleaseName string   `yaml:"releaseName,omitempty" json:"releaseName,omitempty"`
	Namespace   string   `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// KubeVersion and APIVersions describe the cluster as templates see it in .Capabilities:
	// its Kubernetes version (default: the render package's DefaultKubeVersion) and the API
	// versions it serves beyond the built-in ones ([group/]version[/Kind], e.g.
	// monitoring.coreos.com/v1).
	KubeVersion string   `yaml:"kubeVersion,omitempty" json:"kubeVersion,omitempty"`
	APIVersions []string `yaml:"apiVersions,omitempty" json:"apiVersions,omitempty"`
}

// KustomizeRender builds a kustomization directory of the repository.
type KustomizeRender struct {
	Dir string `yaml:"dir" json:"dir"`
}

// ArgoCDRender renders what an Argo CD Application of the repository deploys, with the
// Application's own settings (source path, values files, values, parameters, release name,
// namespace, kustomize options). The Application is either committed (Application) or
// generated by an ApplicationSet of the repository (ApplicationSet plus Name, the generated
// Application's name).
type ArgoCDRender struct {
	// Application is the file holding the Application, relative to the repository root.
	Application string `yaml:"application,omitempty" json:"application,omitempty"`
	// ApplicationSet is the file holding the ApplicationSet that generates the Application,
	// relative to the repository root; Name is then required and names the generated
	// Application (metadata.name after templating).
	ApplicationSet string `yaml:"applicationSet,omitempty" json:"applicationSet,omitempty"`
	// Name picks the Application by metadata.name when the file holds several, or names the
	// Application the ApplicationSet generates.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// KubeVersion and APIVersions describe the destination cluster as Argo CD would discover
	// it; the Application's helm.kubeVersion and helm.apiVersions win over them, as in Argo CD.
	KubeVersion string   `yaml:"kubeVersion,omitempty" json:"kubeVersion,omitempty"`
	APIVersions []string `yaml:"apiVersions,omitempty" json:"apiVersions,omitempty"`
}

// FluxRender renders what a Flux HelmRelease of the repository deploys, from a chart in the
// repository.
type FluxRender struct {
	// HelmRelease is the file holding the HelmRelease, relative to the repository root.
	HelmRelease string `yaml:"helmRelease" json:"helmRelease"`
	// Name picks the HelmRelease by metadata.name when the file holds several.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// KubeVersion and APIVersions describe the target cluster as helm-controller would
	// discover it.
	KubeVersion string   `yaml:"kubeVersion,omitempty" json:"kubeVersion,omitempty"`
	APIVersions []string `yaml:"apiVersions,omitempty" json:"apiVersions,omitempty"`
}

// Delivery overrides the mode per direction of the change.
type Delivery struct {
	ScaleUp   Mode `yaml:"scaleUp,omitempty" json:"scaleUp,omitempty"`
	ScaleDown Mode `yaml:"scaleDown,omitempty" json:"scaleDown,omitempty"`
}

// PrometheusRef names the Prometheus a policy queries: a server of the service config, or,
// when the config allows it, a URL of its own.
type PrometheusRef struct {
	Server string `yaml:"server,omitempty" json:"server,omitempty"`
	URL    string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Metric is one signal and the rule that turns it into a replica recommendation: either the
// step rule (ScaleUp and ScaleDown) or a Target, never both.
type Metric struct {
	Name                string    `yaml:"name" json:"name"`
	PromQL              string    `yaml:"promQL" json:"promQL"`
	ScaleUp             *StepRule `yaml:"scaleUp,omitempty" json:"scaleUp,omitempty"`
	ScaleDown           *StepRule `yaml:"scaleDown,omitempty" json:"scaleDown,omitempty"`
	Target              *Target   `yaml:"target,omitempty" json:"target,omitempty"`
	OnEmpty             string    `yaml:"onEmpty,omitempty" json:"onEmpty,omitempty"` // "" or "zero"
	Reduce              string    `yaml:"reduce,omitempty" json:"reduce,omitempty"`   // sum | max | min | avg
	Weight              *float64  `yaml:"weight,omitempty" json:"weight,omitempty"`
	ActivationThreshold *float64  `yaml:"activationThreshold,omitempty" json:"activationThreshold,omitempty"`
}

// StepRule is the original controller's rule: past the threshold, move by step replicas.
type StepRule struct {
	Threshold *float64 `yaml:"threshold" json:"threshold"`
	Step      int      `yaml:"step" json:"step"`
}

// Target types (HPA/KEDA forms).
const (
	TargetAverageValue = "AverageValue"
	TargetValue        = "Value"
)

// Target is the HPA form: a per-replica average or a ratio against a value.
type Target struct {
	Type         string   `yaml:"type" json:"type"`
	AverageValue *float64 `yaml:"averageValue,omitempty" json:"averageValue,omitempty"`
	Value        *float64 `yaml:"value,omitempty" json:"value,omitempty"`
}

// ScheduleWindow raises the floor (or sets bounds) while a cron window is active: from each
// cron activation for Duration.
type ScheduleWindow struct {
	Name        string   `yaml:"name" json:"name"`
	Cron        string   `yaml:"cron" json:"cron"`
	Duration    Duration `yaml:"duration" json:"duration"`
	MinReplicas *int     `yaml:"minReplicas,omitempty" json:"minReplicas,omitempty"`
	MaxReplicas *int     `yaml:"maxReplicas,omitempty" json:"maxReplicas,omitempty"`
	Timezone    string   `yaml:"timezone,omitempty" json:"timezone,omitempty"`

	// compiled is the parsed cron spec and timezone, cached by Policy.Compile so that Decide
	// does not parse on every evaluation (schedule.go).
	compiled *compiledSchedule
}

// Behavior holds both the original controller's form and the HPA autoscaling/v2 form.
type Behavior struct {
	// The original controller's form. Its window is a scale-down stabilization window.
	StabilizationWindowSeconds *int `yaml:"stabilizationWindowSeconds,omitempty" json:"stabilizationWindowSeconds,omitempty"`
	ScaleUpCooldownSeconds     *int `yaml:"scaleUpCooldownSeconds,omitempty" json:"scaleUpCooldownSeconds,omitempty"`
	ScaleDownCooldownSeconds   *int `yaml:"scaleDownCooldownSeconds,omitempty" json:"scaleDownCooldownSeconds,omitempty"`
	MaxScaleUpStepPercent      *int `yaml:"maxScaleUpStepPercent,omitempty" json:"maxScaleUpStepPercent,omitempty"`
	MaxScaleDownStepPercent    *int `yaml:"maxScaleDownStepPercent,omitempty" json:"maxScaleDownStepPercent,omitempty"`

	// The HPA form. Whatever it leaves out takes the HPA's defaults.
	ScaleUp   *ScalingRules `yaml:"scaleUp,omitempty" json:"scaleUp,omitempty"`
	ScaleDown *ScalingRules `yaml:"scaleDown,omitempty" json:"scaleDown,omitempty"`
}

// Select policies of the HPA form.
const (
	SelectMax      = "Max"
	SelectMin      = "Min"
	SelectDisabled = "Disabled"
)

// HPA rate-limit policy types.
const (
	PolicyPods    = "Pods"
	PolicyPercent = "Percent"
)

// ScalingRules is autoscaling/v2 HPAScalingRules.
type ScalingRules struct {
	StabilizationWindowSeconds *int        `yaml:"stabilizationWindowSeconds,omitempty" json:"stabilizationWindowSeconds,omitempty"`
	SelectPolicy               *string     `yaml:"selectPolicy,omitempty" json:"selectPolicy,omitempty"`
	Policies                   []HPAPolicy `yaml:"policies,omitempty" json:"policies,omitempty"`
	// Tolerance overrides spec.tolerance for this direction (Kubernetes 1.33): a ratio above 1
	// is compared with scaleUp's, one below 1 with scaleDown's. Any value ≥ 0.
	Tolerance *float64 `yaml:"tolerance,omitempty" json:"tolerance,omitempty"`
}

// HPAPolicy is autoscaling/v2 HPAScalingPolicy.
type HPAPolicy struct {
	Type          string `yaml:"type" json:"type"`
	Value         int    `yaml:"value" json:"value"`
	PeriodSeconds int    `yaml:"periodSeconds" json:"periodSeconds"`
}

// Holds say how long the autoscaler keeps its hands off after a person intervened.
type Holds struct {
	AfterRevertSeconds     *int `yaml:"afterRevertSeconds,omitempty" json:"afterRevertSeconds,omitempty"`         // default 3600
	AfterManualEditSeconds *int `yaml:"afterManualEditSeconds,omitempty" json:"afterManualEditSeconds,omitempty"` // default 3600
}

// SyncCheck is a query for the replica count the cluster actually runs; while it differs from
// the last change the policy holds, so decisions do not stack before the last one is live.
type SyncCheck struct {
	PromQL         string `yaml:"promQL" json:"promQL"`
	TimeoutSeconds int    `yaml:"timeoutSeconds,omitempty" json:"timeoutSeconds,omitempty"` // default 600
}

// Shadow names the live autoscaler a DryRun policy runs beside (an HPA or a KEDA ScaledObject
// still in charge of the workload): a query for the replica count that autoscaler wants, such
// as kube-state-metrics' kube_horizontalpodautoscaler_status_desired_replicas. The status page
// and /metrics set the policy's own decision against it, so a team sees what switching would
// change before it deletes the live autoscaler. Only a DryRun policy may shadow: two
// autoscalers writing one workload would fight.
type Shadow struct {
	PromQL string `yaml:"promQL" json:"promQL"`
}

// ID is the policy's identity, "namespace/name" (or "name" without a namespace).
func (p *Policy) ID() string {
	if p.Metadata.Namespace == "" {
		return p.Metadata.Name
	}
	return p.Metadata.Namespace + "/" + p.Metadata.Name
}

// UsesPullRequests reports whether the policy delivers any change by pull request
// (PullRequest or AutoMerge), in its mode or in either direction's override.
func (s *Spec) UsesPullRequests() bool {
	isPR := func(m Mode) bool { return m == ModePullRequest || m == ModeAutoMerge }
	return isPR(s.Mode) || (s.Delivery != nil && (isPR(s.Delivery.ScaleUp) || isPR(s.Delivery.ScaleDown)))
}
