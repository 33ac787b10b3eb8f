package engine

import "time"

// Snapshot is everything a decision depends on. The caller gathers it (Prometheus, Git); Decide
// only computes. Two callers with equal snapshots get equal decisions.
type Snapshot struct {
	// Now is the instant of the decision.
	Now time.Time
	// Current is the replica count in Git at Now.
	Current int
	// Metrics holds one value per Spec.Metrics entry, in the same order.
	Metrics []MetricValue
	// History lists this policy's target's past changes, oldest first: our decisions, reverts
	// of them, and edits by people. The caller bounds it by the longest window the policy needs.
	History []Event
	// Recommendations are the raw recommendations (after aggregation, before any later step)
	// over the stabilization windows, oldest first, excluding Now's own.
	Recommendations []Recommendation
	// RecommendationsUnknown says why the recommendations over the stabilization windows could
	// not be had (their range queries failed); empty when they were. Decide then never takes
	// the windows as empty: it assumes the count held all along (see Decide).
	RecommendationsUnknown string
	// Seasons are the needs of the same hours a day and a week ago, which the Steady strategy
	// remembers (Policy.MemoryWindow says which instants); empty when not known.
	Seasons Seasons
	// Rejected is the last decision a person rejected by closing its pull request unmerged, if
	// the policy still proposes it.
	Rejected *Rejection
	// Sync is the replica count the cluster reports through the policy's syncCheck, if any.
	Sync *SyncStatus
}

// Seasons are the needs (Remembered) at the instants of Policy.MemoryWindow a day (Day) and a
// week (Week) before Now, oldest first, each at the instant it was needed.
type Seasons struct {
	Day, Week []Recommendation
}

// MetricValue is one metric's value at Now. A missing value (query error, empty result, NaN,
// ±Inf) has Missing set and Cause saying why.
type MetricValue struct {
	Name    string
	Value   float64
	Missing bool
	Cause   string
}

// EventKind classifies a commit that changed the target's replica count.
type EventKind string

// Event kinds read from Git history (docs/design.md §6).
const (
	// EventDecision is a commit of ours (trailers present).
	EventDecision EventKind = "decision"
	// EventManualScale is a manual scale through the CLI (trailers present, human reason).
	EventManualScale EventKind = "manual-scale"
	// EventRevert is a `git revert` of one of our commits.
	EventRevert EventKind = "revert"
	// EventManualEdit is any other commit that changed the value at the target path.
	EventManualEdit EventKind = "manual-edit"
)

// Event is one past change of the target's replica count.
type Event struct {
	At     time.Time `json:"at"`
	Kind   EventKind `json:"kind"`
	From   int       `json:"from"`
	To     int       `json:"to"`
	Commit string    `json:"commit,omitempty"`
	Author string    `json:"author,omitempty"`
	// Reverts is the commit a revert undid.
	Reverts string `json:"reverts,omitempty"`
	// HoldSeconds is a manual scale's own hold (scale --hold); nil: the policy's
	// afterManualEditSeconds applies, as to an edit by hand.
	HoldSeconds *int `json:"holdSeconds,omitempty"`
	// Subject is the commit's first line, for reports.
	Subject string `json:"subject,omitempty"`
}

// Recommendation is a raw recommendation remembered for stabilization.
type Recommendation struct {
	At       time.Time
	Replicas int
}

// Rejection is a proposed decision a person closed unmerged.
type Rejection struct {
	To int
	PR int
	// Name is the pull request in its host's terms ("merge request !12"; empty: "pull
	// request #PR").
	Name string
	URL  string
}

// SyncStatus is what the cluster reports for the workload, against the last change.
type SyncStatus struct {
	// Observed is the live replica count; Missing when the sync query returned nothing usable.
	Observed int
	Missing  bool
}

// Decision is the outcome of Decide.
type Decision struct {
	Current int
	// Recommendation is the raw recommendation after aggregation (and activation), before
	// stabilization: the value to remember for later stabilization windows.
	Recommendation int
	// Desired is the replica count to write; equal to Current when nothing changes.
	Desired int
	// Held is set when a hold (suspend, revert, manual edit, rejected PR, sync) kept Desired at
	// Current although the rules wanted a change.
	Held bool
	// Reasons explain, in order, every step that changed or blocked the number.
	Reasons []Reason
}

// ReasonCode is a stable, machine-readable reason.
type ReasonCode string

