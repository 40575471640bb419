package autoscaler

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

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
