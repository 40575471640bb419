package vertical

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// JointPolicy returns p with HorizontalCPUUtilization and
// HorizontalMemoryUtilization set from the target's horizontal spec: the
// Utilization targets of its Resource (or ContainerResource) cpu and memory
// metrics, the lowest when several, so the vertical side does not ratchet
// against the horizontal one (docs/vertical.md, "Joint with horizontal").
func JointPolicy(spec horizontal.Spec, p rv.Policy) rv.Policy {
	for _, m := range spec.Metrics {
		if (m.Type != horizontal.ResourceMetric && m.Type != horizontal.ContainerResourceMetric) ||
			m.Target.Type != horizontal.UtilizationTarget || m.Target.Utilization <= 0 {
			continue
		}
		switch corev1.ResourceName(m.Name) {
		case corev1.ResourceCPU:
			p.HorizontalCPUUtilization = lowest(p.HorizontalCPUUtilization, m.Target.Utilization)
		case corev1.ResourceMemory:
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
