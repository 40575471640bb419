//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbDryRun: the CPU scenario's load (300m over 2 pods of 100m at a 50%
// target: recommended 6; without behavior the HPA's legacy scale-up limit
// max(2×current, 4) makes the desired size 4) with mode dry-run.
// spec.replicas must never change, while /metrics, a DryRun Event and
// `ebb report -o json` show the recommendation.
func TestEbbDryRun(t *testing.T) {
	const ns, name = "ebb-dryrun", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("dry-run", "Deployment", name, 2, 8, 50, ""))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()

	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	is6 := func(v float64) bool { return v == 6 }
	ebb.waitMetric(t, "ebb_recommended_replicas", target, "= 6", is6, 60*time.Second)
	is4 := func(v float64) bool { return v == 4 }
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 4 (legacy scale-up limit)", is4, 10*time.Second)
	ebb.waitMetric(t, "ebb_current_replicas", target, "= 2", func(v float64) bool { return v == 2 }, 10*time.Second)
	dry := map[string]string{"namespace": ns, "target": "Deployment/" + name, "dry_run": "true"}
	ebb.waitMetric(t, "ebb_applied_replicas", dry, "= 4", is4, 10*time.Second)
	if v, found, err := ebb.MetricValue(ctx, "ebb_applied_replicas", map[string]string{"namespace": ns, "dry_run": "false"}); err != nil || found {
		t.Errorf("ebb_applied_replicas{dry_run=false} = %v (found %v, err %v), want no series in dry-run", v, found, err)
	}
	eventsMention(t, s, ns, "Deployment", name, "SuccessfulRescale", "DryRun", 20*time.Second)

	var rt reportTarget
	err := harness.Eventually(ctx, "ebb report shows current 2, recommended 6, desired 4", 30*time.Second, time.Second, func(ctx context.Context) error {
		var out string
		var err error
		if rt, out, err = report(ctx, o, "Deployment", name); err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		if rt.Current == nil || *rt.Current != 2 || rt.Recommended == nil || *rt.Recommended != 6 || rt.Desired == nil || *rt.Desired != 4 || rt.Mode != "dry-run" {
			return fmt.Errorf("report: %s", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A few more passes with the load on: still nothing may change.
	time.Sleep(3 * syncPeriod)
	watch.Stop()
	if ch := watch.Changes(); len(ch) != 1 || ch[0].Replicas != 2 {
		t.Fatalf("dry-run changed spec.replicas: %s", watch)
	}
	if pods, err := s.Env.ReadyPods(ctx, ns, w.Selector()); err != nil || len(pods) != 2 {
		t.Fatalf("dry-run: ready pods %v (err %v), want 2", pods, err)
	}
	// promtool on an ebb with live targets (every per-target series set).
	if err := harness.PromtoolCheckMetrics(ctx, "/usr/bin/promtool", ebb.MetricsAddr); err != nil {
		t.Error(err)
	}
}
