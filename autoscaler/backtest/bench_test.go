package backtest

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// worldCup is the 7-day World Cup trace (1-minute rows, cores).
func worldCup(b *testing.B) []simulate.Point {
	f, err := os.Open("../../recommender/simulate/testdata/hpa-peer/traces/worldcup98-cores.csv.gz")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := simulate.ParseTrace(zr)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// BenchmarkRun100Targets7Days is one backtest of 100 Deployments over 7
// days at a 1-minute step (the default): each target's 2 pods follow the
// World Cup trace (scaled per target), with memory series, served from
// memory, so it measures ebb's own work: the reconstruction, the 100
// seven-day world replays and the vertical recommendations.
func BenchmarkRun100Targets7Days(b *testing.B) {
	const targets = 100
	tr := worldCup(b)
	g := Grid{Start: t0, Step: time.Minute, N: 7 * 24 * 60}
	store := map[string][]metricsource.Series{}
	var ts []Target
	for i := range targets {
		name := fmt.Sprintf("svc%03d", i)
		demand, pods := make([]float64, g.N), make([]int, g.N)
		scale := 0.5 + float64(i)/100
		for k := range demand {
			demand[k], pods[k] = scale*tr[min(k, len(tr)-1)].Demand, 2
		}
		cpu := history(name, g, demand, pods)
		store["container_cpu_usage_seconds_total"] = append(store["container_cpu_usage_seconds_total"], cpu...)
		for _, s := range cpu {
			mem := metricsource.Series{Labels: s.Labels}
			for _, p := range s.Samples {
				mem.Samples = append(mem.Samples, metricsource.Sample{Time: p.Time, Value: 200 << 20})
			}
			store["container_memory_working_set_bytes"] = append(store["container_memory_working_set_bytes"], mem)
		}
		ts = append(ts, deploymentTarget(name, cpuSpec(2, 40, 60)))
	}
	f := &fakeProm{g: g, store: store, calls: map[string]int{}, t: &testing.T{}}
	b.ResetTimer()
	for b.Loop() {
		res, err := Run(context.Background(), f, ts, nil, Options{Grid: g, Concurrency: 2})
		if err != nil || len(res.Failed()) > 0 {
			b.Fatalf("%v %+v", err, res.Failed())
		}
	}
}
