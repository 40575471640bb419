//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/backtest"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbBacktest: a Deployment of 2 pods (100m requested, 50m used each)
// that nothing scales sees a real load change, 100m → 600m in total, for
// 90 s. `ebb backtest` (the namespace-scoped identity, the cluster's
// Prometheus from the policy) then reconstructs from the kubelet's
// container_cpu_usage_seconds_total: the demand (≈ 0.1 then 0.6 cores), the
// actual run (2 pods all along, under-provisioned while 600m met 200m of
// requests) and the policy's replay (it scales up to its maximum), and the
// container's vertical recommendation beside its 100m request.
func TestEbbBacktest(t *testing.T) {
	const ns, name = "ebb-backtest", "web"
	s := setupLongWait(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, fmt.Sprintf(`prometheus:
  url: %s
  timeout: 5s
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
  horizontal:
    minReplicas: 2
    maxReplicas: 8
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`, s.Env.Cluster.PrometheusURL(), name))
	start := time.Now().Truncate(10 * time.Second)
	time.Sleep(60 * time.Second) // 2 x 50m
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 600)
	defer load.Stop()
	pods, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitPodCPU(ctx, ns, w.Selector(), pods, harness.Within(300, 30), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(90 * time.Second)
	end := time.Now().Truncate(10 * time.Second)

	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, o.Bin, "backtest", "--kubeconfig", o.Kubeconfig, "--namespace", ns, "--policy", o.Policy,
		"--since", fmt.Sprintf("%ds", int(end.Sub(start).Seconds())), "--until", end.UTC().Format(time.RFC3339),
		"--step", "10s", "--rate-window", "20s", "-o", "json")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("ebb backtest: %v\n%s\n%s", err, stderr, out)
	}
	var res backtest.Result
	if err := json.Unmarshal(out, &res); err != nil || len(res.Targets) != 1 {
		t.Fatalf("output (%v):\n%s", err, out)
	}
	got := res.Targets[0]
	t.Logf("backtest: %s", out)
	if got.Err != "" || got.Signal != "cpu" || got.RequestMillis != 100 || len(got.Replays) != 1 {
		t.Fatalf("target %+v", got)
	}
	a := got.Actual
	// Demand: ≈ 0.1 cores for ~60 s and 0.6 for the rest (ramps, scrape
	// phases and the rate window blur the step: 25 %).
	total := end.Sub(start).Seconds()
	if want := 0.1*60 + 0.6*(total-60); a.DemandCoreSeconds < 0.75*want || a.DemandCoreSeconds > 1.25*want {
		t.Errorf("demand %v core-seconds, want ≈ %v", a.DemandCoreSeconds, want)
	}
	if a.MaxReplicas != 2 || a.UnderProvisionedSeconds < 60 || a.ScaleEvents != 0 {
		t.Errorf("actual %+v: want 2 pods all along, under-provisioned after the change, no scale event", a)
	}
	if r := got.Replays[0]; r.Err != "" || r.Totals.MaxPods != 8 || r.Totals.ScaleUps == 0 {
		t.Errorf("policy replay %+v: want a scale-up to the maximum, 8", r)
	}
	if cs := got.Containers; len(cs) != 1 || cs[0].CurrentCPUMillis != 100 || cs[0].RecommendedCPUMillis <= 100 {
		t.Errorf("containers %+v: want the 100m request and a recommendation above it", cs)
	}
}
