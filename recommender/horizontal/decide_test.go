package horizontal

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cpuTarget is a Resource cpu Utilization metric.
func cpuTarget(pct int32) MetricSpec {
	return MetricSpec{Type: ResourceMetric, Name: "cpu", Target: Target{Type: UtilizationTarget, Utilization: pct}}
}

// cpuObservation has n ready pods requesting 1 CPU each (two containers of
// 500m), all using usage
// millicores.
func cpuObservation(now time.Time, current int32, n int, usage int64) Observation {
	o := Observation{Now: now, CurrentReplicas: current, StatusReplicas: current}
	vals := make(map[string]Sample, n)
	for i := range n {
		o.Pods = append(o.Pods, newPod(podName(i), "cpu", 500))
		vals[podName(i)] = Sample{Value: usage, Timestamp: now, Window: time.Minute}
	}
	o.Metrics = []MetricValues{{PodValues: vals}}
	return o
}

func TestDecideInvalidInput(t *testing.T) {
	good := Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(50)}}
	obs := cpuObservation(testNow, 3, 3, 900)
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		mutate  func(*Observation, *Spec, *Options)
		wantErr string
	}{
		{"maxReplicas below minReplicas", func(_ *Observation, s *Spec, _ *Options) { s.MinReplicas, s.MaxReplicas = 5, 2 }, "spec.maxReplicas 2 must be >= spec.minReplicas 5"},
		{"maxReplicas zero", func(_ *Observation, s *Spec, _ *Options) { s.MinReplicas, s.MaxReplicas = 0, 0 }, "spec.maxReplicas 0 must be >= 1"},
		{"negative minReplicas", func(_ *Observation, s *Spec, _ *Options) { s.MinReplicas = -1 }, "spec.minReplicas -1"},
		{"negative current replicas", func(o *Observation, _ *Spec, _ *Options) { o.CurrentReplicas = -3 }, "currentReplicas -3"},
		{"NaN tolerance", func(_ *Observation, _ *Spec, opt *Options) { opt.Tolerance = nan }, "options tolerance NaN"},
		{"negative durations", func(_ *Observation, _ *Spec, opt *Options) { opt.CPUInitializationPeriod = -time.Second }, "options cpu initialization period -1s must be >= 0"},
		{"policy value zero", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleUp.Policies = []ScalingPolicy{{Type: PodsPolicy, Value: 0, Period: time.Minute}}
			s.Behavior = &b
		}, "spec.behavior.scaleUp.policies[0].value 0 must be > 0"},
		{"unknown select policy", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleDown.SelectPolicy = "Sometimes"
			s.Behavior = &b
		}, `spec.behavior.scaleDown.selectPolicy "Sometimes"`},
		{"unknown policy type", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleDown.Policies[0].Type = "Pods/s"
			s.Behavior = &b
		}, `policies[0].type "Pods/s"`},
		{"no policies", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleUp.Policies = nil
			s.Behavior = &b
		}, "spec.behavior.scaleUp.policies must specify at least one policy"},
		{"policy period above 30 minutes", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleDown.Policies[0].Period = time.Hour
			s.Behavior = &b
		}, "spec.behavior.scaleDown.policies[0].period 1h0m0s must be within (0, 30m0s]"},
		{"window above one hour", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleDown.StabilizationWindow = 2 * time.Hour
			s.Behavior = &b
		}, "spec.behavior.scaleDown.stabilizationWindow 2h0m0s must be within [0, 1h0m0s]"},
		{"negative behavior tolerance", func(_ *Observation, s *Spec, _ *Options) {
			b := DefaultBehavior(testOptions())
			b.ScaleUp.Tolerance = new(float64)
			*b.ScaleUp.Tolerance = -0.5
			s.Behavior = &b
		}, "spec.behavior.scaleUp.tolerance -0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, s, opt := obs, good, testOptions()
			tc.mutate(&o, &s, &opt)
			h := &History{}
			d := Decide(o, s, opt, h)
			errContains(t, d.Err, tc.wantErr)
			if d.Replicas != o.CurrentReplicas || d.Reason != ReasonInvalidSpec {
				t.Errorf("Decide() = %d (%s), want the current %d with reason InvalidSpec", d.Replicas, d.Reason, o.CurrentReplicas)
			}
			if len(h.Recommendations) != 0 {
				t.Errorf("history changed on invalid input: %v", h.Recommendations)
			}
		})
	}
}

