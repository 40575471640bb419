package horizontal

import (
	"fmt"
	"math"
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

// TestScaleToZeroGateOff ports the feature-gate-off half of upstream's
// HPAScaleToZero tests: without the ScaledToZero state (with the gate off
// upstream never has it) a target at zero replicas is never scaled, a
// scale-down to zero with minReplicas 0 still happens.
func TestScaleToZeroGateOff(t *testing.T) {
	object := func(v int64) []MetricSpec {
		return []MetricSpec{{Type: ObjectMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: v}}}
	}
	disabled := []cond{{"AbleToScale", true, "SucceededGetScale"}, {"ScalingActive", false, "ScalingDisabled"}}
	ones := func(n int) []int64 {
		out := make([]int64, n)
		for i := range out {
			out[i] = q("1.0")
		}
		return out
	}
	for _, c := range []struct {
		name string
		tc   controllerCase
	}{
		{"TestScaleUpFromZeroCMObject/HPAScaleToZero=false", controllerCase{maxReplicas: 6, metricsTarget: object(q("15.0")),
			reportedLevels: []uint64{20000}, expectedConditions: disabled}},
		{"TestScaleUpFromZeroIgnoresToleranceCMObject/HPAScaleToZero=false", controllerCase{maxReplicas: 6, metricsTarget: object(q("1.0")),
			reportedLevels: []uint64{1000}, expectedConditions: disabled}},
		{"TestScaleUpFromZeroOneMetricInvalid/HPAScaleToZero=false", controllerCase{maxReplicas: 6, CPUTarget: 30, metricsTarget: []MetricSpec{{Type: "CheddarCheese"}},
			reportedLevels: []uint64{300, 400, 500}, reportedCPURequests: ones(3), recommendations: []timestampedRecommendation{}, expectedConditions: disabled}},
		{"TestScaleDownToZeroCMObject/HPAScaleToZero=false", controllerCase{maxReplicas: 6, specReplicas: 5, statusReplicas: 5, metricsTarget: object(q("20.0")),
			reportedLevels: []uint64{0}, reportedCPURequests: ones(5), recommendations: []timestampedRecommendation{}, expectedConditions: statusOk}},
		{"TestScaleDownToZeroCMExternal/HPAScaleToZero=false", controllerCase{maxReplicas: 6, specReplicas: 5, statusReplicas: 5,
			metricsTarget:  []MetricSpec{{Type: ExternalMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: 14400}}},
			reportedLevels: []uint64{0}, recommendations: []timestampedRecommendation{}, expectedConditions: statusOk}},
		{"TestScaleUpFromZeroWithoutCondition/HPAScaleToZero=false", controllerCase{maxReplicas: 6, metricsTarget: object(q("15.0")),
			reportedLevels: []uint64{20000}, expectedConditions: disabled}},
		{"TestScaleUpFromZeroWhenMinReplicasIncreased/HPAScaleToZero=false", controllerCase{minReplicas: 2, maxReplicas: 6, metricsTarget: object(15000),
			reportedLevels: []uint64{10000}, expectedConditions: disabled}},
		{"TestScaledToZeroConditionHandledOnNormalRescale/HPAScaleToZero=false", controllerCase{minReplicas: 1, maxReplicas: 6, specReplicas: 3, statusReplicas: 3,
			expectedDesiredReplicas: 5, CPUTarget: 30, reportedLevels: []uint64{300, 500, 700}, reportedCPURequests: ones(3), expectedConditions: statusOk}},
		{"TestManualScaleToZeroDisablesHPA", controllerCase{minReplicas: 1, maxReplicas: 6, CPUTarget: 50, reportedLevels: []uint64{}, reportedCPURequests: []int64{}, expectedConditions: disabled}},
	} {
		t.Run(c.name, func(t *testing.T) { c.tc.run(t) })
	}
}

// TestScaleFromZeroProposal checks the currentReplicas == 0 branch of the
// Object/External Value calculation (A.8.2: ceil(ratio), tolerance
// ignored), which Recommend exposes for callers that implement scale-to-zero:
// upstream's gate-on expectations of the same tests.
func TestScaleFromZeroProposal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target int64
		value  int64
		want   int32
	}{
		{"TestScaleUpFromZeroCMObject/HPAScaleToZero=true", q("15.0"), 20000, 2},
		{"TestScaleUpFromZeroIgnoresToleranceCMObject/HPAScaleToZero=true", q("1.0"), 1000, 1},
		{"TestScaleUpFromZeroWhenMinReplicasIncreased/HPAScaleToZero=true (before min)", 15000, 10000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Observation{Now: testNow, Metrics: []MetricValues{{Value: tc.value}}}
			s := Spec{MaxReplicas: 6, Metrics: []MetricSpec{{Type: ObjectMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: tc.target}}}}
			if p := Recommend(o, s, testOptions()); p.Replicas != tc.want || p.Invalid {
				t.Errorf("Recommend() = %d invalid=%v, want %d", p.Replicas, p.Invalid, tc.want)
			}
		})
	}
}

// TestComputedToleranceAlgImplementation ports upstream's controller test:
// a scale-down just outside the tolerance, then none just inside it.
func TestComputedToleranceAlgImplementation(t *testing.T) {
	startPods := int32(10)
	totalUsedCPUOfAllPods := uint64(startPods * 150)
	totalRequestedCPUOfAllPods := int32(2 * totalUsedCPUOfAllPods)
	requestedToUsed := float64(totalRequestedCPUOfAllPods / int32(totalUsedCPUOfAllPods))
	perPodRequested := totalRequestedCPUOfAllPods / startPods

	target := math.Abs(1/(requestedToUsed*(1-defaultTestingTolerance))) + .01
	finalCPUPercentTarget := int32(target * 100)
	resourcesUsedRatio := float64(totalUsedCPUOfAllPods) / float64(float64(totalRequestedCPUOfAllPods)*target)
	finalPods := int32(math.Ceil(resourcesUsedRatio * float64(startPods)))

	levels := make([]uint64, 10)
	for i := range levels {
		levels[i] = totalUsedCPUOfAllPods / 10
	}
	var requests []int64
	for _, d := range []int32{100, -100, 10, -10, 2, -2, 1, -1, 0, 0} {
		requests = append(requests, q(fmt.Sprint(perPodRequested+d)+"m"))
	}
	tc1 := controllerCase{
		maxReplicas: 1000, specReplicas: startPods, statusReplicas: startPods,
		expectedDesiredReplicas: finalPods, CPUTarget: finalCPUPercentTarget,
		reportedLevels: levels, reportedCPURequests: requests, recommendations: []timestampedRecommendation{},
	}
	t.Run("scale down outside tolerance", func(t *testing.T) { tc1.run(t) })

	target = math.Abs(1/(requestedToUsed*(1-defaultTestingTolerance))) + .004
	tc2 := tc1
	tc2.CPUTarget, tc2.expectedDesiredReplicas = int32(target*100), startPods
	tc2.expectedConditions = statusOkWithOverrides(cond{"AbleToScale", true, "ReadyForNewScale"})
	t.Run("no scale inside tolerance", func(t *testing.T) { tc2.run(t) })
}
