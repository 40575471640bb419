package metricsource

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// countingQuerier answers every query with one sample per pod and counts
// calls per query.
type countingQuerier struct {
	mu    sync.Mutex
	calls map[string]int
	total atomic.Int64
}

func (c *countingQuerier) Query(_ context.Context, q string, ts time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	c.total.Add(1)
	c.mu.Lock()
	c.calls[q]++
	c.mu.Unlock()
	if strings.Contains(q, "empty") {
		return model.Vector{}, nil, nil, nil
	}
	return model.Vector{{Metric: model.Metric{"pod": "web-1"}, Value: 3, Timestamp: model.TimeFromUnixNano(ts.UnixNano())}}, nil, nil, nil
}

func TestBatchRunsIdenticalQueriesOnce(t *testing.T) {
	q := &countingQuerier{calls: map[string]int{}}
	b := NewPrometheus(q).NewBatch()
	at := time.Unix(1700000000, 0)
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			got, err := b.PodValues(ctx, "a", at)
			if err != nil {
				t.Error(err)
				return
			}
			got["mutated"] = 1 // each caller has its own copy
		})
	}
	wg.Wait()
	got, err := b.PodValues(ctx, "a", at)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(PodValues{"web-1": 3}, got); d != "" {
		t.Errorf("PodValues() (-want +got):\n%s", d)
	}
	if _, err := b.Scalar(ctx, "a", at); err != nil { // other shape: its own entry
		t.Fatal(err)
	}
	_, _ = b.PodValues(ctx, "a", at.Add(time.Second)) // other time
	_, _ = b.PodValues(ctx, "b", at)
	for range 3 {
		_, err := b.Scalar(WithTarget(ctx, "prod/Deployment/web"), "empty", at)
		checkErr(t, err, true, ErrNoData, []string{"target prod/Deployment/web", `"empty"`})
	}
	if d := cmp.Diff(map[string]int{"a": 3, "b": 1, "empty": 1}, q.calls); d != "" {
		t.Errorf("queries sent (-want +got):\n%s", d)
	}
}

// blockingQuerier blocks until release is closed.
type blockingQuerier struct{ release chan struct{} }

func (b *blockingQuerier) Query(ctx context.Context, _ string, _ time.Time, _ ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	select {
	case <-b.release:
		return &model.Scalar{Value: 1}, nil, nil, nil
	case <-ctx.Done():
		return nil, nil, nil, ctx.Err()
	}
}

func TestBatchWaiterHonoursItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bq := &blockingQuerier{release: make(chan struct{})}
		b := NewPrometheus(bq).NewBatch()
		at := time.Unix(1700000000, 0)
		first := make(chan error, 1)
		go func() {
			_, err := b.Scalar(context.Background(), "q", at)
			first <- err
		}()
		synctest.Wait() // the first caller owns the entry and blocks in Query
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := b.Scalar(ctx, "q", at); !errors.Is(err, context.Canceled) {
			t.Errorf("waiter error = %v, want context.Canceled", err)
		}
		close(bq.release)
		if err := <-first; err != nil {
			t.Errorf("first caller error = %v", err)
		}
	})
}
