//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// requireAdapter starts prometheus-adapter (custom.metrics.k8s.io and
// external.metrics.k8s.io behind the aggregation layer) on s's cluster,
// once: on first use, not part of the cluster's bring-up. The shared
// cluster's adapter serves every test on it that reads the metrics APIs.
func (s *Suite) requireAdapter(t *testing.T) {
	t.Helper()
	s.adapterOnce.Do(func() {
		t0 := time.Now()
		s.adapterErr = s.Env.Cluster.StartAdapter(context.Background())
		s.record("prometheus-adapter start", time.Since(t0))
	})
	if s.adapterErr != nil {
		t.Fatal(s.adapterErr)
	}
}

// adapterHPASpec is an autoscaling/v2 HPA spec for Deployment name on the
// adapter's three views of the load app's request rate (e2e/cluster/
// adapter/rules.yaml), each 10 requests/s per replica: the Pods metric per
// pod, the Object metric on the Service named like the Deployment, the
// External metric of the namespace. Short windows keep the test short; the
// 20 s scale-up window rides out the passes right after a resize in which
// the old pods' 10 s rate still shows the old share.
func adapterHPASpec(name string, maxR int) string {
	return fmt.Sprintf(`scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
minReplicas: 2
maxReplicas: %[2]d
behavior:
  scaleUp: {stabilizationWindowSeconds: 20}
  scaleDown: {stabilizationWindowSeconds: 30}
metrics:
- type: Pods
  pods:
    metric: {name: http_requests_per_second}
    target: {type: AverageValue, averageValue: "10"}
- type: Object
  object:
    describedObject: {apiVersion: v1, kind: Service, name: %[1]s}
    metric: {name: http_requests_per_second}
    target: {type: AverageValue, averageValue: "10"}
- type: External
  external:
    metric: {name: http_requests_per_second}
    target: {type: AverageValue, averageValue: "10"}
`, name, maxR)
}

