//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbSIGKILLInsideWindow: scaled to 6 under load, the load falls (wants
// 2) and ebb starts recommending 2 while the 30 s scale-down window holds 6.
// ebb is SIGKILLed 15 s later and restarted. The restarted ebb must neither
// scale down before the window that began before the kill has passed, nor
// restart the window from its own start (it reads the ebb-state-* ConfigMaps):
// the scale-down lands inside [load fell + 30 s, first recommendation of 2
// + 30 s + slack], before restart + 30 s.
func TestEbbSIGKILLInsideWindow(t *testing.T) {
	const ns, name = "ebb-restart", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 6, 50, ""))
	watch := watchReplicas(t, s, ns, name)
	first := startEbb(t, s, o, "1")
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	if _, err := watch.WaitFor(ctx, 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 6, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	first.waitMetric(t, "ebb_recommended_replicas", target, "= 6 at 6 pods", func(v float64) bool { return v == 6 }, 30*time.Second)

	load.Set(90) // wants ceil(90/50) = 2
	lowered := time.Now()
	first.waitMetric(t, "ebb_recommended_replicas", target, "= 2 after the load fell", func(v float64) bool { return v == 2 }, 30*time.Second)
	rec2 := time.Now()
	if c := watch.Current(); c != 6 {
		t.Fatalf("scaled to %d as soon as the load fell (window 30s): %s", c, watch)
	}
	shards, err := s.Env.Kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: "ebb.io/state=ebb-state"})
	if err != nil {
		t.Fatalf("state ConfigMaps: %v", err)
	}
	var stored []string
	for _, cm := range shards.Items {
		stored = append(stored, keys(cm.Data)...)
	}
	if !slices.Contains(stored, "Deployment."+name) {
		t.Fatalf("the ebb-state-* ConfigMaps have keys %v, want Deployment.%s", stored, name)
	}

	time.Sleep(time.Until(rec2.Add(15 * time.Second)))
	if err := first.SIGKILL(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	startEbb(t, s, o, "2")
	atDown, err := waitBelow(ctx, watch, 6, 45*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load fell +0s, ebb recommended 2 +%.1fs, SIGKILL+restart +%.1fs, scale-down +%.1fs: %s",
		rec2.Sub(lowered).Seconds(), restarted.Sub(lowered).Seconds(), atDown.Sub(lowered).Seconds(), watch)
	if atDown.Sub(lowered) < downWindow {
		t.Fatalf("scale-down %.1fs after the load fell: inside the 30s window", atDown.Sub(lowered).Seconds())
	}
	if late := rec2.Add(downWindow + syncPeriod + 5*time.Second); atDown.After(late) {
		t.Fatalf("scale-down %.1fs after the restart: the window restarted instead of being restored from ebb-state-*",
			atDown.Sub(restarted).Seconds())
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEbbMetricsServerDown: at 2 pods and target, metrics-server is stopped
// and the load rises (would want 6). ebb holds (no scale change while
// several passes count missing metrics, a Warning Event), and scales up
// (2 → 4, the legacy scale-up limit) once metrics-server is back.
func TestEbbMetricsServerDown(t *testing.T) {
	const ns, name = "ebb-ms-down", "web"
	s := setupOwnCluster(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, ""))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 2", func(v float64) bool { return v == 2 }, 30*time.Second)

	if err := s.Env.Cluster.StopComponent("metrics-server"); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = s.Env.Cluster.StartComponent(context.Background(), "metrics-server")
		}
	})
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	missing0, _, _ := ebb.MetricValue(ctx, "ebb_missing_metrics_total", target)
	ebb.waitMetric(t, "ebb_missing_metrics_total", target, "+3 held passes", func(v float64) bool { return v >= missing0+3 }, 40*time.Second)
	eventsMention(t, s, ns, "Deployment", name, "FailedGetResourceMetric", "", 10*time.Second)
	if ch := watch.Changes(); len(ch) != 1 {
		t.Fatalf("scale changed without metrics: %s", watch)
	}
	if _, found, _ := ebb.MetricValue(ctx, "ebb_metric_value", target); found {
		t.Errorf("ebb_metric_value still exported while metrics are missing (missing is not zero)")
	}

	if err := s.Env.Cluster.StartComponent(ctx, "metrics-server"); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := s.Env.Cluster.PrimeKwok(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := watch.WaitFor(ctx, 4, 90*time.Second); err != nil {
		t.Fatalf("after metrics-server came back: %v", err)
	}
}

// TestEbbPrometheusDown: a Pods metric from Prometheus at target (2 pods at
// 10/s each); Prometheus is stopped and the load rises to 60/s (would want
// 6). ebb holds while the Prometheus source fails, then scales to 6 once
// Prometheus is back.
func TestEbbPrometheusDown(t *testing.T) {
	const ns, name = "ebb-prom-down", "api"
	s := setupOwnCluster(t, ns)
	ctx := context.Background()
	_, load := requestWorkload(t, s, ns, name, 2, 20)
	o := ebbSetup(t, s, ns, requestsPolicy(s, "apply", name, 10))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	metric := map[string]string{"namespace": ns, "target": "Deployment/" + name, "metric": "Pods/http_requests"}
	ebb.waitMetric(t, "ebb_metric_value", metric, "≈ 10/s per pod", func(v float64) bool { return v >= 9 && v <= 11 }, 60*time.Second)

	if err := s.Env.Cluster.StopComponent("prometheus"); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = s.Env.Cluster.StartComponent(context.Background(), "prometheus")
		}
	})
	load.Set(60)
	missing0, _, _ := ebb.MetricValue(ctx, "ebb_missing_metrics_total", target)
	ebb.waitMetric(t, "ebb_missing_metrics_total", target, "+3 held passes", func(v float64) bool { return v >= missing0+3 }, 40*time.Second)
	ebb.waitMetric(t, "ebb_source_errors_total", map[string]string{"source": "prometheus"}, "> 0", func(v float64) bool { return v > 0 }, 5*time.Second)
	eventsMention(t, s, ns, "Deployment", name, "FailedGetPodsMetric", "", 10*time.Second)
	if ch := watch.Changes(); len(ch) != 1 {
		t.Fatalf("scale changed without Prometheus: %s", watch)
	}

	if err := s.Env.Cluster.StartComponent(ctx, "prometheus"); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if _, err := watch.WaitFor(ctx, 6, 60*time.Second); err != nil {
		t.Fatalf("after Prometheus came back: %v", err)
	}
}

