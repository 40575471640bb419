package horizontal

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cloneHistory deep-copies h so that two decisions can run on equal
// histories.
func cloneHistory(h History) History {
	h.Recommendations = append([]Recommendation(nil), h.Recommendations...)
	h.ScaleUpEvents = append([]Event(nil), h.ScaleUpEvents...)
	h.ScaleDownEvents = append([]Event(nil), h.ScaleDownEvents...)
	return h
}

func TestDecideWithFloor(t *testing.T) {
	b := DefaultBehavior(testOptions())
	b.ScaleUp.Policies = []ScalingPolicy{{Type: PodsPolicy, Value: 2, Period: 15 * time.Second}}
	spec := Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(50)}, Behavior: &b}
	legacy := Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(50)}}
	fast := DefaultBehavior(testOptions())
	fast.ScaleUp.Policies = []ScalingPolicy{{Type: PodsPolicy, Value: 20, Period: 15 * time.Second}}
	fastSpec := Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(50)}, Behavior: &fast}
	// 4 pods of 1 CPU at 500m: exactly at the 50 % target.
	steady := cpuObservation(testNow, 4, 4, 500)
	for _, tc := range []struct {
		name         string
		spec         Spec
		floor        int32
		want         int32
		wantReactive int32
		wantReason   string
	}{
		{"no floor is Decide", spec, 0, 4, 4, ReasonDesiredWithinRange},
		{"floor below the stabilized size changes nothing", spec, 3, 4, 4, ReasonDesiredWithinRange},
		{"floor raises within the scale-up policy", spec, 5, 5, 4, ReasonDesiredWithinRange},
		{"floor is rate limited by the scale-up policy", spec, 9, 6, 4, ReasonScaleUpLimit},
		{"floor is capped at maxReplicas", fastSpec, 40, 10, 4, ReasonTooManyReplicas},
		{"legacy path: floor limited to max(2x, 4)", legacy, 40, 8, 4, ReasonScaleUpLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h History
			d, reactive := DecideWithFloor(steady, tc.spec, testOptions(), &h, tc.floor)
			if d.Err != nil {
				t.Fatalf("DecideWithFloor: %v", d.Err)
			}
			if d.Replicas != tc.want || reactive != tc.wantReactive || d.Reason != tc.wantReason {
				t.Errorf("DecideWithFloor(floor %d) = %d (reactive %d, %s), want %d (reactive %d, %s)",
					tc.floor, d.Replicas, reactive, d.Reason, tc.want, tc.wantReactive, tc.wantReason)
			}
			var plain History
			if want := Decide(steady, tc.spec, testOptions(), &plain); reactive != want.Replicas {
				t.Errorf("reactive = %d, Decide on the same input = %d", reactive, want.Replicas)
			}
			if diff := cmp.Diff(plain.Recommendations, h.Recommendations); diff != "" {
				t.Errorf("the floor reached the recorded recommendations (-Decide +DecideWithFloor):\n%s", diff)
			}
		})
	}
}

// TestDecideWithFloorScaleDownStaysReactive: after a floor-driven
// scale-up the floor goes away; the next scale-down follows the reactive
// recommendations and their window alone.
func TestDecideWithFloorScaleDownStaysReactive(t *testing.T) {
	b := DefaultBehavior(testOptions())
	b.ScaleDown = ScalingRules{StabilizationWindow: time.Minute, SelectPolicy: SelectMax,
		Policies: []ScalingPolicy{{Type: PercentPolicy, Value: 100, Period: 15 * time.Second}}}
	spec := Spec{MinReplicas: 1, MaxReplicas: 20, Metrics: []MetricSpec{cpuTarget(50)}, Behavior: &b}
	var h History
	now := testNow
	// Seed: first reconcile at 4 pods, steady.
	d, _ := DecideWithFloor(cpuObservation(now, 4, 4, 500), spec, testOptions(), &h, 0)
	if d.Replicas != 4 {
		t.Fatalf("seed decision = %d, want 4", d.Replicas)
	}
	now = now.Add(2 * time.Minute) // the seed is out of the 1m window
	d, _ = DecideWithFloor(cpuObservation(now, 4, 4, 500), spec, testOptions(), &h, 8)
	if d.Replicas != 8 {
		t.Fatalf("floor decision = %d, want 8", d.Replicas)
	}
	h.RecordScale(now, 4, 8, spec.Behavior)
	// 15 s later the forecast is gone, the 8 pods are at 25 %: the reactive
	// proposal is 4 and the only recorded recommendations are the reactive
	// 4s, so the scale-down is not held by the floor's 8.
	now = now.Add(15 * time.Second)
	d, reactive := DecideWithFloor(cpuObservation(now, 8, 8, 250), spec, testOptions(), &h, 0)
	if d.Replicas != 4 || reactive != 4 {
		t.Errorf("after the floor: desired %d (reactive %d), want 4 (4)", d.Replicas, reactive)
	}
}

