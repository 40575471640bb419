package simulate

import (
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"math"
	"testing"
	"time"
)

// BenchmarkRunDiurnal simulates a 2-hour diurnal trace (one row per minute,
// 0.5..4.5 cores): 480 syncs, 7200 ticks.
func BenchmarkRunDiurnal(b *testing.B) {
	w := DefaultWorld()
	w.Spec = cpuSpec(2, 20, 70)
	for i := range 121 {
		t := float64(i * 60)
		w.Trace = append(w.Trace, Point{T: time.Duration(t) * time.Second, Demand: 2.5 + 2*math.Sin(2*math.Pi*t/7200-math.Pi/2)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunPerSecondTrace simulates one hour of a trace with one row per
// second (3600 rows, 240 syncs).
func BenchmarkRunPerSecondTrace(b *testing.B) {
	w := DefaultWorld()
	w.Spec = cpuSpec(2, 50, 70)
	for i := range 3600 {
		w.Trace = append(w.Trace, Point{T: time.Duration(i) * time.Second, Demand: 1 + float64(i%600)/100})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWorld measures the event-driven world against the per-second
// reference, in one run, on the peer runs of the 7-day World Cup trace
// (1-minute rows, 40,316 syncs) and the 3-day NASA trace (1-second rows,
// 17,279 syncs) with the production-style behavior spec: "hpa" decides with
// horizontal.Decide at every sync (the whole run), "world" replays the
// sizes that run decided, so that it measures the world alone. cpu-ns/op is
// the process CPU time per op (wall time on a shared machine mostly
// measures the other work).
func BenchmarkWorld(b *testing.B) {
	for _, trace := range []string{"worldcup98-cores", "nasa-cores"} {
		w := peerWorld(b, trace, "hpa-behavior")
		res, err := Run(w)
		if err != nil {
			b.Fatal(err)
		}
		for _, rule := range []string{"hpa", "world"} {
			for _, impl := range []struct {
				name string
				run  func(World) (Result, error)
			}{{"per-second", runPerSecond}, {"event", Run}} {
				b.Run(trace+"/"+rule+"/"+impl.name, func(b *testing.B) {
					b.ReportAllocs()
					cpu0, ok := processCPU()
					for b.Loop() {
						if rule == "world" {
							w.Decider = replay(res.Syncs)
						}
						if _, err := impl.run(w); err != nil {
							b.Fatal(err)
						}
					}
					if cpu1, _ := processCPU(); ok {
						b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
					}
				})
			}
		}
	}
}

// replay decides the sizes of recorded syncs, in order.
func replay(rows []SyncRow) Decider {
	i := 0
	return DeciderFunc(func(o horizontal.Observation, _ *horizontal.History) horizontal.Decision {
		i++
		return horizontal.Decision{Replicas: rows[i-1].Desired}
	})
}
