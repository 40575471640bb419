package vertical

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// loop is a closed loop of a workload scaled horizontally on CPU
// utilization (a tiny HPA: replicas = ceil(demand / (request x target)))
// whose CPU request is replaced, once a simulated day, by a vertical rule.
type loop struct {
	demand  float64 // total CPU demand in cores, fixed
	util    float64 // horizontal target utilization, 0..1
	noise   float64 // per-sample usage noise, uniform +-noise
	request int64   // millicores
	// tolerance is the HPA's: replicas change only when the utilization
	// ratio is off by more than it (0 = the bare ceil model).
	tolerance float64
	// maxReplicas caps the replicas (0 = 10000).
	maxReplicas int
}

// run simulates rounds days and returns the request after each day. rule
// maps the day's aggregate to the next request.
func (l loop) run(t *testing.T, rounds int, rule func(a *Aggregate, now time.Time, current int64) int64) []int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	a := NewAggregate(DefaultConfig(), startTime)
	now := startTime
	req := l.request
	var out []int64
	replicas := 0
	for range rounds {
		maxReplicas := l.maxReplicas
		if maxReplicas == 0 {
			maxReplicas = 10000
		}
		want := min(max(int(math.Ceil(l.demand/(float64(req)/1000*l.util))), 1), maxReplicas)
		ratio := 0.0
		if replicas > 0 {
			ratio = l.demand / float64(replicas) / (float64(req) / 1000 * l.util)
		}
		if replicas == 0 || math.Abs(ratio-1) > l.tolerance {
			replicas = want
		}
		perPod := l.demand / float64(replicas)
		// Sample up to 5 pods once a minute for a day.
		pods := make([]*Container, min(replicas, 5))
		for i := range pods {
			pods[i] = a.NewContainer()
		}
		for m := range 1440 {
			ts := now.Add(time.Duration(m) * time.Minute)
			for _, p := range pods {
				u := perPod * (1 + l.noise*(2*rng.Float64()-1))
				if _, err := p.AddCPU(ts, int64(u*1000)); err != nil {
					t.Fatal(err)
				}
			}
		}
		now = now.Add(24 * time.Hour)
		req = rule(a, now, req)
		out = append(out, req)
	}
	return out
}

func recommendRule(t *testing.T, p Policy) func(*Aggregate, time.Time, int64) int64 {
	return func(a *Aggregate, now time.Time, current int64) int64 {
		p.CurrentRequests = map[string]Amounts{"app": {CPUMillis: current}}
		recs, err := Recommend(map[string]*Aggregate{"app": a}, p, now)
		if err != nil {
			t.Fatal(err)
		}
		return recs[0].CPU.Target
	}
}

// spread is (max-min)/min over the last n values.
func spread(v []int64, n int) float64 {
	tail := v[len(v)-n:]
	lo, hi := tail[0], tail[0]
	for _, x := range tail {
		lo, hi = min(lo, x), max(hi, x)
	}
	return float64(hi-lo) / float64(lo)
}

func TestRatchet(t *testing.T) {
	const rounds = 12
	for _, tc := range []struct {
		name  string
		world loop
	}{
		{"steady demand, 60% target", loop{demand: 20, util: 0.6, noise: 0, request: 1000}},
		{"noisy demand, 60% target", loop{demand: 20, util: 0.6, noise: 0.2, request: 1000}},
		{"noisy demand, 60% target, HPA tolerance 10%", loop{demand: 20, util: 0.6, noise: 0.2, request: 1000, tolerance: 0.1}},
		{"noisy demand, 50% target, few pods", loop{demand: 3, util: 0.5, noise: 0.3, request: 500}},
		{"noisy demand, 50% target, few pods, HPA tolerance 10%", loop{demand: 3, util: 0.5, noise: 0.3, request: 500, tolerance: 0.1}},
		{"large demand, 60% target", loop{demand: 300, util: 0.6, noise: 0.25, request: 2000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.world
			naive := w.run(t, rounds, recommendRule(t, Policy{}))
			joint := w.run(t, rounds, recommendRule(t, Policy{HorizontalCPUUtilization: int32(w.util * 100)}))
			noCurrent := w.run(t, rounds, func(a *Aggregate, now time.Time, _ int64) int64 {
				return recommendRule(t, Policy{HorizontalCPUUtilization: int32(w.util * 100)})(a, now, 0)
			})
			p90 := w.run(t, rounds, func(a *Aggregate, _ time.Time, _ int64) int64 { // percentile / target
				return amount(a.CPUPercentile(0.9) * 1000 / w.util)
			})
			t.Logf("naive p90 x 1.15: %v", naive)
			t.Logf("p90 / target:     %v", p90)
			t.Logf("mean / target:    %v (without the current request: %v)", joint, noCurrent)

			// The naive VPA rule must ratchet down: every day lower, ending
			// below half the first recommendation.
			for i := 1; i < rounds; i++ {
				if naive[i] > naive[i-1] {
					t.Errorf("naive rule rose on day %d: %d -> %d; expected a ratchet down", i+1, naive[i-1], naive[i])
				}
			}
			if naive[rounds-1]*2 > naive[0] {
				t.Errorf("naive rule ended at %dm from %dm: expected it to ratchet below half", naive[rounds-1], naive[0])
			}
			// ebb's joint rule converges: the last 5 days within 3%, and
			// within 10% of the starting request.
			if s := spread(joint, 5); s > 0.03 {
				t.Errorf("joint rule not stable: last 5 days spread %.1f%% > 3%%: %v", 100*s, joint)
			}
			last := float64(joint[rounds-1])
			if math.Abs(last-float64(w.request))/float64(w.request) > 0.10 {
				t.Errorf("joint rule drifted to %.0fm from %dm (> 10%%)", last, w.request)
			}
			// Without the current request (no deadband) the quantized mean
			// still stays within 10% here.
			if s := spread(noCurrent, 5); s > 0.06 {
				t.Errorf("joint rule without current request: last 5 days spread %.1f%% > 6%%: %v", 100*s, noCurrent)
			}
			// With noise, a percentile above the median divided by the
			// target ratchets up instead (why ebb uses the mean).
			if w.noise > 0 && p90[rounds-1] < 2*p90[0] {
				t.Errorf("p90/target rule ended at %dm from %dm: expected it to ratchet up", p90[rounds-1], p90[0])
			}
		})
	}
}

// When the horizontal side is pinned at its maximum, per-pod usage exceeds
// the target and the joint rule raises the request to mean usage / target.
func TestJointGrowsWhenHorizontalSaturated(t *testing.T) {
	w := loop{demand: 20, util: 0.6, noise: 0.1, request: 1000, maxReplicas: 10}
	got := w.run(t, 6, recommendRule(t, Policy{HorizontalCPUUtilization: 60}))
	want := 20.0 / 10 / 0.6 * 1000 // 3333m
	last := float64(got[len(got)-1])
	if last < want || last > want*1.06 {
		t.Errorf("request after 6 days = %.0fm, want mean usage / target = %.0fm up to one bucket (5%%) above: %v", last, want, got)
	}
}
