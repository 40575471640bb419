package autoscaler

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appslisters "k8s.io/client-go/listers/apps/v1"
)

// WorkloadCache serves the Scale of the namespace's Deployments,
// StatefulSets and ReplicaSets from informer caches: a pass over 2,000
// such targets makes no request to read them. The Scale is built the way
// the API server builds the scale subresource (spec.replicas,
// status.replicas, spec.selector) and carries the workload's
// resourceVersion, which the scale subresource checks on Update: a write
// based on a cache older than the object fails with a Conflict.
type WorkloadCache struct {
	deployments  appslisters.DeploymentLister
	statefulSets appslisters.StatefulSetLister
	replicaSets  appslisters.ReplicaSetLister
}

// NewWorkloadCache returns a cache over the listers of namespace-scoped
// informers; a nil lister leaves its kind to the scale GET.
func NewWorkloadCache(d appslisters.DeploymentLister, s appslisters.StatefulSetLister, r appslisters.ReplicaSetLister) *WorkloadCache {
	return &WorkloadCache{deployments: d, statefulSets: s, replicaSets: r}
}

// Scale returns the Scale of the workload gk/name, or served false for a
// kind the cache does not hold.
func (c *WorkloadCache) Scale(gk schema.GroupKind, namespace, name string) (*autoscalingv1.Scale, schema.GroupVersionResource, bool, error) {
	if gk.Group != appsv1.GroupName {
		return nil, schema.GroupVersionResource{}, false, nil
	}
	gvr := appsv1.SchemeGroupVersion.WithResource("")
	var (
		meta     *metav1.ObjectMeta
		replicas *int32
		status   int32
		selector *metav1.LabelSelector
		err      error
	)
	switch {
	case gk.Kind == "Deployment" && c.deployments != nil:
		gvr.Resource = "deployments"
		var d *appsv1.Deployment
		if d, err = c.deployments.Deployments(namespace).Get(name); err == nil {
			meta, replicas, status, selector = &d.ObjectMeta, d.Spec.Replicas, d.Status.Replicas, d.Spec.Selector
		}
	case gk.Kind == "StatefulSet" && c.statefulSets != nil:
		gvr.Resource = "statefulsets"
		var s *appsv1.StatefulSet
		if s, err = c.statefulSets.StatefulSets(namespace).Get(name); err == nil {
			meta, replicas, status, selector = &s.ObjectMeta, s.Spec.Replicas, s.Status.Replicas, s.Spec.Selector
		}
	case gk.Kind == "ReplicaSet" && c.replicaSets != nil:
		gvr.Resource = "replicasets"
		var r *appsv1.ReplicaSet
		if r, err = c.replicaSets.ReplicaSets(namespace).Get(name); err == nil {
			meta, replicas, status, selector = &r.ObjectMeta, r.Spec.Replicas, r.Status.Replicas, r.Spec.Selector
		}
	default:
		return nil, schema.GroupVersionResource{}, false, nil
	}
	if err != nil {
		return nil, gvr, true, fmt.Errorf("read %s %s/%s from the informer cache: %w", gk.Kind, namespace, name, err)
	}
	sc, err := buildScale(meta, replicas, status, selector)
	if err != nil {
		return nil, gvr, true, fmt.Errorf("%s %s/%s: %w", gk.Kind, namespace, name, err)
	}
	return sc, gvr, true, nil
}

// buildScale is the Scale of a workload as the API server's scale
// subresource shows it (apps/v1: spec.replicas defaults to 1; the selector
// is the label selector in its string form).
func buildScale(m *metav1.ObjectMeta, replicas *int32, status int32, sel *metav1.LabelSelector) (*autoscalingv1.Scale, error) {
	selector := ""
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, fmt.Errorf("spec.selector: %w", err)
		}
		selector = s.String()
	}
	n := int32(1)
	if replicas != nil {
		n = *replicas
	}
	return &autoscalingv1.Scale{
		ObjectMeta: metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID,
			ResourceVersion: m.ResourceVersion, CreationTimestamp: m.CreationTimestamp},
		Spec:   autoscalingv1.ScaleSpec{Replicas: n},
		Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: selector},
	}, nil
}
