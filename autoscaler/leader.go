package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ElectionOptions configure leader election on a Lease in the namespace.
type ElectionOptions struct {
	Leases    coordinationv1client.LeasesGetter
	Namespace string
	LeaseName string
	Identity  string // unique per replica, e.g. the pod name
	// Durations of client-go's leader election; DefaultElectionOptions
	// sets the usual 15s/10s/2s.
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// Fence, when set, is armed: writes checked against it are refused
	// outside a term and once the lease was not renewed within
	// RenewDeadline (see LeaseFence).
	Fence *LeaseFence
}

// DefaultElectionOptions returns the lease name "ebb" and client-go's
// usual durations.
func DefaultElectionOptions() ElectionOptions {
	return ElectionOptions{LeaseName: "ebb", LeaseDuration: 15 * time.Second,
		RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
}

// Validate returns every problem of o at once.
func (o ElectionOptions) Validate() error {
	var errs []error
	if o.Leases == nil {
		errs = append(errs, errors.New("election Leases: must be set"))
	}
	for name, v := range map[string]string{"Namespace": o.Namespace, "LeaseName": o.LeaseName, "Identity": o.Identity} {
		if v == "" {
			errs = append(errs, fmt.Errorf("election %s: must not be empty", name))
		}
	}
	if o.LeaseDuration <= o.RenewDeadline || o.RenewDeadline <= o.RetryPeriod || o.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("election durations lease %v > renew %v > retry %v > 0: not satisfied",
			o.LeaseDuration, o.RenewDeadline, o.RetryPeriod))
	}
	return errors.Join(errs...)
}

// LeaderState is state that only the leader writes, beside the horizontal
// history: the vertical side's checkpoints (autoscaler/vertical's Runner).
type LeaderState interface {
	// Lead forgets the in-memory state before it returns, so it is
	// re-read from the checkpoints before the first decision of the term,
	// and saves it while ctx (the term) lives; wait returns once it has
	// stopped writing.
	Lead(ctx context.Context) (wait func())
	// Flush is the final save on shutdown, called while the lease is still
	// held; ctx ends at the shutdown timeout or when the lease does.
	Flush(ctx context.Context) error
}

// RunLeader runs l as the only replica (no leader election): it leads until
// ctx is done, then saves the final checkpoints (within ShutdownTimeout)
// before it returns. A stalled loop fails Healthy (/healthz) and the
// kubelet restarts it.
func (l *Loop) RunLeader(ctx context.Context) error {
	l.SetLeader(true)
	defer l.SetLeader(false)
	l.lead(ctx, context.WithoutCancel(ctx), nil)
	return nil
}

// lead is one leadership term: passes from a newly acquired lease until
// the lease is lost (term done) or shutdown begins (ctx done). It forgets
// the horizontal and leader state first (the previous leader moved them
// on): both are re-read from the checkpoints before the first decision.
// On shutdown, with the lease still held, the final checkpoints are saved
// before lead returns; once the lease is lost nothing is written. When no
// pass completes for StallPeriods sync periods the passes stop and giveUp
// (when set) gives the lease up.
func (l *Loop) lead(ctx, term context.Context, giveUp func()) {
	l.forgetState()
	passes, stop := context.WithCancel(term)
	defer stop()
	unlink := context.AfterFunc(ctx, stop)
	defer unlink()
	wait := func() {}
	if l.o.LeaderState != nil {
		wait = l.o.LeaderState.Lead(passes)
	}
	l.run(passes, func() {
		stop()
		if giveUp != nil {
			l.log.Error("giving up the lease: the control loop stalled")
			giveUp()
		}
	})
	stop()
	wait()
	if ctx.Err() == nil || term.Err() != nil {
		return // the lease is gone or was given up: write nothing
	}
	fctx, cancel := context.WithTimeout(term, l.o.ShutdownTimeout)
	defer cancel()
	var errs []error
	if l.o.State != nil && l.stateLoaded() {
		errs = append(errs, l.o.State.Flush(fctx))
	}
	if l.o.LeaderState != nil {
		errs = append(errs, l.o.LeaderState.Flush(fctx))
	}
	if err := errors.Join(errs...); err != nil {
		l.log.Error("final checkpoint failed", "err", err)
		return
	}
	l.log.Info("final checkpoint saved")
}

// RunElected runs l only while this replica holds the lease; the standby
// keeps serving /metrics and /readyz (the caller's server), exports no
// per-target decisions, and waits. When ctx is done it stops the passes,
// saves the final checkpoints while still holding the lease, then releases
// it and returns: a clean stop loses no state and the next leader takes
// over at once. A lost lease drops the state and the per-target series
// and writes nothing.
func (l *Loop) RunElected(ctx context.Context, o ElectionOptions) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("invalid election options: %w", err)
	}
	var lock resourcelock.Interface = &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.LeaseName},
		Client:     o.Leases,
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	if o.Fence != nil {
		o.Fence.arm(o.RenewDeadline)
	}
	lock = &electionLock{Interface: lock, fence: o.Fence}
	for ctx.Err() == nil {
		if err := l.campaign(ctx, o, lock); err != nil {
			return err
		}
	}
	return nil
}

// campaign waits for the lease, leads one term and returns once the term
// has stopped writing and the lease is released or lost.
func (l *Loop) campaign(ctx context.Context, o ElectionOptions, lock resourcelock.Interface) error {
	// The elector runs on its own context, cancelled (releasing the lease)
	// only once a term in progress has saved its final checkpoints, or
	// given up.
	elect, release := context.WithCancel(context.WithoutCancel(ctx))
	defer release()
	var mu sync.Mutex
	leading, started := false, false
	stopWaiting := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !leading {
			release() // a standby: nothing to save
		}
	})
	defer stopWaiting()
	termDone := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   o.LeaseDuration,
		RenewDeadline:   o.RenewDeadline,
		RetryPeriod:     o.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            o.LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(term context.Context) {
				defer close(termDone)
				mu.Lock()
				if term.Err() != nil || ctx.Err() != nil { // started late, or shutdown meanwhile
					mu.Unlock()
					release()
					return
				}
				started, leading = true, true
				mu.Unlock()
				o.Fence.term(true)
				defer o.Fence.term(false)
				l.SetLeader(true)
				l.log.Info("leading", "lease", o.LeaseName, "identity", o.Identity)
				l.lead(ctx, term, release)
				mu.Lock()
				leading = false
				mu.Unlock()
				release() // final checkpoints saved (on shutdown): give the lease up
			},
			OnStoppedLeading: func() {
				l.SetLeader(false)
				l.dropLeaderState()
				l.log.Info("stopped leading", "lease", o.LeaseName, "identity", o.Identity)
			},
			OnNewLeader: func(id string) {
				if id != o.Identity {
					l.log.Info("standby", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election on lease %s: %w", o.LeaseName, err)
	}
	le.Run(elect) // returns when leadership is lost or released
	mu.Lock()
	wasLeading := started
	mu.Unlock()
	// Run returns early only when elect is done; otherwise the lease was
	// acquired and the term (maybe still starting) must stop writing before
	// this replica competes again.
	if wasLeading || elect.Err() == nil {
		<-termDone
	}
	return nil
}

// dropLeaderState forgets what a leader holds when the lease is lost: the
// horizontal state (the next leader owns the checkpoints) and the
// per-target series (a standby exports no decisions).
func (l *Loop) dropLeaderState() {
	l.forgetState()
	l.m.forgetAll()
	if l.o.Status != nil {
		l.o.Status.Reset()
	}
}
