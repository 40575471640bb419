//go:build e2e

package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// The suite runs in two phases (see doc.go and harness.Phases): every test
// starts in the parallel phase (setup), at most E2E_PARALLEL at a time,
// each in its own namespace with its own ebb; a test that must run alone
// (a fault: stopping or restarting a shared component, the HPA controller)
// calls exclusive(t) when it gets there, and then runs after every other
// test's parallel part, alone. The cluster's fault guard refuses faults
// from a test not running alone.

// defaultParallel is how many parallel tests run at once when E2E_PARALLEL
// is unset (a 2-core machine; most of a test's time is spent waiting).
const defaultParallel = 8

// parallelFromEnv reads E2E_PARALLEL (default defaultParallel).
func parallelFromEnv() (int, error) {
	v := os.Getenv("E2E_PARALLEL")
	if v == "" {
		return defaultParallel, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("E2E_PARALLEL=%q: want a whole number >= 1", v)
	}
	return n, nil
}

// liftGoTestParallel raises go test's own -parallel limit: the phases limit
// parallel tests themselves, and fault tests wait (paused, holding one of
// go test's slots) until the parallel phase ends, so with go test's default
// limit (GOMAXPROCS) the waiting fault tests could hold every slot.
func liftGoTestParallel() error {
	if err := flag.Set("test.parallel", "10000"); err != nil {
		return fmt.Errorf("set -test.parallel: %w", err)
	}
	return nil
}

// runParallel registers t, pauses it with t.Parallel and, with slot,
// resumes it once a slot is free; when t ends, its slot (or the cluster, if
// it ran alone) goes back. A test on its own cluster (setupOwnCluster) or
// one that mostly waits on real time (setupLongWait) takes no slot: the
// slots share out the shared cluster and the CPU, and the longest tests
// start at once.
func runParallel(p *harness.Phases, t *testing.T, slot bool) {
	t.Helper()
	if err := p.Register(t.Name()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Done(t.Name()) }) // registered first: runs after the test's own cleanups
	t.Parallel()
	if slot {
		p.Acquire(t.Name())
	} else {
		p.Begin()
	}
}

// setup starts an e2e test in its own namespace ns (created; its default
// ServiceAccount exists) and returns the suite. The test runs beside
// others: until it calls exclusive it must not stop or restart shared
// components, and it must use only its namespace(s). Its duration goes into
// the summary and its namespace is deleted when it passes.
func setup(t *testing.T, ns string) *Suite {
	t.Helper()
	return setupShared(t, ns, true)
}

// setupShared is setup on the shared cluster, with or without a slot.
func setupShared(t *testing.T, ns string, slot bool) *Suite {
	t.Helper()
	s := claimSuite(t, ns)
	runParallel(s.phases, t, slot)
	s.startTest(t, ns)
	return s
}

// exclusive ends the parallel part of test t: it waits until every other
// test has ended its parallel part and no other test runs alone, and from
// then on t runs alone: it may stop and restart shared components
// (s.Env.Cluster.StopComponent / StartComponent) and run the HPA
// controller (s.StartHPAController). Call it after the test's preparation
// (workloads, ebb, steady state), right before the fault: everything
// before runs in parallel, everything after adds to the suite's duration.
// While it waits, the other tests' faults may hit what it prepared (its ebb
// sees metrics-server or kube-apiserver go and come back).
func (s *Suite) exclusive(t *testing.T) {
	t.Helper()
	if s.own {
		return // alone on its own cluster from the start
	}
	t0 := time.Now()
	if err := s.phases.Exclusive(t.Name()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Logf("waited %s to run alone", d.Round(100*time.Millisecond))
	}
}

// setupLongWait starts test t like setup, but at once, without waiting for
// a slot: for a test that spends minutes waiting on real time (a window of
// history to record, a period with nothing to write) and little on the
// CPU. Started first, the suite's longest tests do not end it late.
func setupLongWait(t *testing.T, ns string) *Suite {
	t.Helper()
	return setupShared(t, ns, false)
}

// setupOwnCluster starts test t like setup, in namespace ns, but on a
// cluster of its own (the shared cluster's options, its own directory under
// the run directory, stopped when t ends; its logs are kept when t fails).
// For a fault test: it stops and restarts components or runs the HPA
// controller without waiting for the other tests, in the parallel phase,
// at the price of a cluster bring-up (about 10 s) and one more set of
// components on the machine. On the own cluster exclusive returns at once.
func setupOwnCluster(t *testing.T, ns string) *Suite {
	t.Helper()
	shared := claimSuite(t, ns)
	runParallel(shared.phases, t, false)
	s := shared.ownCluster(t)
	s.startTest(t, ns)
	return s
}

