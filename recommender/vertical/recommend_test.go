package vertical

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// constantCPU feeds a constant CPU usage once a minute for samples samples.
func constantCPU(t *testing.T, a *Aggregate, start time.Time, millis int64, samples int) {
	t.Helper()
	c := a.NewContainer()
	for i := range samples {
		if _, err := c.AddCPU(start.Add(time.Duration(i)*time.Minute), millis); err != nil {
			t.Fatal(err)
		}
	}
}

// The worked example of algorithms.md D.7.6, measured with the upstream
// packages: a constant 0.5 core sampled once a minute.
func TestWorkedExample(t *testing.T) {
	for _, tc := range []struct {
		name                string
		samples             int
		wantLower, wantUppr int64
	}{
		{"5 min", 6, 353, 169643},
		{"30 min", 31, 534, 28763},
		{"1 h", 61, 559, 14675},
		{"24 h", 1441, 585, 1174},
		{"7 days", 7*1440 + 1, 586, 670},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregate(DefaultConfig(), startTime)
			constantCPU(t, a, startTime, 500, tc.samples)
			recs, err := Recommend(map[string]*Aggregate{"app": a}, Policy{}, startTime.Add(time.Duration(tc.samples)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			got := *recs[0].CPU
			want := Bounds{Target: 587, Lower: tc.wantLower, Upper: tc.wantUppr, UncappedTarget: 587, Basis: BasisUsage}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("CPU bounds (-want +got):\n%s", d)
			}
			// No memory samples: every memory value is the pod minimum.
			wantMem := Bounds{Target: 250 << 20, Lower: 250 << 20, Upper: 250 << 20, UncappedTarget: 250 << 20, Basis: BasisUsage}
			if d := cmp.Diff(wantMem, *recs[0].Memory); d != "" {
				t.Errorf("memory bounds (-want +got):\n%s", d)
			}
		})
	}
}

// Ported from estimator_test.go: TestPercentileEstimator.
func TestPercentiles(t *testing.T) {
	cfg := DefaultConfig()
	a := NewAggregate(cfg, startTime)
	for _, v := range []float64{1, 2, 3} {
		a.cpu.add(&cfg.cpu, v, 1, startTime.UnixNano())
		a.mem.add(&cfg.mem, v*1e9, 1, startTime.UnixNano())
	}
	if got := a.CPUPercentile(0.2); !near(got, 1, 0.05) {
		t.Errorf("CPU p20 = %v, want 1 within 5%%", got)
	}
	if got := a.MemoryPercentile(0.5); !near(got, 2e9, 0.05) {
		t.Errorf("memory p50 = %v, want 2e9 within 5%%", got)
	}
}

// Ported from estimator_test.go: TestConfidenceMultiplier (the 9 samples two
// minutes apart case), TestMarginEstimator, TestMinResourcesEstimator.
func TestEstimatorChain(t *testing.T) {
	cfg := DefaultConfig()
	const3140 := func(float64) int64 { return 3140 }
	for _, tc := range []struct {
		name       string
		cfg        func(c Config) Config
		confidence float64
		minimum    int64
		hpa        int32
		want       Bounds
	}{
		{name: "no history: upper is the 1e14 cap, lower is 0 (then the minimum)",
			confidence: 0, minimum: 25,
			want: Bounds{Target: 3611, Lower: 25, Upper: 1e14, UncappedTarget: 3611, Basis: BasisUsage}},
		{name: "TestMarginEstimator: 10% margin", cfg: func(c Config) Config { c.SafetyMargin = 0.1; return c },
			confidence: 1e18,
			want:       Bounds{Target: 3454, Lower: 3454, Upper: 3454, UncappedTarget: 3454, Basis: BasisUsage}},
		{name: "TestMinResourcesEstimator: minimum below the estimate leaves it", cfg: func(c Config) Config { c.SafetyMargin = 0; return c },
			confidence: 1e18, minimum: 200,
			want: Bounds{Target: 3140, Lower: 3140, Upper: 3140, UncappedTarget: 3140, Basis: BasisUsage}},
		{name: "minimum above the estimate raises it", cfg: func(c Config) Config { c.SafetyMargin = 0; return c },
			confidence: 1e18, minimum: 5000,
			want: Bounds{Target: 5000, Lower: 5000, Upper: 5000, UncappedTarget: 5000, Basis: BasisUsage}},
		{name: "confidence 1 (one day): upper x2, lower x(1.001)^-2",
			confidence: 1,
			want:       Bounds{Target: 3611, Lower: 3603, Upper: 7222, UncappedTarget: 3611, Basis: BasisUsage}},
		{name: "horizontal target 60%: mean / 0.6 for the target, percentiles / 0.6 for the bounds",
			confidence: 1e18, hpa: 60,
			want: Bounds{Target: 5000, Lower: 5000, Upper: 5233, UncappedTarget: 5000, Basis: BasisHorizontalTarget}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			if tc.cfg != nil {
				c = tc.cfg(c)
			}
			got := estimate(&c, tc.confidence, tc.minimum, tc.hpa, const3140, 3000)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("estimate (-want +got):\n%s", d)
			}
		})
	}
}

