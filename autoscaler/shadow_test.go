package autoscaler

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// cpuHPA is an HPA of Deployment/workload at 50 % CPU whose controller
// decided desired (0: the controller has not processed it yet).
func cpuHPA(name, workload string, maxReplicas, desired int32) *autoscalingv2.HorizontalPodAutoscaler {
	util := int32(50)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: workload},
			MaxReplicas:    maxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		},
	}
	if desired > 0 {
		h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: desired,
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue,
				Reason: "SucceededRescale", Message: "the HPA controller was able to update the target scale"}}}
	}
	return h
}

// summary is what a shadow test checks of a report target.
type summary struct {
	Ref, Mode, Reason string
	Desired           *int32
	HPA               string
	HPADesired        *int32
	Agreement         report.Agreement
	Blocking          []string
}

func summarize(rep report.Report) []summary {
	var out []summary
	for _, t := range rep.Targets {
		s := summary{Ref: t.Ref(), Mode: t.Mode, Reason: t.Reason, Desired: t.Desired, Agreement: t.Agreement()}
		if t.HPA != nil {
			s.HPA, s.HPADesired = t.HPA.Name, t.HPA.Desired
		}
		for _, b := range t.Blocking {
			s.Blocking = append(s.Blocking, b.Reason)
		}
		out = append(out, s)
	}
	return out
}

// TestShadowHPAs: with no policy target every HPA of the namespace is
// shadowed — ebb decides from the HPA's spec on the same metrics, reports
// the HPA's own decision beside it and whether they agree, exports
// ebb_hpa_desired_replicas, and neither patches (not even dry-run) nor
// emits Events.
func TestShadowHPAs(t *testing.T) {
	c := newCluster(t)
	started := time.Now().Add(-time.Hour)
	c.addWorkload(t, "web", 2, 100, started) // 200 % of request... 100m of 100m: 100 % vs 50 % → 4
	c.addWorkload(t, "api", 2, 50, started)  // 50 % vs 50 % → stays 2
	for _, h := range []*autoscalingv2.HorizontalPodAutoscaler{
		cpuHPA("web", "web", 10, 4),
		cpuHPA("api", "api", 10, 3),     // the HPA says 3: ebb differs
		cpuHPA("fresh", "fresh", 10, 0), // not processed yet, and no workload
	} {
		if err := c.hpas.Add(h); err != nil {
			t.Fatal(err)
		}
	}
	shadow, err := policy.ShadowOnly(policy.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	l, rec := c.newLoop(t, loopConfig{shadow: shadow, reg: reg})
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	two, three, four := int32(2), int32(3), int32(4)
	want := []summary{
		{Ref: "Deployment/api", Mode: "dry-run", Reason: "DesiredWithinRange", Desired: &two, HPA: "api", HPADesired: &three, Agreement: report.AgreementDiffers},
		{Ref: "Deployment/fresh", Mode: "dry-run", Reason: "FailedGetScale", HPA: "fresh", Agreement: report.AgreementUnknown, Blocking: []string{"FailedGetScale"}},
		{Ref: "Deployment/web", Mode: "dry-run", Reason: "DesiredWithinRange", Desired: &four, HPA: "web", HPADesired: &four, Agreement: report.AgreementAgrees},
	}
	if diff := cmp.Diff(want, summarize(rep)); diff != "" {
		t.Errorf("shadow report (-want +got):\n%s", diff)
	}
	if got := c.scales.updateOptions(); len(got) != 0 {
		t.Errorf("shadow targets sent %d scale updates (%v), want none, not even dry-run", len(got), got)
	}
	if ev := events(rec); len(ev) != 0 {
		t.Errorf("shadow targets emitted Events %q, want none", ev)
	}
	if got := c.replicasOf("web"); got != 2 {
		t.Errorf("web has %d replicas, want the untouched 2", got)
	}
	wantMetrics := `
# HELP ebb_hpa_desired_replicas status.desiredReplicas of the HorizontalPodAutoscaler that targets the workload (shadowed, or in conflict with a target).
# TYPE ebb_hpa_desired_replicas gauge
ebb_hpa_desired_replicas{hpa="api",namespace="shop",target="Deployment/api"} 3
ebb_hpa_desired_replicas{hpa="web",namespace="shop",target="Deployment/web"} 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(wantMetrics), "ebb_hpa_desired_replicas"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(l.m.desired.WithLabelValues(testNS, "Deployment/web")); got != 4 {
		t.Errorf("ebb_desired_replicas of the shadowed web = %v, want 4 beside the HPA's", got)
	}

	// The HPA api goes away: its shadow and its series go with it.
	if err := c.hpas.Delete(cpuHPA("api", "api", 10, 3)); err != nil {
		t.Fatal(err)
	}
	if rep, err = l.Pass(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(rep.Targets); n != 2 {
		t.Errorf("after deleting HPA api: %d targets, want 2", n)
	}
	if n := testutil.CollectAndCount(reg, "ebb_hpa_desired_replicas"); n != 1 {
		t.Errorf("after deleting HPA api: %d ebb_hpa_desired_replicas series, want 1", n)
	}
}

// TestShadowBesidePolicy: a policy target whose workload an HPA scales is
// reported as the policy's (with its HPAConflict, dry-run, and the HPA's
// decision beside it); the other HPAs are shadowed; an HPA whose spec ebb
// cannot compile is reported with the problem instead of failing the pass.
func TestShadowBesidePolicy(t *testing.T) {
	c := newCluster(t)
	started := time.Now().Add(-time.Hour)
	c.addWorkload(t, "web", 2, 100, started)
	c.addWorkload(t, "api", 2, 50, started)
	broken := cpuHPA("broken", "legacy", 0, 0) // maxReplicas 0
	for _, h := range []*autoscalingv2.HorizontalPodAutoscaler{cpuHPA("web", "web", 10, 4), cpuHPA("api", "api", 10, 2), broken} {
		if err := c.hpas.Add(h); err != nil {
			t.Fatal(err)
		}
	}
	compiled, err := policy.Load([]byte(`
shadowHPAs: true
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  mode: apply
  horizontal:
    maxReplicas: 10
    metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}]
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConfigFromPolicy(compiled, testNS)
	l, _ := c.newLoop(t, loopConfig{targets: cfg.Targets, shadow: cfg.Shadow})
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	two, four := int32(2), int32(4)
	want := []summary{
		{Ref: "Deployment/web", Mode: "apply", Reason: "DesiredWithinRange", Desired: &four, HPA: "web", HPADesired: &four,
			Agreement: report.AgreementAgrees, Blocking: []string{"HPAConflict"}},
		{Ref: "Deployment/api", Mode: "dry-run", Reason: "DesiredWithinRange", Desired: &two, HPA: "api", HPADesired: &two, Agreement: report.AgreementAgrees},
		{Ref: "Deployment/legacy", Mode: "dry-run", Reason: "InvalidHPASpec", HPA: "broken", Agreement: report.AgreementUnknown, Blocking: []string{"InvalidHPASpec"}},
	}
	if diff := cmp.Diff(want, summarize(rep)); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if msg := rep.Targets[2].Blocking[0].Message; !strings.Contains(msg, "HorizontalPodAutoscaler broken: spec.maxReplicas: must be set") {
		t.Errorf("InvalidHPASpec message = %q, want the HPA's field named", msg)
	}
	// web (apply, but in conflict) is dry-run updated once; api never.
	opts := c.scales.updateOptions()
	if len(opts) != 1 || len(opts[0].DryRun) != 1 {
		t.Errorf("scale updates %+v, want exactly one dry-run update (web's)", opts)
	}
}

