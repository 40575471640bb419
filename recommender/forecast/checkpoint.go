package forecast

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// checkpointVersion is the encoding of Checkpoint.
const checkpointVersion = 1

// Checkpoint is the compact, serializable state of a Model: the means of
// its long-history buckets (float32, empty buckets NaN, base64 of the
// little-endian bytes: 5-minute buckets for 14 days are 21.5 KiB), its
// accuracy score and its trend fit (absent in checkpoints written before
// it existed: such a model starts its fit afresh). The raw recent samples and pending predictions are not
// kept: after a restore the trend resumes with the first samples, the
// season and the gate at once.
type Checkpoint struct {
	Version  int       `json:"v"`
	Start    time.Time `json:"start"`    // start of the first bucket
	StepSecs int64     `json:"stepSecs"` // bucket width
	First    time.Time `json:"first"`    // first sample
	Last     time.Time `json:"last"`     // newest sample
	Means    string    `json:"means"`
	Accuracy Accuracy  `json:"accuracy"`
	Trend    TrendFit  `json:"trend"`
}

// Checkpoint returns the model's state; the zero Checkpoint (Version 0)
// for a model that has seen nothing.
func (m *Model) Checkpoint() Checkpoint {
	if m.first.IsZero() {
		return Checkpoint{}
	}
	buf := make([]byte, 4*len(m.buckets))
	for i, b := range m.buckets {
		v := float32(math.NaN())
		if b.n > 0 {
			v = float32(b.sum / float64(b.n))
		}
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return Checkpoint{
		Version: checkpointVersion, Start: m.start, StepSecs: int64(m.o.Step / time.Second), First: m.first, Last: m.last,
		Means: base64.StdEncoding.EncodeToString(buf), Accuracy: m.acc, Trend: m.fit,
	}
}

// Restore returns a model with o's options and c's state. A zero
// Checkpoint gives an empty model. A checkpoint written with another step,
// or a damaged one, is an error naming the problem; the caller then starts
// from an empty model (or its other history source) instead.
func Restore(o Options, c Checkpoint) (*Model, error) {
	m, err := New(o)
	if err != nil {
		return nil, err
	}
	if c.Version == 0 {
		return m, nil
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("forecast checkpoint: version %d, want %d", c.Version, checkpointVersion)
	}
	if time.Duration(c.StepSecs)*time.Second != o.Step {
		return nil, fmt.Errorf("forecast checkpoint: step %ds, the model's is %v", c.StepSecs, o.Step)
	}
	buf, err := base64.StdEncoding.DecodeString(c.Means)
	if err != nil {
		return nil, fmt.Errorf("forecast checkpoint: means: %w", err)
	}
	if len(buf)%4 != 0 || len(buf)/4 > int(o.Retention/o.Step)+int(o.Retention/o.Step)/8+1 {
		return nil, fmt.Errorf("forecast checkpoint: %d bytes of means is not a whole number of buckets within the retention", len(buf))
	}
	if c.Start.IsZero() || c.First.Before(c.Start) || c.Last.Before(c.First) {
		return nil, errors.New("forecast checkpoint: the first sample is before the first bucket, or after the last sample")
	}
	if a := c.Accuracy; !(a.Num >= 0) || !(a.Den >= 0) || math.IsInf(a.Num, 0) || math.IsInf(a.Den, 0) || a.Scored < 0 {
		return nil, fmt.Errorf("forecast checkpoint: accuracy %+v must be finite and >= 0", a)
	}
	if f := c.Trend; !(f.GG >= 0) || math.IsInf(f.GG, 0) || math.IsNaN(f.EG) || math.IsInf(f.EG, 0) {
		return nil, fmt.Errorf("forecast checkpoint: trend fit %+v must be finite, its g*g sum >= 0", f)
	}
	m.buckets = make([]bucket, len(buf)/4)
	for i := range m.buckets {
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:])))
		switch {
		case math.IsNaN(v):
		case math.IsInf(v, 0) || v < 0:
			return nil, fmt.Errorf("forecast checkpoint: bucket %d holds %v", i, v)
		default:
			m.buckets[i] = bucket{sum: v, n: 1}
		}
	}
	m.start, m.first, m.last, m.acc, m.fit = c.Start, c.First, c.Last, c.Accuracy, c.Trend
	return m, nil
}

// ObserveHistory adds past samples (a Prometheus range query, oldest
// first) to the long history only: no trend, no scoring. Samples older than
// the model's first sample are added before it (a bootstrap that succeeds
// after live samples arrived still counts), samples newer than its last
// after it, and samples in between are skipped: the model has that time
// already, so a history read twice or over a restored checkpoint does not
// count twice. Invalid values, and samples beyond the retention before
// the newest, are skipped. It returns how many samples were added and
// how many were invalid.
func (m *Model) ObserveHistory(samples []Sample) (added, invalid int) {
	first, last := m.first, m.last
	oldest := time.Time{}
	if !last.IsZero() {
		oldest = last.Add(-m.o.Retention)
	}
	for _, s := range samples {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) || s.Value < 0 {
			invalid++
			continue
		}
		switch {
		case first.IsZero():
			m.first, m.start, m.last = s.At, s.At.Truncate(m.o.Step), s.At
			first, last = s.At, s.At
		case s.At.Before(first):
			if !oldest.IsZero() && s.At.Before(oldest) {
				continue
			}
			m.prepend(s.At)
			if s.At.Before(m.first) {
				m.first = s.At
			}
		case s.At.After(last):
			m.last, last = s.At, s.At
		default:
			continue
		}
		m.addToBucket(s)
		added++
	}
	if added > 0 {
		m.detectedAt = time.Time{} // the season is tested again at the next forecast
	}
	return added, invalid
}

// prepend grows the buckets at the front so that t has one.
func (m *Model) prepend(t time.Time) {
	start := t.Truncate(m.o.Step)
	if !start.Before(m.start) {
		return
	}
	n := int(m.start.Sub(start) / m.o.Step)
	m.buckets = append(make([]bucket, n, n+len(m.buckets)), m.buckets...)
	m.start = start
}
