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
// whose PromQL all targets share, with client-go fakes. Besides ns/op and
// allocs/op it reports the requests of one pass: scale subresource GETs,
// PodMetrics lists, Prometheus queries and scale patches.
func BenchmarkPass(b *testing.B) {
	const targets, podsPerTarget = 2000, 10
	c := newCluster(b)
	prom := &countingProm{queries: map[string]int{}}
	var ts []Target
	started := time.Now().Add(-time.Hour)
	for i := range targets {
		name := fmt.Sprintf("w%04d", i)
		c.addWorkload(b, name, podsPerTarget, 50, started) // 50% of request: at target, no patch
		tg := cpuTarget(name, policy.ModeApply, nil)
		tg.Spec.MaxReplicas = 100
		tg.Spec.Metrics = append(tg.Spec.Metrics, horizontal.MetricSpec{Type: horizontal.ExternalMetric, Name: "queue",
			Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 100_000}})
		tg.Queries = map[string]string{"queue": `sum(queue_depth{queue="orders"})`}
		ts = append(ts, tg)
	}
	l, _ := c.newLoop(b, loopConfig{targets: ts})
	l.o.PodValues, l.o.Scalars = prom, prom
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Pass(b.Context(), now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	lists, gets, patches := c.counts()
	queries := 0
	for _, n := range prom.queries {
		queries += n
	}
	n := float64(b.N)
	b.ReportMetric(float64(gets)/n, "scale-gets/pass")
	b.ReportMetric(float64(lists)/n, "podmetrics-lists/pass")
	b.ReportMetric(float64(queries)/n, "prom-queries/pass")
	b.ReportMetric(float64(patches)/n, "patches/pass")
}
