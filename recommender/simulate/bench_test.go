package simulate

import (
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
