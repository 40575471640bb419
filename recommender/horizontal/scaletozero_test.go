package horizontal

import (
	"testing"
	"time"
)

// TestScaleToZeroGateOn ports the feature-gate-on half of upstream's
// HPAScaleToZero tests (k8s.io/kubernetes v1.36.3 horizontal_test.go): the
// ScaledToZero condition is History.ScaledToZero.
func TestScaleToZeroGateOn(t *testing.T) {
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
		{"TestScaleUpFromZeroCMObject", controllerCase{maxReplicas: 6, metricsTarget: object(q("15.0")), scaledToZero: true,
			reportedLevels: []uint64{20000}, expectedDesiredReplicas: 2}},
		{"TestScaleUpFromZeroIgnoresToleranceCMObject", controllerCase{maxReplicas: 6, metricsTarget: object(q("1.0")), scaledToZero: true,
			reportedLevels: []uint64{1000}, expectedDesiredReplicas: 1}},
		{"TestScaleUpFromZeroOneMetricInvalid", controllerCase{maxReplicas: 6, CPUTarget: 30, metricsTarget: []MetricSpec{{Type: "CheddarCheese"}},
			reportedLevels: []uint64{300, 400, 500}, reportedCPURequests: ones(3), recommendations: []timestampedRecommendation{}, expectedConditions: disabled}},
		{"TestScaleDownToZeroCMObject", controllerCase{maxReplicas: 6, specReplicas: 5, statusReplicas: 5, metricsTarget: object(q("20.0")),
			reportedLevels: []uint64{0}, reportedCPURequests: ones(5), recommendations: []timestampedRecommendation{}, expectedConditions: statusOk}},
		{"TestScaleDownToZeroCMExternal", controllerCase{maxReplicas: 6, specReplicas: 5, statusReplicas: 5,
			metricsTarget:  []MetricSpec{{Type: ExternalMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: 14400}}},
			reportedLevels: []uint64{0}, recommendations: []timestampedRecommendation{}, expectedConditions: statusOk}},
		{"TestScaleUpFromZeroWithoutCondition", controllerCase{maxReplicas: 6, metricsTarget: object(q("15.0")),
			reportedLevels: []uint64{20000}, expectedConditions: disabled}},
		{"TestScaleUpFromZeroWhenMinReplicasIncreased", controllerCase{minReplicas: 2, maxReplicas: 6, metricsTarget: object(15000), scaledToZero: true,
			reportedLevels: []uint64{10000}, expectedDesiredReplicas: 2,
			expectedConditions: statusOkWithOverrides(cond{"ScalingLimited", true, "TooFewReplicas"})}},
		{"TestManualScaleToZeroDisablesHPA", controllerCase{minReplicas: 1, maxReplicas: 6, CPUTarget: 50, reportedLevels: []uint64{}, reportedCPURequests: []int64{}, expectedConditions: disabled}},
	} {
		t.Run(c.name, func(t *testing.T) { c.tc.run(t) })
	}
}

// TestScaleToZeroCycle runs a target with an External metric and
// minReplicas 0 through a scale to zero and back: RecordScale notes the
// scale to zero, the next decision at zero computes from the metric (with
// the behavior's scale-up policies), and a scale back up clears the state.
func TestScaleToZeroCycle(t *testing.T) {
	b := DefaultBehavior(testOptions())
	b.ScaleDown.StabilizationWindow = 0
	spec := Spec{MinReplicas: 0, MaxReplicas: 10, Behavior: &b,
		Metrics: []MetricSpec{{Type: ExternalMetric, Name: "queue", Target: Target{Type: AverageValueTarget, AverageValue: 10_000}}}}
	var h History
	now := testNow
	decide := func(current int32, value int64) Decision {
		t.Helper()
		o := Observation{Now: now, CurrentReplicas: current, StatusReplicas: current, Metrics: []MetricValues{{Value: value}}}
		d := Decide(o, spec, testOptions(), &h)
		if d.Err != nil {
			t.Fatalf("at %v: %v", now, d.Err)
		}
		if d.Replicas != current {
			h.RecordScale(now, current, d.Replicas, spec.Behavior)
		}
		now = now.Add(15 * time.Second)
		return d
	}
	if d := decide(3, 0); d.Replicas != 0 || !h.ScaledToZero {
		t.Fatalf("empty queue at 3 replicas: desired %d, ScaledToZero %v; want 0, true", d.Replicas, h.ScaledToZero)
	}
	if d := decide(0, 0); d.Replicas != 0 || d.Reason == ReasonScalingDisabled {
		t.Fatalf("empty queue at zero: desired %d (%s); want 0, decided from the metric", d.Replicas, d.Reason)
	}
	// 95 items at 10 per replica: 10, but the default scale-up policies
	// allow 4 pods (or 100 % of 0) per 15 s.
	if d := decide(0, 95_000); d.Replicas != 4 || d.LimitedReason != ReasonScaleUpLimit || h.ScaledToZero {
		t.Fatalf("queue of 95 at zero: desired %d (limited %s), ScaledToZero %v; want 4, ScaleUpLimit, false", d.Replicas, d.LimitedReason, h.ScaledToZero)
	}
	// Someone else scales the target to zero: the state says it was not
	// ebb, so the target stays at zero.
	h.ScaledToZero = false
	if d := decide(0, 95_000); d.Replicas != 0 || d.Reason != ReasonScalingDisabled {
		t.Errorf("manual scale to zero: desired %d (%s), want 0 (ScalingDisabled)", d.Replicas, d.Reason)
	}
}

// TestScaleFromZeroPercentOnly: a Percent-only scale-up policy cannot grow
// a target from zero (100 % of 0 is 0), exactly as upstream computes it.
func TestScaleFromZeroPercentOnly(t *testing.T) {
	b := DefaultBehavior(testOptions())
	b.ScaleUp.Policies = []ScalingPolicy{{Type: PercentPolicy, Value: 100, Period: 15 * time.Second}}
	spec := Spec{MinReplicas: 0, MaxReplicas: 10, Behavior: &b,
		Metrics: []MetricSpec{{Type: ExternalMetric, Name: "queue", Target: Target{Type: ValueTarget, Value: 10_000}}}}
	h := History{ScaledToZero: true}
	d := Decide(Observation{Now: testNow, Metrics: []MetricValues{{Value: 50_000}}}, spec, testOptions(), &h)
	if d.Replicas != 0 || d.Recommended != 5 {
		t.Errorf("desired %d (recommended %d), want 0 (5): 100 %% of zero is zero", d.Replicas, d.Recommended)
	}
}
