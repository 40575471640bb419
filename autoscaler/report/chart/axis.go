package chart

import (
	"math"
	"time"
)

// yScale is the y range [y0, y1] and its ticks for values in [lo, hi]:
// about six ticks on a 1-2-5 step, 5 % headroom above hi, whole steps
// when integer.
func yScale(lo, hi float64, integer bool) (y0, y1 float64, ticks []float64) {
	if hi <= lo {
		hi = lo + 1
	}
	hi += (hi - lo) * 0.05
	step := niceStep((hi - lo) / 5)
	if integer {
		step = math.Max(1, math.Ceil(step))
	}
	y0 = math.Floor(lo/step) * step
	y1 = math.Ceil(hi/step) * step
	for i := 0; ; i++ {
		v := y0 + float64(i)*step
		if v > y1+step/2 {
			break
		}
		ticks = append(ticks, roundTo(v, step))
	}
	return y0, y1, ticks
}

// niceStep is the smallest of 1, 2, 5 times a power of ten at least raw.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// roundTo removes float noise (0.30000000000000004) from a multiple of step.
func roundTo(v, step float64) float64 {
	digits := math.Max(0, -math.Floor(math.Log10(step))+1)
	f := math.Pow(10, digits)
	return math.Round(v*f) / f
}

// tickIntervals are the spacings time ticks may take.
var tickIntervals = []time.Duration{
	5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour,
	7 * 24 * time.Hour,
}

// maxTimeTicks is how many time labels fit under a chart.
const maxTimeTicks = 7

// timeTicks are round UTC times in [t0, t1] (multiples of the smallest
// interval giving at most maxTimeTicks) and the layout to label them.
func timeTicks(t0, t1 time.Time) ([]time.Time, string) {
	span := t1.Sub(t0)
	iv := tickIntervals[len(tickIntervals)-1]
	for _, d := range tickIntervals {
		if span/d < maxTimeTicks {
			iv = d
			break
		}
	}
	var ticks []time.Time
	for t := t0.UTC().Truncate(iv); !t.After(t1); t = t.Add(iv) {
		if !t.Before(t0) {
			ticks = append(ticks, t)
		}
	}
	switch {
	case iv >= 24*time.Hour:
		return ticks, "Jan 2"
	case span > 24*time.Hour:
		return ticks, "Jan 2 15:04"
	case iv < time.Minute:
		return ticks, "15:04:05"
	default:
		return ticks, "15:04"
	}
}
