package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTrendFitFraction(t *testing.T) {
	for _, tc := range []struct {
		name string
		fit  TrendFit
		want float64
	}{
		{"nothing scored: the whole trend", TrendFit{}, 1},
		{"the trend came in full", TrendFit{EG: 4, GG: 4}, 1},
		{"a third of it came", TrendFit{EG: 1, GG: 3}, 1.0 / 3},
		{"more than the trend came: at most the whole trend", TrendFit{EG: 9, GG: 3}, 1},
		{"the opposite came: no trend", TrendFit{EG: -2, GG: 3}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fit.Fraction(); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Fraction() = %v, want %v", got, tc.want)
			}
		})
	}
}

// forecastEvery observes f every 15 s for d and forecasts (horizon h) after
// each sample, as the loop does, so that predictions are scored; it
// returns the last forecast.
func forecastEvery(t *testing.T, m *Model, d, h time.Duration, f func(at time.Duration) float64) Forecast {
	t.Helper()
	var last Forecast
	for at := time.Duration(0); at < d; at += 15 * time.Second {
		now := t0.Add(at)
		if _, err := m.Observe(Sample{At: now, Value: f(at)}); err != nil {
			t.Fatalf("Observe at %v: %v", at, err)
		}
		last = m.Forecast(now, h)
	}
	return last
}

// TestTrendFit: the share of the trend the forecast extrapolates is fitted
// to what its past predictions met. A ramp goes on, so the whole trend is
// kept and followed. Around a flat level with minute-to-minute noise a
// least-squares line over the last minutes finds a slope nearly always,
// but the next minute does not follow it, so the fraction falls to 0 and
// the forecast stays at the level. A fit is weighed by the trends' squares,
// so a steep ramp after hours of noise brings it back within minutes.
func TestTrendFit(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	noise := make([]float64, 4*60+1)
	for i := range noise {
		noise[i] = 100 + 10*rng.Float64()
	}
	noisy := func(at time.Duration) float64 { return noise[int(at/time.Minute)] }
	const h, hours = time.Minute, 4 * time.Hour
	for _, tc := range []struct {
		name             string
		f                func(at time.Duration) float64
		d                time.Duration
		wantMin, wantMax float64
	}{
		// 1 per minute: the forecast made at a sample for a minute ahead
		// is met exactly by the sample a minute later.
		{"ramp", func(at time.Duration) float64 { return 10 + at.Minutes() }, hours, 0.999, 1},
		{"noise around a level", noisy, hours, 0, 0.05},
		{"noise, then 5 minutes of a ramp of 10 % a minute", func(at time.Duration) float64 {
			if at < hours {
				return noisy(at)
			}
			return noise[len(noise)-1] + 10*(at-hours).Minutes()
		}, hours + 5*time.Minute, 0.9, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t)
			got := forecastEvery(t, m, tc.d, h, tc.f)
			if fr := m.TrendFit().Fraction(); fr < tc.wantMin || fr > tc.wantMax || got.TrendFraction != fr {
				t.Errorf("trend fraction %v (forecast's %v), want within [%v, %v]", fr, got.TrendFraction, tc.wantMin, tc.wantMax)
			}
			// The forecast is the level plus the fraction of the trend at
			// its highest point of the horizon (the end for a rising
			// slope, the first of 8 points for a falling one); the
			// forecast is made at the time of the last sample.
			ahead := h
			if got.Slope < 0 {
				ahead = h / 8
			}
			if want := got.Level + got.TrendFraction*got.Slope*ahead.Seconds(); got.Seasonal != 0 || math.Abs(got.Demand-want) > 1e-9 {
				t.Errorf("forecast %v (seasonal %v), want level %v + %v of the trend = %v", got.Demand, got.Seasonal, got.Level, got.TrendFraction, want)
			}
		})
	}
}
