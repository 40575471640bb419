package horizontal

import "time"

// Recommend evaluates every metric of s against o (algorithms.md Parts A and
// B) and combines them: the maximum over the successful metrics, Invalid when
// all failed or when some failed and the rest would scale down.
func Recommend(o Observation, s Spec, opt Options) Proposal {
	panic("TODO(horizontal): implement")
}

// Decide runs one whole reconcile (algorithms.md Part C): the out-of-range
// corrections, Recommend, then the legacy or the behavior normalization with
// the stabilization windows and rate limits. It records the raw
// recommendation in h (seeding it on the first reconcile) but not a scale
// event: call h.RecordScale after the new size was actually applied.
// A nil h is treated as an empty history that is thrown away.
func Decide(o Observation, s Spec, opt Options, h *History) Decision {
	panic("TODO(horizontal): implement")
}

// RecordScale stores a successful change from -> to at now (behavior path
// only, as upstream), dropping events older than the longest policy period of
// their direction.
func (h *History) RecordScale(now time.Time, from, to int32, b *Behavior) {
	panic("TODO(horizontal): implement")
}

// DefaultScaleUpRules returns the API defaults for behavior.scaleUp:
// window 0, selectPolicy Max, policies [Pods 4 per 15s, Percent 100 per 15s].
func DefaultScaleUpRules() ScalingRules {
	panic("TODO(horizontal): implement")
}

// DefaultScaleDownRules returns the API defaults for behavior.scaleDown with
// the given stabilization window (the controller's downscale stabilization
// when the spec leaves it nil): selectPolicy Max, policies [Percent 100 per 15s].
func DefaultScaleDownRules(window time.Duration) ScalingRules {
	panic("TODO(horizontal): implement")
}
