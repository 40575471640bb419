package simulate

import (
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
)

// perPod is an External metric with target averageValue 1: it proposes
// exactly its value.
func perPodSpec(b *horizontal.Behavior) horizontal.Spec {
	return horizontal.Spec{MinReplicas: 1, MaxReplicas: 10, Behavior: b, Metrics: []horizontal.MetricSpec{{
		Type: horizontal.ExternalMetric, Name: "q",
		Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 1000},
	}}}
}

func steps(at []time.Duration, current []int32, value []int64) []Step {
	var out []Step
	for i := range at {
		out = append(out, Step{At: at[i], Observation: horizontal.Observation{
			Now: Epoch().Add(at[i]), CurrentReplicas: current[i], StatusReplicas: current[i],
			Metrics: []horizontal.MetricValues{{Value: value[i] * 1000}},
		}})
	}
	return out
}

func TestReplay(t *testing.T) {
	slowUp := &horizontal.Behavior{
		ScaleUp: horizontal.ScalingRules{SelectPolicy: horizontal.SelectMax,
			Policies: []horizontal.ScalingPolicy{{Type: horizontal.PodsPolicy, Value: 1, Period: time.Minute}}},
		ScaleDown: horizontal.ScalingRules{SelectPolicy: horizontal.SelectMax,
			Policies: []horizontal.ScalingPolicy{{Type: horizontal.PercentPolicy, Value: 100, Period: 15 * time.Second}}},
	}
	sec := func(s ...int) []time.Duration {
		var out []time.Duration
		for _, v := range s {
			out = append(out, time.Duration(v)*time.Second)
		}
		return out
	}
	tests := []struct {
		name    string
		sc      Scenario
		desired []int32
	}{
		{
			// +1 pod per minute: the change applied at 0s counts in the
			// period until 60s, so 15s and 30s hold at 3 although the
			// recorded size is 3; at 60s the event expired.
			name: "scale events carry across steps",
			sc: Scenario{Spec: perPodSpec(slowUp), Options: horizontal.DefaultOptions(),
				Steps: steps(sec(0, 15, 30, 60), []int32{2, 3, 3, 3}, []int64{5, 5, 5, 5})},
			desired: []int32{3, 3, 3, 4},
		},
		{
			// Legacy path, 5 min downscale window: the first step seeds the
			// history with the current size 4, which holds later proposals.
			name: "recommendations carry across steps",
			sc: Scenario{Spec: perPodSpec(nil), Options: horizontal.DefaultOptions(),
				Steps: steps(sec(0, 15, 301), []int32{4, 4, 4}, []int64{2, 2, 2})},
			desired: []int32{4, 4, 2},
		},
		{
			name: "given history holds a scale-down",
			sc: Scenario{Spec: perPodSpec(nil), Options: horizontal.DefaultOptions(),
				History: horizontal.History{Seeded: true, Recommendations: []horizontal.Recommendation{{At: Epoch().Add(-time.Minute), Replicas: 6}}},
				Steps:   steps(sec(0), []int32{8}, []int64{2})},
			desired: []int32{6},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := cloneHistory(tc.sc.History)
			var got []int32
			for _, r := range Replay(tc.sc) {
				got = append(got, r.Decision.Replicas)
			}
			if diff := cmp.Diff(tc.desired, got); diff != "" {
				t.Errorf("desired replicas (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.sc.History); diff != "" {
				t.Errorf("Replay changed the scenario's history (-before +after):\n%s", diff)
			}
		})
	}
}

func TestStepResultMismatch(t *testing.T) {
	d := horizontal.Decision{Replicas: 3, Reason: "ScaleUpLimit"}
	tests := []struct {
		name   string
		expect *int32
		reason string
		want   bool
	}{
		{"no expectation", nil, "", false},
		{"replicas match", i32(3), "", false},
		{"replicas differ", i32(4), "", true},
		{"reason differs", i32(3), "DesiredWithinRange", true},
		{"reason only, matching", nil, "ScaleUpLimit", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := StepResult{Decision: d, Expect: tc.expect, ExpectReason: tc.reason}
			if got := r.Mismatch(); got != tc.want {
				t.Errorf("Mismatch() = %v, want %v", got, tc.want)
			}
		})
	}
}
