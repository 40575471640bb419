package autoscaler

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// stuckUsage never returns until released, whatever its context says (a
// call without a timeout somewhere below the loop).
type stuckUsage struct{ release chan struct{} }

func (u stuckUsage) PodUsage(context.Context, string, labels.Selector) ([]metricsource.PodUsage, error) {
	<-u.release
	return nil, metricsource.ErrUnavailable
}

// TestStalledLeaderGivesUpItsLease: the leader's pass hangs. After
// StallPeriods sync periods without a completed pass, Healthy (/healthz)
// fails and the lease is given up, so the standby takes over and scales;
// the standby exports no per-target series until then.
func TestStalledLeaderGivesUpItsLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
		targets := []Target{cpuTarget("web", policy.ModeApply, nil)}
		stuck := stuckUsage{release: make(chan struct{})}
		a, _ := c.newLoop(t, loopConfig{targets: targets, usage: stuck})
		b, _ := c.newLoop(t, loopConfig{targets: targets})
		elect := func(id string) ElectionOptions {
			o := DefaultElectionOptions()
			o.Leases, o.Namespace, o.Identity = c.kube.CoordinationV1(), testNS, id
			return o
		}
		holder := func() string {
			l, err := c.kube.CoordinationV1().Leases(testNS).Get(context.Background(), "ebb", metav1.GetOptions{})
			if err != nil {
				return ""
			}
			return ptr.Deref(l.Spec.HolderIdentity, "")
		}
		ctx, cancel := context.WithCancel(t.Context())
		doneA, doneB := make(chan error), make(chan error)
		go func() { doneA <- a.RunElected(ctx, elect("a")) }()
		time.Sleep(time.Second)
		go func() { doneB <- b.RunElected(ctx, elect("b")) }()

		time.Sleep(30 * time.Second)
		synctest.Wait()
		if err := a.Healthy(time.Now()); err != nil || holder() != "a" {
			t.Fatalf("30s into a stuck pass: healthy %v, holder %q; want healthy, a", err, holder())
		}
		if n := testutil.CollectAndCount(b.m.current); n != 0 {
			t.Errorf("standby b exports %d ebb_current_replicas series, want 0", n)
		}
		time.Sleep(40 * time.Second) // 70s: beyond 4 periods of 15s
		synctest.Wait()
		if err := a.Healthy(time.Now()); err == nil {
			t.Error("a after 70s without a completed pass: healthy, want /healthz to fail")
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if h := holder(); h != "b" {
			t.Errorf("lease holder = %q, want b after a gave it up", h)
		}
		if got := c.replicasOf("web"); got != 4 {
			t.Errorf("replicas = %d, want 4 (scaled by the new leader)", got)
		}
		close(stuck.release)
		cancel()
		for _, done := range []chan error{doneA, doneB} {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
}
