//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// requestsPolicy scales Deployment name on a Pods metric http_requests read
// from Prometheus (per-pod irate of the load app's counter), target 10/s.
// A 10 s scale-up window (the minimum recommendation of the last 10 s wins)
// rides out the pass or two after a resize in which the old pods' irate
// still shows the old share; without it a 2 → 4 step was seen to overshoot
// to 7 on the next pass. The default scale-up policies (max of 100% and 4
// pods per 15 s) allow 2 → 6 in one step.
func requestsPolicy(s *Suite, mode, name string, maxR int) string {
	return fmt.Sprintf(`defaults:
  mode: %s
  syncPeriod: 2s
  initialReadinessDelay: 0s
  downscaleStabilization: 30s
prometheus:
  url: %s
  timeout: 3s
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
  horizontal:
    minReplicas: 2
    maxReplicas: %d
    behavior:
      scaleUp:
        stabilizationWindowSeconds: 10
    metrics:
    - type: Pods
      pods:
        metric: {name: http_requests}
        target: {type: AverageValue, averageValue: "10"}
  queries:
    http_requests: 'sum by (pod) (irate(http_requests_total{namespace="{{.Namespace}}", pod=~"{{.PodRegex}}"}[10s]))'
`, mode, s.Env.Cluster.PrometheusURL(), name, maxR)
}

// requestWorkload creates a Deployment of n pods, a load app and a request
// driver spreading total requests/s over the ready pods (closed loop).
func requestWorkload(t *testing.T, s *Suite, ns, name string, n int, total float64) (harness.Workload, *harness.Driver) {
	t.Helper()
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: name, Replicas: int32(n)}
	if _, err := s.Env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), n, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	app, err := s.Env.StartLoadApp()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	d := s.Env.RequestLoad(ctx, app, ns, w.Selector(), total)
	t.Cleanup(d.Stop)
	return w, d
}

// TestEbbPrometheusPodsMetric: 60 requests/s over 2 pods (30/s each) against
// a 10/s per-pod target: ebb reads the Pods metric through its PromQL
// template and scales to exactly 6, where each pod gets 10/s, and stays.
func TestEbbPrometheusPodsMetric(t *testing.T) {
	const ns, name = "ebb-prom", "api"
	s := setup(t, ns)
	ctx := context.Background()
	requestWorkload(t, s, ns, name, 2, 60)
	o := ebbSetup(t, s, ns, requestsPolicy(s, "apply", name, 10))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")

	target := map[string]string{"namespace": ns, "target": "Deployment/" + name, "metric": "Pods/http_requests"}
	ebb.waitMetric(t, "ebb_metric_value", target, "≈ 30/s per pod before scaling", func(v float64) bool { return v >= 27 && v <= 33 }, 60*time.Second)
	if _, err := watch.WaitFor(ctx, 6, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if ch := watch.Changes(); ch[1].Replicas != 6 {
		t.Fatalf("replicas went %s, want 2 → 6 in one step", watch)
	}
	ebb.waitMetric(t, "ebb_metric_value", target, "≈ 10/s per pod at 6 pods", func(v float64) bool { return v >= 9 && v <= 11 }, 30*time.Second)
	// Settled: 6 pods at 10/s each for a few passes, never above 6.
	stable := time.Now().Add(5 * syncPeriod)
	for time.Now().Before(stable) {
		if c := watch.Current(); c != 6 {
			t.Fatalf("at target, replicas moved to %d: %s", c, watch)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, c := range watch.Changes() {
		if c.Replicas > 6 {
			t.Fatalf("overshoot above 6: %s", watch)
		}
	}
	t.Logf("replicas: %s", watch)
}

// TestEbbPrometheusNaN: a target with two metrics, CPU and an External
// metric whose query returns NaN. The NaN is bad data, never a number: it
// is counted as a Prometheus bad_data error, exported as no value and shown
// as the metric's error in the report, while the valid CPU metric (wanting
// a scale-up) still scales 2 → 4, as the HPA does when only some metrics
// fail and the rest would scale up.
func TestEbbPrometheusNaN(t *testing.T) {
	const ns, name = "ebb-nan", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, fmt.Sprintf(`defaults:
  mode: apply
  syncPeriod: 2s
  downscaleStabilization: 30s
prometheus:
  url: %s
  timeout: 3s
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
  horizontal:
    minReplicas: 2
    maxReplicas: 8
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
    - type: External
      external:
        metric: {name: broken}
        target: {type: Value, value: "1"}
  queries:
    broken: 'vector(0) / 0'
`, s.Env.Cluster.PrometheusURL(), name))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	ebb.waitMetric(t, "ebb_source_errors_total", map[string]string{"source": "prometheus", "kind": "bad_data"}, "> 0",
		func(v float64) bool { return v > 0 }, 30*time.Second)
	if ch := watch.Changes(); len(ch) != 1 {
		t.Fatalf("scaled at target with one NaN metric: %s", watch)
	}
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	if _, err := watch.WaitFor(ctx, 4, 60*time.Second); err != nil {
		t.Fatalf("the valid CPU metric should still scale up: %v", err)
	}
	if v, found, err := ebb.MetricValue(ctx, "ebb_metric_value", map[string]string{"namespace": ns, "metric": "External/broken"}); err != nil || found {
		t.Errorf("ebb_metric_value{metric=External/broken} = %v (found %v, err %v), want no series for NaN", v, found, err)
	}
	out, err := harness.EbbReport(ctx, o, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "External/broken") || !strings.Contains(strings.ToLower(out), "nan") {
		t.Errorf("report does not show the NaN metric's error:\n%s", out)
	}
}
