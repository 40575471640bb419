package autoscaler

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/autoscaler/internal/apitest"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

func TestLeaseFence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var none *LeaseFence
		if err := none.Check(); err != nil {
			t.Errorf("nil fence: Check() = %v, want nil", err)
		}
		f := NewLeaseFence()
		if err := f.Check(); err != nil {
			t.Errorf("unarmed (no election): Check() = %v, want nil", err)
		}
		f.arm(10 * time.Second)
		if err := f.Check(); !errors.Is(err, ErrNotLeading) {
			t.Errorf("armed, no term: Check() = %v, want ErrNotLeading", err)
		}
		f.term(true)
		f.renewed(time.Now())
		time.Sleep(9 * time.Second)
		if err := f.Check(); err != nil {
			t.Errorf("renewed 9s ago: Check() = %v, want nil", err)
		}
		time.Sleep(time.Second) // paused past the renew deadline
		if err := f.Check(); !errors.Is(err, ErrNotLeading) {
			t.Errorf("renewed 10s ago: Check() = %v, want ErrNotLeading", err)
		}
		f.renewed(time.Now())
		f.term(false)
		if err := f.Check(); !errors.Is(err, ErrNotLeading) {
			t.Errorf("term ended: Check() = %v, want ErrNotLeading", err)
		}
	})
}

// TestFenceFollowsTheLease: with election the fence passes while this
// replica renews its lease and fails once another replica holds it.
func TestFenceFollowsTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		apitest.Enforce(c.kube, coordinationv1.SchemeGroupVersion.WithResource("leases"))
		c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour))
		l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}})
		fence := NewLeaseFence()
		o := DefaultElectionOptions()
		o.Leases, o.Namespace, o.Identity, o.Fence = c.kube.CoordinationV1(), testNS, "a", fence
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.RunElected(ctx, o) }()
		time.Sleep(30 * time.Second)
		if err := fence.Check(); err != nil {
			t.Errorf("leading for 30s: Check() = %v, want nil", err)
		}
		stopThief := stealLease(t, c)
		time.Sleep(time.Minute)
		synctest.Wait()
		if err := fence.Check(); !errors.Is(err, ErrNotLeading) {
			t.Errorf("after the lease was taken: Check() = %v, want ErrNotLeading", err)
		}
		stopThief()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestReleaseKeepsAnotherHoldersLease: a replica that led, was paused past
// its lease while another replica took it over, and gives the lease up
// before it renews again (the stall watchdog or SIGTERM on resume) must not
// clear the new holder's record: client-go's release decides from the
// record it observed last. Without electionLock's check the Lease ends
// with no holder (so a third replica could take it while "b" still leads).
func TestReleaseKeepsAnotherHoldersLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kube := fake.NewClientset()
		leases := kube.CoordinationV1().Leases(testNS)
		lock := &electionLock{Interface: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: testNS, Name: "ebb"},
			Client:     kube.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: "a"},
		}}
		ctx, cancel := context.WithCancel(t.Context())
		leading := make(chan struct{})
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
			ReleaseOnCancel: true, Name: "ebb",
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) { close(leading) },
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); le.Run(ctx) }()
		<-leading
		synctest.Wait() // a renews every 2 s; between renewals:
		lease, err := leases.Get(t.Context(), "ebb", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		lease.Spec.HolderIdentity = ptr.To("b") // b took over while a was paused
		lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		if _, err := leases.Update(t.Context(), lease, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		cancel() // a gives up before its next renewal
		<-done
		lease, err = leases.Get(t.Context(), "ebb", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ptr.Deref(lease.Spec.HolderIdentity, ""); got != "b" {
			t.Errorf("after a released: lease holder = %q, want b (a released a lease it no longer held)", got)
		}
	})
}
