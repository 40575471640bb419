package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Scrape reads ebb's /metrics once and parses the text exposition.
func (b *Ebb) Scrape(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	body, err := HTTPGet(ctx, "http://"+b.MetricsAddr+"/metrics")
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse ebb /metrics: %w", err)
	}
	return mfs, nil
}

// MetricValue returns the value of the gauge or counter series name whose
// labels include every pair of match; ok is false when no series matches.
func (b *Ebb) MetricValue(ctx context.Context, name string, match map[string]string) (v float64, ok bool, err error) {
	mfs, err := b.Scrape(ctx)
	if err != nil {
		return 0, false, err
	}
	v, ok = FindSample(mfs, name, match)
	return v, ok, nil
}

// FindSample looks up one gauge/counter/untyped sample in parsed families.
func FindSample(mfs map[string]*dto.MetricFamily, name string, match map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if !LabelsMatch(m.GetLabel(), match) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Untyped != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// LabelsMatch reports whether have holds every name=value pair of want.
func LabelsMatch(have []*dto.LabelPair, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range have {
			if l.GetName() == k && l.GetValue() == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// Ready reports whether ebb's /readyz answers 200.
func (b *Ebb) Ready(ctx context.Context) error {
	_, err := HTTPGet(ctx, "http://"+b.MetricsAddr+"/readyz")
	return err
}

// SIGKILL kills ebb's process group at once, without SIGTERM first (no
// graceful shutdown, no Lease release), and waits until it is gone.
func (b *Ebb) SIGKILL() error {
	if err := syscall.Kill(-b.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("SIGKILL ebb (pid %d): %w", b.PID, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Alive() {
		if time.Now().After(deadline) {
			return fmt.Errorf("ebb (pid %d) still running after SIGKILL", b.PID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// ObjectEvents lists the Events of ns whose involved object is kind/name.
func (e *Env) ObjectEvents(ctx context.Context, ns, kind, name string) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.kind": kind, "involvedObject.name": name}.AsSelector().String()
	list, err := e.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("list events of %s/%s in %s: %w", kind, name, ns, err)
	}
	return list.Items, nil
}

// EventSummary renders events as "reason: message" lines (for errors).
func EventSummary(evs []corev1.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s %s: %s\n", ev.Type, ev.Reason, ev.Message)
	}
	return b.String()
}

// ReplicaChange is one observed value of a scale's spec.replicas.
type ReplicaChange struct {
	At       time.Time
	Replicas int64
}

// ReplicaWatcher samples spec.replicas of a scale subresource every 250 ms
// in the background and records every change, so a test can assert what a
// target went through (never below N, an intermediate size, no change at
// all) rather than only where it ended.
type ReplicaWatcher struct {
	mu      sync.Mutex
	changes []ReplicaChange
	lastErr error
	stop    context.CancelFunc
	done    chan struct{}
}

// WatchReplicas starts a ReplicaWatcher on gvr ns/name; the first sample is
// taken before it returns.
func (e *Env) WatchReplicas(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (*ReplicaWatcher, error) {
	spec, _, err := e.ScaleReplicas(ctx, gvr, ns, name)
	if err != nil {
		return nil, err
	}
	w := &ReplicaWatcher{changes: []ReplicaChange{{time.Now(), spec}}, done: make(chan struct{})}
	ctx, w.stop = context.WithCancel(ctx)
	go func() {
		defer close(w.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			spec, _, err := e.ScaleReplicas(ctx, gvr, ns, name)
			w.mu.Lock()
			if err != nil {
				w.lastErr = err
			} else if spec != w.changes[len(w.changes)-1].Replicas {
				w.changes = append(w.changes, ReplicaChange{time.Now(), spec})
			}
			w.mu.Unlock()
		}
	}()
	return w, nil
}

// Stop ends sampling.
func (w *ReplicaWatcher) Stop() {
	w.stop()
	<-w.done
}

// Changes returns every value seen so far, the first being the initial one.
func (w *ReplicaWatcher) Changes() []ReplicaChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]ReplicaChange(nil), w.changes...)
}

// Current is the last value seen.
func (w *ReplicaWatcher) Current() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changes[len(w.changes)-1].Replicas
}

// WaitAtLeast waits until the watcher has seen a change to n replicas or
// more (the initial value does not count) and returns that change: for a
// test whose point is that the workload scales up, not by which steps (a
// load change seen by halves between two scrapes can make the first step
// smaller and the second larger).
func (w *ReplicaWatcher) WaitAtLeast(ctx context.Context, n int64, timeout time.Duration) (ReplicaChange, error) {
	return w.waitChange(ctx, fmt.Sprintf("spec.replicas changed to %d or more", n), timeout,
		func(r int64) bool { return r >= n })
}

// WaitFor waits until the watcher has seen a change to replicas n (the
// initial value does not count) and returns when the first such change was
// seen.
func (w *ReplicaWatcher) WaitFor(ctx context.Context, n int64, timeout time.Duration) (time.Time, error) {
	c, err := w.waitChange(ctx, fmt.Sprintf("spec.replicas changed to %d", n), timeout,
		func(r int64) bool { return r == n })
	return c.At, err
}

// waitChange waits until the watcher has seen a change (the initial value
// does not count) whose replicas match, and returns the first such change.
func (w *ReplicaWatcher) waitChange(ctx context.Context, what string, timeout time.Duration, match func(replicas int64) bool) (ReplicaChange, error) {
	var got ReplicaChange
	err := Eventually(ctx, what, timeout, 100*time.Millisecond, func(context.Context) error {
		for _, c := range w.Changes()[1:] {
			if match(c.Replicas) {
				got = c
				return nil
			}
		}
		return fmt.Errorf("seen %s", w)
	})
	return got, err
}

// String renders the history relative to the first sample.
func (w *ReplicaWatcher) String() string {
	ch := w.Changes()
	var b strings.Builder
	for i, c := range ch {
		if i > 0 {
			b.WriteString(" → ")
		}
		fmt.Fprintf(&b, "%d@+%.1fs", c.Replicas, c.At.Sub(ch[0].At).Seconds())
	}
	return b.String()
}
