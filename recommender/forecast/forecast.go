// Package forecast predicts a target's demand (its total CPU usage, or the
// request rate behind a Pods/Object/External metric) a short horizon ahead
// from the target's own history, and keeps score of how good its recent
// predictions were.
//
// The method is meant to be explained in one sentence: the forecast is the
// larger of where the recent trend leads (the last value plus the slope of a
// least-squares line over the last minutes, times the fraction of such
// extrapolations the recent past bore out, see TrendFit) and where the last
// season's shape leads from today's level (seasonal naive, multiplicative),
// the season being used only when DetectPeriod finds it significant. Accuracy
// is an asymmetric error: an under-prediction weighs UnderWeight times an
// over-prediction of the same size, because under-prediction is what
// leaves a workload short of pods.
//
// It is pure: it imports only the standard library and never reads the
// clock; every method takes the time as a value.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Options are the settings of a Model.
type Options struct {
	// Step is the width of the buckets of the long (seasonal) history,
	// Retention how much of it is kept.
	Step, Retention time.Duration
	// TrendWindow is how far back the slope is fitted.
	TrendWindow time.Duration
	// RecentWindow is how long raw samples are kept: at least TrendWindow
	// and the longest horizon to be scored.
	RecentWindow time.Duration
	// Season are the settings of the period test; Redetect is how often it
	// runs (the season of a workload does not change by the minute).
	Season   SeasonOptions
	Redetect time.Duration
	// ErrorHalfLife is the half-life of the accuracy score: errors that
	// old count half.
	ErrorHalfLife time.Duration
	// UnderWeight is how much more an under-prediction weighs than an
	// over-prediction of the same size (>= 1).
	UnderWeight float64
}

// DefaultOptions: 5-minute buckets kept two weeks, a 5-minute trend window,
// 30 minutes of raw samples, daily and weekly candidate seasons re-tested
// every 6 hours, an error half-life of 6 hours, under-prediction weighing 3
// times over-prediction.
func DefaultOptions() Options {
	return Options{
		Step: 5 * time.Minute, Retention: 14 * 24 * time.Hour,
		TrendWindow: 5 * time.Minute, RecentWindow: 30 * time.Minute,
		Season: DefaultSeasonOptions(), Redetect: 6 * time.Hour,
		ErrorHalfLife: 6 * time.Hour, UnderWeight: 3,
	}
}

// Validate reports every option a Model cannot work with.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if o.Step < time.Second {
		bad("step %v must be at least 1s", o.Step)
	}
	if o.Retention < o.Step {
		bad("retention %v must be at least one step (%v)", o.Retention, o.Step)
	}
	if o.TrendWindow <= 0 || o.RecentWindow < o.TrendWindow {
		bad("trend window %v must be positive and at most the recent window %v", o.TrendWindow, o.RecentWindow)
	}
	if o.Redetect <= 0 {
		bad("redetect %v must be positive", o.Redetect)
	}
	if o.ErrorHalfLife <= 0 {
		bad("error half-life %v must be positive", o.ErrorHalfLife)
	}
	if !(o.UnderWeight >= 1) || math.IsInf(o.UnderWeight, 0) {
		bad("under-prediction weight %v must be a number >= 1", o.UnderWeight)
	}
	for _, p := range o.Season.Candidates {
		if p <= 0 || o.Step > 0 && p%o.Step != 0 {
			bad("season candidate %v must be a positive multiple of the step %v", p, o.Step)
		}
	}
	if o.Season.Shuffles < 1 {
		bad("season shuffles %d must be >= 1", o.Season.Shuffles)
	}
	return errors.Join(errs...)
}

// Sample is one observation of demand: its average over a window ending at
// At (a scrape), in the metric's unit.
type Sample struct {
	At    time.Time
	Value float64
}

// Forecast is one prediction and what it was made from.
type Forecast struct {
	// OK is false when there was no sample to predict from.
	OK bool
	// Demand is the highest demand predicted in (Now, Now+Horizon].
	Demand       float64
	Now          time.Time
	Horizon      time.Duration
	Level, Slope float64 // last value; slope per second over the trend window
	// TrendFraction is the share of the slope's extrapolation the forecast
	// used (TrendFit.Fraction).
	TrendFraction float64
	// Seasonal is the seasonal part's highest prediction (0 without a
	// season), Period the season used (0 for none).
	Seasonal float64
	Period   time.Duration
	// History is how long the model has been fed (since its first sample).
	History time.Duration
	// Error is the recent asymmetric error of this model's predictions
	// (see Accuracy); Scored how many predictions it rests on.
	Error  float64
	Scored int
}