func TestHPAStatus(t *testing.T) {
	util, avg := int32(70), resource.MustParse("50")
	h := cpuHPA("web", "web", 10, 5)
	h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
		Metric: autoscalingv2.MetricIdentifier{Name: "rps"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &avg}}})
	cur := resource.MustParse("62500m")
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{
		{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{Name: corev1.ResourceCPU,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: &util, AverageValue: new(resource.MustParse("70m"))}}},
		{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{Metric: autoscalingv2.MetricIdentifier{Name: "rps"},
			Current: autoscalingv2.MetricValueStatus{AverageValue: &cur}}},
	}
	got := hpaStatus(h)
	five := int32(5)
	want := &report.HPA{Name: "web", Desired: &five,
		Conditions: []report.Condition{{Reason: "SucceededRescale", Message: "AbleToScale=True: the HPA controller was able to update the target scale"}},
		Metrics: []report.Metric{
			{Name: "Resource/cpu", TargetType: "Utilization", Target: 50, Utilization: &util, Value: report.Int64(70)},
			{Name: "Pods/rps", TargetType: "AverageValue", Target: 50000, Value: report.Int64(62500)},
		}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hpaStatus (-want +got):\n%s", diff)
	}
	if got := hpaStatus(cpuHPA("new", "x", 3, 0)); got.Desired != nil {
		t.Errorf("an HPA the controller never processed has desired %d, want unknown", *got.Desired)
	}
}
