package horizontal

import (
	"testing"
	"time"
)

// Ported from upstream horizontal_test.go (k8s.io/kubernetes v1.36.3).

func TestConvertDesiredReplicasWithRules(t *testing.T) {
	for _, ctc := range []struct {
		currentReplicas                  int32
		expectedDesiredReplicas          int32
		hpaMinReplicas                   int32
		hpaMaxReplicas                   int32
		expectedConvertedDesiredReplicas int32
		expectedCondition                string
		annotation                       string
	}{
		{5, 7, 3, 8, 7, "DesiredWithinRange", "prenormalized desired replicas within range"},
		{3, 1, 2, 8, 2, "TooFewReplicas", "prenormalized desired replicas < minReplicas"},
		{1, 0, 0, 10, 0, "DesiredWithinRange", "prenormalized desired zeroed replicas within range"},
		{20, 1000, 1, 10, 10, "TooManyReplicas", "maxReplicas is the limit because maxReplicas < scaleUpLimit"},
		{3, 1000, 1, 2000, 6, "ScaleUpLimit", "scaleUpLimit is the limit because scaleUpLimit < maxReplicas"},
		// ebb: the minimum of the legacy limit (4) binds for small sizes.
		{1, 1000, 1, 2000, 4, "ScaleUpLimit", "ebb: scaleUpLimit minimum of 4 pods"},
	} {
		t.Run(ctc.annotation, func(t *testing.T) {
			got, cond, _ := limitLegacy(ctc.currentReplicas, ctc.expectedDesiredReplicas, bounds{min: ctc.hpaMinReplicas, max: ctc.hpaMaxReplicas})
			if got != ctc.expectedConvertedDesiredReplicas || cond != ctc.expectedCondition {
				t.Errorf("limitLegacy() = %d, %s; want %d, %s", got, cond, ctc.expectedConvertedDesiredReplicas, ctc.expectedCondition)
			}
		})
	}
}

func TestCalculateScaleUpLimitWithScalingRules(t *testing.T) {
	rules := ScalingRules{StabilizationWindow: 300 * time.Second, SelectPolicy: SelectMin, Policies: []ScalingPolicy{
		{Type: PodsPolicy, Value: 2, Period: 60 * time.Second},
		{Type: PercentPolicy, Value: 50, Period: 60 * time.Second},
	}}
	if got := upPolicyLimit(testNow, 1, nil, nil, rules); got != 2 {
		t.Errorf("upPolicyLimit() = %d, want 2", got)
	}
}

func TestCalculateScaleDownLimitWithBehaviors(t *testing.T) {
	rules := ScalingRules{StabilizationWindow: 300 * time.Second, SelectPolicy: SelectMin, Policies: []ScalingPolicy{
		{Type: PodsPolicy, Value: 2, Period: 60 * time.Second},
		{Type: PercentPolicy, Value: 50, Period: 60 * time.Second},
	}}
	if got := downPolicyLimit(testNow, 5, nil, nil, rules); got != 3 {
		t.Errorf("downPolicyLimit() = %d, want 3", got)
	}
}

func TestNormalizeDesiredReplicas(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		recommendations              []timestampedRecommendation
		prenormalizedDesiredReplicas int32
		expectedStabilizedReplicas   int32
		expectedLogLength            int
	}{
		{"empty log", []timestampedRecommendation{}, 5, 5, 1},
		{"stabilize", []timestampedRecommendation{
			{4, testNow.Add(-2 * time.Minute)},
			{5, testNow.Add(-1 * time.Minute)},
		}, 3, 5, 3},
		{"no stabilize", []timestampedRecommendation{
			{1, testNow.Add(-2 * time.Minute)},
			{2, testNow.Add(-1 * time.Minute)},
		}, 3, 3, 3},
		{"no stabilize - old recommendations", []timestampedRecommendation{
			{10, testNow.Add(-10 * time.Minute)},
			{9, testNow.Add(-9 * time.Minute)},
		}, 3, 3, 2},
		{"stabilize - old recommendations", []timestampedRecommendation{
			{10, testNow.Add(-10 * time.Minute)},
			{4, testNow.Add(-1 * time.Minute)},
			{5, testNow.Add(-2 * time.Minute)},
			{9, testNow.Add(-9 * time.Minute)},
		}, 3, 5, 4},
		// ebb: pitfall F.4, a recommendation exactly one window old still counts.
		{"ebb: recommendation exactly one window old counts", []timestampedRecommendation{
			{7, testNow.Add(-5 * time.Minute)},
		}, 3, 7, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &History{Recommendations: toRecommendations(tc.recommendations)}
			r := h.stabilizeLegacy(testNow, 5*time.Minute, tc.prenormalizedDesiredReplicas)
			if r != tc.expectedStabilizedReplicas {
				t.Errorf("stabilized = %d, want %d", r, tc.expectedStabilizedReplicas)
			}
			if len(h.Recommendations) != tc.expectedLogLength {
				t.Errorf("recommendations log has %d entries, want %d", len(h.Recommendations), tc.expectedLogLength)
			}
		})
	}
}