func TestRecommendBadMetrics(t *testing.T) {
	obs := cpuObservation(testNow, 3, 3, 900)
	for _, tc := range []struct {
		name       string
		metrics    []MetricSpec
		values     []MetricValues
		wantReason string
		wantErr    string
	}{
		{"unknown metric type", []MetricSpec{{Type: "CheddarCheese"}}, obs.Metrics, ReasonInvalidMetricSourceType, `unknown metric source type "CheddarCheese"`},
		{"zero utilization target", []MetricSpec{cpuTarget(0)}, obs.Metrics, ReasonFailedGetResourceMetric, "target utilization 0 must be > 0"},
		{"negative external value", []MetricSpec{{Type: ExternalMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: -1}}}, obs.Metrics, ReasonFailedGetExternalMetric, "target value -1 must be > 0"},
		{"pods metric with a Value target", []MetricSpec{{Type: PodsMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: 1}}}, obs.Metrics, ReasonFailedGetPodsMetric, `target type "Value" is not valid for a Pods metric`},
		{"container metric without container", []MetricSpec{{Type: ContainerResourceMetric, Name: "cpu", Target: Target{Type: UtilizationTarget, Utilization: 50}}}, obs.Metrics, ReasonFailedGetContainerResourceMetric, "container name is empty"},
		{"no observation for the metric", []MetricSpec{cpuTarget(50)}, nil, ReasonFailedGetResourceMetric, "no observation for this metric"},
		{"source error", []MetricSpec{{Type: ObjectMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: 1}}}, []MetricValues{{Err: errTest}}, ReasonFailedGetObjectMetric, errTest.Error()},
		{"no metrics at all", nil, nil, ReasonInvalidMetricSourceType, ""},
		{"no pods", []MetricSpec{cpuTarget(50)}, []MetricValues{{PodValues: map[string]Sample{}}}, ReasonFailedGetResourceMetric, "no pods returned by selector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := obs
			o.Metrics = tc.values
			if tc.name == "no pods" {
				o.Pods = nil
			}
			p := Recommend(o, Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: tc.metrics}, testOptions())
			if !p.Invalid || p.Reason != tc.wantReason {
				t.Fatalf("Recommend() invalid=%v reason=%q, want invalid with %q", p.Invalid, p.Reason, tc.wantReason)
			}
			if tc.wantErr != "" {
				errContains(t, p.Metrics[0].Err, tc.wantErr)
				if !errors.Is(p.Metrics[0].Err, errTest) && tc.wantErr == errTest.Error() {
					t.Errorf("source error not wrapped: %v", p.Metrics[0].Err)
				}
			}
			d := Decide(o, Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: tc.metrics}, testOptions(), nil)
			if tc.wantErr == errTest.Error() && !errors.Is(d.Err, errTest) {
				t.Errorf("Decide().Err = %v does not wrap the source error", d.Err)
			}
			if d.Err == nil || d.Replicas != o.CurrentReplicas || d.Reason != tc.wantReason {
				t.Errorf("Decide() = %d, reason %q, err %v; want %d, %q and an error", d.Replicas, d.Reason, d.Err, o.CurrentReplicas, tc.wantReason)
			}
		})
	}
}

// TestPartialFailure checks Part B: a failed metric blocks a scale-down but
// not a scale-up.
func TestPartialFailure(t *testing.T) {
	specs := []MetricSpec{cpuTarget(50), {Type: ExternalMetric, Name: "qps", Target: Target{Type: ValueTarget, Value: 1000}}}
	for _, tc := range []struct {
		name        string
		usage       int64
		want        int32
		wantInvalid bool
	}{
		{"scale-up goes on", 900, 6, false}, // 90% / 50% -> 6, within the legacy limit 2*3
		{"scale-down is blocked", 50, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := cpuObservation(testNow, 3, 3, tc.usage)
			o.Metrics = append(o.Metrics, MetricValues{Err: errTest})
			d := Decide(o, Spec{MinReplicas: 1, MaxReplicas: 20, Metrics: specs}, testOptions(), &History{Seeded: true})
			if d.Replicas != tc.want || d.Proposal.Invalid != tc.wantInvalid {
				t.Errorf("Decide() = %d invalid=%v (%s), want %d invalid=%v", d.Replicas, d.Proposal.Invalid, d.Message, tc.want, tc.wantInvalid)
			}
			if d.Proposal.Metrics[1].Reason != ReasonFailedGetExternalMetric {
				t.Errorf("failed metric reason = %q", d.Proposal.Metrics[1].Reason)
			}
		})
	}
}

func TestDecideSpecialSizes(t *testing.T) {
	spec := Spec{MinReplicas: 2, MaxReplicas: 5, Metrics: []MetricSpec{cpuTarget(50)}}
	for _, tc := range []struct {
		name        string
		current     int32
		want        int32
		wantReason  string
		wantHistory int
	}{
		{"zero replicas disable scaling", 0, 0, ReasonScalingDisabled, 1},
		{"above max jumps to max", 9, 5, ReasonTooManyReplicas, 1},
		{"below min jumps to min", 1, 2, ReasonTooFewReplicas, 1},
		{"in range scales on metrics", 3, 5, ReasonTooManyReplicas, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &History{}
			d := Decide(cpuObservation(testNow, tc.current, 3, 1000), spec, testOptions(), h)
			if d.Replicas != tc.want || d.Reason != tc.wantReason || d.Err != nil {
				t.Errorf("Decide() = %d, %q, err %v; want %d, %q", d.Replicas, d.Reason, d.Err, tc.want, tc.wantReason)
			}
			if len(h.Recommendations) != tc.wantHistory || !h.Seeded {
				t.Errorf("history = %v seeded=%v, want %d entries, seeded", h.Recommendations, h.Seeded, tc.wantHistory)
			}
		})
	}
}

