//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// dashboardsPolicy exercises every dashboard panel with three targets:
//   - web (apply): CPU at 50% utilization, 2..4 replicas, a 30 s scale-down
//     window (applied dry_run="false", actuations, stabilization down), and
//     the proactive mode in forecast-only (the forecast panels; decisions
//     stay reactive);
//   - dry (dry-run): the same metric (applied dry_run="true");
//   - ghost: an External metric whose PromQL selects a series nobody
//     exports, so every pass is a Prometheus no_data error and a
//     missing-metrics hold;
//   - shadowed: no policy target but an HPA (shadowHPAs: true), so ebb
//     shadows it and exports ebb_hpa_desired_replicas beside its own
//     desired replicas ("HPA vs ebb" panel).
//
// Vertical sections are left out: the default vertical mode (recommend)
// exports ebb_vertical_* for every target. dryMax differs between the
// policy written at start and its rewrite (a successful reload).
func dashboardsPolicy(s *Suite, dryMax int) string {
	return fmt.Sprintf(`shadowHPAs: true
defaults:
  mode: apply
  syncPeriod: 2s
  downscaleStabilization: 30s
prometheus:
  url: %s
  timeout: 3s
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    minReplicas: 2
    maxReplicas: 4
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
    proactive: {mode: forecast-only, minHistory: 0s}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: dry}
  mode: dry-run
  horizontal:
    minReplicas: 2
    maxReplicas: %d
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: ghost}
  horizontal:
    minReplicas: 1
    maxReplicas: 3
    metrics:
    - type: External
      external:
        metric: {name: absent}
        target: {type: Value, value: "1"}
  queries:
    absent: 'ebb_e2e_no_such_series{namespace="{{.Namespace}}"}'
`, s.Env.Cluster.PrometheusURL(), dryMax)
}

// promCheck is one PromQL expression that must return data.
type promCheck struct {
	what string // where it comes from, for the failure message
	expr string // variables substituted
}

// TestDashboardQueriesReturnData: one ebb, registered as a Prometheus
// scrape target, runs a policy that exercises every panel (see
// dashboardsPolicy; the web target scales 2 → 4 under load, then its load
// drops inside the scale-down window; the policy file is rewritten once).
// Every panel query of deploy/grafana/overview.json and vertical.json, with
// the dashboard variables set to this namespace and all targets/containers,
// must then return a non-empty instant result from the real Prometheus, as
// must the scenario-specific series the panels are meant to show.
func TestDashboardQueriesReturnData(t *testing.T) {
	const ns = "ebb-dashboards"
	s := setup(t, ns)
	ctx := context.Background()
	checks := dashboardChecks(t, s, ns)
	web := cpuWorkload(t, s, ns, "web", 2)
	dry := cpuWorkload(t, s, ns, "dry", 2)
	ghost := harness.Workload{Namespace: ns, Name: "ghost", Replicas: 1}
	if _, err := s.Env.CreateDeployment(ctx, ghost); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitReadyPods(ctx, ns, ghost.Selector(), 1, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	cpuWorkload(t, s, ns, "shadowed", 2)
	shadowedHPA(t, s, ns, "shadowed", 3)

	o := ebbSetup(t, s, ns, dashboardsPolicy(s, 8))
	o.ExtraArgs = []string{"--policy-interval", "1s"}
	watch := watchReplicas(t, s, ns, "web")
	ebb := startRegisteredEbb(t, s, o)
	checks = append(checks, instanceChecks(ebb.MetricsAddr)...)
	webLoad := s.Env.CPULoad(ctx, ns, web.Selector(), 300) // 150% of request per pod: wants 6, max 4
	defer webLoad.Stop()
	dryLoad := s.Env.CPULoad(ctx, ns, dry.Selector(), 300)
	defer dryLoad.Stop()

	if err := os.WriteFile(o.Policy, []byte(dashboardsPolicy(s, 9)), 0o644); err != nil {
		t.Fatal(err)
	}
	ebb.waitMetric(t, "ebb_policy_reloads_total", map[string]string{"result": "success"}, "> 0 after the rewrite",
		func(v float64) bool { return v > 0 }, 20*time.Second)
	if _, err := watch.WaitFor(ctx, 4, 60*time.Second); err != nil {
		t.Fatalf("web did not scale up under load: %v", err)
	}
	webLoad.Set(40) // 10m per pod at 4 pods (10%): wants 2, held by the 30 s window
	ebb.waitMetric(t, "ebb_stabilized_total", map[string]string{"namespace": ns, "target": "Deployment/web", "direction": "down"},
		"> 0 after the load drop", func(v float64) bool { return v > 0 }, 60*time.Second)

	polled := time.Now()
	if missing := waitPromData(t, s, ns, checks, 90*time.Second); len(missing) > 0 {
		t.Fatalf("%d of %d expressions never returned data from Prometheus:\n%s", len(missing), len(checks), strings.Join(missing, "\n"))
	}
	t.Logf("all %d expressions returned data within %.1fs of polling; web replicas: %s",
		len(checks), time.Since(polled).Seconds(), watch)
}

// shadowedHPA creates an HPA for Deployment name (CPU at 50%, 1..4) and
// writes the status kube-controller-manager's HPA controller would
// (desiredReplicas): that controller runs only in tests running alone, so
// in the parallel phase the status stays as written and nothing scales.
func shadowedHPA(t *testing.T, s *Suite, ns, name string, desired int32) {
	t.Helper()
	ctx := context.Background()
	minR, util := int32(1), int32(50)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &minR, MaxReplicas: 4,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		},
	}
	created, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status = autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: desired}
	if _, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// dashboardChecks returns every panel query of both dashboards with the
