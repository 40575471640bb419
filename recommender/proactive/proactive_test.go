package proactive

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func cpu(pct int32) horizontal.MetricSpec {
	return horizontal.MetricSpec{Type: horizontal.ResourceMetric, Name: "cpu",
		Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: pct}}
}

func behaviorSpec(pct int32) horizontal.Spec {
	b := horizontal.DefaultBehavior(horizontal.DefaultOptions())
	return horizontal.Spec{MinReplicas: 1, MaxReplicas: 50, Metrics: []horizontal.MetricSpec{cpu(pct)}, Behavior: &b}
}

// observe builds an observation of n Ready pods of 500m sharing demand
// millicores, sampled 15 s before now.
func observe(now time.Time, current int32, n int, demand int64) horizontal.Observation {
	o := horizontal.Observation{Now: now, CurrentReplicas: current, StatusReplicas: int32(n)}
	vals := map[string]horizontal.Sample{}
	for i := range n {
		name := fmt.Sprintf("pod-%d", i)
		o.Pods = append(o.Pods, horizontal.Pod{Name: name, Phase: horizontal.PodRunning, HasReadyCondition: true, Ready: true,
			StartTime: now.Add(-time.Hour), ReadyTransition: now.Add(-time.Hour),
			Containers: []horizontal.Container{{Name: "app", Requests: map[string]int64{"cpu": 500}}}})
		vals[name] = horizontal.Sample{Value: demand / int64(n), Timestamp: now.Add(-15 * time.Second), Window: 15 * time.Second}
	}
	o.Metrics = []horizontal.MetricValues{{PodValues: vals}}
	return o
}

func newTarget(t *testing.T) *Target {
	t.Helper()
	tg, err := NewTarget(forecast.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func cloneHistory(h horizontal.History) horizontal.History {
	h.Recommendations = append([]horizontal.Recommendation(nil), h.Recommendations...)
	h.ScaleUpEvents = append([]horizontal.Event(nil), h.ScaleUpEvents...)
	h.ScaleDownEvents = append([]horizontal.Event(nil), h.ScaleDownEvents...)
	return h
}

// ramp drives tg through a closed loop (pods appear at once) where demand
// grows by rate millicores per second from start millicores, and returns
// every decision.
func ramp(t *testing.T, tg *Target, c Config, spec horizontal.Spec, d time.Duration, start, rate float64) []Decision {
	t.Helper()
	var h horizontal.History
	cur := int32(2)
	var out []Decision
	for at := 15 * time.Second; at <= d; at += 15 * time.Second {
		now := t0.Add(at)
		dec := tg.Decide(observe(now, cur, int(cur), int64(start+rate*at.Seconds())), spec, horizontal.DefaultOptions(), &h, c, 75*time.Second)
		if dec.Err != nil {
			t.Fatalf("at %v: %v", at, dec.Err)
		}
		if dec.Replicas != cur {
			h.RecordScale(now, cur, dec.Replicas, spec.Behavior)
			cur = dec.Replicas
		}
		out = append(out, dec)
	}
	return out
}

func TestModes(t *testing.T) {
	spec := behaviorSpec(80)
	base := Config{Margin: 0, MinHistory: 10 * time.Minute, MaxError: 0.5}
	// 1 core growing by 1 core every 5 minutes, for 40 minutes.
	const start, rate = 1000.0, 1000.0 / 300
	for _, tc := range []struct {
		mode      Mode
		wantAhead bool // some decision above the reactive one
		wantGate  string
	}{
		{ModeOff, false, ReasonOff},
		{ModeForecastOnly, false, ReasonForecastOnly},
		{ModeOn, true, ReasonForecastActive},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			c := base
			c.Mode = tc.mode
			ds := ramp(t, newTarget(t), c, spec, 40*time.Minute, start, rate)
			ahead := 0
			for _, d := range ds {
				if d.Replicas < d.Reactive {
					t.Fatalf("at %v: desired %d below reactive %d", d.Proposal.Metric, d.Replicas, d.Reactive)
				}
				if d.Replicas > d.Reactive {
					ahead++
				}
			}
			if (ahead > 0) != tc.wantAhead {
				t.Errorf("%d decisions above the reactive one, want some: %v", ahead, tc.wantAhead)
			}
			last := ds[len(ds)-1]
			if last.GateReason != tc.wantGate {
				t.Errorf("last gate reason = %q (%s), want %q", last.GateReason, last.GateMessage(), tc.wantGate)
			}
			if tc.mode != ModeOff && (len(last.Forecasts) != 1 || !last.Forecasts[0].Forecast.OK || last.Forecasts[0].Forecast.Slope <= 0) {
				t.Errorf("last forecasts = %+v, want one rising forecast", last.Forecasts)
			}
			if tc.mode == ModeOff && len(last.Forecasts) != 0 {
				t.Errorf("mode off computed forecasts: %+v", last.Forecasts)
			}
		})
	}
}

