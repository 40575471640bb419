package horizontal

import (
	"fmt"
	"strconv"
	"time"
)

// Reasons of a Decision that took no normalization step.
const (
	ReasonScalingDisabled              = "ScalingDisabled"
	ReasonFailedComputeMetricsReplicas = "FailedComputeMetricsReplicas"
	ReasonInvalidSpec                  = "InvalidSpec"
)

// readinessFor returns the readiness settings of opt at now.
func readinessFor(now time.Time, opt Options) readiness {
	return readiness{now: now, cpuInitPeriod: opt.CPUInitializationPeriod, initialReadinessDelay: opt.InitialReadinessDelay}
}

// decide is Decide on a non-nil history, with the stabilized
// recommendation raised to floor before the rate limits (0: no floor). It
// also returns what the decision would have been without the floor.
func decide(o Observation, s Spec, opt Options, h *History, floor int32) (Decision, int32) {
	return decideWith(o, s, opt, h, floor, func() Proposal {
		return recommend(o, s, tolerancesFor(s.Behavior, opt.Tolerance), readinessFor(o.Now, opt))
	})
}

// decideWith is one reconcile with the proposal of propose (the metrics, or
// the missing-metrics fallback) and a floor (0: none); it also returns the
// decision without the floor.
func decideWith(o Observation, s Spec, opt Options, h *History, floor int32, propose func() Proposal) (Decision, int32) {
	cur := o.CurrentReplicas
	d := Decision{Replicas: cur, Recommended: cur, Stabilized: cur}
	if err := validate(&o, &s, &opt); err != nil {
		d.Err = fmt.Errorf("invalid input: %w", err)
		d.AbleToScaleReason, d.Reason = ReasonInvalidSpec, ReasonInvalidSpec
		d.Message = d.Err.Error()
		return d, cur
	}
	h.seed(o.Now, cur)
	fromZero := cur == 0 && canScaleFromZero(s, h)
	switch {
	case cur == 0 && !fromZero:
		d.AbleToScaleReason, d.Reason = ReasonScalingDisabled, ReasonScalingDisabled
		d.Message = "scaling is disabled since the replica count of the target is zero"
		return d, cur
	case fromZero:
		// Computed from the metrics below, as upstream (no out-of-range
		// correction at zero).
	case cur > s.MaxReplicas:
		d = outOfRange(d, s.MaxReplicas, ReasonTooManyReplicas, "Current number of replicas above Spec.MaxReplicas")
		return d, d.Replicas
	case cur < s.MinReplicas:
		d = outOfRange(d, s.MinReplicas, ReasonTooFewReplicas, "Current number of replicas below Spec.MinReplicas")
		return d, d.Replicas
	}
	d.Proposal = propose()
	if d.Proposal.Invalid {
		d.Err = fmt.Errorf("compute desired replicas: %w", d.Proposal.firstErr())
		d.AbleToScaleReason, d.Reason = ReasonFailedComputeMetricsReplicas, d.Proposal.Reason
		d.Message = d.Proposal.Message
		return d, cur
	}
	p := max(d.Proposal.Replicas, 0)
	b := bounds{min: s.MinReplicas, max: s.MaxReplicas}
	var n normalized
	if s.Behavior == nil {
		n = normalizeLegacy(h, o.Now, opt.DownscaleStabilization, cur, p, b, floor)
	} else {
		n = normalizeBehavior(h, o.Now, cur, p, b, s.Behavior, floor)
	}
	if fromZero && s.MinReplicas != 0 {
		// Scaling from zero after minReplicas was raised: at least min.
		n.replicas, n.reactive = max(n.replicas, s.MinReplicas), max(n.reactive, s.MinReplicas)
	}
	d.Recommended, d.Stabilized, d.Replicas = p, n.stabilized, n.replicas
	d.AbleToScaleReason, d.LimitedReason = n.able, n.limited
	d.Reason, d.Message = summarize(d, n)
	return d, n.reactive
}

// canScaleFromZero is upstream's scale-from-zero test (HPAScaleToZero): the
// autoscaler itself scaled the target to zero (h.ScaledToZero, upstream's
// ScaledToZero condition), and minReplicas was raised since or the spec
// has an Object or External metric. A target someone else scaled to zero
// stays disabled.
func canScaleFromZero(s Spec, h *History) bool {
	return h.ScaledToZero && (s.MinReplicas != 0 || s.HasObjectOrExternal())
}

// HasObjectOrExternal reports whether any metric of s is an Object or an
// External metric (the metrics that can be read with no pod running).
func (s Spec) HasObjectOrExternal() bool {
	for _, m := range s.Metrics {
		if m.Type == ObjectMetric || m.Type == ExternalMetric {
			return true
		}
	}
	return false
}

// outOfRange is the immediate correction of a current size outside
// [min, max] (C.1.3/4): no metrics, no stabilization, no rate limit.
func outOfRange(d Decision, to int32, reason, msg string) Decision {
	d.Replicas, d.Recommended, d.Stabilized = to, to, to
	d.AbleToScaleReason, d.LimitedReason, d.Reason = ReasonReadyForNewScale, reason, reason
	d.Message = fmt.Sprintf("%s; new size %d", msg, to)
	return d
}

// summarize picks the single reason shown to users (the binding limit, else
// the stabilization, else DesiredWithinRange) and a message.
func summarize(d Decision, n normalized) (string, string) {
	reason, why := ReasonDesiredWithinRange, n.limitedMsg
	switch {
	case n.limited != ReasonDesiredWithinRange:
		reason = n.limited
	case n.able != ReasonReadyForNewScale:
		reason, why = n.able, n.ableMsg
	}
	metric := d.Proposal.Metric
	if metric == "" {
		metric = "metrics"
	}
	// Built by hand: this runs once per target and reconcile.
	buf := make([]byte, 0, 192)
	buf = append(append(buf, metric...), " proposes "...)
	buf = strconv.AppendInt(buf, int64(d.Recommended), 10)
	buf = strconv.AppendInt(append(buf, ", stabilized "...), int64(d.Stabilized), 10)
	buf = strconv.AppendInt(append(buf, ", desired "...), int64(d.Replicas), 10)
	buf = append(append(buf, ": "...), why...)
	return reason, string(buf)
}
