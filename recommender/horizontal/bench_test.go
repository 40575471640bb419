package horizontal

import (
	"testing"
	"time"
)

// benchTarget is one target's spec and observation with n pods and the
// three metric kinds of a typical HPA: CPU utilization, a Pods metric and an
// External metric.
func benchTarget(n int, now time.Time) (Spec, Observation) {
	s := Spec{MinReplicas: 1, MaxReplicas: int32(4 * n), Metrics: []MetricSpec{
		cpuTarget(60),
		{Type: PodsMetric, Name: "requests_per_second", Target: Target{Type: AverageValueTarget, AverageValue: 10_000}},
		{Type: ExternalMetric, Name: "queue_depth", Target: Target{Type: ValueTarget, Value: 50_000}},
	}}
	o := Observation{Now: now, CurrentReplicas: int32(n), StatusReplicas: int32(n), Pods: make([]Pod, n)}
	cpu := make(map[string]Sample, n)
	rps := make(map[string]Sample, n)
	for i := range n {
		name := podName(i)
		o.Pods[i] = newPod(name, "cpu", 250)
		cpu[name] = Sample{Value: int64(300 + i%7*20), Timestamp: now, Window: 15 * time.Second}
		rps[name] = Sample{Value: int64(9_000 + i%5*500), Timestamp: now}
	}
	o.Metrics = []MetricValues{{PodValues: cpu}, {PodValues: rps}, {Value: 40_000}}
	return s, o
}

// BenchmarkDecide100Pods3Metrics is one reconcile of one target with 100
// pods and three metrics, reconciles 15 s apart on one history.
func BenchmarkDecide100Pods3Metrics(b *testing.B) {
	s, o := benchTarget(100, testNow)
	opt := DefaultOptions()
	h := &History{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o.Now = testNow.Add(time.Duration(i) * 15 * time.Second)
		i++
		if d := Decide(o, s, opt, h); d.Err != nil {
			b.Fatal(d.Err)
		}
	}
}

// BenchmarkDecide2000Targets10Pods is one pass over 2,000 targets of 10
// pods each, every target with its own History (one op = one pass).
func BenchmarkDecide2000Targets10Pods(b *testing.B) {
	const targets = 2000
	specs := make([]Spec, targets)
	obs := make([]Observation, targets)
	hist := make([]History, targets)
	for t := range targets {
		specs[t], obs[t] = benchTarget(10, testNow)
	}
	opt := DefaultOptions()
	b.ReportAllocs()
	pass := 0
	for b.Loop() {
		now := testNow.Add(time.Duration(pass) * 15 * time.Second)
		pass++
		for t := range targets {
			obs[t].Now = now
			if d := Decide(obs[t], specs[t], opt, &hist[t]); d.Err != nil {
				b.Fatal(d.Err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*targets), "ns/target")
}
