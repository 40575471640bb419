package autoscaler

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

func TestLeaderElectionOnlyLeaderPasses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
		targets := []Target{cpuTarget("web", policy.ModeApply, nil)}
		a, _ := c.newLoop(t, loopConfig{targets: targets})
		b, _ := c.newLoop(t, loopConfig{targets: targets})
		elect := func(id string) ElectionOptions {
			o := DefaultElectionOptions()
			o.Leases, o.Namespace, o.Identity = c.kube.CoordinationV1(), testNS, id
			return o
		}
		state := func(l *Loop) (leader float64, passed int) {
			return testutil.ToFloat64(l.m.leader), testutil.CollectAndCount(l.m.current)
		}
		ctxA, cancelA := context.WithCancel(t.Context())
		ctxB, cancelB := context.WithCancel(t.Context())
		doneA, doneB := make(chan error), make(chan error)
		go func() { doneA <- a.RunElected(ctxA, elect("a")) }()
		time.Sleep(time.Second)
		go func() { doneB <- b.RunElected(ctxB, elect("b")) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if la, pa := state(a); la != 1 || pa != 1 {
			t.Errorf("a: leader %v, targets observed %d; want 1, 1", la, pa)
		}
		if lb, pb := state(b); lb != 0 || pb != 0 {
			t.Errorf("standby b: leader %v, targets observed %d; want 0, 0", lb, pb)
		}
		if got := c.replicasOf("web"); got != 4 {
			t.Errorf("replicas = %d, want 4 (scaled once by the leader)", got)
		}

		cancelA() // releases the lease
		if err := <-doneA; err != nil {
			t.Errorf("a.RunElected() = %v", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if la, _ := state(a); la != 0 {
			t.Errorf("a after cancel: leader %v, want 0", la)
		}
		if lb, pb := state(b); lb != 1 || pb != 1 {
			t.Errorf("b after failover: leader %v, targets observed %d; want 1, 1", lb, pb)
		}
		cancelB()
		if err := <-doneB; err != nil {
			t.Errorf("b.RunElected() = %v", err)
		}
	})
}

func TestElectionOptionsValidate(t *testing.T) {
	o := DefaultElectionOptions()
	o.RenewDeadline = o.LeaseDuration
	err := o.Validate()
	for _, want := range []string{"Leases", "Namespace", "Identity", "durations"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
}
