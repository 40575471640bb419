package vertical

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
)

// RangeQuerier runs a PromQL range query; *metricsource.Prometheus
// satisfies it (it chunks long ranges).
type RangeQuerier interface {
	RangeQuery(ctx context.Context, promQL string, start, end time.Time, step time.Duration) ([]metricsource.Series, error)
}

// BootstrapOptions bound the Prometheus history read at start.
type BootstrapOptions struct {
	// Window is how far back to read (8 days: the memory window).
	Window time.Duration
	// Step is the resolution, and the CPU rate window (5m).
	Step time.Duration
	// Backoff is the wait after a failed bootstrap (1m), doubled after
	// each further failure up to MaxBackoff (1h).
	Backoff, MaxBackoff time.Duration
}

// DefaultBootstrapOptions reads 8 days at a 5-minute step and retries a
// failure after 1m, 2m, 4m, ... at most 1h.
func DefaultBootstrapOptions() BootstrapOptions {
	return BootstrapOptions{Window: 8 * 24 * time.Hour, Step: 5 * time.Minute, Backoff: time.Minute, MaxBackoff: time.Hour}
}

// Validate names every invalid field.
func (o BootstrapOptions) Validate() error {
	var errs []error
	if o.Window <= 0 {
		errs = append(errs, fmt.Errorf("bootstrap window %s: must be positive", o.Window))
	}
	if o.Step <= 0 || o.Step > o.Window {
		errs = append(errs, fmt.Errorf("bootstrap step %s: must be positive and at most the window", o.Step))
	}
	if o.Backoff <= 0 || o.MaxBackoff < o.Backoff {
		errs = append(errs, fmt.Errorf("bootstrap backoff %s, max backoff %s: want 0 < backoff <= max backoff", o.Backoff, o.MaxBackoff))
	}
	return errors.Join(errs...)
}

// backoff is the wait after the n-th consecutive failure (n >= 1).
func (o BootstrapOptions) backoff(n int) time.Duration {
	d := o.Backoff
	for i := 1; i < n && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.MaxBackoff)
}

// bootState is where a target's bootstrap stands.
type bootState struct {
	done     bool      // history read (or there was none)
	failures int       // consecutive failed attempts
	retryAt  time.Time // no attempt before it
}

// HistoryPodRegex is a pod-name regex covering the pods a workload had in
// the past, not only the current ones: for a Deployment
// "<name>-<pod-template-hash>-<suffix>", for a StatefulSet "<name>-<ordinal>";
// other kinds get exactly the current pods (metricsource.QueryVars.PodRegex).
func HistoryPodRegex(kind, name string, pods []string) (string, error) {
	switch kind {
	case "Deployment":
		return regexp.QuoteMeta(name) + `-[a-z0-9]{1,10}-[a-z0-9]{5}`, nil
	case "StatefulSet":
		return regexp.QuoteMeta(name) + `-[0-9]+`, nil
	}
	return metricsource.QueryVars{Pods: pods}.PodRegex()
}

// Bootstrap seeds target's histograms from Prometheus history (CPU usage
// rate and working-set memory per pod and container over the Window before
// now), once, and never over a restored checkpoint (history already in
// the state would be counted twice). When the target has live samples
// already (an earlier attempt failed), the history ends where they begin.
// A query failure adds nothing and is retried with backoff (the caller
// keeps calling once per pass; attempts before the retry time do
// nothing). ErrNoData from both queries is returned wrapped and ends the
// bootstrap: there is no history to read.
func (m *Manager) Bootstrap(ctx context.Context, q RangeQuerier, o BootstrapOptions, now time.Time, target, podRegex string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	s := m.state(target)
	if s.boot.done || s.fromCheckpoint || now.Before(s.boot.retryAt) {
		m.mu.Unlock()
		return nil
	}
	end, live := now, s.liveSince
	if !live.IsZero() {
		end = live
	}
	m.mu.Unlock()
	start := end.Add(-o.Window)
	cpu, cpuErr := q.RangeQuery(ctx, metricsource.CPUUsageQuery(m.namespace, podRegex, o.Step), start, end, o.Step)
	mem, memErr := q.RangeQuery(ctx, metricsource.MemoryWorkingSetQuery(m.namespace, podRegex), start, end, o.Step)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.targets[target] != s {
		return nil // reset meanwhile (a new lease): the next pass starts over
	}
	if failed(cpuErr) || failed(memErr) {
		s.boot.failures++
		wait := o.backoff(s.boot.failures)
		s.boot.retryAt = now.Add(wait)
		return fmt.Errorf("bootstrap %s/%s (attempt %d, next in %s): %w", m.namespace, target, s.boot.failures, wait,
			errors.Join(wrapNonNil("CPU history", cpuErr), wrapNonNil("memory history", memErr)))
	}
	s.boot.done = true
	errs := []error{wrapNonNil("CPU history", cpuErr), wrapNonNil("memory history", memErr)}
	pod := func(p string) string { return p }
	if !live.IsZero() {
		// Separate trackers: the live ones drop samples older than theirs.
		pod = func(p string) string { return "history/" + p }
	}
	n := 0
	for _, ser := range cpu {
		k, err := feed(ser, live, func(p, c string, t time.Time, v float64) (bool, error) {
			return s.w.AddCPU(pod(p), c, t, int64(math.Round(v*1000)))
		})
		n += k
		errs = append(errs, err)
	}
	for _, ser := range mem {
		k, err := feed(ser, live, func(p, c string, t time.Time, v float64) (bool, error) {
			return s.w.AddMemory(pod(p), c, t, int64(math.Round(v)))
		})
		n += k
		errs = append(errs, err)
	}
	if n > 0 {
		s.dirty = true
	}
	m.log.Info("vertical bootstrap from Prometheus", "namespace", m.namespace, "target", target, "samples", n)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bootstrap %s/%s: %w", m.namespace, target, err)
	}
	return nil
}

// failed reports whether a bootstrap query failed in a way worth retrying:
// no data is an answer, not a failure.
func failed(err error) bool { return err != nil && !errors.Is(err, metricsource.ErrNoData) }

func wrapNonNil(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// feed adds one series' samples before until (all when zero); the first
// bad sample ends the series.
func feed(s metricsource.Series, until time.Time, add func(pod, container string, t time.Time, v float64) (bool, error)) (int, error) {
	pod, c := s.Labels["pod"], s.Labels["container"]
	if pod == "" || c == "" {
		return 0, fmt.Errorf("series %v without pod or container label: %w", s.Labels, metricsource.ErrBadData)
	}
	n := 0
	for _, p := range s.Samples {
		if !until.IsZero() && !p.Time.Before(until) {
			break
		}
		added, err := add(pod, c, p.Time, p.Value)
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	return n, nil
}
