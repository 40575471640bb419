package backtest

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func deployment(name string, cpu, mem string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}},
				{Name: "sidecar"},
			}}},
		},
	}
}

func pod(name, app string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", Labels: map[string]string{"app": app}}}
}

func hpa(name, target string, max int32) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: max, MinReplicas: ptr(int32(2)),
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target}}}
}

// TestTargetsFromHPAs: without a policy every HPA of the namespace is a
// target, read from its Deployment (template requests, selector, pods); an
// invalid HPA or a missing Deployment fails alone.
func TestTargetsFromHPAs(t *testing.T) {
	kube := fake.NewClientset(deployment("web", "250m", "128Mi"), pod("web-5d8f9c7b6-aaaaa", "web"), pod("web-5d8f9c7b6-bbbbb", "web"),
		pod("api-1", "api"), hpa("web", "web", 10), hpa("broken", "web", 0), hpa("ghost", "ghost", 4))
	got, err := Targets(context.Background(), Cluster{Kube: kube, Namespace: "prod"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d targets, want 3", len(got))
	}
	if e := got[0].Err; e == nil || !strings.Contains(e.Error(), "HorizontalPodAutoscaler broken: spec.maxReplicas") {
		t.Errorf("broken: %v", e)
	}
	if e := got[1].Err; e == nil || !strings.Contains(e.Error(), "get Deployment/ghost") {
		t.Errorf("ghost: %v", e)
	}
	web := got[2]
	if web.Err != nil {
		t.Fatal(web.Err)
	}
	want := []Request{{Name: "app", CPUMillis: 250, MemoryBytes: 128 << 20}, {Name: "sidecar"}}
	if diff := cmp.Diff(want, web.Containers); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if web.Selector != "app=web" || len(web.Pods) != 2 || web.PodPattern != `web-[a-z0-9]{1,10}-[a-z0-9]{5}` ||
		web.Spec.MaxReplicas != 10 || web.SyncPeriod != policy.DefaultSyncPeriod {
		t.Errorf("web target %+v", web)
	}
}

func TestPodPattern(t *testing.T) {
	for _, tc := range []struct {
		kind, name string
		pods       []string
		want       string
	}{
		{"Deployment", "web.v2", nil, `web\.v2-[a-z0-9]{1,10}-[a-z0-9]{5}`},
		{"StatefulSet", "db", nil, `db-[0-9]+`},
		{"Widget", "w", []string{"w-b", "w.a", "w-b"}, `w-b|w\.a`},
		{"Widget", "w", nil, ""},
	} {
		if got := PodPattern(tc.kind, tc.name, tc.pods); got != tc.want {
			t.Errorf("PodPattern(%s, %s, %v) = %q, want %q", tc.kind, tc.name, tc.pods, got, tc.want)
		}
	}
}
