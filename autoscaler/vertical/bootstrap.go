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
}

// DefaultBootstrapOptions reads 8 days at a 5-minute step.
func DefaultBootstrapOptions() BootstrapOptions {
	return BootstrapOptions{Window: 8 * 24 * time.Hour, Step: 5 * time.Minute}
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
	return errors.Join(errs...)
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
// rate and working-set memory per pod and container over [now-Window, now]),
// once, and only when the target holds no samples (nothing restored from a
// checkpoint): history already in the state would be counted twice. The
// queries fail independently; ErrNoData from both is returned wrapped.
func (m *Manager) Bootstrap(ctx context.Context, q RangeQuerier, o BootstrapOptions, now time.Time, target, podRegex string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	s := m.state(target)
	skip := s.booted || s.w.Size() > 0
	s.booted = true
	m.mu.Unlock()
	if skip {
		return nil
	}
	start := now.Add(-o.Window)
	cpu, cpuErr := q.RangeQuery(ctx, metricsource.CPUUsageQuery(m.namespace, podRegex, o.Step), start, now, o.Step)
	mem, memErr := q.RangeQuery(ctx, metricsource.MemoryWorkingSetQuery(m.namespace, podRegex), start, now, o.Step)
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	if cpuErr != nil {
		errs = append(errs, fmt.Errorf("CPU history: %w", cpuErr))
	}
	if memErr != nil {
		errs = append(errs, fmt.Errorf("memory history: %w", memErr))
	}
	n := 0
	for _, ser := range cpu {
		k, err := feed(ser, func(pod, c string, t time.Time, v float64) (bool, error) {
			return s.w.AddCPU(pod, c, t, int64(math.Round(v*1000)))
		})
		n += k
		errs = append(errs, err)
	}
	for _, ser := range mem {
		k, err := feed(ser, func(pod, c string, t time.Time, v float64) (bool, error) {
			return s.w.AddMemory(pod, c, t, int64(math.Round(v)))
		})
		n += k
		errs = append(errs, err)
	}
	m.log.Info("vertical bootstrap from Prometheus", "namespace", m.namespace, "target", target, "samples", n)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bootstrap %s/%s: %w", m.namespace, target, err)
	}
	return nil
}

// feed adds one series' samples; the first bad sample ends the series.
func feed(s metricsource.Series, add func(pod, container string, t time.Time, v float64) (bool, error)) (int, error) {
	pod, c := s.Labels["pod"], s.Labels["container"]
	if pod == "" || c == "" {
		return 0, fmt.Errorf("series %v without pod or container label: %w", s.Labels, metricsource.ErrBadData)
	}
	n := 0
	for _, p := range s.Samples {
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
