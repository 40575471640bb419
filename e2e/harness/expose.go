package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ExposedPort is the name of the Service port ExposeEbb creates (as
// deploy/kustomize's Service ebb-metrics names it, and `ebb status`
// defaults to).
const ExposedPort = "metrics"

// HostIP is an address of this machine other than loopback and
// link-local: the API server's service proxy refuses those (an Endpoints
// address may not be loopback, and it proxies only to the IP of the pod
// the address names), so an ebb that runs as a local process and is read
// through the proxy listens here.
func HostIP() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("list the machine's addresses: %w", err)
	}
	var v6 string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() || n.IP.IsUnspecified() || n.IP.IsMulticast() {
			continue
		}
		if n.IP.To4() != nil {
			return n.IP.String(), nil
		}
		if v6 == "" {
			v6 = n.IP.String()
		}
	}
	if v6 != "" {
		return v6, nil
	}
	return "", errors.New("this machine has no address other than loopback and link-local: the API server cannot proxy to a local process")
}

// ExposeEbb puts ebb b (a local process listening on a non-loopback
// address, EbbOptions.MetricsHost) behind Service service of namespace ns
// the way the install does (Service port "metrics" in front of ebb's
// /metrics and /status), so that `ebb status` reaches it through the API
// server's service proxy (services/<service>:metrics/proxy/status).
//
// The proxy picks an address of the Service's Endpoints and goes there only
// when the address names a pod whose status carries that IP. ebb is not a
// pod here, so ExposeEbb creates one to stand for it: pod podName, held
// unscheduled by a scheduling gate (no scheduler or kwok node ever runs
// it), its status.podIPs set to ebb's IP; then the selector-less Service
// and its Endpoints pointing at that pod's IP and ebb's port. Give ebb
// `--identity podName` with --leader-elect, so the Lease's holder is that
// pod as in a cluster.
func (e *Env) ExposeEbb(ctx context.Context, ns, service, podName string, b *Ebb) error {
	host, portStr, err := net.SplitHostPort(b.MetricsAddr)
	if err != nil {
		return fmt.Errorf("ebb's metrics address %q: %w", b.MetricsAddr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
		return fmt.Errorf("ebb listens on %s: the API server's service proxy needs a non-loopback IP (EbbOptions.MetricsHost = HostIP())", b.MetricsAddr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("ebb's metrics port %q: %w", portStr, err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "ebb"}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: podName, Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{
			SchedulingGates: []corev1.PodSchedulingGate{{Name: "ebb.io/local-process"}},
			Containers:      []corev1.Container{{Name: "ebb", Image: "ebb:local-process"}},
		},
	}
	// What an earlier run left (the demo reuses its namespace) is kept and
	// pointed at this ebb.
	created, err := e.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = e.Kube.CoreV1().Pods(ns).Get(ctx, podName, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("create pod %s/%s standing for ebb: %w", ns, podName, err)
	}
	created.Status.PodIP = host
	created.Status.PodIPs = []corev1.PodIP{{IP: host}}
	if _, err := e.Kube.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set the IP of pod %s/%s to ebb's %s: %w", ns, podName, host, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: service, Namespace: ns, Labels: labels},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: ExposedPort, Port: 8080,
			TargetPort: intstr.FromInt32(int32(port)), Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := e.Kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create service %s/%s: %w", ns, service, err)
	}
	// Endpoints, not EndpointSlices: the service proxy of kube-apiserver
	// v1.36 reads Endpoints (pkg/registry/core/service/storage ResourceLocation).
	ep := &corev1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: service, Namespace: ns, Labels: labels},
		Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: host,
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: podName, UID: created.UID}}},
			Ports: []corev1.EndpointPort{{Name: ExposedPort, Port: int32(port), Protocol: corev1.ProtocolTCP}},
		}},
	}
	_, err = e.Kube.CoreV1().Endpoints(ns).Create(ctx, ep, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = e.Kube.CoreV1().Endpoints(ns).Update(ctx, ep, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("create endpoints %s/%s: %w", ns, service, err)
	}
	return nil
}