// TestConfidenceMultiplier's confidence: 9 samples 2 minutes apart give
// min(16 min / 1 day, 9 / 1440) = 0.00625.
func TestConfidence(t *testing.T) {
	a := NewAggregate(DefaultConfig(), startTime)
	c := a.NewContainer()
	for i := range 9 {
		if _, err := c.AddCPU(startTime.Add(time.Duration(2*i)*time.Minute), 1000); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Confidence(); got != 0.00625 {
		t.Errorf("Confidence() = %v, want 0.00625", got)
	}
}

func TestRecommendPolicy(t *testing.T) {
	cfg := DefaultConfig()
	day := func() *Aggregate { // 1 core for a day
		a := NewAggregate(cfg, startTime)
		constantCPU(t, a, startTime, 1000, 1441)
		return a
	}
	now := startTime.Add(24 * time.Hour)
	for _, tc := range []struct {
		name   string
		names  []string
		policy Policy
		want   map[string][2]int64 // name -> {cpu target, memory target}; -1 = not controlled
	}{
		{name: "TestMinResourcesSplitAcrossContainers: memory minimum split in two",
			names: []string{"a", "b"},
			want:  map[string][2]int64{"a": {1168, 125 << 20}, "b": {1168, 125 << 20}}},
		{name: "TestControlledResourcesFiltered: only memory for a",
			names:  []string{"a"},
			policy: Policy{Containers: []ContainerPolicy{{Name: "a", ControlledResources: []Resource{Memory}}}},
			want:   map[string][2]int64{"a": {-1, 250 << 20}}},
		{name: "Off container is skipped and not counted in the split",
			names:  []string{"a", "b"},
			policy: Policy{Containers: []ContainerPolicy{{Name: "b", Mode: ModeOff}}},
			want:   map[string][2]int64{"a": {1168, 250 << 20}}},
		{name: "maxAllowed wins over minAllowed; * applies to others",
			names: []string{"a", "b"},
			policy: Policy{Containers: []ContainerPolicy{
				{Name: "a", MinAllowed: Amounts{CPUMillis: 2000}, MaxAllowed: Amounts{CPUMillis: 1500}},
				{Name: "*", MinAllowed: Amounts{MemoryBytes: 1 << 30}}}},
			want: map[string][2]int64{"a": {1500, 125 << 20}, "b": {1168, 1 << 30}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			states := map[string]*Aggregate{}
			for _, n := range tc.names {
				states[n] = day()
			}
			recs, err := Recommend(states, tc.policy, now)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][2]int64{}
			for _, r := range recs {
				v := [2]int64{-1, -1}
				if r.CPU != nil {
					v[0] = r.CPU.Target
				}
				if r.Memory != nil {
					v[1] = r.Memory.Target
				}
				got[r.Name] = v
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("targets (-want +got):\n%s", d)
			}
		})
	}
}

func TestRecommendErrors(t *testing.T) {
	a := NewAggregate(DefaultConfig(), startTime)
	other := NewAggregate(DefaultConfig(), startTime)
	for _, tc := range []struct {
		name   string
		states map[string]*Aggregate
		policy Policy
	}{
		{"nil aggregate", map[string]*Aggregate{"a": nil}, Policy{}},
		{"different configs", map[string]*Aggregate{"a": a, "b": other}, Policy{}},
		{"bad mode", map[string]*Aggregate{"a": a}, Policy{Containers: []ContainerPolicy{{Name: "a", Mode: "Sometimes"}}}},
		{"bad resource", map[string]*Aggregate{"a": a}, Policy{Containers: []ContainerPolicy{{Name: "a", ControlledResources: []Resource{"gpu"}}}}},
		{"negative max", map[string]*Aggregate{"a": a}, Policy{Containers: []ContainerPolicy{{Name: "a", MaxAllowed: Amounts{CPUMillis: -1}}}}},
		{"utilization out of range", map[string]*Aggregate{"a": a}, Policy{HorizontalCPUUtilization: -5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Recommend(tc.states, tc.policy, startTime); err == nil {
				t.Error("Recommend: no error")
			}
		})
	}
}

// Property: for the same sampling pattern, scaling every CPU and memory
// sample up never lowers any target, lower or upper bound.
func TestRecommendMonotoneInUsage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := DefaultConfig()
	for trial := range 200 {
		n := 10 + rng.IntN(3000)
		cpu := make([]int64, n)
		mem := make([]int64, n)
		for i := range n {
			cpu[i] = rng.Int64N(4000)
			mem[i] = rng.Int64N(4 << 30)
		}
		factor := 1 + rng.Float64()*2
		run := func(f float64) ContainerRecommendation {
			a := NewAggregate(cfg, startTime)
			c := a.NewContainer()
			for i := range n {
				ts := startTime.Add(time.Duration(i) * 5 * time.Minute)
				if _, err := c.AddCPU(ts, int64(float64(cpu[i])*f)); err != nil {
					t.Fatal(err)
				}
				if _, err := c.AddMemory(ts, int64(float64(mem[i])*f)); err != nil {
					t.Fatal(err)
				}
			}
			recs, err := Recommend(map[string]*Aggregate{"c": a}, Policy{}, ts(startTime, n))
			if err != nil {
				t.Fatal(err)
			}
			return recs[0]
		}
		lo, hi := run(1), run(factor)
		for _, pair := range [][2]*Bounds{{lo.CPU, hi.CPU}, {lo.Memory, hi.Memory}} {
			l, h := pair[0], pair[1]
			if h.Target < l.Target || h.Lower < l.Lower || h.Upper < l.Upper {
				t.Fatalf("trial %d: usage x%.2f lowered the recommendation: %+v -> %+v", trial, factor, *l, *h)
			}
		}
	}
}

func ts(start time.Time, n int) time.Time { return start.Add(time.Duration(n) * 5 * time.Minute) }