// ownCluster brings up a cluster for test t alone and returns a Suite on it
// that shares s's binaries, phases and timing summary.
func (s *Suite) ownCluster(t *testing.T) *Suite {
	t.Helper()
	t0 := time.Now()
	o := s.clusterOpts
	o.Dir = filepath.Join(s.RunDir, "own-"+topLevel(t))
	s.bringUps <- struct{}{}
	c, err := cluster.Up(context.Background(), o)
	<-s.bringUps
	if c != nil {
		t.Cleanup(func() {
			if err := c.Down(); err != nil {
				t.Errorf("own cluster down: %v", err)
			}
			if t.Failed() {
				t.Logf("own cluster's component logs kept in %s", filepath.Join(o.Dir, "logs"))
			}
		})
	}
	if err != nil {
		t.Fatalf("own cluster up: %v", err)
	}
	env, err := harness.NewEnv(c)
	if err != nil {
		t.Fatal(err)
	}
	s.record(topLevel(t)+": own cluster bring-up", time.Since(t0))
	return &Suite{Env: env, RunDir: o.Dir, RepoRoot: s.RepoRoot, EbbBin: s.EbbBin, phases: s.phases,
		timings: s.timings, own: true, clusterOpts: s.clusterOpts, bringUps: s.bringUps}
}

// setupFault is setup followed at once by exclusive: for a test that is a
// fault from its first step. Prefer setup + exclusive right before the
// fault, so the preparation runs in parallel.
func setupFault(t *testing.T, ns string) *Suite {
	t.Helper()
	s := setup(t, ns)
	s.exclusive(t)
	return s
}

func claimSuite(t *testing.T, ns string) *Suite {
	t.Helper()
	if suite == nil {
		t.Fatal("no e2e suite: TestMain did not start a cluster")
	}
	if err := suite.phases.Claim(topLevel(t), ns); err != nil {
		t.Fatal(err)
	}
	return suite
}

// startTest records the test's duration, creates its namespace and deletes
// it when the test passes (a failed test's namespace is kept for a look).
func (s *Suite) startTest(t *testing.T, ns string) {
	t.Helper()
	t0 := time.Now()
	t.Cleanup(func() { s.record(t.Name(), time.Since(t0)) })
	ctx := context.Background()
	if err := s.Env.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = s.Env.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) // best effort
		}
	})
}

// extraNamespace gives test t a second namespace ns (an "other" namespace
// for isolation checks, say): claimed like setup's, created, deleted when t
// passes.
func (s *Suite) extraNamespace(t *testing.T, ns string) {
	t.Helper()
	if err := s.phases.Claim(topLevel(t), ns); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Env.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = s.Env.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}
	})
}

// StartHPAController runs kube-controller-manager's HPA controller (a
// second kube-controller-manager with only that controller, the cluster's
// build) until test t ends; t must run alone (exclusive or setupFault).
// kube-controller-manager cannot be limited to namespaces: while t runs
// alone no other test runs, HorizontalPodAutoscalers left by tests that
// ended are deleted first, and one of a test still waiting to run alone
// fails t (such a test must create its HPAs after exclusive).
// o.SyncPeriod defaults to 2s here (kcm's own default is 15s).
func (s *Suite) StartHPAController(t *testing.T, o cluster.HPAControllerOptions) {
	t.Helper()
	if s.own {
		s.startHPAController(t, o) // no other test's HPA on this cluster
		return
	}
	if holder := s.phases.Holder(); holder != topLevel(t) {
		t.Fatalf("StartHPAController in %s: only a test running alone (exclusive or setupFault) may run the HPA controller (it acts on every namespace)", t.Name())
	}
	ctx := context.Background()
	hpas, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hpas.Items {
		owner := s.phases.Owner(h.Namespace)
		if owner == topLevel(t) {
			continue
		}
		if owner != "" && !s.phases.Ended(owner) {
			t.Fatalf("HPA %s/%s of %s, which waits to run alone: the HPA controller would act on it; create HPAs after exclusive(t)",
				h.Namespace, h.Name, owner)
		}
		err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(h.Namespace).Delete(ctx, h.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("delete HPA %s/%s left by another test: %v", h.Namespace, h.Name, err)
		}
		t.Logf("deleted HPA %s/%s left by another test before starting the HPA controller", h.Namespace, h.Name)
	}
	s.startHPAController(t, o)
}

// startHPAController starts the HPA controller on s's cluster until t ends.
func (s *Suite) startHPAController(t *testing.T, o cluster.HPAControllerOptions) {
	t.Helper()
	if o.SyncPeriod == 0 {
		o.SyncPeriod = 2 * time.Second
	}
	if err := s.Env.Cluster.StartHPAController(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Env.Cluster.StopComponent(cluster.HPAControllerName); err != nil {
			t.Errorf("stop the HPA controller: %v", err)
		}
	})
}

// topLevel is the name of t's top-level test (subtests share its namespaces
// and its phase).
func topLevel(t *testing.T) string {
	name, _, _ := strings.Cut(t.Name(), "/")
	return name
}
