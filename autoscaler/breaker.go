package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-autoscaler/ebb/metricsource"
)

// BreakerOptions configure the per-source circuit breakers.
type BreakerOptions struct {
	// Failures in a row that open a source's breaker.
	Failures int
	// Cooldown is how long an open breaker fails calls at once before it
	// lets one probe call through.
	Cooldown time.Duration
}

// DefaultBreakerOptions opens after 3 failures in a row for 30s.
func DefaultBreakerOptions() BreakerOptions {
	return BreakerOptions{Failures: 3, Cooldown: 30 * time.Second}
}

// Validate names every invalid field.
func (o BreakerOptions) Validate() error {
	var errs []error
	if o.Failures < 1 {
		errs = append(errs, fmt.Errorf("options Breaker.Failures %d: must be at least 1", o.Failures))
	}
	if o.Cooldown <= 0 {
		errs = append(errs, fmt.Errorf("options Breaker.Cooldown %v: must be positive", o.Cooldown))
	}
	return errors.Join(errs...)
}

// errBreakerOpen is the error of a call to a source whose breaker is open.
var errBreakerOpen = errors.New("circuit breaker open after repeated failures; not called")

// breaker is the circuit breaker of one metric source (metrics-server,
// Prometheus): after Failures failed calls in a row it opens, and calls
// fail at once (missing metrics: hold) until Cooldown has passed; then one
// probe call goes through, and its success closes the breaker. So one
// hanging source costs its timeout a few times, not once per target and
// pass, and delays only the targets that use it. An answer that carries no
// data (ErrNoData, ErrBadData) is an answer, not a failure; a call
// cancelled by its caller (shutdown) counts as nothing.
type breaker struct {
	source string
	o      BreakerOptions
	open   prometheus.Gauge // ebb_source_breaker_open{source}

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

func newBreaker(source string, o BreakerOptions, open prometheus.Gauge) *breaker {
	return &breaker{source: source, o: o, open: open}
}

// do runs call unless the breaker is open.
func (b *breaker) do(ctx context.Context, call func(context.Context) error) error {
	if !b.allow(time.Now()) {
		return fmt.Errorf("%s: %w", b.source, errBreakerOpen)
	}
	err := call(ctx)
	b.done(ctx, err)
	return err
}

// allow reports whether a call may go through now; in the half-open state
// only one probe at a time does.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.o.Failures {
		return true
	}
	if now.Before(b.openUntil) || b.probing {
		return false
	}
	b.probing = true
	return true
}

func (b *breaker) done(ctx context.Context, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	switch {
	case err == nil, errors.Is(err, metricsource.ErrNoData), errors.Is(err, metricsource.ErrBadData):
		b.failures = 0
		b.open.Set(0)
	case errors.Is(ctx.Err(), context.Canceled):
		// the caller gave up (shutdown): says nothing about the source
	default:
		b.failures++
		if b.failures >= b.o.Failures {
			b.openUntil = time.Now().Add(b.o.Cooldown)
			b.open.Set(1)
		}
	}
}
