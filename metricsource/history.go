package metricsource

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Sample is one point of a range query.
type Sample struct {
	Time  time.Time
	Value float64
}

// Series is one series of a range query: its labels and samples in time
// order. NaN points are dropped (missing, not zero); series left without
// samples are dropped too.
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// RangeQuery evaluates promQL over [start, end] every step, splitting the
// range into chunks of at most the configured points per query (default
// 11,000, Prometheus' own limit) and refusing ranges longer than the
// configured maximum. Series are merged across chunks by their labels, in
// the order they first appear. ±Inf and negative values are ErrBadData; no
// series at all is ErrNoData.
func (p *Prometheus) RangeQuery(ctx context.Context, promQL string, start, end time.Time, step time.Duration) ([]Series, error) {
	series, err := p.rangeQuery(ctx, promQL, start, end, step)
	return series, wrapQueryError(ctx, promQL, err)
}

func (p *Prometheus) rangeQuery(ctx context.Context, promQL string, start, end time.Time, step time.Duration) ([]Series, error) {
	if p.rq == nil {
		return nil, errors.New("this Querier cannot run range queries (it does not implement QueryRange)")
	}
	chunks, err := SplitRange(start, end, step, p.set.maxPoints, p.set.maxRange)
	if err != nil {
		return nil, err
	}
	m := newSeriesMerger()
	for _, r := range chunks {
		v, err := p.rangeChunk(ctx, promQL, r)
		if err != nil {
			return nil, fmt.Errorf("range %s..%s: %w", r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339), err)
		}
		if err := m.add(v); err != nil {
			return nil, err
		}
	}
	series := slices.DeleteFunc(m.series, func(s Series) bool { return len(s.Samples) == 0 })
	if len(series) == 0 {
		return nil, fmt.Errorf("no series with samples: %w", ErrNoData)
	}
	return series, nil
}

func (p *Prometheus) rangeChunk(ctx context.Context, promQL string, r promv1.Range) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, p.set.timeout)
	defer cancel()
	began := time.Now()
	v, warnings, infos, err := p.rq.QueryRange(ctx, promQL, r, promv1.WithTimeout(p.set.timeout))
	p.logAnnotations(ctx, promQL, warnings, infos)
	if err != nil {
		err = classifyPromError(err)
	}
	p.set.metrics.observe(SourcePrometheus, time.Since(began), err)
	return v, err
}

// SplitRange cuts [start, end] into consecutive ranges of at most maxPoints
// points each at step (the first point of a chunk follows the last of the
// previous one by one step). It is pure. It refuses step <= 0, end before
// start, maxPoints < 2, and ranges longer than maxRange.
func SplitRange(start, end time.Time, step time.Duration, maxPoints int, maxRange time.Duration) ([]promv1.Range, error) {
	switch {
	case step <= 0:
		return nil, fmt.Errorf("step %s: must be positive", step)
	case end.Before(start):
		return nil, fmt.Errorf("range end %s is before start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	case maxPoints < 2:
		return nil, fmt.Errorf("max points per query %d: must be at least 2", maxPoints)
	case end.Sub(start) > maxRange:
		return nil, fmt.Errorf("range %s is longer than the maximum %s", end.Sub(start), maxRange)
	}
	span := time.Duration(maxPoints-1) * step
	if span/step != time.Duration(maxPoints-1) { // overflow: one chunk covers any allowed range
		span = maxRange
	}
	var out []promv1.Range
	for s := start; !s.After(end); s = s.Add(span + step) {
		e := s.Add(span)
		if e.After(end) {
			e = end
		}
		out = append(out, promv1.Range{Start: s, End: e, Step: step})
	}
	return out, nil
}

// seriesMerger joins the matrices of consecutive chunks by series labels.
type seriesMerger struct {
	index  map[model.Fingerprint]int
	series []Series
}

func newSeriesMerger() *seriesMerger {
	return &seriesMerger{index: make(map[model.Fingerprint]int)}
}

func (m *seriesMerger) add(v model.Value) error {
	mat, ok := v.(model.Matrix)
	if !ok {
		return fmt.Errorf("want a matrix, got %s: %w", valueType(v), ErrBadData)
	}
	for _, ss := range mat {
		if ss == nil {
			continue
		}
		fp := ss.Metric.Fingerprint()
		i, ok := m.index[fp]
		if !ok {
			i = len(m.series)
			m.index[fp] = i
			m.series = append(m.series, Series{Labels: labelMap(ss.Metric)})
		}
		for _, pt := range ss.Values {
			f := float64(pt.Value)
			if math.IsNaN(f) {
				continue
			}
			if err := checkValue(ss.Metric, f); err != nil {
				return fmt.Errorf("at %s: %w", pt.Timestamp.Time().UTC().Format(time.RFC3339), err)
			}
			m.series[i].Samples = append(m.series[i].Samples, Sample{Time: pt.Timestamp.Time(), Value: f})
		}
	}
	return nil
}

func labelMap(m model.Metric) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}