// adapterPolicy pastes spec into a one-target policy with no queries and
// no prometheus section: every metric comes from the metrics APIs.
func adapterPolicy(mode, spec string) string {
	var b strings.Builder
	b.WriteString("defaults:\n  mode: " + mode + "\n  syncPeriod: 2s\n  initialReadinessDelay: 0s\ntargets:\n")
	ref := strings.TrimPrefix(strings.SplitN(spec, "\n", 2)[0], "scaleTargetRef: ")
	fmt.Fprintf(&b, "- scaleTargetRef: %s\n  horizontal:\n", ref)
	for _, l := range strings.Split(strings.TrimSuffix(spec, "\n"), "\n") {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// adapterWorkload creates Deployment name with n pods, its Service and a
// request load of total requests/s spread over the ready pods, and starts
// the adapter.
func adapterWorkload(t *testing.T, s *Suite, ns, name string, n int, total float64) *harness.Driver {
	t.Helper()
	s.requireAdapter(t)
	_, d := requestWorkload(t, s, ns, name, n, total)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := s.Env.Kube.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return d
}

var adapterMetrics = []string{"Pods/http_requests_per_second", "Object/http_requests_per_second", "External/http_requests_per_second"}

// TestEbbMetricsAPIs: a target whose Pods, Object and External metrics have
// no queries reads them from the real prometheus-adapter through the
// aggregation layer, with ebb's namespace-scoped Role (so a Role suffices):
// 60 requests/s over 2 pods is 30 per replica on each of the three metrics,
// ebb scales to exactly 6 (10 per replica) and stays. Then, alone, the
// adapter goes down: the metrics are missing, not zero, so the hold policy
// keeps 6 replicas and says why; the adapter comes back.
func TestEbbMetricsAPIs(t *testing.T) {
	const ns, name = "ebb-adapter", "web"
	s := setupOwnCluster(t, ns)
	ctx := context.Background()
	adapterWorkload(t, s, ns, name, 2, 60)
	o := ebbSetup(t, s, ns, adapterPolicy("apply", adapterHPASpec(name, 10)))
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	// Before scaling each metric is 30 per replica. Under load the poll may
	// see a metric only once ebb has already scaled (the value then no longer
	// 30): that is not a failure, the values at 6 below are the proof.
	for _, m := range adapterMetrics {
		v := ebb.waitMetric(t, "ebb_metric_value", map[string]string{"namespace": ns, "metric": m}, "≈ 30/s per replica before scaling",
			func(v float64) bool { return v >= 26 && v <= 34 || watch.Current() != 2 }, 90*time.Second)
		if v < 26 || v > 34 {
			t.Logf("%s: first seen at %v, after ebb scaled (%s)", m, v, watch)
		}
	}
	if _, err := watch.WaitFor(ctx, 6, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, m := range adapterMetrics {
		ebb.waitMetric(t, "ebb_metric_value", map[string]string{"namespace": ns, "metric": m}, "≈ 10/s per replica at 6",
			func(v float64) bool { return v >= 9 && v <= 11 }, 60*time.Second)
	}
	for _, c := range watch.Changes() {
		if c.Replicas > 6 {
			t.Fatalf("overshoot above 6: %s", watch)
		}
	}

	if err := s.Env.Cluster.StopComponent(cluster.AdapterName); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Env.Cluster.StartAdapter(context.Background()); err != nil {
			t.Errorf("restart prometheus-adapter: %v", err)
		}
	})
	before, _, _ := ebb.MetricValue(ctx, "ebb_missing_metrics_total", map[string]string{"namespace": ns})
	ebb.waitMetric(t, "ebb_missing_metrics_total", map[string]string{"namespace": ns}, "> before the adapter stopped",
		func(v float64) bool { return v >= before+3 }, 90*time.Second)
	if c := watch.Current(); c != 6 {
		t.Fatalf("adapter down: replicas moved to %d, want held at 6: %s", c, watch)
	}
	rt, out, err := report(ctx, o, "Deployment", name)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !rt.blockedBy("MissingMetricsHold") || !strings.Contains(out, "metrics API unavailable") {
		t.Errorf("report does not name the hold on the unavailable metrics API:\n%s", out)
	}
	t.Logf("replicas: %s", watch)
}

// TestEbbMatchesHPAOnMetricsAPIs: kube-controller-manager's HPA controller
// and ebb (dry-run, the same spec pasted into its policy) read the same
// adapter. After the HPA has scaled to the steady load (60 requests/s, 10
// per replica at 6), ebb's desired replicas equal the HPA's
// status.desiredReplicas at every HPA status update the test sees.
func TestEbbMatchesHPAOnMetricsAPIs(t *testing.T) {
	const ns, name = "ebb-adapter-hpa", "api"
	s := setupOwnCluster(t, ns)
	ctx := context.Background()
	adapterWorkload(t, s, ns, name, 2, 60)
	spec := adapterHPASpec(name, 10)
	o := ebbSetup(t, s, ns, adapterPolicy("dry-run", spec))
	watch := watchReplicas(t, s, ns, name)

	s.StartHPAController(t, cluster.HPAControllerOptions{SyncPeriod: 5 * time.Second})
	var hs autoscalingv2.HorizontalPodAutoscalerSpec
	if err := yaml.UnmarshalStrict([]byte(spec), &hs); err != nil {
		t.Fatal(err)
	}
	hpas := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns)
	if _, err := hpas.Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: hs}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ebb := startEbb(t, s, o, "")
	if _, err := watch.WaitFor(ctx, 6, 120*time.Second); err != nil {
		t.Fatalf("the HPA should scale to 6: %v", err)
	}
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 6 once settled", func(v float64) bool { return v == 6 }, 60*time.Second)
	// Steady means every pod's rate is in the adapter's answer over a whole
	// rate window (10 s): right after the resize the new pods' series appear
	// one by one, and two readers a few seconds apart average over
	// different pod sets.
	if err := harness.Eventually(ctx, "the adapter serves the Pods metric of 6 pods", 60*time.Second, time.Second, func(ctx context.Context) error {
		n, err := adapterPodSamples(ctx, s, ns, "http_requests_per_second")
		if err == nil && n != 6 {
			err = fmt.Errorf("%d pods", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(12 * time.Second)

	// Steady load: compare at each HPA status update for 40 s (8 syncs): the
	// decision exactly, and each metric's per-replica value (read a few
	// seconds apart from the same adapter, so within 15 %: a metric read or
	// averaged differently, say an Object value not divided by the replicas
	// or External values not summed, is off by a factor).
	seen, lastRV := 0, ""
	end := time.Now().Add(40 * time.Second)
	for time.Now().Before(end) {
		h, err := hpas.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if h.ResourceVersion != lastRV && h.Status.LastScaleTime != nil {
			lastRV = h.ResourceVersion
			got, found, err := ebb.MetricValue(ctx, "ebb_desired_replicas", target)
			if err != nil || !found {
				t.Fatalf("ebb_desired_replicas%v: found %v, err %v", target, found, err)
			}
			seen++
			hv := hpaMetrics(h)
			ev := map[string]float64{}
			for _, m := range adapterMetrics {
				v, found, err := ebb.MetricValue(ctx, "ebb_metric_value", map[string]string{"namespace": ns, "target": "Deployment/" + name, "metric": m})
				if err != nil || !found {
					t.Fatalf("ebb_metric_value %s: found %v, err %v", m, found, err)
				}
				ev[m] = v
			}
			if int32(got) != h.Status.DesiredReplicas {
				t.Errorf("HPA status update %d (rv %s): HPA desiredReplicas %d, ebb desired %v; HPA metrics %v, ebb's %v",
					seen, h.ResourceVersion, h.Status.DesiredReplicas, got, hv, ev)
			}
			for _, m := range adapterMetrics {
				if want, ok := hv[m]; !ok || math.Abs(ev[m]-want) > 0.15*want {
					t.Errorf("HPA status update %d: %s per replica: ebb %v, HPA %v (reported: %v)", seen, m, ev[m], want, ok)
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	if seen < 3 {
		t.Fatalf("saw %d HPA status updates in 40 s, want at least 3", seen)
	}
	if c := watch.Current(); c != 6 {
		t.Errorf("replicas %d at steady load, want 6: %s", c, watch)
	}
	t.Logf("compared at %d HPA status updates; replicas: %s", seen, watch)
}

// hpaMetrics is an HPA's current per-replica metric values by the names
// of adapterMetrics (the Object and External targets are AverageValue, so
// the HPA reports the value divided by the replicas).
func hpaMetrics(h *autoscalingv2.HorizontalPodAutoscaler) map[string]float64 {
	out := map[string]float64{}
	for _, m := range h.Status.CurrentMetrics {
		switch {
		case m.Pods != nil && m.Pods.Current.AverageValue != nil:
			out["Pods/"+m.Pods.Metric.Name] = m.Pods.Current.AverageValue.AsApproximateFloat64()
		case m.Object != nil && m.Object.Current.AverageValue != nil:
			out["Object/"+m.Object.Metric.Name] = m.Object.Current.AverageValue.AsApproximateFloat64()
		case m.External != nil && m.External.Current.AverageValue != nil:
			out["External/"+m.External.Metric.Name] = m.External.Current.AverageValue.AsApproximateFloat64()
		}
	}
	return out
}

// adapterPodSamples is how many pods of ns the adapter serves metric for
// (custom.metrics.k8s.io, read as the suite's admin).
func adapterPodSamples(ctx context.Context, s *Suite, ns, metric string) (int, error) {
	raw, err := s.Env.Kube.Discovery().RESTClient().Get().
		AbsPath("/apis/custom.metrics.k8s.io/v1beta2/namespaces", ns, "pods/*", metric).DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return 0, fmt.Errorf("decode %s: %w", metric, err)
	}
	return len(list.Items), nil
}