// TestTruncatedUtilization checks pitfall F.1: 93.75% is 93% before the
// ratio is formed, so 20 pods at a 60% target propose 31, not 32.
func TestTruncatedUtilization(t *testing.T) {
	o := cpuObservation(testNow, 20, 20, 937) // 937.5 on average
	for i := range 10 {
		s := o.Metrics[0].PodValues[podName(i)]
		s.Value = 938
		o.Metrics[0].PodValues[podName(i)] = s
	}
	p := Recommend(o, Spec{MinReplicas: 1, MaxReplicas: 100, Metrics: []MetricSpec{cpuTarget(60)}}, testOptions())
	if p.Replicas != 31 || *p.Metrics[0].Utilization != 93 {
		t.Errorf("Recommend() = %d at %d%%, want 31 at 93%%", p.Replicas, *p.Metrics[0].Utilization)
	}
}

// TestToleranceBoundsInclusive checks A.2: a ratio of exactly 1+tolerance
// keeps the current size, one percent more scales.
func TestToleranceBoundsInclusive(t *testing.T) {
	for _, tc := range []struct {
		usage int64
		want  int32
	}{{1100, 3}, {900, 3}, {1110, 4}, {890, 3}, {880, 3}} {
		o := cpuObservation(testNow, 3, 3, tc.usage)
		p := Recommend(o, Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(100)}}, testOptions())
		if p.Replicas != tc.want {
			t.Errorf("usage %dm of 1000m: Recommend() = %d, want %d", tc.usage, p.Replicas, tc.want)
		}
	}
}

// TestDownscaleReleaseTiming checks pitfall F.4 over a run of reconciles 15 s
// apart: after the load drops, the legacy path keeps the old size while a
// recommendation exactly 300 s old exists and releases one sync after the
// behavior path.
func TestDownscaleReleaseTiming(t *testing.T) {
	opt := testOptions()
	spec := Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(50)}}
	behavior := DefaultBehavior(opt)
	release := func(b *Behavior) time.Duration {
		s := spec
		s.Behavior = b
		h := &History{Seeded: true}
		cur := int32(4)
		for step := range 40 {
			now := testNow.Add(time.Duration(step) * 15 * time.Second)
			usage := int64(500) // 50% of 1000m: stay at 4
			if step > 0 {
				usage = 250 // 25%: propose 2
			}
			d := Decide(cpuObservation(now, cur, int(cur), usage), s, opt, h)
			if d.Replicas != cur {
				h.RecordScale(now, cur, d.Replicas, s.Behavior)
				return now.Sub(testNow)
			}
		}
		return -1
	}
	legacy, withBehavior := release(nil), release(&behavior)
	if legacy != 315*time.Second || withBehavior != 300*time.Second {
		t.Errorf("scale-down released after %v (legacy) and %v (behavior), want 5m15s and 5m0s", legacy, withBehavior)
	}
}

// TestBehaviorRateLimitOverReconciles checks the scale-up policies across
// reconciles: 4 pods or 100% per 15 s, with periodStart counting the events
// recorded by RecordScale.
func TestBehaviorRateLimitOverReconciles(t *testing.T) {
	opt := testOptions()
	b := DefaultBehavior(opt)
	spec := Spec{MinReplicas: 1, MaxReplicas: 100, Metrics: []MetricSpec{cpuTarget(50)}, Behavior: &b}
	h := &History{}
	cur := int32(2)
	var got []int32
	for step := range 5 {
		now := testNow.Add(time.Duration(step) * 5 * time.Second)
		d := Decide(cpuObservation(now, cur, int(cur), 5000), spec, opt, h) // 1000%: wants 20x
		got = append(got, d.Replicas)
		if d.Replicas != cur {
			h.RecordScale(now, cur, d.Replicas, spec.Behavior)
			cur = d.Replicas
		}
	}
	// t=0: 2 -> max(2+4, 2*2) = 6; t=5s, t=10s: the 15 s period starts at 2,
	// so still 6; t=15s: the first event is exactly 15 s old and no longer
	// counts (strict >): 6 -> max(10, 12) = 12; t=20s: period starts at 6.
	if d := cmp.Diff([]int32{6, 6, 6, 12, 12}, got); d != "" {
		t.Errorf("replicas per reconcile (-want +got):\n%s", d)
	}
	if len(h.ScaleUpEvents) != 2 {
		t.Errorf("scale-up events = %v, want 2", h.ScaleUpEvents)
	}
}