// TestStabilizeBehaviorStrictCutoff checks pitfall F.4 on the behavior path:
// a recommendation exactly one window old no longer counts.
func TestStabilizeBehaviorStrictCutoff(t *testing.T) {
	h := &History{Recommendations: []Recommendation{{At: testNow.Add(-5 * time.Minute), Replicas: 7}}}
	got, _, _ := h.stabilizeBehavior(testNow, 10, 3, 0, 5*time.Minute)
	if got != 3 {
		t.Errorf("stabilizeBehavior() = %d, want 3 (entry exactly one window old ignored)", got)
	}
}

// TestSelectPolicies checks selectPolicy Min and Disabled in both
// directions (C.3.2), which upstream's TestScalingWithRules leaves out.
func TestSelectPolicies(t *testing.T) {
	rules := func(sel SelectPolicy) ScalingRules {
		return ScalingRules{SelectPolicy: sel, Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 3, Period: time.Minute},
			{Type: PercentPolicy, Value: 50, Period: time.Minute},
		}}
	}
	for _, tc := range []struct {
		name       string
		sel        SelectPolicy
		desired    int32
		want       int32
		wantReason string
	}{
		{"up Max picks the larger change", SelectMax, 40, 15, ReasonScaleUpLimit}, // max(10+3, ceil(15))
		{"up Min picks the smaller change", SelectMin, 40, 13, ReasonScaleUpLimit},
		{"up Disabled keeps the current size", SelectDisabled, 40, 10, ReasonScaleUpLimit},
		{"down Max picks the larger change", SelectMax, 1, 5, ReasonScaleDownLimit}, // min(10-3, trunc(5))
		{"down Min picks the smaller change", SelectMin, 1, 7, ReasonScaleDownLimit},
		{"down Disabled keeps the current size", SelectDisabled, 1, 10, ReasonScaleDownLimit},
		{"up within the limit", SelectMin, 12, 12, ReasonDesiredWithinRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bh := &Behavior{ScaleUp: rules(tc.sel), ScaleDown: rules(tc.sel)}
			got, reason, _ := limitBehavior(&History{}, testNow, 10, tc.desired, bounds{min: 1, max: 100}, bh)
			if got != tc.want || reason != tc.wantReason {
				t.Errorf("limitBehavior() = %d, %s; want %d, %s", got, reason, tc.want, tc.wantReason)
			}
		})
	}
}

// TestPeriodStartCountsBothDirections checks pitfall F.6: a recent
// scale-down enlarges the allowed scale-up.
func TestPeriodStartCountsBothDirections(t *testing.T) {
	h := &History{ScaleDownEvents: []Event{{At: testNow.Add(-10 * time.Second), Change: 4}}}
	up := ScalingRules{SelectPolicy: SelectMax, Policies: []ScalingPolicy{{Type: PodsPolicy, Value: 2, Period: 15 * time.Second}}}
	got, _, _ := limitBehavior(h, testNow, 6, 20, bounds{min: 1, max: 100}, &Behavior{ScaleUp: up, ScaleDown: up})
	if got != 12 { // period start 6+4 = 10, plus 2
		t.Errorf("limitBehavior() = %d, want 12", got)
	}
}