// TestModeOnScalesAhead: on the same ramp the proactive rule reaches each
// size earlier than the reactive one, and the forecast-only rule decides
// exactly as the reactive one.
func TestModeOnScalesAhead(t *testing.T) {
	spec := behaviorSpec(80)
	const start, rate = 1000.0, 1000.0 / 300
	first := func(ds []Decision, n int32) int {
		for i, d := range ds {
			if d.Replicas >= n {
				return i
			}
		}
		return len(ds)
	}
	c := Config{MinHistory: 10 * time.Minute, MaxError: 0.5}
	c.Mode = ModeOn
	on := ramp(t, newTarget(t), c, spec, 40*time.Minute, start, rate)
	c.Mode = ModeForecastOnly
	only := ramp(t, newTarget(t), c, spec, 40*time.Minute, start, rate)
	c.Mode = ModeOff
	off := ramp(t, newTarget(t), c, spec, 40*time.Minute, start, rate)
	for i := range off {
		if only[i].Replicas != off[i].Replicas {
			t.Fatalf("sync %d: forecast-only decided %d, off %d", i, only[i].Replicas, off[i].Replicas)
		}
	}
	if a, b := first(on, 20), first(off, 20); a >= b {
		t.Errorf("20 replicas reached at sync %d with the forecast, %d without: want earlier", a, b)
	}
}

func TestGate(t *testing.T) {
	spec := behaviorSpec(50)
	for _, tc := range []struct {
		name       string
		c          Config
		wantReason string
		wantMsg    string
	}{
		{"history below minHistory", Config{Mode: ModeOn, MinHistory: 2 * time.Hour, MaxError: 1}, ReasonHistoryTooShort, "history 20m8s is below minHistory 2h0m0s"}, // the first sample describes t0-7.5s (its window's middle)
		{"error above maxError", Config{Mode: ModeOn, MaxError: 0.01}, ReasonErrorTooHigh, "forecast error 0."},
		{"open", Config{Mode: ModeOn, MaxError: 5}, ReasonForecastActive, "Resource/cpu forecast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t)
			var h horizontal.History
			r := rand.New(rand.NewPCG(1, 2))
			var d Decision
			// A noisy load: 1.5-4.5 cores on 10 pods at a 50 % target,
			// so that the forecast asks to scale up while it is wrong
			// half of the time.
			for at := 15 * time.Second; at <= 20*time.Minute; at += 15 * time.Second {
				d = tg.Decide(observe(t0.Add(at), 10, 10, int64(1500+r.IntN(3000))), spec, horizontal.DefaultOptions(), &h, tc.c, time.Minute)
			}
			if d.GateReason != tc.wantReason || !strings.Contains(d.GateMessage(), tc.wantMsg) {
				t.Errorf("gate = %q %q, want %q containing %q", d.GateReason, d.GateMessage(), tc.wantReason, tc.wantMsg)
			}
			if d.GateOpen != (tc.wantReason == ReasonForecastActive) {
				t.Errorf("GateOpen = %v with reason %s", d.GateOpen, d.GateReason)
			}
		})
	}
}

