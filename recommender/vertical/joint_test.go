package vertical

import (
	"testing"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

func TestJointPolicy(t *testing.T) {
	util := func(typ horizontal.MetricType, name string, u int32) horizontal.MetricSpec {
		return horizontal.MetricSpec{Type: typ, Name: name, Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: u}}
	}
	for _, tc := range []struct {
		name     string
		metrics  []horizontal.MetricSpec
		cpu, mem int32
	}{
		{name: "no resource metric", metrics: []horizontal.MetricSpec{{Type: horizontal.PodsMetric, Name: "rps",
			Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 10}}}},
		{name: "cpu utilization", metrics: []horizontal.MetricSpec{util(horizontal.ResourceMetric, "cpu", 60)}, cpu: 60},
		{name: "cpu average value is not utilization", metrics: []horizontal.MetricSpec{{Type: horizontal.ResourceMetric,
			Name: "cpu", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 500}}}},
		{name: "lowest of several, memory too", metrics: []horizontal.MetricSpec{util(horizontal.ResourceMetric, "cpu", 70),
			util(horizontal.ContainerResourceMetric, "cpu", 50), util(horizontal.ResourceMetric, "memory", 80)}, cpu: 50, mem: 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := JointPolicy(horizontal.Spec{Metrics: tc.metrics}, Policy{})
			if got.HorizontalCPUUtilization != tc.cpu || got.HorizontalMemoryUtilization != tc.mem {
				t.Errorf("JointPolicy() cpu %d memory %d, want %d %d", got.HorizontalCPUUtilization,
					got.HorizontalMemoryUtilization, tc.cpu, tc.mem)
			}
		})
	}
}
