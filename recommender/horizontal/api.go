package horizontal

import "time"

// Recommend evaluates every metric of s against o (algorithms.md Parts A and
// B) and combines them: the maximum over the successful metrics, Invalid when
// all failed or when some failed and the rest would scale down.
// When Invalid, Replicas still holds the maximum over the successful metrics
// (0 when none succeeded) but must not be acted upon.
func Recommend(o Observation, s Spec, opt Options) Proposal {
	return recommend(o, s, tolerancesFor(s.Behavior, opt.Tolerance), readinessFor(o.Now, opt))
}

// Decide runs one whole reconcile (algorithms.md Part C): the out-of-range
// corrections, Recommend, then the legacy or the behavior normalization with
// the stabilization windows and rate limits. It records the raw
// recommendation in h (seeding it on the first reconcile) but not a scale
// event: call h.RecordScale after the new size was actually applied.
// A nil h is treated as an empty history that is thrown away.
func Decide(o Observation, s Spec, opt Options, h *History) Decision {
	if h == nil {
		h = &History{}
	}
	d, _ := decide(o, s, opt, h, 0)
	return d
}

// DecideWithFloor is Decide with a lower bound on the outcome of the
// stabilization windows, for a forecast that proposes a size ahead of the
// metrics: when floor is above the stabilized recommendation it replaces it,
// then the rate limits (behavior policies or the legacy limit) and the
// min/max bounds apply as usual. The history records the metrics' own
// recommendation, never the floor, so the scale-down windows stay exactly as
// reactive as without it. With floor 0 (or any floor at or below the
// stabilized value) the decision is Decide's. It also returns Decide's
// replicas for the same input and history (the reactive decision); the
// returned Replicas are never below it.
func DecideWithFloor(o Observation, s Spec, opt Options, h *History, floor int32) (Decision, int32) {
	if h == nil {
		h = &History{}
	}
	return decide(o, s, opt, h, floor)
}

// DecideFallback is Decide for a target whose metrics are missing and whose
// policy falls back to replicas: replicas is the proposal, and it goes
// through the same out-of-range corrections, stabilization windows, rate
// limits and bounds as a proposal computed from metrics (and is recorded in
// h like one). o.Metrics are not read. A nil h is treated as in Decide.
func DecideFallback(o Observation, s Spec, opt Options, h *History, replicas int32) Decision {
	if h == nil {
		h = &History{}
	}
	d, _ := decideWith(o, s, opt, h, 0, func() Proposal {
		return Proposal{Replicas: replicas, Metric: "fallback", Reason: "MissingMetricsFallback",
			Message: "metrics missing: the policy's fallback replicas are the proposal"}
	})
	return d
}

// RecordScale stores a successful change from -> to at now (behavior path
// only, as upstream), dropping events older than the longest policy period of
// their direction. As upstream, one such outdated event is overwritten by
// the new one; the others stay but never count again. It also notes whether
// the change was a scale to zero (History.ScaledToZero; on every path). A
// nil h records nothing; a nil b records no event.
func (h *History) RecordScale(now time.Time, from, to int32, b *Behavior) {
	if h == nil {
		return
	}
	h.recordScale(now, from, to, b)
}

// DefaultScaleUpRules returns the API defaults for behavior.scaleUp:
// window 0, selectPolicy Max, policies [Pods 4 per 15s, Percent 100 per 15s].
func DefaultScaleUpRules() ScalingRules {
	return ScalingRules{
		SelectPolicy: SelectMax,
		Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
		},
	}
}

// DefaultScaleDownRules returns the API defaults for behavior.scaleDown with
// the given stabilization window (the controller's downscale stabilization
// when the spec leaves it nil): selectPolicy Max, policies [Percent 100 per 15s].
func DefaultScaleDownRules(window time.Duration) ScalingRules {
	return ScalingRules{
		StabilizationWindow: window,
		SelectPolicy:        SelectMax,
		Policies:            []ScalingPolicy{{Type: PercentPolicy, Value: 100, Period: 15 * time.Second}},
	}
}

// DefaultBehavior returns a behavior with both directions at their API
// defaults, the scale-down window being opt.DownscaleStabilization.
func DefaultBehavior(opt Options) Behavior {
	return Behavior{ScaleUp: DefaultScaleUpRules(), ScaleDown: DefaultScaleDownRules(opt.DownscaleStabilization)}
}

// Tolerances returns the scale-down and scale-up tolerances the spec's
// ratios are judged with: the controller's tolerance, replaced per
// direction by the behavior's tolerance fields (HPAConfigurableTolerance).
func (s Spec) Tolerances(opt Options) (down, up float64) {
	t := tolerancesFor(s.Behavior, opt.Tolerance)
	return t.down, t.up
}
