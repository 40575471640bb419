//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbScaleSubresourceHonoursResourceVersion is the premise of ebb's
// guarded writes, on the real API server: an Update of the scale
// subresource of a Deployment, StatefulSet or ReplicaSet that carries the
// workload's resourceVersion as read before another write is refused with
// a Conflict, and succeeds with the current one. ebb builds the Scale of
// these kinds from its informers with exactly that resourceVersion.
func TestEbbScaleSubresourceHonoursResourceVersion(t *testing.T) {
	const ns = "ebb-scale-rv"
	s := setup(t, ns)
	ctx := context.Background()
	apps := s.Env.Kube.AppsV1()
	labels := func(n string) map[string]string { return map[string]string{"app": n} }
	template := func(n string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels(n)},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app"}}}}
	}
	type scaler struct {
		get    func() (string, error)
		update func(*autoscalingv1.Scale) error
	}
	kinds := map[string]scaler{}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: ns}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: labels("d")}, Template: template("d")}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: ns}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: labels("s")}, Template: template("s")}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: ns}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(1)),
		Selector: &metav1.LabelSelector{MatchLabels: labels("r")}, Template: template("r")}}
	if _, err := apps.Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := apps.StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := apps.ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kinds["Deployment"] = scaler{
		get: func() (string, error) {
			o, err := apps.Deployments(ns).Get(ctx, "d", metav1.GetOptions{})
			return rvOf(o, err)
		},
		update: func(sc *autoscalingv1.Scale) error {
			_, err := apps.Deployments(ns).UpdateScale(ctx, "d", sc, metav1.UpdateOptions{})
			return err
		}}
	kinds["StatefulSet"] = scaler{
		get: func() (string, error) {
			o, err := apps.StatefulSets(ns).Get(ctx, "s", metav1.GetOptions{})
			return rvOf(o, err)
		},
		update: func(sc *autoscalingv1.Scale) error {
			_, err := apps.StatefulSets(ns).UpdateScale(ctx, "s", sc, metav1.UpdateOptions{})
			return err
		}}
	kinds["ReplicaSet"] = scaler{
		get: func() (string, error) {
			o, err := apps.ReplicaSets(ns).Get(ctx, "r", metav1.GetOptions{})
			return rvOf(o, err)
		},
		update: func(sc *autoscalingv1.Scale) error {
			_, err := apps.ReplicaSets(ns).UpdateScale(ctx, "r", sc, metav1.UpdateOptions{})
			return err
		}}
	names := map[string]string{"Deployment": "d", "StatefulSet": "s", "ReplicaSet": "r"}
	for kind, k := range kinds {
		scale := func(rv string, n int32) *autoscalingv1.Scale {
			return &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: names[kind], Namespace: ns, ResourceVersion: rv},
				Spec: autoscalingv1.ScaleSpec{Replicas: n}}
		}
		// Read, then write with what was read (the workload's own
		// controller may update its status in between: read again then).
		var read string
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var err error
			if read, err = k.get(); err != nil { // what ebb's informer holds
				return err
			}
			return k.update(scale(read, 2)) // another writer, with what it read
		}); err != nil {
			t.Fatalf("%s: write with the current resourceVersion: %v", kind, err)
		}
		if err := k.update(scale(read, 3)); !apierrors.IsConflict(err) {
			t.Errorf("%s: scale Update with the workload's stale resourceVersion = %v, want a Conflict", kind, err)
		}
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			fresh, err := k.get()
			if err != nil {
				return err
			}
			return k.update(scale(fresh, 3))
		}); err != nil {
			t.Errorf("%s: scale Update with the fresh resourceVersion: %v", kind, err)
		}
	}
}

func rvOf(o metav1.Object, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return o.GetResourceVersion(), nil
}

