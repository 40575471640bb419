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
	if !a.At.IsZero() && t.After(a.At) {
		d := math.Exp2(-t.Sub(a.At).Seconds() / halfLife.Seconds())
		a.Num *= d
		a.Den *= d
	}
	if t.After(a.At) {
		a.At = t
	}
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

		}
	}
	if done > 0 {
		m.pending = append(m.pending[:0], m.pending[done:]...)
	}
}

// Accuracy is the model's current accuracy score.
func (m *Model) Accuracy() Accuracy { return m.acc }