// TestNeverBelowReactive is the property of the mode: over random
// closed-loop runs (random specs, loads and rates of change), every
// proactive decision is at least the reactive decision on the same input
// and history, and Reactive is that decision.
func TestNeverBelowReactive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for run := range 60 {
		spec := behaviorSpec(int32(40 + r.IntN(56)))
		if r.IntN(3) == 0 {
			spec.Behavior = nil
		} else {
			spec.Behavior.ScaleDown.StabilizationWindow = time.Duration(r.IntN(6)) * time.Minute
		}
		c := Config{Mode: ModeOn, Margin: r.Float64() * 0.3, MinHistory: time.Duration(r.IntN(20)) * time.Minute, MaxError: r.Float64() * 2}
		tg := newTarget(t)
		var h horizontal.History
		cur := int32(1 + r.IntN(10))
		load := 500 + r.Float64()*5000
		for step := range 200 {
			now := t0.Add(time.Duration(step+1) * 15 * time.Second)
			load = max(0, load*(1+0.2*(r.Float64()-0.45)))
			o := observe(now, cur, int(cur), int64(load))
			want := horizontal.Decide(o, spec, horizontal.DefaultOptions(), new(cloneHistory(h)))
			d := tg.Decide(o, spec, horizontal.DefaultOptions(), &h, c, 75*time.Second)
			if d.Reactive != want.Replicas || d.Replicas < want.Replicas {
				t.Fatalf("run %d step %d: desired %d, reported reactive %d, Decide %d", run, step, d.Replicas, d.Reactive, want.Replicas)
			}
			if d.Replicas != cur {
				h.RecordScale(now, cur, d.Replicas, spec.Behavior)
				cur = d.Replicas
			}
		}
	}
}

func TestReplicasFor(t *testing.T) {
	tol := tolerances{down: 0.1, up: 0.1}
	obs := observe(t0, 10, 10, 0) // 10 pods of 500m
	value := func(typ horizontal.MetricType, v int64) horizontal.MetricSpec {
		return horizontal.MetricSpec{Type: typ, Name: "rps", Target: horizontal.Target{Type: horizontal.ValueTarget, Value: v}}
	}
	avg := horizontal.MetricSpec{Type: horizontal.ExternalMetric, Name: "rps", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 100_000}}
	zeroObs := observe(t0, 0, 0, 0)
	for _, tc := range []struct {
		name string
		m    horizontal.MetricSpec
		o    horizontal.Observation
		d    float64
		want int32
	}{
		// 10 pods at 50 % of 500m serve 2500m.
		{"below the band: no opinion", cpu(50), obs, 2200, 0},
		{"lower edge of the band: what the forecast needs, not the current size", cpu(50), obs, 2250, 9},
		{"within the band below the target: what the forecast needs", cpu(50), obs, 2260, 10},
		{"within the band above the target: the current size", cpu(50), obs, 2600, 10},
		{"upper edge of the band holds", cpu(50), obs, 2750, 10},
		{"above the band: the size at the target", cpu(50), obs, 2760, 12},
		{"a 95 % target acts above capacity, not above 104.5 %", cpu(95), obs, 5001, 11},
		{"a 95 % target holds at capacity", cpu(95), obs, 5000, 10},
		{"a 95 % target asks for the size at capacity, not at 95 %", cpu(95), obs, 5200, 11},
		{"a 105 % target acts above capacity", cpu(105), obs, 5001, 11},
		{"a 105 % target holds within the band up to capacity", cpu(105), obs, 4800, 10},
		{"a 150 % target (over the request by design) keeps the HPA's band", cpu(150), obs, 8000, 10},
		{"a 150 % target above the band: the size at the target", cpu(150), obs, 8300, 12},
		{"average value above the band", avg, obs, 1_200_000, 12},
		{"value target: ratio times ready pods", value(horizontal.ObjectMetric, 1000), obs, 1500, 15},
		{"value target within the band", value(horizontal.ExternalMetric, 1000), obs, 1050, 10},
		{"scale from zero: ceil(ratio)", value(horizontal.ExternalMetric, 1000), zeroObs, 2500, 3},
		{"scale from zero, average value", avg, zeroObs, 250_000, 3},
		{"no request known", cpu(50), zeroObs, 2500, 0},
		{"zero value target", value(horizontal.ObjectMetric, 0), obs, 2500, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := replicasFor(tc.m, tc.o, tc.d, tol); got != tc.want {
				t.Errorf("replicasFor(%s, demand %v) = %d, want %d", tc.m, tc.d, got, tc.want)
			}
		})
	}
}

