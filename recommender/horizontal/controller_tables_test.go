package horizontal

import (
	"testing"
	"time"
)

// withTolerance returns r with a per-direction tolerance, as a behavior
// that sets only tolerance gets after API defaulting.
func withTolerance(r ScalingRules, tol float64) *ScalingRules {
	r.Tolerance = &tol
	return &r
}

// TestConfigurableTolerance ports upstream's table (feature
// HPAConfigurableTolerance on; the gate-off case does not apply to ebb).
func TestConfigurableTolerance(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		replicas                int32
		scaleUpRules            *ScalingRules
		scaleDownRules          *ScalingRules
		reportedLevels          []uint64
		reportedCPURequests     []int64
		expectedDesiredReplicas int32
		expectedConditionReason string
	}{
		{
			name:                    "Scaling up because of a 1% configurable tolerance",
			replicas:                3,
			scaleUpRules:            withTolerance(DefaultScaleUpRules(), 0.01),
			reportedLevels:          []uint64{1010, 1030, 1020},
			reportedCPURequests:     []int64{q("0.9"), q("1.0"), q("1.1")},
			expectedDesiredReplicas: 4,
			expectedConditionReason: "SucceededRescale",
		},
		{
			name:                    "No scale-down because of a 90% configurable tolerance",
			replicas:                3,
			scaleDownRules:          withTolerance(DefaultScaleDownRules(5*time.Minute), 0.9),
			reportedLevels:          []uint64{300, 300, 300},
			reportedCPURequests:     []int64{q("1.0"), q("1.0"), q("1.0")},
			expectedDesiredReplicas: 3,
			expectedConditionReason: "ReadyForNewScale",
		},
		{
			name:                    "No scaling because of the large default tolerance",
			replicas:                3,
			reportedLevels:          []uint64{1010, 1030, 1020},
			reportedCPURequests:     []int64{q("0.9"), q("1.0"), q("1.1")},
			expectedDesiredReplicas: 3,
			expectedConditionReason: "ReadyForNewScale",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := controllerCase{
				minReplicas: 1, maxReplicas: 5, specReplicas: tc.replicas, statusReplicas: tc.replicas,
				scaleUpRules: tc.scaleUpRules, scaleDownRules: tc.scaleDownRules,
				expectedDesiredReplicas: tc.expectedDesiredReplicas, CPUTarget: 100,
				reportedLevels: tc.reportedLevels, reportedCPURequests: tc.reportedCPURequests,
				expectedConditions: statusOkWithOverrides(cond{"AbleToScale", true, tc.expectedConditionReason}),
			}
			c.run(t)
		})
	}
}

// TestConditionFailedGetMetrics ports upstream's table: the only metric's
// source fails, nothing is scaled and ScalingActive=False names the type.
func TestConditionFailedGetMetrics(t *testing.T) {
	for reason, specs := range map[string][]MetricSpec{
		"FailedGetResourceMetric": nil,
		"FailedGetPodsMetric":     {{Type: PodsMetric, Name: "qps", Target: Target{Type: AverageValueTarget, AverageValue: q("15.0")}}},
		"FailedGetObjectMetric":   {{Type: ObjectMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: q("15.0")}}},
		"FailedGetExternalMetric": {{Type: ExternalMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: 300}}},
	} {
		t.Run(reason, func(t *testing.T) {
			c := controllerCase{
				minReplicas: 1, maxReplicas: 100, specReplicas: 3, statusReplicas: 3,
				expectedDesiredReplicas: 3, CPUTarget: 10,
				reportedLevels:      []uint64{100, 200, 300},
				reportedCPURequests: []int64{q("0.1"), q("0.1"), q("0.1")},
				metricErr:           map[MetricType]error{ResourceMetric: errTest, PodsMetric: errTest, ObjectMetric: errTest, ExternalMetric: errTest},
				expectedConditions:  []cond{{"AbleToScale", true, "SucceededGetScale"}, {"ScalingActive", false, reason}},
			}
			if specs != nil {
				c.CPUTarget = 0
			}
			c.metricsTarget = specs
			c.run(t)
		})
	}
}