// variables substituted ($namespace: this namespace; $target, $container:
// all), plus the series this scenario must produce in particular.
func dashboardChecks(t *testing.T, s *Suite, ns string) []promCheck {
	t.Helper()
	vars := map[string]string{
		"datasource": "prometheus", "namespace": ns, "target": ".*", "container": ".*",
		"__rate_interval": "30s", "__interval": "10s", "__range": "5m",
	}
	var checks []promCheck
	for _, file := range []string{"overview.json", "vertical.json"} {
		exprs, err := harness.DashboardExprs(filepath.Join(s.RepoRoot, "deploy", "grafana", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range exprs {
			q, err := harness.SubstituteVars(e.Expr, vars)
			if err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			checks = append(checks, promCheck{what: e.String(), expr: q})
		}
	}
	scenario := map[string]string{
		"web applied":           `ebb_applied_replicas{namespace="%s", target="Deployment/web", dry_run="false"} == 4`,
		"dry applied (dry-run)": `ebb_applied_replicas{namespace="%s", target="Deployment/dry", dry_run="true"}`,
		"web actuations":        `ebb_actuations_total{namespace="%s", target="Deployment/web", result="success", dry_run="false"} > 0`,
		"dry actuations":        `ebb_actuations_total{namespace="%s", target="Deployment/dry", dry_run="true"} > 0`,
		"web held down":         `ebb_stabilized_total{namespace="%s", target="Deployment/web", direction="down"} > 0`,
		"ghost missing metrics": `ebb_missing_metrics_total{namespace="%s", target="Deployment/ghost"} > 0`,
		"web vertical cpu":      `ebb_vertical_recommendation_cpu_cores{namespace="%s", target="Deployment/web", container="app", bound="target"} > 0`,
		"shadowed HPA desired":  `ebb_hpa_desired_replicas{namespace="%s", target="Deployment/shadowed"} == 3`,
	}
	for what, f := range scenario {
		checks = append(checks, promCheck{what: "scenario: " + what, expr: fmt.Sprintf(f, ns)})
	}
	return checks
}

// instanceChecks are the scenario series that may carry no namespace label:
// other tests' ebbs are scraped at the same time, so they are selected by
// this ebb's instance (its metrics address).
func instanceChecks(instance string) []promCheck {
	return []promCheck{
		{what: "scenario: ghost no_data", expr: fmt.Sprintf(`ebb_source_errors_total{instance=%q, source="prometheus", kind="no_data"} > 0`, instance)},
		{what: "scenario: reload", expr: fmt.Sprintf(`ebb_policy_reloads_total{instance=%q, result="success"} > 0`, instance)},
		{what: "scenario: leader", expr: fmt.Sprintf(`ebb_leader{instance=%q} == 1`, instance)},
	}
}

// startRegisteredEbb runs `ebb run` with o registered as one of Prometheus'
// ebb scrape targets (2 s scrapes, instance = its metrics address), waits for its /metrics and stops it when the
// test ends.
func startRegisteredEbb(t *testing.T, s *Suite, o harness.EbbOptions) *ebbRun {
	t.Helper()
	b, err := s.Env.StartEbb(o, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of %s:\n%s", b.Log, b.LogTail(40))
		}
		_ = b.Terminate(5 * time.Second)
	})
	if err := b.WaitMetrics(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return &ebbRun{Ebb: b, opts: o}
}

// waitPromData polls Prometheus (instant queries) until every check has
// returned data or timeout passes; it returns the checks that never did,
// each with the last reason.
func waitPromData(t *testing.T, s *Suite, ns string, checks []promCheck, timeout time.Duration) []string {
	t.Helper()
	api, err := s.Env.Prometheus()
	if err != nil {
		t.Fatal(err)
	}
	pending := map[int]string{}
	for i := range checks {
		pending[i] = "not queried"
	}
	deadline := time.Now().Add(timeout)
	for len(pending) > 0 && time.Now().Before(deadline) {
		for i := range pending {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			v, _, _, err := api.Query(ctx, checks[i].expr, time.Now())
			cancel()
			if err == nil {
				err = hasData(v, ns)
			}
			if err != nil {
				pending[i] = err.Error()
				continue
			}
			delete(pending, i)
		}
		if len(pending) > 0 {
			time.Sleep(2 * time.Second)
		}
	}
	var missing []string
	for i, c := range checks {
		if why, ok := pending[i]; ok {
			missing = append(missing, fmt.Sprintf("  %s: %s\n    %s", c.what, why, c.expr))
		}
	}
	return missing
}

// hasData accepts a non-empty instant vector; when its samples carry a
// namespace label, one of them must be ns (a stale series of an earlier
// test's ebb is not this run's data).
func hasData(v model.Value, ns string) error {
	vec, ok := v.(model.Vector)
	if !ok {
		return fmt.Errorf("result is a %s, want an instant vector", v.Type())
	}
	if len(vec) == 0 {
		return fmt.Errorf("empty result")
	}
	for _, smp := range vec {
		if got, has := smp.Metric["namespace"]; !has || string(got) == ns {
			return nil
		}
	}
	return fmt.Errorf("only other namespaces: %s", vec)
}
