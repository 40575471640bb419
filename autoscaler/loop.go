package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// decideFunc is horizontal.Decide's signature.
type decideFunc func(horizontal.Observation, horizontal.Spec, horizontal.Options, *horizontal.History) horizontal.Decision

// Loop is ebb's control loop over the targets of one namespace.
type Loop struct {
	o        Options
	log      *slog.Logger
	m        *metrics
	decide   decideFunc
	breakers struct{ metricsServer, prometheus *breaker }
	// mapperResets rate-limits discovery resets after unknown kinds.
	mapperResets mapperResets

	mu     sync.Mutex
	loaded bool // the horizontal checkpoints were read for this run or term
	// targets holds each target's state, by state key.
	targets map[string]*targetState
	// active are the targets of the last pass, by state key.
	active map[string]Target
	// removed holds the state keys of targets that left the policy, with
	// the time they left: their checkpoints go after RemovedGrace.
	removed map[string]time.Time

	// progress is the Unix time (ns) of the last completed pass, or of the
	// start of running passes; 0 while not running passes (a standby).
	progress atomic.Int64
	// period is the sync period (ns) in force, for the health check.
	period atomic.Int64
}

// New validates o and returns a Loop. It registers the loop's metrics on
// o.Registerer.
func New(o Options) (*Loop, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	m := newMetrics(o.Registerer)
	if o.ReadOnly {
		o.Actuator, o.DryRunActuator = ReadOnlyActuator{}, ReadOnlyActuator{}
	}
	if o.Actuator == nil {
		o.Actuator = NewScaleActuator(o.Scales, false, m.actuations)
	}
	if o.DryRunActuator == nil {
		o.DryRunActuator = NewScaleActuator(o.Scales, true, m.actuations)
	}
	l := &Loop{o: o, log: o.Logger, m: m, decide: horizontal.Decide,
		targets: map[string]*targetState{}, active: map[string]Target{}, removed: map[string]time.Time{}}
	l.breakers.metricsServer = newBreaker("metrics-server", o.Breaker, m.breakerOpen.WithLabelValues("metrics-server"))
	l.breakers.prometheus = newBreaker("prometheus", o.Breaker, m.breakerOpen.WithLabelValues("prometheus"))
	l.period.Store(int64(o.SyncPeriod))
	return l, nil
}

// Run runs a pass every sync period until ctx is done and returns nil. It
// saves no final checkpoint: RunLeader and RunElected (which call it per
// leadership term) do.
func (l *Loop) Run(ctx context.Context) error {
	l.run(ctx, nil)
	return nil
}

// run runs passes until ctx is done. A watchdog calls stalled (once) when
// no pass completed for StallPeriods sync periods; Healthy then fails too.
func (l *Loop) run(ctx context.Context, stalled func()) {
	l.progress.Store(time.Now().UnixNano())
	defer l.progress.Store(0)
	go l.watch(ctx, stalled)
	for {
		start := time.Now()
		rep, err := l.Pass(ctx, start)
		if err != nil && ctx.Err() == nil {
			l.log.Error("pass failed", "err", err)
		}
		if l.o.Status != nil && ctx.Err() == nil {
			l.o.Status.Record(rep)
		}
		if !l.sleepPeriod(ctx) {
			return
		}
	}
}