// fakePrometheus answers instant queries with value (and range queries with
// no data); before each instant query answers, during is called: the query
// is made between ebb's read of the scale and its write.
func fakePrometheus(t *testing.T, value string, during func()) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/api/v1/query" {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
			return
		}
		if during != nil {
			during()
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%d,"%s"]}]}}`,
			time.Now().Unix(), value)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// queuePolicy scales Deployment name on an External metric queue (target
// 10 per pod) from the Prometheus at url.
func queuePolicy(url, name string, maxR int) string {
	return fmt.Sprintf(`defaults:
  mode: apply
  syncPeriod: 2s
  downscaleStabilization: 30s
  vertical: {mode: "off"}
prometheus:
  url: %s
  timeout: 3s
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}
  horizontal:
    minReplicas: 1
    maxReplicas: %d
    metrics:
    - type: External
      external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "10"}}
  queries:
    queue: 'sum(queue_messages)'
`, url, name, maxR)
}

// TestEbbSecondWriter: every pass, between ebb's read of the Scale (from its
// informer) and its write, a second writer scales the Deployment the way
// `kubectl scale` does (read, then Update). ebb's write, computed from the
// older read, must be refused every time: the second writer finds its own
// number each time it writes again, and ebb counts the conflicts. Once the
// second writer stops, ebb scales from a fresh read.
func TestEbbSecondWriter(t *testing.T) {
	const ns, name = "ebb-second-writer", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: name, Replicas: 2}
	if _, err := s.Env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	deployments := s.Env.Kube.AppsV1().Deployments(ns)
	var mu sync.Mutex
	active, last, writes := true, int32(0), 0
	var overwritten []string
	writer := func() {
		mu.Lock()
		defer mu.Unlock()
		if !active {
			return
		}
		sc, err := deployments.GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("second writer: %v", err)
			return
		}
		if writes > 0 && sc.Spec.Replicas != last {
			overwritten = append(overwritten, fmt.Sprintf("wrote %d, found %d", last, sc.Spec.Replicas))
		}
		next := int32(2 + writes%2) // 2, 3, 2, 3, …: never what ebb wants (10)
		sc.Spec.Replicas = next
		if _, err := deployments.UpdateScale(ctx, name, sc, metav1.UpdateOptions{FieldManager: "kubectl"}); err != nil {
			if apierrors.IsConflict(err) {
				return // the Deployment controller wrote status since our GET: write at the next query
			}
			t.Errorf("second writer: %v", err)
			return
		}
		last, writes = next, writes+1
	}
	prom := fakePrometheus(t, "100", writer) // 100 / 10 per pod: ebb wants 10
	o := ebbSetup(t, s, ns, queuePolicy(prom.URL, name, 10))
	ebb := startEbb(t, s, o, "")
	conflicts := map[string]string{"namespace": ns, "target": "Deployment/" + name, "result": "conflict", "dry_run": "false"}
	ebb.waitMetric(t, "ebb_actuations_total", conflicts, ">= 8 refused writes", func(v float64) bool { return v >= 8 }, 90*time.Second)
	mu.Lock()
	active = false
	n, bad := writes, overwritten
	mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("ebb overwrote the second writer %d times in %d writes: %s", len(bad), n, strings.Join(bad, "; "))
	}
	success := map[string]string{"namespace": ns, "target": "Deployment/" + name, "result": "success", "dry_run": "false"}
	if v, found, err := ebb.MetricValue(ctx, "ebb_actuations_total", success); err != nil || (found && v != 0) {
		t.Fatalf("successful ebb writes while the second writer wrote between read and write: %v (%v)", v, err)
	}
	t.Logf("%d writes of the second writer, none overwritten", n)
	watchR := watchReplicas(t, s, ns, name)
	if err := harness.Eventually(ctx, "ebb scales once the second writer stopped", 30*time.Second, 250*time.Millisecond, func(context.Context) error {
		if c := watchR.Current(); c <= 3 {
			return fmt.Errorf("replicas %s", watchR)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestEbbSteadyStateWritesNothing: at target, once the first passes have
// checkpointed, ebb writes no ConfigMap for 2 minutes (watched through
// their resourceVersions) while it keeps passing every 2 s.
func TestEbbSteadyStateWritesNothing(t *testing.T) {
	const ns, name = "ebb-steady", "web"
	s := setupLongWait(t, ns)
	ctx := context.Background()
	cpuWorkload(t, s, ns, name, 2) // 50% of the request: at target
	policy := strings.Replace(cpuPolicy("apply", "Deployment", name, 1, 6, 50, ""), "  downscaleStabilization: 30s\n",
		"  downscaleStabilization: 30s\n  vertical: {mode: \"off\"}\n", 1)
	o := ebbSetup(t, s, ns, policy)
	ebb := startEbb(t, s, o, "")
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 2", func(v float64) bool { return v == 2 }, 30*time.Second)
	cms := s.Env.Kube.CoreV1().ConfigMaps(ns)
	err := harness.Eventually(ctx, "the state checkpoint of Deployment/"+name, 30*time.Second, time.Second, func(ctx context.Context) error {
		list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "ebb.io/state=ebb-state"})
		if err != nil {
			return err
		}
		for _, cm := range list.Items {
			if _, ok := cm.Data["Deployment."+name]; ok {
				return nil
			}
		}
		return fmt.Errorf("%d state ConfigMaps, none with Deployment.%s", len(list.Items), name)
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second) // a few passes at target
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=ebb"})
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := ebb.MetricValue(ctx, "ebb_last_pass_timestamp_seconds", nil)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	wt, err := cms.Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer wt.Stop()
	var writes []string
	for ev := range wt.ResultChan() {
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type != watch.Bookmark {
			writes = append(writes, fmt.Sprintf("%s %s (resourceVersion %s)", ev.Type, cm.Name, cm.ResourceVersion))
		}
	}
	if len(writes) > 0 {
		t.Errorf("ConfigMap writes in 2 minutes of steady state: %s", strings.Join(writes, "; "))
	}
	after, _, err := ebb.MetricValue(ctx, "ebb_last_pass_timestamp_seconds", nil)
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 100 {
		t.Errorf("ebb_last_pass_timestamp_seconds advanced %.0fs in the 2 minutes: ebb was not passing", after-before)
	}
	if c, _, _ := ebb.MetricValue(ctx, "ebb_current_replicas", target); c != 2 {
		t.Errorf("current replicas = %v, want 2 (steady)", c)
	}
}

// hangingListener accepts TCP connections and never answers on them.
func hangingListener(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// TestEbbHangingPrometheus: one ebb, two targets: web on CPU, queue on an
// External metric from a Prometheus that accepts connections and never
// answers. The queue target holds (missing metrics) and Prometheus' breaker
// opens, while web keeps scaling: 2 → 4 under load, then further.
func TestEbbHangingPrometheus(t *testing.T) {
	const ns = "ebb-hanging-prom"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, "web", 2)
	if _, err := s.Env.CreateDeployment(ctx, harness.Workload{Namespace: ns, Name: "queue", Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	policy := queuePolicy(hangingListener(t), "queue", 10) + `- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    minReplicas: 2
    maxReplicas: 8
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`
	o := ebbSetup(t, s, ns, policy)
	web, queue := watchReplicas(t, s, ns, "web"), watchReplicas(t, s, ns, "queue")
	ebb := startEbb(t, s, o, "")
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300) // wants 6
	defer load.Stop()
	start := time.Now()
	if _, err := web.WaitFor(ctx, 4, 60*time.Second); err != nil {
		t.Fatalf("web did not scale while Prometheus hangs: %v", err)
	}
	t.Logf("web 2 → 4 after %.1fs", time.Since(start).Seconds())
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 4, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	load.Set(700) // wants 14, capped at 8
	if _, err := web.WaitFor(ctx, 8, 90*time.Second); err != nil {
		t.Fatalf("web did not keep scaling while Prometheus hangs: %v", err)
	}
	t.Logf("web → 8 after %.1fs", time.Since(start).Seconds())
	ebb.waitMetric(t, "ebb_source_breaker_open", map[string]string{"source": "prometheus"}, "= 1", func(v float64) bool { return v == 1 }, 30*time.Second)
	missing := map[string]string{"namespace": ns, "target": "Deployment/queue"}
	ebb.waitMetric(t, "ebb_missing_metrics_total", missing, ">= 1", func(v float64) bool { return v >= 1 }, 10*time.Second)
	if ch := queue.Changes(); len(ch) != 1 {
		t.Errorf("queue target changed without its metric: %s", queue)
	}
}

// TestEbbFailoverKeepsWindow: two replicas with --leader-elect. The leader
// scales to 6 under load; the load falls (wants 2) and the 30 s scale-down
// window holds 6. 10 s later the leader gets SIGTERM: it saves its final
// checkpoints, releases the Lease, and the standby — which exported no
// per-target series until then — takes over at once, reads the checkpoints
// and continues the window: no scale-down before the load fell + 30 s, and
// none later than the first recommendation of 2 + 30 s + slack (a new
// window from the failover would be later).
func TestEbbFailoverKeepsWindow(t *testing.T) {
	const ns, name = "ebb-failover", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 6, 50, ""))
	o.LeaderElect = true
	a := startEbb(t, s, withIdentity(o, "a"), "a")
	b := startEbb(t, s, withIdentity(o, "b"), "b")
	leader, standby := whoLeads(t, a, b)
	watch := watchReplicas(t, s, ns, name)
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	if _, err := watch.WaitFor(ctx, 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 6, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	leader.waitMetric(t, "ebb_recommended_replicas", target, "= 6 at 6 pods", func(v float64) bool { return v == 6 }, 30*time.Second)
	if _, found, err := standby.MetricValue(ctx, "ebb_current_replicas", target); err != nil || found {
		t.Errorf("the standby exports ebb_current_replicas (found %v, err %v); want no per-target series", found, err)
	}
	load.Set(90) // wants 2
	lowered := time.Now()
	leader.waitMetric(t, "ebb_recommended_replicas", target, "= 2 after the load fell", func(v float64) bool { return v == 2 }, 30*time.Second)
	rec2 := time.Now()
	time.Sleep(time.Until(rec2.Add(10 * time.Second)))
	if c := watch.Current(); c != 6 {
		t.Fatalf("scaled to %d inside the window: %s", c, watch)
	}
	if err := leader.Terminate(15 * time.Second); err != nil {
		t.Logf("leader exit: %v", err)
	}
	stopped := time.Now()
	standby.waitMetric(t, "ebb_leader", nil, "= 1 at once (the Lease was released)", func(v float64) bool { return v == 1 }, 10*time.Second)
	t.Logf("standby leads %.1fs after the leader's SIGTERM", time.Since(stopped).Seconds())
	atDown, err := waitBelow(ctx, watch, 6, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load fell +0s, recommended 2 +%.1fs, failover +%.1fs, scale-down +%.1fs: %s",
		rec2.Sub(lowered).Seconds(), stopped.Sub(lowered).Seconds(), atDown.Sub(lowered).Seconds(), watch)
	if atDown.Sub(lowered) < downWindow {
		t.Fatalf("scale-down %.1fs after the load fell: inside the 30s window", atDown.Sub(lowered).Seconds())
	}
	if late := rec2.Add(downWindow + syncPeriod + 5*time.Second); atDown.After(late) {
		t.Fatalf("scale-down %.1fs after the failover: the new leader started a new window instead of reading the checkpoint",
			atDown.Sub(stopped).Seconds())
	}
}

// whoLeads waits until exactly one of a, b reports ebb_leader 1.
func whoLeads(t *testing.T, a, b *ebbRun) (leader, standby *ebbRun) {
	t.Helper()
	err := harness.Eventually(context.Background(), "exactly one leader", 30*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		la, _, err := a.MetricValue(ctx, "ebb_leader", nil)
		if err != nil {
			return err
		}
		lb, _, err := b.MetricValue(ctx, "ebb_leader", nil)
		if err != nil {
			return err
		}
		switch {
		case la == 1 && lb == 0:
			leader, standby = a, b
		case la == 0 && lb == 1:
			leader, standby = b, a
		default:
			return fmt.Errorf("ebb_leader a=%v b=%v", la, lb)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return leader, standby
}
