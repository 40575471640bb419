package horizontal

import (
	"math"
	"time"
)

// HPA condition reasons of AbleToScale and ScalingLimited.
const (
	ReasonReadyForNewScale    = "ReadyForNewScale"
	ReasonScaleUpStabilized   = "ScaleUpStabilized"
	ReasonScaleDownStabilized = "ScaleDownStabilized"
	ReasonDesiredWithinRange  = "DesiredWithinRange"
	ReasonTooFewReplicas      = "TooFewReplicas"
	ReasonTooManyReplicas     = "TooManyReplicas"
	ReasonScaleUpLimit        = "ScaleUpLimit"
	ReasonScaleDownLimit      = "ScaleDownLimit"
)

// Condition messages, as upstream.
const (
	msgReadyForNewScale = "recommended size matches current size"
	msgWithinRange      = "the desired count is within the acceptable range"
	msgTooFew           = "the desired replica count is less than the minimum replica count"
	msgTooMany          = "the desired replica count is more than the maximum replica count"
	msgUpLimit          = "the desired replica count is increasing faster than the maximum scale rate"
	msgDownLimit        = "the desired replica count is decreasing faster than the maximum scale rate"
)

// Legacy scale-up limit: max(scaleUpLimitFactor*current, scaleUpLimitMinimum).
const (
	scaleUpLimitFactor  = 2.0
	scaleUpLimitMinimum = 4.0
)

// bounds are the replica bounds of a target.
type bounds struct{ min, max int32 }

// normalized is the outcome of the normalization step (C.2 / C.3).
type normalized struct {
	replicas, stabilized int32
	reactive             int32 // replicas without a floor
	able, ableMsg        string
	limited, limitedMsg  string
}

// normalizeLegacy is upstream normalizeDesiredReplicas (C.2).
// A floor above the stabilized value replaces it before the limits.
func normalizeLegacy(h *History, now time.Time, window time.Duration, current, p int32, b bounds, floor int32) normalized {
	n := normalized{stabilized: h.stabilizeLegacy(now, window, p), able: ReasonReadyForNewScale, ableMsg: msgReadyForNewScale}
	if n.stabilized != p {
		n.able = ReasonScaleDownStabilized
		n.ableMsg = "recent recommendations were higher than current one, applying the highest recent recommendation"
	}
	n.replicas, n.limited, n.limitedMsg = limitLegacy(current, n.stabilized, b)
	n.reactive = n.replicas
	if floor > n.stabilized {
		n.stabilized = floor
		n.replicas, n.limited, n.limitedMsg = limitLegacy(current, floor, b)
	}
	return n
}

// limitLegacy is upstream convertDesiredReplicasWithRules: clamp desired to
// [min, min(max, max(2*current, 4))].
func limitLegacy(current, desired int32, b bounds) (int32, string, string) {
	upLimit := scaleUpLimit(current)
	hi, reason, msg := b.max, ReasonTooManyReplicas, msgTooMany
	if b.max > upLimit {
		hi, reason, msg = upLimit, ReasonScaleUpLimit, msgUpLimit
	}
	switch {
	case desired < b.min:
		return b.min, ReasonTooFewReplicas, msgTooFew
	case desired > hi:
		return hi, reason, msg
	}
	return desired, ReasonDesiredWithinRange, msgWithinRange
}

// scaleUpLimit is upstream calculateScaleUpLimit, saturated to int32.
func scaleUpLimit(current int32) int32 {
	return ceilInt32(math.Max(scaleUpLimitFactor*float64(current), scaleUpLimitMinimum))
}

// normalizeBehavior is upstream normalizeDesiredReplicasWithBehaviors
// (C.3). A floor above the stabilized value replaces it before the rate
// limits; the history records p only, so the stabilization windows see the
// reactive recommendations alone.
func normalizeBehavior(h *History, now time.Time, current, p int32, b bounds, bh *Behavior, floor int32) normalized {
	n := normalized{able: ReasonReadyForNewScale, ableMsg: msgReadyForNewScale}
	var reason, msg string
	n.stabilized, reason, msg = h.stabilizeBehavior(now, current, p, bh.ScaleUp.StabilizationWindow, bh.ScaleDown.StabilizationWindow)
	if n.stabilized != p {
		n.able, n.ableMsg = reason, msg
	}
	n.replicas, n.limited, n.limitedMsg = limitBehavior(h, now, current, n.stabilized, b, bh)
	n.reactive = n.replicas
	if floor > n.stabilized {
		n.stabilized = floor
		n.replicas, n.limited, n.limitedMsg = limitBehavior(h, now, current, floor, b, bh)
	}
	return n
}

