package forecast

import (
	"math"
	"time"
)

// Accuracy is a decaying score of past predictions against what happened:
//
//	error = sum(w * (UnderWeight*max(actual-predicted, 0) + max(predicted-actual, 0))) / sum(w * actual)
//
// where the weight w of a prediction halves every ErrorHalfLife. 0 is
// perfect; an error of 0.3 means the recent predictions missed by about
// 30 % of the demand, under-predictions counted UnderWeight times. The
// actual value of a prediction is the highest sample of its window.
type Accuracy struct {
	Num, Den float64   // the decayed sums
	At       time.Time // time the sums were last decayed to
	Scored   int       // predictions scored so far
}

// Error is the current score (0 before any prediction was scored).
func (a Accuracy) Error() float64 {
	if a.Den <= 0 {
		if a.Num > 0 {
			return math.Inf(1)
		}
		return 0
	}
	return a.Num / a.Den
}

// add scores one prediction at t.
func (a *Accuracy) add(t time.Time, predicted, actual, underWeight float64, halfLife time.Duration) {
	d := decayTo(&a.At, t, halfLife)
	a.Num *= d
	a.Den *= d
	a.Num += underWeight*max(actual-predicted, 0) + max(predicted-actual, 0)
	a.Den += actual
	a.Scored++
}

// keep queues a prediction for scoring; a second prediction at the same
// time replaces the first.
func (m *Model) keep(p pending) {
	if n := len(m.pending); n > 0 && m.pending[n-1].made.Equal(p.made) {
		m.pending[n-1] = p
		return
	}
	m.pending = append(m.pending, p)
}

// score scores every pending prediction whose window ended before now (the
// time of the newest sample): its actual value is the highest sample in
// (made, until]. A window without a sample (a gap) is dropped unscored.
func (m *Model) score(now time.Time) {
	done := 0
	for _, p := range m.pending {
		if !now.After(p.until) {
			break
		}
		done++
		actual, ok := math.Inf(-1), false
		for _, s := range m.recent {
			if s.At.After(p.made) && !s.At.After(p.until) {
				actual, ok = max(actual, s.Value), true
			}
		}
		if ok {
			m.acc.add(p.until, p.value, actual, m.o.UnderWeight, m.o.ErrorHalfLife)
			m.fit.add(p.until, actual-p.level, p.trend, m.o.ErrorHalfLife)
		}
	}
	if done > 0 {
		m.pending = append(m.pending[:0], m.pending[done:]...)
	}
}

// Accuracy is the model's current accuracy score.
func (m *Model) Accuracy() Accuracy { return m.acc }

// TrendFit is how much of the extrapolated trend the recent past bore out:
// the damping of Gardner's damped trend, fitted to the model's own scored
// predictions instead of chosen. For each prediction, g is the full
// trend's increment (slope times the time from the last sample to the
// predicted point) and e what actually came above the level (the highest
// sample of the window minus the last value the prediction started from);
// the fraction is the least-squares fit of e = fraction*g,
//
//	fraction = sum(w*e*g) / sum(w*g*g), clamped to [0, 1],
//
// the weight w halving every ErrorHalfLife, as the accuracy score's. A
// trend that goes on (a ramp) keeps it near 1; a series whose fitted slopes
// are mostly noise — a random walk over a few minutes looks like a trend to
// a least-squares line, and stops — draws it toward 0, so that the forecast
// does not scale up for ramps that do not come. 1 (the whole trend) until a
// prediction with a trend has been scored.
type TrendFit struct {
	EG, GG float64   // the decayed sums of e*g and g*g
	At     time.Time // time the sums were last decayed to
}

// Fraction is the share of the trend to extrapolate, within [0, 1].
func (f TrendFit) Fraction() float64 {
	if !(f.GG > 0) {
		return 1
	}
	return min(1, max(0, f.EG/f.GG))
}

// add fits one scored prediction at t: e above the level came, g was the
// full trend's increment.
func (f *TrendFit) add(t time.Time, e, g float64, halfLife time.Duration) {
	d := decayTo(&f.At, t, halfLife)
	f.EG = f.EG*d + e*g
	f.GG = f.GG*d + g*g
}

// decayTo moves the time *at of decayed sums to t and returns the factor
// the sums decay by meanwhile (halving every halfLife); 1 when t is not
// later or the sums are new.
func decayTo(at *time.Time, t time.Time, halfLife time.Duration) float64 {
	d := 1.0
	if !at.IsZero() && t.After(*at) {
		d = math.Exp2(-t.Sub(*at).Seconds() / halfLife.Seconds())
	}
	if t.After(*at) {
		*at = t
	}
	return d
}

// TrendFit is the model's current trend fit.
func (m *Model) TrendFit() TrendFit { return m.fit }
