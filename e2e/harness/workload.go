package harness

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Annotations kwok's usage expression reads (recipe §7).
const (
	UsageCPUAnnotation    = "kwok.x-k8s.io/usage-cpu"
	UsageMemoryAnnotation = "kwok.x-k8s.io/usage-memory"
)

// Workload describes a kwok-scheduled workload: one container "app" with
// requests, pods labelled app=<Name>, initial emulated usage.
type Workload struct {
	Namespace  string
	Name       string
	Replicas   int32
	CPURequest string // e.g. "100m"
	MemRequest string // e.g. "128Mi"
	CPUUsage   string // initial kwok usage, e.g. "50m"
	MemUsage   string // e.g. "64Mi"
}

// Selector is the workload's label selector.
func (w Workload) Selector() labels.Selector { return labels.SelectorFromSet(w.labels()) }

func (w Workload) labels() map[string]string { return map[string]string{"app": w.Name} }

func (w Workload) podTemplate() corev1.PodTemplateSpec {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{
			Labels: w.labels(),
			Annotations: map[string]string{
				UsageCPUAnnotation: or(w.CPUUsage, "50m"), UsageMemoryAnnotation: or(w.MemUsage, "64Mi"),
			},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "app", Image: "fake/" + w.Name + ":1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse(or(w.CPURequest, "100m")),
					corev1.ResourceMemory: resource.MustParse(or(w.MemRequest, "128Mi")),
				}},
			}},
			// kwok nodes carry no taints; the selector keeps pods on them.
			NodeSelector: map[string]string{"type": "kwok"},
		},
	}
}

// CreateNamespace creates ns (an existing one is kept) and waits for its
// default ServiceAccount (pods are refused admission before it exists,
// recipe §9.8).
func (e *Env) CreateNamespace(ctx context.Context, ns string) error {
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if _, err := e.Kube.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return Eventually(ctx, "default ServiceAccount in "+ns, 60*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		_, err := e.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// CreateDeployment creates w as a Deployment.
func (e *Env) CreateDeployment(ctx context.Context, w Workload) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &w.Replicas,
			Selector: &metav1.LabelSelector{MatchLabels: w.labels()},
			Template: w.podTemplate(),
		},
	}
	out, err := e.Kube.AppsV1().Deployments(w.Namespace).Create(ctx, d, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create deployment %s/%s: %w", w.Namespace, w.Name, err)
	}
	return out, nil
}

// CreateStatefulSet creates w as a StatefulSet (parallel pod management, so
// scaling is not serialized).
func (e *Env) CreateStatefulSet(ctx context.Context, w Workload) (*appsv1.StatefulSet, error) {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &w.Replicas,
			Selector:            &metav1.LabelSelector{MatchLabels: w.labels()},
			Template:            w.podTemplate(),
			ServiceName:         w.Name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
		},
	}
	out, err := e.Kube.AppsV1().StatefulSets(w.Namespace).Create(ctx, s, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create statefulset %s/%s: %w", w.Namespace, w.Name, err)
	}
	return out, nil
}

// Well-known scalable resources.
var (
	DeploymentsGVR  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	StatefulSetsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
)

// ScaleReplicas reads spec.replicas and status.replicas of the scale
// subresource of any scalable resource (Deployment, StatefulSet, a CR).
func (e *Env) ScaleReplicas(ctx context.Context, gvr schema.GroupVersionResource, ns, name string) (spec, status int64, err error) {
	u, err := e.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{}, "scale")
	if err != nil {
		return 0, 0, fmt.Errorf("get %s %s/%s scale: %w", gvr.Resource, ns, name, err)
	}
	spec, _, _ = unstructured.NestedInt64(u.Object, "spec", "replicas")
	status, _, _ = unstructured.NestedInt64(u.Object, "status", "replicas")
	return spec, status, nil
}

// SetScale sets spec.replicas through the scale subresource.
func (e *Env) SetScale(ctx context.Context, gvr schema.GroupVersionResource, ns, name string, replicas int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	_, err := e.Dynamic.Resource(gvr).Namespace(ns).Patch(ctx, name, "application/merge-patch+json", patch, metav1.PatchOptions{}, "scale")
	if err != nil {
		return fmt.Errorf("patch %s %s/%s scale to %d: %w", gvr.Resource, ns, name, replicas, err)
	}
	return nil
}

// WaitReadyPods waits until exactly n pods match sel in ns, all Running and
// Ready, none terminating, and returns their names (sorted by the API).
func (e *Env) WaitReadyPods(ctx context.Context, ns string, sel labels.Selector, n int, timeout time.Duration) ([]string, error) {
	var names []string
	err := Eventually(ctx, fmt.Sprintf("%d ready pods %s in %s", n, sel, ns), timeout, 100*time.Millisecond, func(ctx context.Context) error {
		pods, err := e.ReadyPods(ctx, ns, sel)
		if err != nil {
			return err
		}
		if len(pods) != n {
			return fmt.Errorf("%d ready pods: %v", len(pods), pods)
		}
		names = pods
		return nil
	})
	return names, err
}

// ReadyPods lists the Running, Ready, not terminating pods matching sel.
func (e *Env) ReadyPods(ctx context.Context, ns string, sel labels.Selector) ([]string, error) {
	list, err := e.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods %s in %s: %w", sel, ns, err)
	}
	var out []string
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(&p) {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