// sleepPeriod waits one sync period; false when ctx ended first.
func (l *Loop) sleepPeriod(ctx context.Context) bool {
	t := time.NewTimer(time.Duration(l.period.Load()))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watch calls stalled when Healthy fails, checking every sync period.
func (l *Loop) watch(ctx context.Context, stalled func()) {
	for l.sleepPeriod(ctx) {
		if err := l.Healthy(time.Now()); err != nil {
			l.log.Error("control loop stalled", "err", err)
			if stalled != nil {
				stalled()
			}
			return
		}
	}
}

// Healthy returns an error when this replica runs passes (it leads, or
// runs without election) but completed none for StallPeriods sync periods:
// /healthz then fails so the kubelet restarts it, and the lease is given
// up. A standby is healthy.
func (l *Loop) Healthy(now time.Time) error {
	p := l.progress.Load()
	if p == 0 {
		return nil
	}
	period := time.Duration(l.period.Load())
	limit := time.Duration(l.o.StallPeriods) * period
	if since := now.Sub(time.Unix(0, p)); since > limit {
		return fmt.Errorf("no pass completed for %v (limit %d sync periods of %v)", since.Round(time.Second), l.o.StallPeriods, period)
	}
	return nil
}

// Leading reports whether this replica runs passes now: it holds the lease
// (or runs without election) and has not stopped.
func (l *Loop) Leading() bool { return l.progress.Load() != 0 }

// SetLeader records whether this replica holds the lease (ebb_leader).
func (l *Loop) SetLeader(leader bool) {
	v := 0.0
	if leader {
		v = 1
	}
	l.m.leader.Set(v)
}

// stateLoaded reports whether this run or term read the checkpoints (a
// term that never passed has nothing of its own to save).
func (l *Loop) stateLoaded() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loaded
}

// Pass reconciles every target of the current policy once at now and
// returns what it observed and decided. It runs in phases, each target of
// a phase on a worker (Options.Workers) under its own deadline
// (TargetTimeout); phase 1 under PassTimeout, phases 2–4 under another:
//
//  1. read and decide (nothing is written);
//  2. checkpoint what changed (write-ahead: a target whose state cannot be
//     saved is not actuated);
//  3. actuate (guarded by the Scale read in 1) and the vertical side;
//  4. checkpoint the scale events of 3; then the Events of what changed.
//
// Per-target problems are in the report (and logged here, once per
// target); the error is for problems of the whole pass: the state could
// not be loaded, or not saved.
func (l *Loop) Pass(ctx context.Context, now time.Time) (report.Report, error) {
	start := time.Now()
	cfg := l.o.Config.Config()
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = l.o.SyncPeriod
	}
	l.period.Store(int64(cfg.SyncPeriod))
	for i := range cfg.Targets {
		if cfg.Targets[i].Namespace == "" {
			cfg.Targets[i].Namespace = l.o.Namespace
		}
	}
	shadows, invalid, err := l.shadowTargets(cfg)
	if err != nil {
		return report.Report{GeneratedAt: now, Namespace: l.o.Namespace}, err
	}
	cfg.Targets = append(slices.Clip(cfg.Targets), shadows...)
	rep := report.Report{GeneratedAt: now, Namespace: l.o.Namespace, Targets: make([]report.Target, 0, len(cfg.Targets)+len(invalid))}
	timeout := l.o.PassTimeout
	if timeout == 0 {
		timeout = cfg.SyncPeriod
	}
	// Reads and decisions, then the writes, each under their own deadline:
	// a source that hangs until the first deadline holds only the targets
	// that read it, and the targets decided in time are still checkpointed
	// and actuated (a pass ends within two PassTimeouts).
	readCtx, cancelRead := context.WithTimeoutCause(ctx, timeout, errPassDeadline)
	defer cancelRead()
	if err := l.loadState(readCtx, cfg, now); err != nil {
		return rep, err
	}
	l.applyPolicy(cfg, now)
	p := newPass(l, cfg, now)
	plans := make([]*plan, len(cfg.Targets))
	l.forEach(readCtx, len(plans), func(ctx context.Context, i int) { plans[i] = l.decideTarget(ctx, p, cfg.Targets[i]) })
	readStop := interrupted(readCtx)
	writeCtx, cancelWrite := context.WithTimeoutCause(ctx, timeout, errPassDeadline)
	defer cancelWrite()
	errAhead := l.checkpoint(writeCtx, plans, now, true)
	l.forEach(writeCtx, len(plans), func(ctx context.Context, i int) { l.actuate(ctx, p, plans[i]) })
	err = errors.Join(errAhead, l.checkpoint(writeCtx, plans, now, false))
	for _, pl := range plans {
		l.announce(pl)
		if pl.err != nil && !pl.stopped {
			l.log.Warn("target not scaled", "target", pl.t.Key(), "reason", pl.rt.Reason, "err", pl.err)
		}
		rep.Targets = append(rep.Targets, pl.rt)
	}
	rep.Targets = append(rep.Targets, invalid...)
	l.m.observeHPAs(l.o.Namespace, rep.Targets)
	l.m.passDuration.Observe(time.Since(start).Seconds())
	if ctx.Err() != nil { // shutdown or a lost lease: not a completed pass
		return rep, errors.Join(err, fmt.Errorf("pass interrupted: %w", context.Cause(ctx)))
	}
	// A pass that ended at its deadline still completed: the targets it
	// decided in time were written, the others held (and are named).
	if stop := errors.Join(readStop, interrupted(writeCtx)); stop != nil {
		err = errors.Join(err, fmt.Errorf("pass interrupted: %w", stop))
	}
	l.m.lastPass.Set(float64(now.UnixNano()) / 1e9)
	if l.progress.Load() != 0 { // running passes (not ebb report)
		l.progress.Store(time.Now().UnixNano())
	}
	return rep, err
}

