package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The workload every target runs: one container requesting cpuRequestMilli,
// using usagePerPodMilli at the start (utilizationTarget percent: at
// target), scaled between minReplicas and maxReplicas.
const (
	cpuRequestMilli   = 100
	usagePerPodMilli  = 50
	utilizationTarget = 50
	minReplicas       = 5
	maxReplicas       = 20
	appLabel          = "app"
	usageCPU          = "kwok.x-k8s.io/usage-cpu"
	usageMemory       = "kwok.x-k8s.io/usage-memory"
)

// targetName is the name of Deployment i.
func targetName(i int) string { return fmt.Sprintf("app-%04d", i) }

// deployment is target i: pods pinned to a kwok node (no scheduler: the
// cluster's scheduler would bind tens of thousands of pods at its client
// QPS), labelled app=<name>, starting at usagePerPodMilli.
func deployment(ns string, i, replicas int, node string) *appsv1.Deployment {
	name := targetName(i)
	r := int32(replicas)
	labels := map[string]string{appLabel: name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &r,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{
					usageCPU: fmt.Sprintf("%dm", usagePerPodMilli), usageMemory: "64Mi",
				}},
				Spec: corev1.PodSpec{
					NodeName: node,
					Containers: []corev1.Container{{
						Name: "app", Image: "fake/app:1",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
							corev1.ResourceCPU:    *resource.NewMilliQuantity(cpuRequestMilli, resource.DecimalSI),
							corev1.ResourceMemory: resource.MustParse("128Mi"),
						}},
					}},
				},
			},
		},
	}
}

// hpa is target i's HorizontalPodAutoscaler: CPU utilization, default
// behavior — the same spec as policyYAML's target i.
func hpa(ns string, i int) *autoscalingv2.HorizontalPodAutoscaler {
	minR, util := int32(minReplicas), int32(utilizationTarget)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: targetName(i), Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: targetName(i)},
			MinReplicas:    &minR,
			MaxReplicas:    maxReplicas,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		},
	}
}

// policyYAML is ebb's policy for targets 0..n-1 with the HPAs' spec, in
// apply mode, passing every syncPeriod (the HPA controller's
// --horizontal-pod-autoscaler-sync-period in the other phase). Vertical is
// off: the HPA has no counterpart.
func policyYAML(n int, syncPeriod string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  mode: apply\n  syncPeriod: %s\n  vertical: {mode: \"off\"}\ntargets:\n", syncPeriod)
	for i := range n {
		fmt.Fprintf(&b, "- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %s}\n", targetName(i))
		fmt.Fprintf(&b, "  horizontal:\n    minReplicas: %d\n    maxReplicas: %d\n", minReplicas, maxReplicas)
		fmt.Fprintf(&b, "    metrics:\n    - type: Resource\n      resource: {name: cpu, target: {type: Utilization, averageUtilization: %d}}\n", utilizationTarget)
	}
	return b.String()
}

// forEach runs f(i) for i in 0..n-1 on workers goroutines and returns the
// errors joined (at most the first 5, and how many more).
func forEach(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	var (
		mu   sync.Mutex
		errs []error
		more int
		wg   sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err)
					} else {
						more++
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more errors", more))
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// createTargets creates the n Deployments, pods spread over nodes.
func createTargets(ctx context.Context, kc kubernetes.Interface, ns string, n, pods int, nodes []string) error {
	return forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		_, err := kc.AppsV1().Deployments(ns).Create(ctx, deployment(ns, i, pods, nodes[i%len(nodes)]), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create deployment %s: %w", targetName(i), err)
		}
		return nil
	})
}

// createHPAs creates the n HPAs.
func createHPAs(ctx context.Context, kc kubernetes.Interface, ns string, n int) error {
	return forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		_, err := kc.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa(ns, i), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create HPA %s: %w", targetName(i), err)
		}
		return nil
	})
}

// deleteHPAs deletes the n HPAs one by one: a DeleteCollection of 2,000
// HPAs outlived the API server's 60 s request timeout on this machine and
// was reset (HTTP/2 INTERNAL_ERROR) with the HPAs still there.
func deleteHPAs(ctx context.Context, kc kubernetes.Interface, ns string, n int) error {
	return forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		err := kc.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, targetName(i), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete HPA %s/%s: %w", ns, targetName(i), err)
		}
		return nil
	})
}

// scaleAll sets every target's replicas (through the scale subresource).
func scaleAll(ctx context.Context, kc kubernetes.Interface, ns string, n, replicas int) error {
	return forEach(ctx, n, 16, func(ctx context.Context, i int) error {
		patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
		_, err := kc.AppsV1().Deployments(ns).Patch(ctx, targetName(i), "application/merge-patch+json", patch, metav1.PatchOptions{}, "scale")
		if err != nil {
			return fmt.Errorf("scale %s to %d: %w", targetName(i), replicas, err)
		}
		return nil
	})
}

// replicaCounts returns spec.replicas of every target, by name.
func replicaCounts(ctx context.Context, kc kubernetes.Interface, ns string) (map[string]int32, error) {
	out := map[string]int32{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := kc.AppsV1().Deployments(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list deployments of %s: %w", ns, err)
		}
		for _, d := range list.Items {
			if d.Spec.Replicas != nil {
				out[d.Name] = *d.Spec.Replicas
			}
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}
