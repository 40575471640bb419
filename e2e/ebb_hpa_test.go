//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbHPAConflict: an autoscaling/v2 HPA targets the Deployment (kcm's HPA
// controller is off, so only ebb could write). ebb in apply mode computes 4
// (legacy scale-up limit) under load but must not actuate: spec.replicas stays 2, the patch goes
// through the dry-run path (metric, DryRun Event) and the report names
// HPAConflict. Deleting the HPA lets ebb actuate (the refusal was the HPA's).
func TestEbbHPAConflict(t *testing.T) {
	const ns, name = "ebb-hpa", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	minR, util := int32(2), int32(50)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web-hpa", Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &minR, MaxReplicas: 8,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		},
	}
	if _, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, ""))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()

	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	is4 := func(v float64) bool { return v == 4 } // legacy scale-up limit max(2×2, 4)
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 4", is4, 60*time.Second)
	ebb.waitMetric(t, "ebb_applied_replicas", map[string]string{"namespace": ns, "target": "Deployment/" + name, "dry_run": "true"},
		"= 4 (dry-run path)", is4, 10*time.Second)
	eventsMention(t, s, ns, "Deployment", name, "SuccessfulRescale", "DryRun", 20*time.Second)
	eventsMention(t, s, ns, "Deployment", name, "HPAConflict", hpa.Name, 20*time.Second)
	err := harness.Eventually(ctx, "ebb report names HPAConflict", 30*time.Second, time.Second, func(ctx context.Context) error {
		rt, out, err := report(ctx, o, "Deployment", name)
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		if !rt.blockedBy("HPAConflict") {
			return fmt.Errorf("report: %s", out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * syncPeriod)
	if ch := watch.Changes(); len(ch) != 1 || ch[0].Replicas != 2 {
		t.Fatalf("ebb actuated a target an HPA also targets: %s", watch)
	}

	if err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, hpa.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := watch.WaitFor(ctx, 4, 20*time.Second); err != nil {
		t.Fatalf("after the HPA was deleted ebb should actuate: %v", err)
	}
}