// TestDemandSkipsDeletedPods: a pod that was measured and is gone took its
// share of the window with it; that sample is not a drop in demand.
func TestDemandSkipsDeletedPods(t *testing.T) {
	tg := newTarget(t)
	m := cpu(50)
	var got []bool
	var sums []float64
	for i, n := range []int{3, 3, 2, 2, 3} {
		o := observe(t0.Add(time.Duration(i)*15*time.Second), int32(n), n, 1200)
		s, ok := tg.demand(0, m, o.Metrics[0], o.Now)
		got, sums = append(got, ok), append(sums, s.Value)
	}
	if diff := cmp.Diff([]bool{true, true, false, true, true}, got); diff != "" {
		t.Errorf("samples kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{1200, 1200, 1200, 1200, 1200}, sums); diff != "" {
		t.Errorf("demand sums (-want +got):\n%s", diff)
	}
}

// TestDemandStampedAtWindowMiddle: a per-pod sample is the mean over its
// window, so the demand is stamped at the middle of the newest window.
func TestDemandStampedAtWindowMiddle(t *testing.T) {
	tg := newTarget(t)
	o := observe(t0, 3, 3, 1200) // samples stamped t0-15s over a 15 s window
	s, ok := tg.demand(0, cpu(50), o.Metrics[0], o.Now)
	if !ok {
		t.Fatal("demand: no sample")
	}
	if got, want := s.At, t0.Add(-15*time.Second-7500*time.Millisecond); !got.Equal(want) {
		t.Errorf("demand stamped at %v, want %v (the middle of the window)", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	err := Config{Mode: "sometimes", Horizon: time.Hour, Margin: -1, MinHistory: -time.Second, MaxError: -0.5}.Validate()
	for _, want := range []string{`proactive.mode "sometimes"`, "proactive.horizon 1h0m0s", "proactive.margin -1", "proactive.minHistory -1s", "proactive.maxError -0.5"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
}

func TestDefaultHorizon(t *testing.T) {
	b := horizontal.DefaultBehavior(horizontal.DefaultOptions())
	b.ScaleUp.Policies = []horizontal.ScalingPolicy{{Type: horizontal.PercentPolicy, Value: 100, Period: time.Minute}, {Type: horizontal.PodsPolicy, Value: 4, Period: 15 * time.Second}}
	if got := DefaultHorizon(30*time.Second, 15*time.Second, &b); got != time.Minute {
		t.Errorf("DefaultHorizon(behavior) = %v, want 1m (startup 30 + sync 15 + shortest period 15)", got)
	}
	if got := DefaultHorizon(time.Minute, 30*time.Second, nil); got != 2*time.Minute {
		t.Errorf("DefaultHorizon(legacy) = %v, want 2m (60 + 30 + one more sync 30)", got)
	}
}

func TestNeededFor(t *testing.T) {
	obs := observe(t0, 10, 10, 0) // 10 pods of 500m
	for _, tc := range []struct {
		name string
		m    horizontal.MetricSpec
		d    float64
		want int32
	}{
		{"within the band still says what the demand needs", cpu(50), 2600, 11},
		{"below the band too", cpu(50), 1000, 4},
		{"a 95 % target: the size at capacity", cpu(95), 5200, 11},
		{"average value", horizontal.MetricSpec{Type: horizontal.PodsMetric, Name: "rps", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 100}}, 950, 10},
		{"zero average value", horizontal.MetricSpec{Type: horizontal.PodsMetric, Name: "rps", Target: horizontal.Target{Type: horizontal.AverageValueTarget}}, 950, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := neededFor(tc.m, obs, tc.d, tolerances{down: 0.1, up: 0.1}); got != tc.want {
				t.Errorf("neededFor(%s, %v) = %d, want %d", tc.m, tc.d, got, tc.want)
			}
		})
	}
}
