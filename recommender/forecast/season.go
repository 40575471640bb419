package forecast

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
	"time"
)

// SeasonOptions are the settings of DetectPeriod.
type SeasonOptions struct {
	// Candidates are the periods tried, e.g. one day and one week. A
	// candidate is considered only with at least two whole periods of
	// history and at least four buckets per period.
	Candidates []time.Duration
	// Shuffles is how many shuffled copies of the series set the
	// periodogram threshold (the largest peak any of them shows).
	Shuffles int
	// MinAutocorrelation is the autocorrelation at the period's lag a
	// candidate needs, besides being a local maximum of the
	// autocorrelation ("on a hill").
	MinAutocorrelation float64
	// Seed makes the shuffles, and so the result, reproducible.
	Seed uint64
}

// DefaultSeasonOptions: candidates 1 day and 1 week, 20 shuffles,
// autocorrelation at least 0.3.
func DefaultSeasonOptions() SeasonOptions {
	return SeasonOptions{
		Candidates:         []time.Duration{24 * time.Hour, 7 * 24 * time.Hour},
		Shuffles:           20,
		MinAutocorrelation: 0.3,
		Seed:               1,
	}
}

// Evidence is why a candidate period was accepted or rejected.
type Evidence struct {
	Period time.Duration
	// Power is the periodogram's value at the period's frequency (the
	// larger of the two nearest bins), Threshold the largest value any
	// shuffled copy of the series showed at any frequency.
	Power, Threshold float64
	// Autocorrelation at the period's lag, and whether that lag is a
	// local maximum of the autocorrelation.
	Autocorrelation float64
	Hill            bool
	// Accepted is Power > Threshold, Hill and Autocorrelation >=
	// MinAutocorrelation.
	Accepted bool
	// Skipped is set when the history is too short for the candidate.
	Skipped bool
}

// DetectPeriod looks for a significant seasonal period in x, a series of
// equally spaced values step apart (gaps already filled). It follows the
// two-step test of Vlachos et al. ("autoperiod", as Crane's DSP predictor
// does): a candidate's periodogram peak must be higher than any peak of
// shuffled copies of the series (which have no period), and the
// autocorrelation at its lag must be high and on a hill. The series is
// detrended (least squares line) first, so that a trend is not mistaken for
// a long period. It returns the accepted candidate with the highest
// autocorrelation (0 when none) and the evidence for every candidate.
func DetectPeriod(x []float64, step time.Duration, o SeasonOptions) (time.Duration, []Evidence) {
	ev := make([]Evidence, 0, len(o.Candidates))
	y := detrend(x)
	var threshold float64
	thresholdDone := false
	best, bestACF := time.Duration(0), math.Inf(-1)
	for _, p := range o.Candidates {
		e := Evidence{Period: p}
		lag := int(p / step)
		if step <= 0 || p%step != 0 || lag < 4 || len(y) < 2*lag {
			e.Skipped = true
			ev = append(ev, e)
			continue
		}
		if !thresholdDone {
			threshold = shuffledThreshold(y, o.Shuffles, o.Seed)
			thresholdDone = true
		}
		e.Threshold = threshold
		e.Power = powerAtPeriod(y, lag)
		e.Autocorrelation = autocorrelation(y, lag)
		e.Hill = onHill(y, lag)
		e.Accepted = e.Power > e.Threshold && e.Hill && e.Autocorrelation >= o.MinAutocorrelation
		if e.Accepted && e.Autocorrelation > bestACF {
			best, bestACF = p, e.Autocorrelation
		}
		ev = append(ev, e)
	}
	return best, ev
}

// detrend returns x minus its least-squares line.
func detrend(x []float64) []float64 {
	n := float64(len(x))
	var sx, sy, sxx, sxy float64
	for i, v := range x {
		fi := float64(i)
		sx += fi
		sy += v
		sxx += fi * fi
		sxy += fi * v
	}
	var b float64
	if d := n*sxx - sx*sx; d != 0 {
		b = (n*sxy - sx*sy) / d
	}
	a := (sy - b*sx) / n
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v - (a + b*float64(i))
	}
	return out
}

// periodogram returns |X_k|^2 / n for k = 0 .. m/2 of x zero-padded to m,
// the next power of two.
func periodogram(x []float64) []float64 {
	m := 1
	for m < len(x) {
		m <<= 1
	}
	buf := make([]complex128, m)
	for i, v := range x {
		buf[i] = complex(v, 0)
	}
	fft(buf)
	out := make([]float64, m/2+1)
	for k := range out {
		a := cmplx.Abs(buf[k])
		out[k] = a * a / float64(len(x))
	}
	return out
}

// powerAtPeriod is the periodogram at the frequency of a period of lag
// samples: the larger of the two bins around it.
func powerAtPeriod(y []float64, lag int) float64 {
	p := periodogram(y)
	m := 2 * (len(p) - 1)
	f := float64(m) / float64(lag) // bin index of the period's frequency
	lo := int(math.Floor(f))
	best := 0.0
	for _, k := range []int{lo, lo + 1} {
		if k >= 1 && k < len(p) {
			best = max(best, p[k])
		}
	}
	return best
}

// shuffledThreshold is the largest periodogram value (frequency 0 left out)
// over n shuffled copies of y: a period whose power is below it could be
// noise.
func shuffledThreshold(y []float64, n int, seed uint64) float64 {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	s := slices.Clone(y)
	var threshold float64
	for range n {
		r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		for k, v := range periodogram(s) {
			if k > 0 {
				threshold = max(threshold, v)
			}
		}
	}
	return threshold
}

// autocorrelation is the sample autocorrelation of y at lag, each sum
// divided by its number of terms (so that a long lag over a short history is
// not biased toward zero, and a weekly period can win over a daily one).
func autocorrelation(y []float64, lag int) float64 {
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var num, den float64
	for i, v := range y {
		d := v - mean
		den += d * d
		if i+lag < len(y) {
			num += d * (y[i+lag] - mean)
		}
	}
	if den == 0 || lag >= len(y) {
		return 0
	}
	return (num / float64(len(y)-lag)) / (den / float64(len(y)))
}

// onHill reports whether the autocorrelation at lag is at least as high as
// at the lags a tenth of a period before and after it (a true period sits
// on a peak of the autocorrelation; a periodogram leak does not).
func onHill(y []float64, lag int) bool {
	d := max(1, lag/10)
	at := autocorrelation(y, lag)
	if lag+d >= len(y) {
		return at >= autocorrelation(y, lag-d)
	}
	return at >= autocorrelation(y, lag-d) && at >= autocorrelation(y, lag+d)
}

// fft is an in-place iterative radix-2 Cooley-Tukey transform; len(a) must
// be a power of two.
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
}
