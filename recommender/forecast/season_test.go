package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const step = 5 * time.Minute

// series returns days*288 five-minute values of f(i) plus Gaussian noise of
// standard deviation sd.
func series(days int, sd float64, seed uint64, f func(i int) float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, days*288)
	for i := range out {
		out[i] = f(i) + sd*r.NormFloat64()
	}
	return out
}

func daily(i int) float64 { return 3 + 2*math.Sin(2*math.Pi*float64(i)/288) }

// weekly is a working-week shape: a daily bump on five days, flat on two.
func weekly(i int) float64 {
	day := (i / 288) % 7
	if day >= 5 {
		return 1
	}
	return 1 + 4*math.Max(0, math.Sin(2*math.Pi*float64(i%288)/288))
}

func TestDetectPeriod(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    []float64
		want time.Duration
	}{
		{"daily sine with noise, 4 days", series(4, 0.5, 1, daily), 24 * time.Hour},
		{"daily sine on a rising trend, 3 days", series(3, 0.3, 2, func(i int) float64 { return daily(i) + float64(i)/100 }), 24 * time.Hour},
		{"working week, 3 weeks", series(21, 0.3, 3, weekly), 7 * 24 * time.Hour},
		{"white noise, 7 days", series(7, 1, 4, func(int) float64 { return 5 }), 0},
		{"white noise, another seed", series(7, 1, 5, func(int) float64 { return 5 }), 0},
		{"pure trend, 7 days", series(7, 0.5, 6, func(i int) float64 { return float64(i) / 50 }), 0},
		{"random walk, 7 days", randomWalk(7*288, 7), 0},
		{"12-hour cycle is not a daily one", series(4, 0.2, 8, func(i int) float64 { return 3 + math.Sin(2*math.Pi*float64(i)/144) }), 0},
		{"daily sine, under two days: too short", series(1, 0.1, 9, daily), 0},
		{"constant", series(3, 0, 10, func(int) float64 { return 2 }), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ev := DetectPeriod(tc.x, step, DefaultSeasonOptions())
			if got != tc.want {
				t.Errorf("DetectPeriod() = %v, want %v; evidence %+v", got, tc.want, ev)
			}
		})
	}
}

func randomWalk(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float64, n)
	v := 10.0
	for i := range out {
		v += r.NormFloat64() * 0.2
		out[i] = v
	}
	return out
}

// TestDetectPeriodFalsePositives runs the test on many white-noise series:
// the shuffle threshold and the autocorrelation check together must keep
// false detections rare.
func TestDetectPeriodFalsePositives(t *testing.T) {
	found := 0
	const n = 50
	for seed := range uint64(n) {
		x := series(3, 1, 100+seed, func(int) float64 { return 4 })
		if p, _ := DetectPeriod(x, step, DefaultSeasonOptions()); p != 0 {
			found++
		}
	}
	if found > 1 {
		t.Errorf("a period was found in %d of %d white-noise series, want at most 1", found, n)
	}
}

func TestDetectPeriodEvidence(t *testing.T) {
	_, ev := DetectPeriod(series(3, 0.2, 11, daily), step, DefaultSeasonOptions())
	if len(ev) != 2 {
		t.Fatalf("evidence for %d candidates, want 2", len(ev))
	}
	d, w := ev[0], ev[1]
	if !d.Accepted || !d.Hill || d.Power <= d.Threshold || d.Autocorrelation < 0.9 {
		t.Errorf("daily evidence %+v: want accepted, on a hill, power above threshold, autocorrelation >= 0.9", d)
	}
	if !w.Skipped || w.Accepted {
		t.Errorf("weekly evidence %+v with 3 days: want skipped", w)
	}
}

func TestFFT(t *testing.T) {
	x := []float64{1, 2, 3, 4, 0, -1, 2, 5}
	a := make([]complex128, len(x))
	for i, v := range x {
		a[i] = complex(v, 0)
	}
	fft(a)
	for k := range x {
		var want complex128
		for n, v := range x {
			angle := -2 * math.Pi * float64(k*n) / float64(len(x))
			want += complex(v*math.Cos(angle), v*math.Sin(angle))
		}
		if d := a[k] - want; math.Hypot(real(d), imag(d)) > 1e-9 {
			t.Errorf("bin %d = %v, want %v (direct DFT)", k, a[k], want)
		}
	}
}
