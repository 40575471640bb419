// Package horizontal reproduces the HPA v2 replica algorithm of
// kube-controller-manager v1.36 for one target: per-metric proposals (ratio,
// tolerance, missing/unready pods, CPU initialization period), the maximum
// over metrics with the partial-failure rules, min/max clamping, the legacy
// scale-up limit, behavior policies and stabilization windows.
//
// It is pure: it imports only the standard library and never reads the clock;
// every function takes the current time as a value. Quantities are integers in
// milli-units (CPU in millicores, memory in milli-bytes as the HPA does with
// resource.Quantity.MilliValue) so that every rounding matches upstream.
package horizontal

import "time"

// MetricType is the kind of a metric source, as in autoscaling/v2.
type MetricType string

// The metric source types of autoscaling/v2.
const (
	ResourceMetric          MetricType = "Resource"
	ContainerResourceMetric MetricType = "ContainerResource"
	PodsMetric              MetricType = "Pods"
	ObjectMetric            MetricType = "Object"
	ExternalMetric          MetricType = "External"
)

// TargetType is the kind of a metric target, as in autoscaling/v2.
type TargetType string

// The metric target types of autoscaling/v2.
const (
	UtilizationTarget  TargetType = "Utilization"
	AverageValueTarget TargetType = "AverageValue"
	ValueTarget        TargetType = "Value"
)

// PodPhase is a pod's status.phase.
type PodPhase string

// Pod phases.
const (
	PodPending   PodPhase = "Pending"
	PodRunning   PodPhase = "Running"
	PodSucceeded PodPhase = "Succeeded"
	PodFailed    PodPhase = "Failed"
	PodUnknown   PodPhase = "Unknown"
)

// Container is one container of a pod, with its resource requests in
// milli-units by resource name ("cpu", "memory", ...). Restartable init
// containers (sidecars) are listed as containers; other init containers are
// not listed.
type Container struct {
	Name     string
	Requests map[string]int64
}

// Pod is what the HPA reads of a pod selected by the target's selector.
type Pod struct {
	Name     string
	Phase    PodPhase
	Deleting bool // metadata.deletionTimestamp is set
	// HasReadyCondition is false when the pod has no Ready condition.
	HasReadyCondition bool
	Ready             bool      // Ready condition status is True
	ReadyTransition   time.Time // Ready condition lastTransitionTime
	StartTime         time.Time // status.startTime; zero when unset
	Containers        []Container
	// PodRequests are pod-level requests (spec.resources.requests) in
	// milli-units; nil when the pod sets none.
	PodRequests map[string]int64
}

// Sample is one per-pod metric value in milli-units with the time it was
// taken and the window it averages over.
type Sample struct {
	Value     int64
	Timestamp time.Time
	Window    time.Duration
}

// Target is a metric target. Utilization is a percentage of the request;
// Value and AverageValue are milli-units.
type Target struct {
	Type         TargetType
	Utilization  int32
	Value        int64
	AverageValue int64
}

// MetricSpec is one entry of spec.metrics.
type MetricSpec struct {
	Type MetricType
	// Name is the resource name ("cpu", "memory") for Resource and
	// ContainerResource metrics, and the metric name otherwise.
	Name string
	// Container is the container name of a ContainerResource metric.
	Container string
	Target    Target
}

// String names the metric as it appears in reasons and reports, e.g.
// "Resource/cpu" or "ContainerResource/cpu/app".
func (m MetricSpec) String() string {
	if m.Type == ContainerResourceMetric {
		return string(m.Type) + "/" + m.Name + "/" + m.Container
	}
	return string(m.Type) + "/" + m.Name
}

// MetricValues is what the sources observed for one MetricSpec, in the same
// order as Spec.Metrics.
type MetricValues struct {
	// PodValues holds per-pod samples for Resource, ContainerResource and Pods
	// metrics, keyed by pod name. A pod without an entry has no metric.
	PodValues map[string]Sample
	// Value is the object's value (Object) or the sum of the returned values
	// (External), in milli-units.
	Value int64
	// Err is set when fetching the metric failed; the metric then proposes
	// nothing and counts as failed.
	Err error
}

// ScalingPolicyType is the type of a behavior policy.
type ScalingPolicyType string

// Behavior policy types.
const (
	PodsPolicy    ScalingPolicyType = "Pods"
	PercentPolicy ScalingPolicyType = "Percent"
)

// SelectPolicy chooses among the policies of one direction.
type SelectPolicy string

// Select policies.
const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// ScalingPolicy limits the change in one direction within Period.
type ScalingPolicy struct {
	Type   ScalingPolicyType
	Value  int32
	Period time.Duration
}

// ScalingRules is one direction of spec.behavior, after defaulting.
type ScalingRules struct {
	StabilizationWindow time.Duration
	SelectPolicy        SelectPolicy
	Policies            []ScalingPolicy
	// Tolerance replaces the global tolerance for this direction when set.
	Tolerance *float64
}

