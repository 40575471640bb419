package cluster

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// AdminClients returns typed and dynamic clients with the admin identity.
func (c *Cluster) AdminClients() (kubernetes.Interface, dynamic.Interface, error) {
	cfg, err := RESTConfig(c.AdminKubeconfig())
	if err != nil {
		return nil, nil, err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("typed admin client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamic admin client: %w", err)
	}
	return kc, dc, nil
}

// createClusterObjects creates the kwok Nodes, the ExternalName Service in
// front of metrics-server and the metrics.k8s.io APIService (recipe §5).
func (c *Cluster) createClusterObjects(ctx context.Context) error {
	kc, dc, err := c.AdminClients()
	if err != nil {
		return err
	}
	for _, n := range c.State.Nodes {
		if _, err := kc.CoreV1().Nodes().Create(ctx, kwokNode(n, c.opts.NodePods), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", n, err)
		}
	}
	if err := createHPAControllerRBAC(ctx, kc); err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: "kube-system"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"},
	}
	if _, err := kc.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create metrics-server service: %w", err)
	}
	as := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "metrics.k8s.io", "version": "v1beta1",
			"service":               map[string]any{"namespace": "kube-system", "name": "metrics-server", "port": int64(c.State.Ports.MetricsServer)},
			"insecureSkipTLSVerify": true, "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		},
	}}
	if _, err := dc.Resource(apiServiceGVR).Create(ctx, as, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create metrics APIService: %w", err)
	}
	return nil
}

func kwokNode(name string, pods int) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":                   "fake",
				"node.alpha.kubernetes.io/ttl":         "0",
				"metrics.k8s.io/resource-metrics-path": "/metrics/nodes/" + name + "/metrics/resource",
			},
			Labels: map[string]string{
				"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok",
			},
		},
		Status: corev1.NodeStatus{Allocatable: res, Capacity: res},
	}
}

func (c *Cluster) waitNodesReady(ctx context.Context) error {
	kc, _, err := c.AdminClients()
	if err != nil {
		return err
	}
	kwok, _ := c.Process("kwok")
	return poll(ctx, "kwok nodes Ready", readyTimeout, kwok, func(ctx context.Context) error {
		for _, name := range c.State.Nodes {
			n, err := kc.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(n) {
				return fmt.Errorf("node %s not Ready", name)
			}
		}
		return nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (c *Cluster) waitAPIServiceAvailable(ctx context.Context) error {
	return c.waitAPIServiceNamed(ctx, "v1beta1.metrics.k8s.io", "metrics-server")
}

// waitAPIServiceNamed waits until APIService name is Available (while the
// process serving it, proc, is alive).
func (c *Cluster) waitAPIServiceNamed(ctx context.Context, name, proc string) error {
	_, dc, err := c.AdminClients()
	if err != nil {
		return err
	}
	p, _ := c.Process(proc)
	return poll(ctx, "APIService "+name+" Available", readyTimeout, p, func(ctx context.Context) error {
		u, err := dc.Resource(apiServiceGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, raw := range conds {
			cond, _ := raw.(map[string]any)
			if cond["type"] == "Available" {
				if cond["status"] == "True" {
					return nil
				}
				return fmt.Errorf("Available=%v: %v", cond["status"], cond["message"])
			}
		}
		return fmt.Errorf("no Available condition yet")
	})
}

// PrimeKwok GETs kwok's metrics path of every node once, so kwok builds its
// lazy pod cache before metrics-server's next scrape (recipe §8). Call it
// after new pods are Running.
func (c *Cluster) PrimeKwok(ctx context.Context) error {
	for _, n := range c.State.Nodes {
		if err := c.checkHTTPS(c.State.Ports.Kwok, "/metrics/nodes/"+n+"/metrics/resource")(ctx); err != nil {
			return fmt.Errorf("prime kwok metrics of %s: %w", n, err)
		}
	}
	return nil
}

// createHPAControllerRBAC gives HPAControllerUser what the cluster's
// kube-controller-manager user holds: its ClusterRole, delegated
// authentication and authorization, and read access to the authentication
// ConfigMap in kube-system.
func createHPAControllerRBAC(ctx context.Context, kc kubernetes.Interface) error {
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: HPAControllerUser}}
	for _, role := range []string{"system:kube-controller-manager", "system:auth-delegator"} {
		crb := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: HPAControllerUser + ":" + strings.TrimPrefix(role, "system:")},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects:   subjects,
		}
		if _, err := kc.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("bind %s to %s: %w", HPAControllerUser, role, err)
		}
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: HPAControllerUser + ":authentication-reader", Namespace: "kube-system"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
		Subjects:   subjects,
	}
	if _, err := kc.RbacV1().RoleBindings("kube-system").Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("bind %s to the authentication reader role: %w", HPAControllerUser, err)
	}
	return nil
}