// TestEbbLeaderElection: two ebb replicas with --leader-elect on one Lease.
// Exactly one is leader and only it actuates (2 → 4 under load); the
// standby patches nothing. After the leader is SIGKILLed (no Lease release)
// the standby takes over within the lease duration; the scale is then reset
// to 2 by hand and the new leader scales it up again.
func TestEbbLeaderElection(t *testing.T) {
	const ns, name = "ebb-leader", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, ""))
	o.LeaderElect = true
	a := startEbb(t, s, withIdentity(o, "a"), "a")
	b := startEbb(t, s, withIdentity(o, "b"), "b")
	leader, standby := whoLeads(t, a, b)
	// A standby is ready once its informers synced and its policy loaded
	// (it only just started: ebb_leader is set before that).
	if err := harness.Eventually(ctx, "standby /readyz", 20*time.Second, 250*time.Millisecond, standby.Ready); err != nil {
		t.Error(err)
	}
	watch := watchReplicas(t, s, ns, name)
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	// The leader scales up: to 4 (the legacy first step max(2×2, 4)) or,
	// when a pass sees the load on one pod before the other, to 3 then 6.
	if _, err := watch.WaitAtLeast(ctx, 4, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	applied := map[string]string{"namespace": ns, "dry_run": "false", "result": "success"}
	leader.waitMetric(t, "ebb_actuations_total", applied, ">= 1 on the leader", func(v float64) bool { return v >= 1 }, 10*time.Second)
	if v, found, err := standby.MetricValue(ctx, "ebb_actuations_total", map[string]string{"namespace": ns}); err != nil || (found && v != 0) {
		t.Fatalf("standby actuations = %v (found %v, err %v), want none", v, found, err)
	}

	if err := leader.SIGKILL(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	standby.waitMetric(t, "ebb_leader", nil, "= 1 after the leader died", func(v float64) bool { return v == 1 }, 30*time.Second)
	t.Logf("standby took over %.1fs after SIGKILL", time.Since(killed).Seconds())
	if err := s.Env.SetScale(ctx, harness.DeploymentsGVR, ns, name, 2); err != nil {
		t.Fatal(err)
	}
	again := watchReplicas(t, s, ns, name)
	if err := harness.Eventually(ctx, "new leader scales up from 2", 60*time.Second, 250*time.Millisecond, func(context.Context) error {
		if c := again.Current(); c <= 2 {
			return fmt.Errorf("replicas %s", again)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	standby.waitMetric(t, "ebb_actuations_total", applied, ">= 1 on the new leader", func(v float64) bool { return v >= 1 }, 10*time.Second)
}

func withIdentity(o harness.EbbOptions, id string) harness.EbbOptions {
	o.ExtraArgs = append(append([]string(nil), o.ExtraArgs...), "--identity", "ebb-"+id)
	return o
}

// TestEbbAPIServerRestart: kube-apiserver is stopped and started again under
// a running ebb (at target, 2 pods). ebb must survive, its informers must
// recover (it sees the new pods of the Deployment it scales), and a load
// arriving after the restart is acted on: 2 → 4.
func TestEbbAPIServerRestart(t *testing.T) {
	const ns, name = "ebb-apiserver", "web"
	s := setupOwnCluster(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, ""))
	ebb := startEbb(t, s, o, "")
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 2", func(v float64) bool { return v == 2 }, 30*time.Second)

	if err := s.Env.Cluster.StopComponent("kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	if err := s.Env.Cluster.StartComponent(ctx, "kube-apiserver"); err != nil {
		t.Fatal(err)
	}
	if !ebb.Alive() {
		t.Fatal("ebb exited while kube-apiserver restarted")
	}
	if _, err := s.Env.WaitPodCPU(ctx, ns, w.Selector(), mustReadyPods(t, s, w, 2), harness.Within(50, 5), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	watch := watchReplicas(t, s, ns, name)
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	// ebb scales up: to 4 (the first step) or, when a pass sees the load on
	// one pod before the other, to 3 then 6.
	up, err := watch.WaitAtLeast(ctx, 4, 60*time.Second)
	if err != nil {
		t.Fatalf("after the kube-apiserver restart: %v", err)
	}
	// The pod informer recovered: ebb counts the pods it created.
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), int(up.Replicas), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	ebb.waitMetric(t, "ebb_current_replicas", target, fmt.Sprintf(">= %d", up.Replicas),
		func(v float64) bool { return v >= float64(up.Replicas) }, 30*time.Second)
	if !ebb.Alive() {
		t.Fatal("ebb exited")
	}
}

func mustReadyPods(t *testing.T, s *Suite, w harness.Workload, n int) []string {
	t.Helper()
	pods, err := s.Env.WaitReadyPods(context.Background(), w.Namespace, w.Selector(), n, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return pods
}
