package vertical

import "github.com/ebb-autoscaler/ebb/recommender/horizontal"

// JointPolicy returns p with HorizontalCPUUtilization and
// HorizontalMemoryUtilization set from the target's horizontal spec: the
// Utilization targets of its Resource (or ContainerResource) cpu and memory
// metrics, the lowest when several, so the vertical side does not ratchet
// against the horizontal one (docs/vertical.md, "Joint with horizontal").
func JointPolicy(spec horizontal.Spec, p Policy) Policy {
	for _, m := range spec.Metrics {
		if (m.Type != horizontal.ResourceMetric && m.Type != horizontal.ContainerResourceMetric) ||
			m.Target.Type != horizontal.UtilizationTarget || m.Target.Utilization <= 0 {
			continue
		}
		switch Resource(m.Name) {
		case CPU:
			p.HorizontalCPUUtilization = lowest(p.HorizontalCPUUtilization, m.Target.Utilization)
		case Memory:
			p.HorizontalMemoryUtilization = lowest(p.HorizontalMemoryUtilization, m.Target.Utilization)
		}
	}
	return p
}

func lowest(cur, v int32) int32 {
	if cur == 0 || v < cur {
		return v
	}
	return cur
}