// forEach runs f for 0..n-1 on Options.Workers goroutines, each call under
// its own TargetTimeout.
func (l *Loop) forEach(ctx context.Context, n int, f func(ctx context.Context, i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(l.o.Workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				tctx, cancel := context.WithTimeoutCause(ctx, l.o.TargetTimeout, errTargetDeadline)
				f(tctx, i)
				cancel()
			}
		})
	}
	wg.Wait()
}

// checkpoint puts the records that changed and writes them. ahead is the
// write-ahead round before actuation: a target whose state could not be
// saved is then not actuated for real (a restart could otherwise forget
// the decision and scale down earlier or faster). Unsaved targets are
// named in the report and in ebb_state_unsaved.
func (l *Loop) checkpoint(ctx context.Context, plans []*plan, now time.Time, ahead bool) error {
	if l.o.State == nil {
		return nil
	}
	for _, pl := range plans {
		if pl.st != nil {
			if err := l.putState(pl.t, pl.st, now); err != nil {
				l.log.Warn("state not encoded", "target", pl.t.Key(), "err", err)
			}
			if err := l.putForecast(pl.t, pl.st, now); ahead && err != nil {
				l.log.Warn("forecast checkpoint not encoded", "target", pl.t.Key(), "err", err)
			}
		}
	}
	err := l.o.State.Flush(ctx)
	unsaved := map[string]bool{}
	for _, k := range l.o.State.Unsaved() {
		unsaved[k] = true
	}
	for _, pl := range plans {
		if pl.st == nil {
			continue
		}
		t := pl.t
		if !unsaved[stateKey(t)] {
			l.m.unsaved.DeleteLabelValues(t.Namespace, t.Key())
			continue
		}
		l.m.unsaved.WithLabelValues(t.Namespace, t.Key()).Set(1)
		if ahead && pl.decided && pl.desired != pl.current && !pl.gate.dryRun && pl.failure == nil {
			l.revertScaleDown(pl)
			pl.fail("StateNotSaved", fmt.Errorf("checkpoint of %s not saved: not scaled to %d, so that a restart cannot forget the decision", t, pl.desired))
		} else if !hasCondition(pl.rt, "StateNotSaved") {
			pl.rt.Blocking = append(pl.rt.Blocking, report.Condition{Reason: "StateNotSaved",
				Message: fmt.Sprintf("checkpoint of %s not saved (retried every pass)", t)})
		}
	}
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

func hasCondition(rt report.Target, reason string) bool {
	for _, c := range rt.Blocking {
		if c.Reason == reason {
			return true
		}
	}
	return false
}
