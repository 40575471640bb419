package autoscaler

import (
	"fmt"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// BenchmarkPass is one full pass over 2,000 targets with 10 pods each
// (20,000 pods), every target on CPU utilization plus one External metric
// whose PromQL all targets share, with client-go fakes, the worker pool
// and the state checkpointed in sharded ConfigMaps. The first pass (before
// the timer) decides and checkpoints every target; the measured passes are
// the steady state: usage at target, nothing changes. Besides ns/op (the
// wall time of one pass) it reports the requests of one pass: scale
// subresource GETs (0: Deployments come from the informer), ConfigMap
// writes (0 in steady state), PodMetrics lists, Prometheus queries and
// scale updates.
//
// The "scale-get" variants read every target with a scale GET that takes
// 5 ms (as for a custom resource), to show what the worker pool does to
// the wall time of a pass whose reads wait on the network.
func BenchmarkPass(b *testing.B) {
	for _, read := range []string{"informer", "scale-get"} {
		for _, workers := range []int{1, DefaultOptions().Workers} {
			b.Run(fmt.Sprintf("%s/workers=%d", read, workers), func(b *testing.B) { benchmarkPass(b, workers, read == "scale-get") })
		}
	}
}

func benchmarkPass(b *testing.B, workers int, scaleGets bool) {
	const targets, podsPerTarget = 2000, 10
	c := newCluster(b)
	prom := &countingProm{queries: map[string]int{}}
	var ts []Target
	started := time.Now().Add(-time.Hour)
	for i := range targets {
		name := fmt.Sprintf("w%04d", i)
		c.addWorkload(b, name, podsPerTarget, 50, started) // 50% of request: at target, no update
		tg := cpuTarget(name, policy.ModeApply, nil)
		tg.Spec.MaxReplicas = 100
		tg.Spec.Metrics = append(tg.Spec.Metrics, horizontal.MetricSpec{Type: horizontal.ExternalMetric, Name: "queue",
			Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 100_000}})
		tg.Queries = map[string]string{"queue": `sum(queue_depth{queue="orders"})`}
		ts = append(ts, tg)
	}
	l, _ := c.newLoop(b, loopConfig{targets: ts, prom: prom, state: true, scaleGets: scaleGets})
	if scaleGets {
		c.scales.latency = 5 * time.Millisecond
	}
	l.o.Workers = workers
	now := time.Now()
	if _, err := l.Pass(b.Context(), now); err != nil { // loads, decides, checkpoints every target
		b.Fatal(err)
	}
	lists0, gets0, updates0 := c.counts()
	writes0, queries0 := c.configMaps.Writes(), prom.total()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(15 * time.Second)
		if _, err := l.Pass(b.Context(), now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	lists, gets, updates := c.counts()
	n := float64(b.N)
	b.ReportMetric(float64(gets-gets0)/n, "scale-gets/pass")
	b.ReportMetric(float64(c.configMaps.Writes()-writes0)/n, "configmap-writes/pass")
	b.ReportMetric(float64(lists-lists0)/n, "podmetrics-lists/pass")
	b.ReportMetric(float64(prom.total()-queries0)/n, "prom-queries/pass")
	b.ReportMetric(float64(updates-updates0)/n, "scale-updates/pass")
}
