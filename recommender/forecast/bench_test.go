package forecast

import (
	"math"
	"testing"
	"time"
)

// BenchmarkObserveForecast is the forecaster's cost per sync of one
// target: one sample and one forecast over a 75 s horizon, on a model
// holding 14 days of 15-s samples of a daily pattern (the period test runs
// every 6 hours of the model's time, so about once per 1440 syncs).
func BenchmarkObserveForecast(b *testing.B) {
	m, err := New(DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	at := t0
	next := func() Sample {
		at = at.Add(15 * time.Second)
		return Sample{At: at, Value: 5 + 3*math.Sin(2*math.Pi*at.Sub(t0).Hours()/24)}
	}
	for range 14 * 24 * 240 {
		m.Observe(next())
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(next())
		m.Forecast(at, 75*time.Second)
	}
}
