//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbStatefulSet: the CPU scenario's load on a StatefulSet (300m over 2
// pods of 100m at a 50% target wants 6, also the maximum) is scaled 2 → 6
// through the same scale subresource code and its 6 pods run.
func TestEbbStatefulSet(t *testing.T) {
	const ns, name = "ebb-sts", "db"
	s := setup(t, ns)
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: name, Replicas: 2, CPURequest: "100m", CPUUsage: "50m"}
	if _, err := s.Env.CreateStatefulSet(ctx, w); err != nil {
		t.Fatal(err)
	}
	pods, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 2, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitPodCPU(ctx, ns, w.Selector(), pods, harness.Within(50, 5), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "StatefulSet", name, 2, 6, 50, ""))
	watch, err := s.Env.WatchReplicas(ctx, harness.StatefulSetsGVR, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	startEbb(t, s, o, "")
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	if _, err := watch.WaitFor(ctx, 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if top := maxSeen(watch); top != 6 {
		t.Fatalf("replicas went %s, want up to 6 exactly", watch)
	}
}

// widgetCRD is a namespaced custom resource with a scale subresource whose
// label selector path is status.selector.
const widgetCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.e2e.ebb.dev}
spec:
  group: e2e.ebb.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
`

var widgetsGVR = schema.GroupVersionResource{Group: "e2e.ebb.dev", Version: "v1", Resource: "widgets"}

// TestEbbCustomResource: a Widget custom resource with a scale subresource
// whose status.selector selects 2 pods of a Deployment (nothing reconciles
// the Widget, so those pods stay 2). At 150% of a 50% CPU target ebb patches
// the Widget's scale to 6 through the same code, with a Role granting
// widgets/scale like a user would add. maxReplicas is 6: the Widget's pods
// never change, so the proposal stays at ceil(3 × 2 ready pods) and any
// metric noise above 150 % would otherwise be applied at once (upward), while
// noise below is held by the downscale window; the cap makes the end state
// exact without hiding a failure to scale (2 → 6 still needs two patches).
func TestEbbCustomResource(t *testing.T) {
	const ns, name = "ebb-cr", "gadget"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, "gadget-pods", 2)
	if _, err := s.Env.ApplyYAML(ctx, []byte(widgetCRD), ""); err != nil {
		t.Fatal(err)
	}
	err := harness.Eventually(ctx, "Widget CRD served", 30*time.Second, 250*time.Millisecond, func(ctx context.Context) error {
		_, err := s.Env.Dynamic.Resource(widgetsGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cr := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "e2e.ebb.dev/v1", "kind": "Widget",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     map[string]any{"replicas": int64(2)},
	}}
	created, err := s.Env.Dynamic.Resource(widgetsGVR).Namespace(ns).Create(ctx, cr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Object["status"] = map[string]any{"replicas": int64(2), "selector": w.Selector().String()}
	if _, err := s.Env.Dynamic.Resource(widgetsGVR).Namespace(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	o := ebbSetup(t, s, ns, fmt.Sprintf(`defaults:
  mode: apply
  syncPeriod: 2s
  downscaleStabilization: 30s
targets:
- scaleTargetRef: {apiVersion: e2e.ebb.dev/v1, kind: Widget, name: %s}
  horizontal:
    minReplicas: 2
    maxReplicas: 6
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`, name))
	grantWidgetScale(t, s, ns)
	watch, err := s.Env.WatchReplicas(ctx, widgetsGVR, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Stop()
	ebb := startEbb(t, s, o, "")
	ebb.waitMetric(t, "ebb_current_replicas", map[string]string{"namespace": ns, "target": "Widget/" + name}, "= 2",
		func(v float64) bool { return v == 2 }, 30*time.Second)
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	if _, err := watch.WaitFor(ctx, 6, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * syncPeriod)
	if top := maxSeen(watch); top != 6 || watch.Current() != 6 {
		t.Fatalf("Widget replicas went %s, want 2 → 6 and stay", watch)
	}
}

// grantWidgetScale adds a Role for widgets/scale to ebb's ServiceAccount in
// ns (deploy/'s Role leaves custom resources to the user).
func grantWidgetScale(t *testing.T, s *Suite, ns string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "ebb-widgets", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"e2e.ebb.dev"}, Resources: []string{"widgets/scale"},
			Verbs: []string{"get", "update", "patch"}}},
	}
	if _, err := s.Env.Kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "ebb-widgets", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: harness.EbbServiceAccount, Namespace: ns}},
	}
	if _, err := s.Env.Kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func maxSeen(w *harness.ReplicaWatcher) int64 {
	var m int64
	for _, c := range w.Changes() {
		m = max(m, c.Replicas)
	}
	return m
}
