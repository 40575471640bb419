package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
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
		if _, err := kc.CoreV1().Nodes().Create(ctx, kwokNode(n), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create node %s: %w", n, err)
		}
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

func kwokNode(name string) *corev1.Node {
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
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
	_, dc, err := c.AdminClients()
	if err != nil {
		return err
	}
	ms, _ := c.Process("metrics-server")
	return poll(ctx, "APIService v1beta1.metrics.k8s.io Available", readyTimeout, ms, func(ctx context.Context) error {
		u, err := dc.Resource(apiServiceGVR).Get(ctx, "v1beta1.metrics.k8s.io", metav1.GetOptions{})
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