// bucket accumulates the samples of one Step.
type bucket struct {
	sum float64
	n   uint32
}

// pending is a prediction waiting for the samples of its window: its
// value, and the level and full trend increment it was made from (for
// TrendFit).
type pending struct {
	made, until  time.Time
	value        float64
	level, trend float64
}

// Model is the demand history and forecaster of one signal of one target.
// It is not safe for concurrent use.
type Model struct {
	o       Options
	start   time.Time // start of buckets[0]
	buckets []bucket
	first   time.Time
	last    time.Time // newest sample
	recent  []Sample
	// season
	period     time.Duration
	detectedAt time.Time
	evidence   []Evidence
	// accuracy
	pending []pending
	acc     Accuracy
	fit     TrendFit
}

// New returns an empty model; o must pass Validate.
func New(o Options) (*Model, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("forecast options: %w", err)
	}
	return &Model{o: o}, nil
}

// Observe adds a sample. A sample not newer than the last one is ignored
// (metric sources repeat their last scrape) and reports false; a negative,
// infinite or NaN value is an error and changes nothing.
func (m *Model) Observe(s Sample) (bool, error) {
	if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || s.Value < 0 {
		return false, fmt.Errorf("demand sample at %v: value %v must be a finite number >= 0", s.At, s.Value)
	}
	if !m.last.IsZero() && !s.At.After(m.last) {
		return false, nil
	}
	if m.first.IsZero() {
		m.first, m.start = s.At, s.At.Truncate(m.o.Step)
	}
	m.addToBucket(s)
	m.last = s.At
	m.recent = append(m.recent, s)
	m.score(s.At)
	m.trimRecent(s.At)
	return true, nil
}

func (m *Model) addToBucket(s Sample) {
	i := int(s.At.Sub(m.start) / m.o.Step)
	if i < 0 {
		return // older than the history (callers skip such samples)
	}
	for len(m.buckets) <= i {
		m.buckets = append(m.buckets, bucket{})
	}
	m.buckets[i].sum += s.Value
	m.buckets[i].n++
	// Drop whole buckets older than the retention, in chunks so that the
	// copy is amortized.
	keep := int(m.o.Retention / m.o.Step)
	if extra := len(m.buckets) - keep; extra > keep/8 {
		m.buckets = append(m.buckets[:0], m.buckets[extra:]...)
		m.start = m.start.Add(time.Duration(extra) * m.o.Step)
		if m.first.Before(m.start) {
			m.first = m.start
		}
	}
}

func (m *Model) trimRecent(now time.Time) {
	cut := now.Add(-m.o.RecentWindow)
	i := 0
	for i < len(m.recent)-1 && m.recent[i].At.Before(cut) {
		i++
	}
	if i > 0 {
		m.recent = append(m.recent[:0], m.recent[i:]...)
	}
}

// History is how long the model has been fed.
func (m *Model) History(now time.Time) time.Duration {
	if m.first.IsZero() || now.Before(m.first) {
		return 0
	}
	return now.Sub(m.first)
}

// Period is the season currently used (0 for none) and the evidence of its
// last test.
func (m *Model) Period() (time.Duration, []Evidence) { return m.period, m.evidence }