// Reason codes. They are part of the public contract (logs, JSON output, alerts).
const (
	ReasonMetricValue         ReasonCode = "MetricValue"         // a metric's rule and its recommendation
	ReasonWithinTolerance     ReasonCode = "WithinTolerance"     // a target metric within tolerance
	ReasonMetricMissing       ReasonCode = "MetricMissing"       // a metric had no usable value
	ReasonActivation          ReasonCode = "Activation"          // scale to/from zero by activation thresholds
	ReasonAggregated          ReasonCode = "Aggregated"          // the per-metric recommendations combined
	ReasonOutOfBounds         ReasonCode = "OutOfBounds"         // current outside [min, max]: straight to the bound
	ReasonStabilized          ReasonCode = "Stabilized"          // a stabilization window limited the change
	ReasonScaleUpLimited      ReasonCode = "ScaleUpLimited"      // an HPA policy or step percent limited a scale-up
	ReasonScaleDownLimited    ReasonCode = "ScaleDownLimited"    // … a scale-down
	ReasonScaleDownBlocked    ReasonCode = "ScaleDownBlocked"    // no scale-down while a metric is missing
	ReasonCooldownActive      ReasonCode = "CooldownActive"      // a cooldown since the last change holds
	ReasonBounded             ReasonCode = "Bounded"             // min/max (and schedules) clamped
	ReasonScheduleActive      ReasonCode = "ScheduleActive"      // a schedule window set the bounds
	ReasonScheduleInvalid     ReasonCode = "ScheduleInvalid"     // a schedule window could not be parsed: ignored
	ReasonScalingDisabled     ReasonCode = "ScalingDisabled"     // selectPolicy Disabled
	ReasonSuspended           ReasonCode = "Suspended"           // spec.suspend
	ReasonRevertHold          ReasonCode = "RevertHold"          // a person reverted one of our commits
	ReasonManualEditHold      ReasonCode = "ManualEditHold"      // a person edited the count
	ReasonPullRequestRejected ReasonCode = "PullRequestRejected" // the same decision was closed unmerged
	ReasonNotSynced           ReasonCode = "NotSynced"           // the last change is not live yet
	ReasonAllMetricsMissing   ReasonCode = "AllMetricsMissing"   // nothing to decide on: hold
	ReasonUnchanged           ReasonCode = "Unchanged"           // the decision is the current count
	ReasonPullRequest         ReasonCode = "PullRequest"         // the decision was proposed (or already is) by pull request
	ReasonNoRequiredChecks    ReasonCode = "NoRequiredChecks"    // auto-merge refused: the base branch requires no status checks
	ReasonMergePending        ReasonCode = "MergePending"        // auto-merge waits: checks pending or mergeability unknown
	ReasonMergeBlocked        ReasonCode = "MergeBlocked"        // auto-merge blocked: checks failed, a conflict, or the host refused
)

// ReasonSwitchedOff says the count in Git is 0 while minReplicas is above 0: a person switched
// the workload off, and the autoscaler holds at 0 until a count above 0 is written (as the HPA
// treats a scale of 0).
const ReasonSwitchedOff ReasonCode = "SwitchedOff"

// Reason codes of the Steady strategy (steady.go).
const (
	ReasonSteadyScaleUp   ReasonCode = "SteadyScaleUp"   // need above the count: up past it, to its trend or its jump
	ReasonSteadyScaleDown ReasonCode = "SteadyScaleDown" // demand stayed clearly lower: down in one step
	ReasonSteadyWaits     ReasonCode = "SteadyWaits"     // the count stays: nothing lower fits, or the scale-down waits
	ReasonSteadyBudget    ReasonCode = "SteadyBudget"    // the rolling 24 h change budget: spent
	ReasonSteadyConfirm   ReasonCode = "SteadyConfirm"   // a need that jumped above the count waits one evaluation
)

// ReasonPullRequestWithdrawn says an open pull request went stale — the decision is now to
// keep the count Git holds — and the autoscaler closed it.
const ReasonPullRequestWithdrawn ReasonCode = "PullRequestWithdrawn"

// Reason codes of the loop's own lines, beside the engine's.
const (
	// ReasonRendered says render verification proved the change: the target workload's
	// replicas move from current to desired, and nothing else but the consequences below.
	ReasonRendered ReasonCode = "Rendered"
	// ReasonRenderConsequence is one more change the verified edit makes that follows from the
	// count and that render verification allows, e.g. "also: adds PodDisruptionBudget
	// shop/web" (render.Consequence).
	ReasonRenderConsequence ReasonCode = "RenderConsequence"
	// ReasonManualScale is a person's scale through the CLI, with their reason (ManualScale).
	ReasonManualScale ReasonCode = "ManualScale"
)

// Reason is one line of a decision's explanation: a stable code and a one-line message such as
// "http_rps = 312.4 > scaleUp.threshold 250 → 6". A metric's line (ReasonMetricValue,
// ReasonWithinTolerance) also carries its parts as fields — the metric, its value, the rule
// it was held against and the count that rule recommends — so that what delivery renders (the
// pull request's table) is made from them, never parsed back out of Message
// (docs/design.md §6). The JSON output keeps its two fields, code and message.
type Reason struct {
	Code    ReasonCode `json:"reason"`
	Message string     `json:"message"`
	// Metric is the metric's name on a metric's line; empty on every other line.
	Metric string `json:"-"`
	// Value is the metric's value (Metric set).
	Value float64 `json:"-"`
	// Rule is the target or threshold the value was held against, as Message writes it:
	// "> scaleUp.threshold 250", "/ averageValue 100", "within tolerance 0.05 of value 0.3"
	// (Metric set).
	Rule string `json:"-"`
	// To is the count the metric's rule recommends (Metric set).
	To int `json:"-"`
}

func (r Reason) String() string { return r.Message }

// IsMetric reports whether r is a metric's line, with Metric, Value, Rule and To set.
func (r Reason) IsMetric() bool { return r.Metric != "" }

// ValueText writes a metric line's Value as Message does: "312.4", never "312.40000001".
func (r Reason) ValueText() string { return string(appendNum(nil, r.Value)) }
