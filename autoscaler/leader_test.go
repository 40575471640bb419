package autoscaler

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/autoscaler/internal/apitest"
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

// fakeLeaderState records its terms and, at each Flush, who held the
// lease.
type fakeLeaderState struct {
	leases coordinationv1client.LeasesGetter

	mu           sync.Mutex
	terms        int
	running      int      // terms not stopped yet
	flushHolders []string // the lease holder at each Flush
}

func (f *fakeLeaderState) Lead(ctx context.Context) func() {
	f.mu.Lock()
	f.terms++
	f.running++
	f.mu.Unlock()
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
		close(done)
	}()
	return func() { <-done }
}

func (f *fakeLeaderState) Flush(ctx context.Context) error {
	holder := "<none>"
	if f.leases != nil {
		l, err := f.leases.Leases(testNS).Get(ctx, "ebb", metav1.GetOptions{})
		if err != nil {
			return err
		}
		holder = ptr.Deref(l.Spec.HolderIdentity, "")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running != 0 {
		return errors.New("Flush while the term still writes")
	}
	f.flushHolders = append(f.flushHolders, holder)
	return nil
}

func (f *fakeLeaderState) state() (terms, running int, flushHolders []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.terms, f.running, slices.Clone(f.flushHolders)
}

// TestShutdownFlushesBeforeRelease: on shutdown the leader stops its term,
// saves the final checkpoints while it still holds the lease, then
// releases it; a standby saves nothing.
func TestShutdownFlushesBeforeRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour))
		targets := []Target{cpuTarget("web", policy.ModeApply, nil)}
		fa, fb := &fakeLeaderState{leases: c.kube.CoordinationV1()}, &fakeLeaderState{leases: c.kube.CoordinationV1()}
		a, _ := c.newLoop(t, loopConfig{targets: targets, leader: fa})
		b, _ := c.newLoop(t, loopConfig{targets: targets, leader: fb})
		elect := func(id string) ElectionOptions {
			o := DefaultElectionOptions()
			o.Leases, o.Namespace, o.Identity = c.kube.CoordinationV1(), testNS, id
			return o
		}
		ctxA, stopA := context.WithCancel(t.Context())
		ctxB, stopB := context.WithCancel(t.Context())
		doneA, doneB := make(chan error), make(chan error)
		go func() { doneA <- a.RunElected(ctxA, elect("a")) }()
		time.Sleep(time.Second)
		go func() { doneB <- b.RunElected(ctxB, elect("b")) }()
		time.Sleep(time.Minute)
		stopA()
		if err := <-doneA; err != nil {
			t.Fatal(err)
		}
		terms, running, holders := fa.state()
		if d := cmp.Diff([]string{"a"}, holders); terms != 1 || running != 0 || d != "" {
			t.Errorf("a: %d terms, %d running, flushed while the lease was held by (-want +got):\n%s", terms, running, d)
		}
		lease, err := c.kube.CoordinationV1().Leases(testNS).Get(t.Context(), "ebb", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h == "a" {
			t.Errorf("after a returned the lease is still held by %q", h)
		}
		time.Sleep(10 * time.Second) // b takes over at once: a released the lease
		synctest.Wait()
		if terms, running, _ := fb.state(); terms != 1 || running != 1 {
			t.Errorf("b 10s after a stopped: %d terms, %d running; want 1, 1", terms, running)
		}
		stopB()
		if err := <-doneB; err != nil {
			t.Fatal(err)
		}
		if _, _, holders := fb.state(); !slices.Equal(holders, []string{"b"}) {
			t.Errorf("b flushed while held by %v, want [b]", holders)
		}
	})
}

// TestLostLeaseFlushesNothing: a leader whose lease is taken stops its term
// and saves nothing, neither then nor at its own shutdown.
func TestLostLeaseFlushesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		apitest.Enforce(c.kube, coordinationv1.SchemeGroupVersion.WithResource("leases"))
		c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour))
		f := &fakeLeaderState{leases: c.kube.CoordinationV1()}
		a, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}, leader: f})
		o := DefaultElectionOptions()
		o.Leases, o.Namespace, o.Identity = c.kube.CoordinationV1(), testNS, "a"
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- a.RunElected(ctx, o) }()
		time.Sleep(time.Minute)
		defer stealLease(t, c)()
		time.Sleep(time.Minute)
		synctest.Wait()
		if terms, running, holders := f.state(); terms != 1 || running != 0 || len(holders) != 0 {
			t.Errorf("after losing the lease: %d terms, %d running, flushes %v; want 1, 0, none", terms, running, holders)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, _, holders := f.state(); len(holders) != 0 {
			t.Errorf("a standby's shutdown flushed %v, want nothing", holders)
		}
	})
}

// stealLease makes replica "b" take the Lease and renew it every 5s (as
// after a partition) until the returned function is called.
func stealLease(t *testing.T, c *cluster) (stop func()) {
	steal := func() {
		lease, err := c.kube.CoordinationV1().Leases(testNS).Get(t.Context(), "ebb", metav1.GetOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		lease.Spec.HolderIdentity = ptr.To("b")
		lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
		if _, err := c.kube.CoordinationV1().Leases(testNS).Update(t.Context(), lease, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}
	thief, stopThief := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for thief.Err() == nil {
			steal()
			time.Sleep(5 * time.Second)
		}
	}()
	return func() { stopThief(); <-done }
}

// TestRunLeaderFlushes: without election the only replica flushes on
// shutdown.
func TestRunLeaderFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour))
		f := &fakeLeaderState{}
		a, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}, leader: f})
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- a.RunLeader(ctx) }()
		time.Sleep(time.Minute)
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if terms, running, holders := f.state(); terms != 1 || running != 0 || len(holders) != 1 {
			t.Errorf("%d terms, %d running, %d flushes; want 1, 0, 1", terms, running, len(holders))
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