// Forecast predicts the highest demand in (now, now+horizon] and keeps the
// prediction to score it when the samples of that window have arrived.
func (m *Model) Forecast(now time.Time, horizon time.Duration) Forecast {
	f := Forecast{Now: now, Horizon: horizon, History: m.History(now), Error: m.acc.Error(), Scored: m.acc.Scored}
	n := len(m.recent)
	if n == 0 || horizon <= 0 {
		return f
	}
	m.redetect(now)
	last := m.recent[n-1]
	f.OK, f.Level, f.Slope, f.Period = true, last.Value, m.slope(last.At), m.period
	f.TrendFraction = m.fit.Fraction()

	// trend is the full extrapolation's increment at the point where the
	// trend is highest (the last point for a rising slope, the first for a
	// falling one), which is also where the damped trend is highest.
	const points = 8
	trend := math.Inf(-1)
	for k := 1; k <= points; k++ {
		at := now.Add(horizon * time.Duration(k) / points)
		inc := f.Slope * at.Sub(last.At).Seconds()
		trend = max(trend, inc)
		v := max(0, f.Level+f.TrendFraction*inc)
		if s, ok := m.seasonal(last, at); ok {
			f.Seasonal = max(f.Seasonal, s)
			v = max(v, s)
		}
		f.Demand = max(f.Demand, v)
	}
	m.keep(pending{made: now, until: now.Add(horizon), value: f.Demand, level: f.Level, trend: trend})
	return f
}

// slope is the least-squares slope (per second) of the samples within the
// trend window before t; 0 with fewer than three.
func (m *Model) slope(t time.Time) float64 {
	cut := t.Add(-m.o.TrendWindow)
	var n, sx, sy, sxx, sxy float64
	for i := len(m.recent) - 1; i >= 0 && !m.recent[i].At.Before(cut); i-- {
		x := m.recent[i].At.Sub(t).Seconds()
		y := m.recent[i].Value
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	d := n*sxx - sx*sx
	if n < 3 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// maxSeasonRatio bounds the seasonal growth factor, so that a near-empty
// bucket a season ago cannot multiply today's level without limit.
const maxSeasonRatio = 4

// seasonal is the seasonal-naive prediction for at: today's level times the
// growth the last season showed from the time of the level to at.
func (m *Model) seasonal(last Sample, at time.Time) (float64, bool) {
	if m.period == 0 {
		return 0, false
	}
	from, ok1 := m.profile(last.At.Add(-m.period))
	to, ok2 := m.profile(at.Add(-m.period))
	if !ok1 || !ok2 || from <= 0 {
		return 0, false
	}
	return last.Value * min(to/from, maxSeasonRatio), true
}

// profile is the bucket means at t, interpolated linearly between bucket
// centers (so that a season's shape changes smoothly within a step, and a
// step is seen as a ramp over one bucket); false when t is outside the
// history or next to an empty bucket.
func (m *Model) profile(t time.Time) (float64, bool) {
	x := t.Sub(m.start).Seconds()/m.o.Step.Seconds() - 0.5
	i := int(math.Floor(x))
	if i < 0 || i+1 >= len(m.buckets) {
		return 0, false
	}
	a, b := m.buckets[i], m.buckets[i+1]
	if a.n == 0 || b.n == 0 {
		return 0, false
	}
	w := x - float64(i)
	return (1-w)*a.sum/float64(a.n) + w*b.sum/float64(b.n), true
}

// redetect runs the period test when it is due.
func (m *Model) redetect(now time.Time) {
	if !m.detectedAt.IsZero() && now.Sub(m.detectedAt) < m.o.Redetect {
		return
	}
	m.detectedAt = now
	series, ok := m.series()
	if !ok {
		m.period, m.evidence = 0, nil
		return
	}
	m.period, m.evidence = DetectPeriod(series, m.o.Step, m.o.Season)
}

// series returns the bucket means, gaps filled linearly; false when too
// much is missing (more than a tenth) or nothing is there.
func (m *Model) series() ([]float64, bool) {
	// The last bucket is still filling: leave it out.
	bs := m.buckets
	if len(bs) > 0 {
		bs = bs[:len(bs)-1]
	}
	for len(bs) > 0 && bs[0].n == 0 {
		bs = bs[1:]
	}
	if len(bs) == 0 {
		return nil, false
	}
	out := make([]float64, len(bs))
	missing, lastFilled := 0, -1
	for i, b := range bs {
		if b.n == 0 {
			missing++
			continue
		}
		out[i] = b.sum / float64(b.n)
		if lastFilled >= 0 && i-lastFilled > 1 {
			a := out[lastFilled]
			for j := lastFilled + 1; j < i; j++ {
				out[j] = a + (out[i]-a)*float64(j-lastFilled)/float64(i-lastFilled)
			}
		}
		lastFilled = i
	}
	for j := lastFilled + 1; j < len(out); j++ {
		out[j] = out[lastFilled]
	}
	return out, missing*10 <= len(bs)
}
