package harness

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// TestExposeEbb: the Service's Endpoints name the stand-in pod, whose
// status carries ebb's IP (what kube-apiserver's service proxy checks
// before it proxies), on ebb's port under the port name ebb status uses; a
// second call (the demo reusing its namespace) points the same objects at
// the new ebb; a loopback address is refused up front.
func TestExposeEbb(t *testing.T) {
	ctx := context.Background()
	e := &Env{Kube: fake.NewClientset()}
	for _, addr := range []string{"192.0.2.2:8081", "192.0.2.3:9090"} {
		if err := e.ExposeEbb(ctx, "shop", "ebb-metrics", "ebb-0", &Ebb{MetricsAddr: addr}); err != nil {
			t.Fatalf("ExposeEbb(%s) error = %v", addr, err)
		}
		host, port, _ := net.SplitHostPort(addr)
		pod, err := e.Kube.CoreV1().Pods("shop").Get(ctx, "ebb-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]corev1.PodIP{{IP: host}}, pod.Status.PodIPs); diff != "" || len(pod.Spec.SchedulingGates) == 0 {
			t.Errorf("pod: IPs (-want +got):\n%s\nscheduling gates %v (want one: never scheduled)", diff, pod.Spec.SchedulingGates)
		}
		ep, err := e.Kube.CoreV1().Endpoints("shop").Get(ctx, "ebb-metrics", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ep.Subsets) != 1 || len(ep.Subsets[0].Addresses) != 1 || len(ep.Subsets[0].Ports) != 1 {
			t.Fatalf("endpoints subsets = %+v, want one address and one port", ep.Subsets)
		}
		a, p := ep.Subsets[0].Addresses[0], ep.Subsets[0].Ports[0]
		got := []string{a.IP, a.TargetRef.Kind, a.TargetRef.Namespace, a.TargetRef.Name, p.Name, strconv.Itoa(int(p.Port))}
		if diff := cmp.Diff([]string{host, "Pod", "shop", "ebb-0", ExposedPort, port}, got); diff != "" {
			t.Errorf("endpoints address and port (-want +got):\n%s", diff)
		}
		svc, err := e.Kube.CoreV1().Services("shop").Get(ctx, "ebb-metrics", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(svc.Spec.Selector) != 0 || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != ExposedPort {
			t.Errorf("service spec = %+v, want no selector and one port %q", svc.Spec, ExposedPort)
		}
	}
	err := e.ExposeEbb(ctx, "shop", "ebb-metrics", "ebb-0", &Ebb{MetricsAddr: "127.0.0.1:8081"})
	if err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Errorf("ExposeEbb(127.0.0.1) error = %v, want one saying the proxy needs a non-loopback IP", err)
	}
}
