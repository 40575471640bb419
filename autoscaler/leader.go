package autoscaler

import (
	"context"
	"errors"
	"fmt"
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

// RunElected runs l only while this replica holds the lease; the standby
// keeps serving /metrics and /readyz (the caller's server) and waits. It
// returns when ctx is done.
func (l *Loop) RunElected(ctx context.Context, o ElectionOptions) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("invalid election options: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: o.Namespace, Name: o.LeaseName},
		Client:     o.Leases,
		LockConfig: resourcelock.ResourceLockConfig{Identity: o.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   o.LeaseDuration,
			RenewDeadline:   o.RenewDeadline,
			RetryPeriod:     o.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            o.LeaseName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					l.SetLeader(true)
					l.forgetState() // the previous leader moved on: reload its checkpoint
					l.log.Info("leading", "lease", o.LeaseName, "identity", o.Identity)
					_ = l.Run(ctx) // returns nil on cancellation
				},
				OnStoppedLeading: func() {
					l.SetLeader(false)
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
		le.Run(ctx) // returns when leadership is lost or ctx is done
	}
	return nil
}
