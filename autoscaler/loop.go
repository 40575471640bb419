package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// decideFunc is horizontal.Decide's signature.
type decideFunc func(horizontal.Observation, horizontal.Spec, horizontal.Options, *horizontal.History) horizontal.Decision

// Loop is ebb's control loop over the targets of one namespace.
type Loop struct {
	o      Options
	log    *slog.Logger
	m      *metrics
	decide decideFunc

	mu      sync.Mutex
	loaded  bool
	history map[string]*horizontal.History
	// failed counts consecutive passes without valid metrics, per target.
	failed map[string]int
}

// New validates o and returns a Loop. It registers the loop's metrics on
// o.Registerer.
func New(o Options) (*Loop, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	m := newMetrics(o.Registerer)
	if o.Actuator == nil {
		o.Actuator = NewScaleActuator(o.Scales, false, o.Recorder, m.actuations)
	}
	if o.DryRunActuator == nil {
		o.DryRunActuator = NewScaleActuator(o.Scales, true, o.Recorder, m.actuations)
	}
	return &Loop{
		o:       o,
		log:     o.Logger,
		m:       m,
		decide:  horizontal.Decide,
		history: map[string]*horizontal.History{},
		failed:  map[string]int{},
	}, nil
}

// Run runs a pass every sync period until ctx is done; it returns nil on
// cancellation. Failed passes are logged and retried on the next tick.
func (l *Loop) Run(ctx context.Context) error {
	for {
		start := time.Now()
		if _, err := l.Pass(ctx, start); err != nil && ctx.Err() == nil {
			l.log.Error("pass failed", "err", err)
		}
		l.m.loopDuration.Observe(time.Since(start).Seconds())
		period := l.o.Config.Config().SyncPeriod
		if period <= 0 {
			period = l.o.SyncPeriod
		}
		t := time.NewTimer(period)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// SetLeader records whether this replica holds the lease (ebb_leader).
func (l *Loop) SetLeader(leader bool) {
	v := 0.0
	if leader {
		v = 1
	}
	l.m.leader.Set(v)
}

// Pass reconciles every target of the current policy once at now and
// returns what it observed and decided. Per-target problems are in the
// report (and logged here, once per target); the error is for problems of
// the whole pass: the state could not be loaded or saved.
func (l *Loop) Pass(ctx context.Context, now time.Time) (report.Report, error) {
	cfg := l.o.Config.Config()
	rep := report.Report{GeneratedAt: now, Namespace: l.o.Namespace, Targets: make([]report.Target, 0, len(cfg.Targets))}
	if err := l.loadState(ctx); err != nil {
		return rep, err
	}
	p := newPass(l, cfg, now)
	for _, t := range cfg.Targets {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("pass interrupted: %w", err) // no Events for a shutdown
		}
		if t.Namespace == "" {
			t.Namespace = l.o.Namespace
		}
		rt, err := l.reconcile(ctx, p, t)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("target not scaled", "target", t.Key(), "reason", rt.Reason, "err", err)
		}
		rep.Targets = append(rep.Targets, rt)
	}
	if err := l.saveState(ctx, cfg.Targets); err != nil {
		return rep, err
	}
	return rep, nil
}

// loadState reads the checkpoint once, before the first pass decides
// anything, so a restart keeps honouring stabilization windows.
func (l *Loop) loadState(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded || l.o.State == nil {
		l.loaded = true
		return nil
	}
	st, err := l.o.State.Load(ctx)
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	for k, h := range st {
		l.history[k] = &h
	}
	l.loaded = true
	l.log.Info("state loaded", "targets", len(st))
	return nil
}

// forgetState drops the in-memory histories; the next pass reloads them
// from the store.
func (l *Loop) forgetState() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.o.State == nil {
		return
	}
	l.loaded = false
	l.history = map[string]*horizontal.History{}
	l.failed = map[string]int{}
}

func (l *Loop) saveState(ctx context.Context, targets []Target) error {
	if l.o.State == nil {
		return nil
	}
	l.mu.Lock()
	st := make(map[string]horizontal.History, len(targets))
	for _, t := range targets {
		if h, ok := l.history[t.Key()]; ok {
			st[t.Key()] = *h
		}
	}
	l.mu.Unlock()
	if err := l.o.State.Save(ctx, st); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func (l *Loop) historyFor(key string) *horizontal.History {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.history[key]
	if !ok {
		h = &horizontal.History{}
		l.history[key] = h
	}
	return h
}

// missing applies the missing-metrics policy after an invalid proposal and
// returns the replicas to use and the blocking condition to report.
func (l *Loop) missing(t Target, d horizontal.Decision, current int32) (int32, report.Condition) {
	l.mu.Lock()
	l.failed[t.Key()]++
	n := l.failed[t.Key()]
	l.mu.Unlock()
	msg := fmt.Sprintf("%s: %s (%d consecutive passes)", d.Proposal.Reason, d.Proposal.Message, n)
	if t.Missing.Action == policy.MissingFallback && t.Missing.AfterCycles > 0 && n >= t.Missing.AfterCycles {
		return t.Missing.FallbackReplicas, report.Condition{Reason: "MissingMetricsFallback",
			Message: fmt.Sprintf("%s; fallback to %d replicas", msg, t.Missing.FallbackReplicas)}
	}
	return current, report.Condition{Reason: "MissingMetricsHold", Message: msg + "; holding the current scale"}
}

func (l *Loop) metricsValid(t Target) {
	l.mu.Lock()
	delete(l.failed, t.Key())
	l.mu.Unlock()
}

// shapedBy explains which window or limit shaped the final number.
func shapedBy(t Target, d horizontal.Decision) []string {
	var out []string
	switch d.AbleToScaleReason {
	case horizontal.ReasonScaleUpStabilized, horizontal.ReasonScaleDownStabilized:
		w := t.Options.DownscaleStabilization // legacy path: the controller-wide window
		dir := "scaleDown"
		if t.Spec.Behavior != nil {
			w = t.Spec.Behavior.ScaleDown.StabilizationWindow
			if d.AbleToScaleReason == horizontal.ReasonScaleUpStabilized {
				w, dir = t.Spec.Behavior.ScaleUp.StabilizationWindow, "scaleUp"
			}
		}
		out = append(out, fmt.Sprintf("%s stabilization %v held at %d (recommended %d)", dir, w, d.Stabilized, d.Recommended))
	}
	if d.LimitedReason != "" && d.LimitedReason != horizontal.ReasonDesiredWithinRange {
		out = append(out, d.LimitedReason)
	}
	sort.Strings(out)
	return out
}

// errHold is returned by reconcile when a target is held without an API
// error (missing metrics).
var errHold = errors.New("metrics missing, scale held")