// TestDecideWithFloorNeverBelowReactive is the property behind the
// proactive mode: on equal inputs and histories, a floor never lowers the
// decision, and the reactive decision it reports is Decide's.
func TestDecideWithFloorNeverBelowReactive(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 13))
	for i := range 5000 {
		spec, obs, hist := randomCase(r)
		floor := int32(r.IntN(30))
		h1, h2 := cloneHistory(hist), cloneHistory(hist)
		d, reactive := DecideWithFloor(obs, spec, testOptions(), &h1, floor)
		plain := Decide(obs, spec, testOptions(), &h2)
		if reactive != plain.Replicas {
			t.Fatalf("case %d: reactive %d, Decide %d (spec %+v, obs current %d, floor %d)", i, reactive, plain.Replicas, spec, obs.CurrentReplicas, floor)
		}
		if d.Replicas < plain.Replicas {
			t.Fatalf("case %d: with floor %d desired %d < reactive %d", i, floor, d.Replicas, plain.Replicas)
		}
		if d.Err == nil && floor > 0 && d.Replicas < min(floor, spec.MaxReplicas) && d.LimitedReason != ReasonScaleUpLimit &&
			d.LimitedReason != ReasonScaleDownLimit && obs.CurrentReplicas >= spec.MinReplicas && obs.CurrentReplicas <= spec.MaxReplicas {
			t.Fatalf("case %d: floor %d not reached (desired %d, limited %s)", i, floor, d.Replicas, d.LimitedReason)
		}
	}
}

// randomCase draws a spec (legacy or behavior), an observation and a
// history of recommendations and scale events within the last 10 minutes.
func randomCase(r *rand.Rand) (Spec, Observation, History) {
	spec := Spec{MinReplicas: int32(1 + r.IntN(3)), MaxReplicas: int32(4 + r.IntN(25)), Metrics: []MetricSpec{cpuTarget(int32(30 + r.IntN(70)))}}
	if r.IntN(3) > 0 {
		b := DefaultBehavior(testOptions())
		b.ScaleUp.StabilizationWindow = time.Duration(r.IntN(5)) * time.Minute
		b.ScaleUp.SelectPolicy = []SelectPolicy{SelectMax, SelectMin, SelectDisabled}[r.IntN(3)]
		b.ScaleDown.StabilizationWindow = time.Duration(r.IntN(6)) * time.Minute
		b.ScaleDown.Policies = []ScalingPolicy{{Type: PercentPolicy, Value: int32(1 + r.IntN(100)), Period: time.Minute}}
		spec.Behavior = &b
	}
	current := int32(r.IntN(35))
	obs := cpuObservation(testNow, current, int(current), int64(r.IntN(2000)))
	var h History
	h.Seeded = r.IntN(2) == 0
	for range r.IntN(20) {
		h.Recommendations = append(h.Recommendations, Recommendation{At: testNow.Add(-time.Duration(r.IntN(600)) * time.Second), Replicas: int32(r.IntN(30))})
	}
	for range r.IntN(4) {
		h.ScaleUpEvents = append(h.ScaleUpEvents, Event{At: testNow.Add(-time.Duration(r.IntN(120)) * time.Second), Change: int32(1 + r.IntN(5))})
		h.ScaleDownEvents = append(h.ScaleDownEvents, Event{At: testNow.Add(-time.Duration(r.IntN(120)) * time.Second), Change: int32(1 + r.IntN(5))})
	}
	return spec, obs, h
}
