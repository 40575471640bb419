package horizontal

import "time"

// seed records {current, now} on the first reconcile of a target (upstream
// recordInitialRecommendation), so that the first scale-down waits one
// downscale window. A history restored with recommendations but without
// Seeded is only marked seeded.
func (h *History) seed(now time.Time, current int32) {
	if h.Seeded {
		return
	}
	if len(h.Recommendations) == 0 {
		h.Recommendations = append(h.Recommendations, Recommendation{At: now, Replicas: current})
	}
	h.Seeded = true
}

// record stores rec, overwriting the entry at old when old >= 0 (upstream
// reuses the last entry that fell out of every window), else appending. The
// list therefore never holds more entries than there were reconciles within
// one window, plus the ones already out of it.
func (h *History) record(old int, rec Recommendation) {
	if old >= 0 {
		h.Recommendations[old] = rec
		return
	}
	h.Recommendations = append(h.Recommendations, rec)
}

// stabilizeLegacy is upstream stabilizeRecommendation (C.2.1): the maximum of
// p and every recommendation not older than window (one exactly window old
// still counts), then p is recorded.
func (h *History) stabilizeLegacy(now time.Time, window time.Duration, p int32) int32 {
	highest, old := p, -1
	cutoff := now.Add(-window)
	for i, r := range h.Recommendations {
		if r.At.Before(cutoff) {
			old = i
		} else if r.Replicas > highest {
			highest = r.Replicas
		}
	}
	h.record(old, Recommendation{At: now, Replicas: p})
	return highest
}

// stabilizeBehavior is upstream stabilizeRecommendationWithBehaviors
// (C.3.1): a scale-up goes only to the smallest recommendation newer than
// now-upWindow, a scale-down only to the largest newer than now-downWindow
// (strictly newer), then p is recorded. It returns the stabilized value and
// the AbleToScale reason and message to use when it differs from p.
func (h *History) stabilizeBehavior(now time.Time, current, p int32, upWindow, downWindow time.Duration) (int32, string, string) {
	upRec, downRec, old := p, p, -1
	upCutoff, downCutoff := now.Add(-upWindow), now.Add(-downWindow)
	for i, r := range h.Recommendations {
		if r.At.After(upCutoff) {
			upRec = min(upRec, r.Replicas)
		}
		if r.At.After(downCutoff) {
			downRec = max(downRec, r.Replicas)
		}
		if r.At.Before(upCutoff) && r.At.Before(downCutoff) {
			old = i
		}
	}
	s := current
	if s < upRec {
		s = upRec
	}
	if s > downRec {
		s = downRec
	}
	h.record(old, Recommendation{At: now, Replicas: p})
	if p >= current {
		return s, ReasonScaleUpStabilized, "recent recommendations were lower than current one, applying the lowest recent recommendation"
	}
	return s, ReasonScaleDownStabilized, "recent recommendations were higher than current one, applying the highest recent recommendation"
}

// recordScale is RecordScale on a non-nil history (upstream storeScaleEvent).
func (h *History) recordScale(now time.Time, from, to int32, b *Behavior) {
	// Upstream sets its ScaledToZero condition on every rescale: true
	// when it took the target from some replicas to zero.
	h.ScaledToZero = from > 0 && to == 0
	if b == nil {
		return // events are used only on the behavior path
	}
	if to > from {
		h.ScaleUpEvents = storeEvent(h.ScaleUpEvents, now, to-from, longestPeriod(b.ScaleUp))
		return
	}
	h.ScaleDownEvents = storeEvent(h.ScaleDownEvents, now, from-to, longestPeriod(b.ScaleDown))
}

// storeEvent appends a change, or overwrites the last event older than the
// direction's longest policy period (upstream marks those outdated and
// reuses one slot; an event older than the longest period never counts
// again, so the flag is implied by its time).
func storeEvent(events []Event, now time.Time, change int32, longest time.Duration) []Event {
	cutoff := now.Add(-longest)
	old := -1
	for i, e := range events {
		if e.At.Before(cutoff) {
			old = i
		}
	}
	ev := Event{At: now, Change: change}
	if old >= 0 {
		events[old] = ev
		return events
	}
	return append(events, ev)
}

// longestPeriod is the longest policy period of r (0 without policies).
func longestPeriod(r ScalingRules) time.Duration {
	var d time.Duration
	for _, p := range r.Policies {
		d = max(d, p.Period)
	}
	return d
}

// changeInPeriod sums the changes of events strictly newer than now-period
// (upstream getReplicasChangePerPeriod).
func changeInPeriod(now time.Time, period time.Duration, events []Event) int32 {
	cutoff := now.Add(-period)
	var n int32
	for _, e := range events {
		if e.At.After(cutoff) {
			n += e.Change
		}
	}
	return n
}