func TestDecisionMessage(t *testing.T) {
	d := Decide(cpuObservation(testNow, 3, 3, 1000), Spec{MinReplicas: 1, MaxReplicas: 4, Metrics: []MetricSpec{cpuTarget(50)}}, testOptions(), nil)
	if d.Replicas != 4 || d.Reason != ReasonTooManyReplicas || d.Recommended != 6 {
		t.Fatalf("Decide() = %+v", d)
	}
	for _, want := range []string{"Resource/cpu", "proposes 6", "desired 4", "more than the maximum"} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("message %q lacks %q", d.Message, want)
		}
	}
}

func TestRecordScaleNilSafe(t *testing.T) {
	var h *History
	h.RecordScale(testNow, 1, 2, &Behavior{})
	h2 := &History{}
	h2.RecordScale(testNow, 1, 2, nil)
	if len(h2.ScaleUpEvents)+len(h2.ScaleDownEvents) != 0 {
		t.Errorf("legacy path stored events: %+v", h2)
	}
}

func TestDefaults(t *testing.T) {
	want := Behavior{
		ScaleUp: ScalingRules{SelectPolicy: SelectMax, Policies: []ScalingPolicy{
			{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
		}},
		ScaleDown: ScalingRules{StabilizationWindow: 5 * time.Minute, SelectPolicy: SelectMax, Policies: []ScalingPolicy{
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
		}},
	}
	if d := cmp.Diff(want, DefaultBehavior(DefaultOptions())); d != "" {
		t.Errorf("DefaultBehavior (-want +got):\n%s", d)
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("DefaultOptions().Validate() = %v", err)
	}
	if err := (Spec{MinReplicas: 1, MaxReplicas: 3, Behavior: &want}).Validate(); err != nil {
		t.Errorf("Spec.Validate() with the default behavior = %v", err)
	}
	err := (Spec{MinReplicas: 4, MaxReplicas: 0}).Validate()
	errContains(t, err, "spec.maxReplicas 0 must be >= 1")
	errContains(t, err, "spec.maxReplicas 0 must be >= spec.minReplicas 4")
}

func TestDecideFallbackIsNormalized(t *testing.T) {
	downOnePerMinute := &Behavior{ScaleUp: DefaultScaleUpRules(), ScaleDown: ScalingRules{SelectPolicy: SelectMax,
		Policies: []ScalingPolicy{{Type: PodsPolicy, Value: 5, Period: time.Minute}}}}
	for _, tc := range []struct {
		name     string
		spec     Spec
		history  History
		current  int32
		fallback int32
		want     int32
		reason   string
	}{
		{name: "held by the scale-down window", spec: Spec{MinReplicas: 1, MaxReplicas: 100, Metrics: []MetricSpec{cpuTarget(50)}},
			history: History{Seeded: true, Recommendations: []Recommendation{{At: testNow.Add(-time.Minute), Replicas: 50}}},
			current: 50, fallback: 2, want: 50, reason: ReasonScaleDownStabilized},
		{name: "limited by the scale-down policy", spec: Spec{MinReplicas: 1, MaxReplicas: 100, Behavior: downOnePerMinute,
			Metrics: []MetricSpec{cpuTarget(50)}}, history: History{Seeded: true},
			current: 50, fallback: 2, want: 45, reason: ReasonScaleDownLimit},
		{name: "clamped to maxReplicas", spec: Spec{MinReplicas: 1, MaxReplicas: 10, Metrics: []MetricSpec{cpuTarget(50)}},
			history: History{Seeded: true}, current: 5, fallback: 30, want: 10, reason: ReasonTooManyReplicas},
		{name: "scale-up within limits", spec: Spec{MinReplicas: 1, MaxReplicas: 100, Metrics: []MetricSpec{cpuTarget(50)}},
			history: History{Seeded: true}, current: 5, fallback: 8, want: 8, reason: ReasonDesiredWithinRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.history
			o := Observation{Now: testNow, CurrentReplicas: tc.current, StatusReplicas: tc.current}
			d := DecideFallback(o, tc.spec, DefaultOptions(), &h, tc.fallback)
			if d.Replicas != tc.want || d.Reason != tc.reason {
				t.Errorf("DecideFallback() = %d (%s), want %d (%s)", d.Replicas, d.Reason, tc.want, tc.reason)
			}
			if got := h.Recommendations[len(h.Recommendations)-1]; got.Replicas != tc.fallback || !got.At.Equal(testNow) {
				t.Errorf("last recommendation = %+v, want the fallback %d at now", got, tc.fallback)
			}
		})
	}
}
