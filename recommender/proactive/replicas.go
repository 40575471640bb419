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
//   - above the tolerance band, or above the pods' capacity (a utilization
//     target over 100/(1+tolerance) % would otherwise plan for overload):
//     ceil(d / per-pod target) (Value: ceil(ratio * ready pods), as
//     upstream) — a scale-up ahead of the metrics;
//   - within the band: the current size — the forecast sees no reason to
//     scale down, so it holds the count;
//   - below the band: 0 — no opinion, scale-down is the reactive rule's.
//
// 0 also when it cannot say (no request known, a zero target). With no
// current replicas (scale from zero) the size is computed directly.
func replicasFor(m horizontal.MetricSpec, o horizontal.Observation, d float64, tol tolerances) int32 {
	cur := float64(o.CurrentReplicas)
	var per float64
	switch m.Target.Type {
	case horizontal.UtilizationTarget:
		per = meanRequest(o.Pods, m) * float64(m.Target.Utilization) / 100
	case horizontal.AverageValueTarget:
		per = float64(m.Target.AverageValue)
	case horizontal.ValueTarget:
		if m.Target.Value <= 0 {
			return 0
		}
		ratio := d / float64(m.Target.Value)
		if ready := readyPods(o.Pods); ready > 0 && cur > 0 {
			return band(ratio, tol.down, 1+tol.up, o.CurrentReplicas, ceilReplicas(ratio*float64(ready)))
		}
		return ceilReplicas(ratio)
	}
	if !(per > 0) {
		return 0
	}
	if cur == 0 {
		return ceilReplicas(d / per)
	}
	upper := 1 + tol.up
	if m.Target.Type == horizontal.UtilizationTarget {
		upper = min(upper, 100/float64(m.Target.Utilization))
	}
	return band(d/(per*cur), tol.down, upper, o.CurrentReplicas, ceilReplicas(d/per))
}

// neededFor is the size the forecast demand d needs at metric m's target,
// whatever the current size: ceil(d / per-pod target), for a Value target
// ceil(d / value * ready pods) (ready pods at least 1). 0 when it cannot
// say.
func neededFor(m horizontal.MetricSpec, o horizontal.Observation, d float64) int32 {
	switch m.Target.Type {
	case horizontal.UtilizationTarget:
		return ceilReplicas(d / (meanRequest(o.Pods, m) * float64(m.Target.Utilization) / 100))
	case horizontal.AverageValueTarget:
		if m.Target.AverageValue > 0 {
			return ceilReplicas(d / float64(m.Target.AverageValue))
		}
	case horizontal.ValueTarget:
		if m.Target.Value > 0 {
			return ceilReplicas(d / float64(m.Target.Value) * float64(max(1, readyPods(o.Pods))))
		}
	}
	return 0
}

// band picks the floor for a forecast ratio: 0 below 1-down, current up to
// upper, else the size the forecast needs.
func band(ratio, down, upper float64, current, needed int32) int32 {
	switch {
	case ratio < 1-down:
		return 0
	case ratio <= upper:
		return current
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