// limitBehavior is upstream convertDesiredReplicasWithBehaviorRate: the
// policies' rate limits and the bounds, in the direction of the change.
func limitBehavior(h *History, now time.Time, current, desired int32, b bounds, bh *Behavior) (int32, string, string) {
	switch {
	case desired > current:
		limit := max(upPolicyLimit(now, current, h.ScaleUpEvents, h.ScaleDownEvents, bh.ScaleUp), current)
		hi, reason, msg := b.max, ReasonTooManyReplicas, msgTooMany
		if hi > limit {
			hi, reason, msg = limit, ReasonScaleUpLimit, msgUpLimit
		}
		if desired > hi {
			return hi, reason, msg
		}
	case desired < current:
		limit := min(downPolicyLimit(now, current, h.ScaleUpEvents, h.ScaleDownEvents, bh.ScaleDown), current)
		lo, reason, msg := b.min, ReasonTooFewReplicas, msgTooFew
		if lo < limit {
			lo, reason, msg = limit, ReasonScaleDownLimit, msgDownLimit
		}
		if desired < lo {
			return lo, reason, msg
		}
	}
	return desired, ReasonDesiredWithinRange, msgWithinRange
}

// periodStart is the size at the start of a policy period: current minus
// the ups plus the downs within it (both directions count).
func periodStart(now time.Time, current int32, period time.Duration, ups, downs []Event) int32 {
	return current - changeInPeriod(now, period, ups) + changeInPeriod(now, period, downs)
}

// upPolicyLimit is upstream calculateScaleUpLimitWithScalingRules: Pods
// policies add value, Percent policies multiply (rounded up); Max picks the
// largest, Min the smallest, Disabled returns current.
func upPolicyLimit(now time.Time, current int32, ups, downs []Event, r ScalingRules) int32 {
	if r.SelectPolicy == SelectDisabled {
		return current
	}
	result, pickMin := int32(math.MinInt32), r.SelectPolicy == SelectMin
	if pickMin {
		result = math.MaxInt32
	}
	for _, p := range r.Policies {
		start := periodStart(now, current, p.Period, ups, downs)
		var proposed int32
		if p.Type == PodsPolicy {
			proposed = start + p.Value
		} else {
			proposed = ceilInt32(float64(start) * (1 + float64(p.Value)/100))
		}
		if pickMin {
			result = min(result, proposed)
		} else {
			result = max(result, proposed)
		}
	}
	return result
}

// downPolicyLimit is upstream calculateScaleDownLimitWithBehaviors: Pods
// policies subtract value, Percent policies multiply (truncated); Max (the
// largest change) picks the smallest size, Min the largest, Disabled
// returns current.
func downPolicyLimit(now time.Time, current int32, ups, downs []Event, r ScalingRules) int32 {
	if r.SelectPolicy == SelectDisabled {
		return current
	}
	result, pickMin := int32(math.MaxInt32), r.SelectPolicy == SelectMin
	if pickMin {
		result = math.MinInt32
	}
	for _, p := range r.Policies {
		start := periodStart(now, current, p.Period, ups, downs)
		var proposed int32
		if p.Type == PodsPolicy {
			proposed = start - p.Value
		} else {
			proposed = truncInt32(float64(start) * (1 - float64(p.Value)/100))
		}
		if pickMin {
			result = max(result, proposed)
		} else {
			result = min(result, proposed)
		}
	}
	return result
}

// truncInt32 is int32(x) saturated to the int32 range.
func truncInt32(x float64) int32 {
	switch {
	case x >= math.MaxInt32:
		return math.MaxInt32
	case x <= math.MinInt32:
		return math.MinInt32
	case x != x:
		return 0
	}
	return int32(x)
}
