package report

import "time"

// This file holds the time-series side of the model: a target's recent
// decisions, one Sample per pass, oldest first (Target.History). The
// leader keeps them in memory and serves them at /status (`ebb status`);
// the HTML format draws them as charts. `ebb backtest` can reuse the same
// shape: a Target per simulated variant whose samples carry the recorded
// replicas as Current and the variant's decision as Desired.
//
// A Sample reuses the snapshot types (Metric, Container) rather than
// defining parallel ones, so a value means the same thing in a snapshot and
// in a history: milli-units for metric values, millicores and bytes for
// resources, and nil for what ebb could not observe (never zero). Empty
// fields are omitted from the JSON to keep hours of samples small.

// Sample is what ebb observed and decided for one target at one pass.
type Sample struct {
	Time time.Time `json:"time"`
	// Current is scale.spec.replicas as read at this pass.
	Current *int32 `json:"currentReplicas,omitempty"`
	// Recommended is the horizontal proposal before stabilization and
	// limits.
	Recommended *int32 `json:"recommendedReplicas,omitempty"`
	// Desired is the size ebb decided (applies, or would apply in dry-run).
	Desired *int32 `json:"desiredReplicas,omitempty"`
	// Applied is the size ebb wrote to the scale subresource at this pass;
	// nil when it wrote nothing (dry-run, off, a hold, or already there).
	Applied *int32 `json:"appliedReplicas,omitempty"`
	// HPADesired is the shadowed HPA's status.desiredReplicas at this pass;
	// nil when the target shadows no HPA or the HPA reported none.
	HPADesired *int32 `json:"hpaDesiredReplicas,omitempty"`
	// Reason is the decision's condition reason, as Target.Reason.
	Reason string `json:"reason,omitempty"`
	// Metrics are each metric's observed value against its target.
	Metrics []Metric `json:"metrics,omitempty"`
	// Vertical are the per-container recommendations (target, lower and
	// upper bound) beside the current requests and usage.
	Vertical []Container `json:"vertical,omitempty"`
}

// SampleOf is the sample of target t's pass at time at: its replica
// counts, metrics and vertical rows (shared, not copied: t is a value
// built for this pass). applied is what ebb wrote, nil for nothing.
func SampleOf(at time.Time, t Target, applied *int32) Sample {
	s := Sample{Time: at, Current: t.Current, Recommended: t.Recommended, Desired: t.Desired,
		Applied: applied, Reason: t.Reason, Metrics: t.Metrics, Vertical: t.Vertical}
	if t.HPA != nil {
		s.HPADesired = t.HPA.Desired
	}
	return s
}

// HPA is the HorizontalPodAutoscaler that targets the workload — the one a
// target shadows (ebb computes from the HPA's spec and metrics without
// acting), or one in conflict with a policy target — and what it decided
// itself.
type HPA struct {
	Name string `json:"name"`
	// Desired is the HPA's status.desiredReplicas; nil when unknown.
	Desired *int32 `json:"desiredReplicas"`
	// Conditions are the HPA's status conditions that explain its number
	// (AbleToScale, ScalingActive, ScalingLimited), as reason and message.
	Conditions []Condition `json:"conditions,omitempty"`
	// Metrics are the HPA's status.currentMetrics, named as ebb names its
	// metrics, with the targets of its spec: what the HPA read.
	Metrics []Metric `json:"currentMetrics,omitempty"`
}

// Agreement says whether ebb's desired replicas match the shadowed HPA's.
type Agreement string

// The agreements; AgreementNone when there is nothing to compare.
const (
	AgreementNone    Agreement = ""
	AgreementAgrees  Agreement = "agrees"
	AgreementDiffers Agreement = "differs"
	AgreementUnknown Agreement = "unknown" // one side has no number
)

// Agreement compares t.Desired with the shadowed HPA's desired replicas.
func (t Target) Agreement() Agreement {
	if t.HPA == nil {
		return AgreementNone
	}
	if t.Desired == nil || t.HPA.Desired == nil {
		return AgreementUnknown
	}
	if *t.Desired == *t.HPA.Desired {
		return AgreementAgrees
	}
	return AgreementDiffers
}
