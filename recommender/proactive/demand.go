package proactive

import (
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// demand is the observed demand behind metric i (m), in its milli-units:
// the value itself for Object and External metrics (stamped now: the
// metric APIs say nothing of the window behind such a value); for per-pod
// metrics the sum of the pods' values (their total usage or rate over the
// last scrape window), stamped at the middle of the newest sample's window:
// a window's mean is the demand of its middle (exactly so on a ramp), so a
// trend fitted to samples stamped at their window's end would lag by half a
// window. A
// per-pod sum is incomplete when a pod measured at the previous observation
// has no sample any more (it was deleted, and its share of the window's
// demand went with it): such a sample is skipped rather than taken as a
// drop in demand.
func (t *Target) demand(i int, m horizontal.MetricSpec, v horizontal.MetricValues, now time.Time) (forecast.Sample, bool) {
	if v.Err != nil {
		return forecast.Sample{}, false
	}
	switch m.Type {
	case horizontal.ObjectMetric, horizontal.ExternalMetric:
		return forecast.Sample{At: now, Value: float64(v.Value)}, v.Value >= 0
	}
	for len(t.measured) <= i {
		t.measured = append(t.measured, nil)
	}
	prev := t.measured[i]
	complete := true
	for name := range prev {
		if _, ok := v.PodValues[name]; !ok {
			complete = false
			break
		}
	}
	cur := t.spare
	if cur == nil {
		cur = make(map[string]bool, len(v.PodValues))
	}
	clear(cur)
	var sum float64
	var at time.Time
	for name, s := range v.PodValues {
		cur[name] = true
		sum += float64(s.Value)
		if mid := s.Timestamp.Add(-s.Window / 2); mid.After(at) {
			at = mid
		}
	}
	t.measured[i], t.spare = cur, prev // the previous set is reused next time
	return forecast.Sample{At: at, Value: sum}, complete && len(v.PodValues) > 0
}
