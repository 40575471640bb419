//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// Timing bounds of the CPU scenarios: metrics-server's resolution, ebb's
// sync period (policy) and slack for kwok, the load driver and scheduling.
const (
	metricResolution = 10 * time.Second
	syncPeriod       = 2 * time.Second
	slack            = 8 * time.Second
	downWindow       = 30 * time.Second
)

// TestEbbCPUScaleUpDown: 2 pods at 50% of a 50% target; a total load of
// 300m wants 6 pods. The scaleUp policy (2 pods per 20 s) makes the first
// step 2 → 4 within one metric resolution + one sync period of
// metrics.k8s.io showing the load, and 4 → 6 no earlier than 20 s later.
// Load down to 90m wants 2 pods: nothing happens before the 30 s
// scale-down stabilization window, then it scales down.
func TestEbbCPUScaleUpDown(t *testing.T) {
	const ns, name = "ebb-cpu", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	behavior := `    behavior:
      scaleUp:
        stabilizationWindowSeconds: 0
        policies: [{type: Pods, value: 2, periodSeconds: 20}]
      scaleDown:
        stabilizationWindowSeconds: 30
        policies: [{type: Percent, value: 100, periodSeconds: 15}]
`
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, behavior))
	ebb := startEbb(t, s, o, "")
	watch := watchReplicas(t, s, ns, name)
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_current_replicas", target, "= 2", func(v float64) bool { return v == 2 }, 30*time.Second)
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 2 (at target)", func(v float64) bool { return v == 2 }, 30*time.Second)

	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300) // 150m per pod = 150%
	defer load.Stop()
	seen := waitCPUSeen(t, s, w, watch, 100, 60*time.Second)
	at4, err := watch.WaitFor(ctx, 4, metricResolution+syncPeriod+slack-time.Since(seen))
	if err != nil {
		t.Fatalf("scale-up after metrics.k8s.io showed the load: %v", err)
	}
	t.Logf("2 → 4 %.1fs after metrics.k8s.io showed the load", at4.Sub(seen).Seconds())
	at6, err := watch.WaitFor(ctx, 6, 20*time.Second+metricResolution+syncPeriod+slack+slack)
	if err != nil {
		t.Fatal(err)
	}
	ch := watch.Changes()
	if len(ch) < 3 || ch[1].Replicas != 4 || ch[2].Replicas != 6 {
		t.Fatalf("replicas went %s, want 2 → 4 → 6 (scaleUp policy: 2 pods per 20s)", watch)
	}
	if d := at6.Sub(at4); d < 19*time.Second {
		t.Fatalf("4 → 6 came %s after 2 → 4, want >= 20s (scaleUp policy period): %s", d, watch)
	}
	// Stable at 6 (50% each): one more metric resolution without change.
	stableUntil := time.Now().Add(metricResolution + syncPeriod)
	for time.Now().Before(stableUntil) {
		if c := watch.Current(); c != 6 {
			t.Fatalf("at target, replicas moved to %d: %s", c, watch)
		}
		time.Sleep(250 * time.Millisecond)
	}

	load.Set(90) // 15m per pod at 6 pods (30%): wants ceil(90/50) = 2
	lowered := time.Now()
	atDown, err := waitBelow(ctx, watch, 6, downWindow+metricResolution+syncPeriod+slack+slack)
	if err != nil {
		t.Fatal(err)
	}
	if d := atDown.Sub(lowered); d < downWindow {
		t.Fatalf("scale-down %s after the load fell, inside the %s stabilization window: %s", d.Round(100*time.Millisecond), downWindow, watch)
	}
	// kwok's CPU is a rate over metrics-server's resolution, so the fall is
	// seen in steps and the window releases them in steps too: the first
	// step may stop above 2. ebb must by then recommend 2.
	if c := watch.Current(); c < 2 || c > 5 {
		t.Fatalf("scale-down went to %d, want within [2, 5]: %s", c, watch)
	}
	ebb.waitMetric(t, "ebb_recommended_replicas", target, "= 2 at the low load", func(v float64) bool { return v == 2 }, 10*time.Second)
	t.Logf("replicas: %s; scale-down %.1fs after the load fell", watch, atDown.Sub(lowered).Seconds())
}

// waitCPUSeen waits until metrics.k8s.io shows at least milli per pod for
// the workload's first pods, or ebb already scaled (it saw it first), and
// returns when.
func waitCPUSeen(t *testing.T, s *Suite, w harness.Workload, watch *harness.ReplicaWatcher, milli int64, timeout time.Duration) time.Time {
	t.Helper()
	start := watch.Current()
	pods, err := s.Env.ReadyPods(context.Background(), w.Namespace, w.Selector())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Env.Cluster.PrimeKwok(context.Background()); err != nil {
		t.Fatal(err)
	}
	err = harness.Eventually(context.Background(), fmt.Sprintf("metrics.k8s.io shows >= %dm per pod", milli), timeout, 250*time.Millisecond, func(ctx context.Context) error {
		if watch.Current() != start {
			return nil
		}
		got, err := s.Env.PodCPU(ctx, w.Namespace, w.Selector())
		if err != nil {
			return err
		}
		for _, p := range pods {
			if got[p] < milli {
				return fmt.Errorf("pod CPU %v", got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// waitBelow waits until the watcher sees a change to a value below n after
// having seen n or more, and returns when.
func waitBelow(ctx context.Context, w *harness.ReplicaWatcher, n int64, timeout time.Duration) (time.Time, error) {
	var at time.Time
	err := harness.Eventually(ctx, fmt.Sprintf("spec.replicas below %d", n), timeout, 100*time.Millisecond, func(context.Context) error {
		reached := false
		for _, c := range w.Changes() {
			reached = reached || c.Replicas >= n
			if reached && c.Replicas < n {
				at = c.At
				return nil
			}
		}
		return fmt.Errorf("seen %s", w)
	})
	return at, err
}