// Behavior is spec.behavior after API defaulting (see DefaultBehavior).
type Behavior struct {
	ScaleUp   ScalingRules
	ScaleDown ScalingRules
}

// Spec is a HorizontalPodAutoscalerSpec without its scaleTargetRef.
type Spec struct {
	MinReplicas int32
	MaxReplicas int32
	Metrics     []MetricSpec
	// Behavior is nil for the legacy path (no spec.behavior).
	Behavior *Behavior
}

// Options are the controller-wide settings (kube-controller-manager flags).
type Options struct {
	Tolerance               float64
	CPUInitializationPeriod time.Duration
	InitialReadinessDelay   time.Duration
	DownscaleStabilization  time.Duration
}

// DefaultOptions returns the kube-controller-manager defaults: tolerance 0.1,
// CPU initialization period 5m, initial readiness delay 30s, downscale
// stabilization 5m.
func DefaultOptions() Options {
	return Options{
		Tolerance:               0.1,
		CPUInitializationPeriod: 5 * time.Minute,
		InitialReadinessDelay:   30 * time.Second,
		DownscaleStabilization:  5 * time.Minute,
	}
}

// Observation is everything read for one reconcile of one target.
type Observation struct {
	Now             time.Time // the only clock the math sees
	CurrentReplicas int32     // scale.spec.replicas
	StatusReplicas  int32     // scale.status.replicas
	Pods            []Pod
	Metrics         []MetricValues // one per Spec.Metrics entry, same order
}

// MetricProposal is the outcome of one metric.
type MetricProposal struct {
	Metric   MetricSpec
	Replicas int32 // proposed replicas; meaningful only when Err is nil
	// Observed value: Utilization is the integer percent for Utilization
	// targets; Value is the average (per pod) or total value in milli-units.
	Utilization *int32
	Value       int64
	Err         error
	// Reason is the HPA condition reason for a failure, e.g.
	// "FailedGetResourceMetric".
	Reason string
}

// Proposal is the combined outcome of all metrics before normalization.
type Proposal struct {
	Replicas int32  // max over successful metrics
	Metric   string // the metric that set Replicas
	Metrics  []MetricProposal
	// Invalid is true when no decision may be taken from the metrics: every
	// metric failed, or some failed and the rest would scale down.
	Invalid bool
	Reason  string // HPA condition reason when Invalid, else "ValidMetricFound"
	Message string
}

// Event is a past scale change by Change replicas (positive, absolute) at At.
type Event struct {
	At     time.Time
	Change int32
}

// Recommendation is a recorded raw recommendation.
type Recommendation struct {
	At       time.Time
	Replicas int32
}

// History is the per-target state the stabilization windows and rate limits
// need. The zero value is a target seen for the first time.
type History struct {
	Recommendations []Recommendation
	ScaleUpEvents   []Event
	ScaleDownEvents []Event
	// Seeded is true once the first reconcile seeded the recommendations
	// with the current size (upstream: TestScaleDownStabilizeInitialSize).
	Seeded bool
	// ScaledToZero is true when the last recorded scale took the target
	// from some replicas to zero (upstream's ScaledToZero condition,
	// HPAScaleToZero): only then is a target at zero scaled up again from
	// its metrics; a target scaled to zero by someone else is left alone.
	ScaledToZero bool
}

// Decision is the final result of one reconcile.
type Decision struct {
	// Replicas is the desired size; equal to the current size when nothing
	// should change.
	Replicas int32
	// Recommended is the proposal before stabilization and limits.
	Recommended int32
	// Stabilized is the value after the stabilization window(s).
	Stabilized int32
	Proposal   Proposal
	// AbleToScale reason: "ReadyForNewScale", "ScaleUpStabilized",
	// "ScaleDownStabilized", or, when no normalization took place,
	// "ScalingDisabled" (current size 0), "FailedComputeMetricsReplicas"
	// (invalid proposal) or "InvalidSpec" (Err set). An out-of-range current
	// size gives "ReadyForNewScale" with LimitedReason TooMany/TooFewReplicas.
	AbleToScaleReason string
	// ScalingLimited reason: "DesiredWithinRange", "TooFewReplicas",
	// "TooManyReplicas", "ScaleUpLimit", "ScaleDownLimit".
	LimitedReason string
	// Reason is the single reason shown to users: the most specific of the
	// above (a failure reason, a stabilization reason, a limit reason, or
	// "DesiredWithinRange").
	Reason  string
	Message string
	// Err is set when no decision could be taken: invalid spec, options or
	// observation (Reason "InvalidSpec"), or metrics that allow no decision
	// (Reason is the first failed metric's, e.g. "FailedGetResourceMetric").
	// Replicas is then the current size.
	Err error
}
