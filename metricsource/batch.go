package metricsource

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Batch runs each distinct (query, time, shape) once: create one per cycle
// (Prometheus.NewBatch) and let every target of the cycle query through it,
// so identical rendered queries hit Prometheus once. It is safe for
// concurrent use; concurrent callers of the same query wait for one result.
// It has the same methods as Prometheus, so it satisfies the same consumer
// interfaces. Errors are cached too: a failed query is not retried in the
// same cycle.
type Batch struct {
	p       *Prometheus
	mu      sync.Mutex
	entries map[batchKey]*batchEntry
}

type batchKey struct {
	query  string
	atNano int64
	scalar bool
}

type batchEntry struct {
	done   chan struct{}
	pods   PodValues
	scalar float64
	err    error
}

// NewBatch returns an empty per-cycle batch over p.
func (p *Prometheus) NewBatch() *Batch {
	return &Batch{p: p, entries: make(map[batchKey]*batchEntry)}
}

// PodValues is Prometheus.PodValues, run once per batch for each query and
// time. The returned map is the caller's own copy.
func (b *Batch) PodValues(ctx context.Context, promQL string, at time.Time) (PodValues, error) {
	e, err := b.do(ctx, batchKey{query: promQL, atNano: at.UnixNano()}, func(ctx context.Context, e *batchEntry) {
		e.pods, e.err = b.p.podValues(ctx, promQL, at)
	})
	if err == nil {
		err = e.err
	}
	if err != nil {
		return nil, wrapQueryError(ctx, promQL, err)
	}
	return maps.Clone(e.pods), nil
}

// Scalar is Prometheus.Scalar, run once per batch for each query and time.
func (b *Batch) Scalar(ctx context.Context, promQL string, at time.Time) (float64, error) {
	e, err := b.do(ctx, batchKey{query: promQL, atNano: at.UnixNano(), scalar: true}, func(ctx context.Context, e *batchEntry) {
		e.scalar, e.err = b.p.scalar(ctx, promQL, at)
	})
	if err == nil {
		err = e.err
	}
	if err != nil {
		return 0, wrapQueryError(ctx, promQL, err)
	}
	return e.scalar, nil
}

// do returns the entry for k, running fill if this caller is the first. A
// caller whose ctx ends while waiting for another gets ctx.Err().
func (b *Batch) do(ctx context.Context, k batchKey, fill func(context.Context, *batchEntry)) (*batchEntry, error) {
	b.mu.Lock()
	e, ok := b.entries[k]
	if !ok {
		e = &batchEntry{done: make(chan struct{})}
		b.entries[k] = e
	}
	b.mu.Unlock()
	if !ok {
		fill(ctx, e)
		close(e.done)
		return e, nil
	}
	select {
	case <-e.done:
		return e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
