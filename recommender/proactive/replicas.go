package proactive

import (
	"math"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// replicasFor turns a forecast total demand d (milli-units, margin
// included) into the floor it asks for, by the HPA's own rule applied to
// the forecast instead of the observation:
//
//   - ratio = d / what the current replicas serve at metric m's target (the
//     mean per-pod request times the target utilization, or the target
//     average value; for a Value target, d / value);
//   - above the tolerance band: the size the forecast needs (see plan) — a
//     scale-up ahead of the metrics;
//   - within the band: the smaller of the current size and the size the
//     forecast needs — the forecast sees no reason to scale up, and does not
//     stand in the way of a reactive scale-down further than its own need;
//   - below the band: 0 — no opinion, scale-down is the reactive rule's.
//
// 0 also when it cannot say (no request known, a zero target). With no
// current replicas (scale from zero) the size is computed directly.
func replicasFor(m horizontal.MetricSpec, o horizontal.Observation, d float64, tol tolerances) int32 {
	cur := float64(o.CurrentReplicas)
	if m.Target.Type == horizontal.ValueTarget {
		if m.Target.Value <= 0 {
			return 0
		}
		ratio := d / float64(m.Target.Value)
		if ready := readyPods(o.Pods); ready > 0 && cur > 0 {
			return band(ratio, tol.down, 1+tol.up, o.CurrentReplicas, ceilReplicas(ratio*float64(ready)))
		}
		return ceilReplicas(ratio)
	}
	p := planFor(m, o, tol)
	if !(p.per > 0) {
		return 0
	}
	if cur == 0 {
		return ceilReplicas(d / p.ask)
	}
	return band(d/(p.per*cur), tol.down, p.upper, o.CurrentReplicas, ceilReplicas(d/p.ask))
}

// plan is how the forecast judges a Utilization or AverageValue metric:
// per is what one pod serves at the target, upper the top of the band
// within which the forecast holds, ask what one pod may serve in the size
// the forecast asks for.
type plan struct{ per, ask, upper float64 }

// planFor is the HPA's own rule — hold within the tolerance band, else size
// for the target — except for a utilization target within the tolerance of
// 100 % (100/(1+up) < target < 100/(1-down); 91–111 % with the default
// 10 %). The HPA's band then reaches past the pods' capacity (a 95 % target
// waits for 104.5 %) and holds a count that is already overloaded; the
// forecast acts as soon as its demand exceeds the capacity, and asks for
// the size at the capacity (utilization 100 %), not at the target: the
// HPA's band accepts that size, so the forecast raises the count only as
// far as needed to keep the demand within the capacity. A target above
// 111 % runs the pods over their request by design, and the HPA's rule
// applies unchanged.
func planFor(m horizontal.MetricSpec, o horizontal.Observation, tol tolerances) plan {
	switch m.Target.Type {
	case horizontal.UtilizationTarget:
		req := meanRequest(o.Pods, m)
		u := float64(m.Target.Utilization) / 100
		p := plan{per: req * u, ask: req * u, upper: 1 + tol.up}
		if c := 1 / u; c > 1-tol.down && c < 1+tol.up {
			p.ask, p.upper = req, c
		}
		return p
	case horizontal.AverageValueTarget:
		v := float64(m.Target.AverageValue)
		return plan{per: v, ask: v, upper: 1 + tol.up}
	}
	return plan{}
}

// neededFor is the size the forecast demand d needs, whatever the current
// size: ceil(d / what planFor lets a pod serve) — at the target, or at the
// capacity for a utilization target within the tolerance of 100 % — for a
// Value target ceil(d / value * ready pods) (ready pods at least 1). 0 when
// it cannot say.
func neededFor(m horizontal.MetricSpec, o horizontal.Observation, d float64, tol tolerances) int32 {
	if m.Target.Type == horizontal.ValueTarget {
		if m.Target.Value > 0 {
			return ceilReplicas(d / float64(m.Target.Value) * float64(max(1, readyPods(o.Pods))))
		}
		return 0
	}
	if p := planFor(m, o, tol); p.ask > 0 {
		return ceilReplicas(d / p.ask)
	}
	return 0
}

// band picks the floor for a forecast ratio: 0 below 1-down, up to upper
// the smaller of the current size and the size the forecast needs, above
// it the size the forecast needs.
func band(ratio, down, upper float64, current, needed int32) int32 {
	switch {
	case ratio < 1-down:
		return 0
	case ratio <= upper:
		return min(current, needed)
	}
	return needed
}

// tolerances are the HPA's scale-down and scale-up tolerances.
type tolerances struct{ down, up float64 }

func ceilReplicas(x float64) int32 {
	switch c := math.Ceil(x); {
	case c != c || c <= 0:
		return 0
	case c >= math.MaxInt32:
		return math.MaxInt32
	default:
		return int32(c)
	}
}

// meanRequest is the average request of metric m's resource (a container's
// for ContainerResource) over the pods that declare one, in milli-units.
func meanRequest(pods []horizontal.Pod, m horizontal.MetricSpec) float64 {
	var sum float64
	var n int
	for _, p := range pods {
		var r int64
		var ok bool
		if m.Type != horizontal.ContainerResourceMetric && p.PodRequests != nil {
			r, ok = p.PodRequests[m.Name]
		} else {
			for _, c := range p.Containers {
				if m.Type == horizontal.ContainerResourceMetric && c.Name != m.Container {
					continue
				}
				if v, has := c.Requests[m.Name]; has {
					r, ok = r+v, true
				}
			}
		}
		if ok && r > 0 {
			sum += float64(r)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// readyPods counts Running pods with Ready=True.
func readyPods(pods []horizontal.Pod) int {
	n := 0
	for _, p := range pods {
		if p.Phase == horizontal.PodRunning && p.Ready && !p.Deleting {
			n++
		}
	}
	return n
}
