package autoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// This file holds the pure conversions from API and source types to the
// horizontal recommender's inputs. No I/O, no clock.

// promSampleWindow is the window given to per-pod Prometheus samples: the
// HPA gives custom-metric samples without a window one minute.
const promSampleWindow = time.Minute

var errNoSource = errors.New("no source configured for this metric type")

// convertPod returns what the HPA reads of pod.
func convertPod(p *corev1.Pod) horizontal.Pod {
	out := horizontal.Pod{
		Name:     p.Name,
		Phase:    horizontal.PodPhase(p.Status.Phase),
		Deleting: p.DeletionTimestamp != nil,
	}
	if p.Status.StartTime != nil {
		out.StartTime = p.Status.StartTime.Time
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.HasReadyCondition = true
			out.Ready = c.Status == corev1.ConditionTrue
			out.ReadyTransition = c.LastTransitionTime.Time
			break
		}
	}
	for _, c := range p.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			out.Containers = append(out.Containers, convertContainer(c))
		}
	}
	for _, c := range p.Spec.Containers {
		out.Containers = append(out.Containers, convertContainer(c))
	}
	if p.Spec.Resources != nil && len(p.Spec.Resources.Requests) > 0 {
		out.PodRequests = milliMap(p.Spec.Resources.Requests)
	}
	return out
}

func convertContainer(c corev1.Container) horizontal.Container {
	return horizontal.Container{Name: c.Name, Requests: milliMap(c.Resources.Requests)}
}

func milliMap(rl corev1.ResourceList) map[string]int64 {
	if len(rl) == 0 {
		return nil
	}
	m := make(map[string]int64, len(rl))
	for name, q := range rl {
		m[string(name)] = q.MilliValue()
	}
	return m
}

// resourceSamples returns the per-pod samples of a Resource metric (the sum
// over the pod's containers) or, when container is set, of a
// ContainerResource metric (that container only). Pods without usage, or
// without the named container, are absent: missing, never zero.
func resourceSamples(usage metricsource.UsageIndex, pods []horizontal.Pod, resource, container string) (map[string]horizontal.Sample, error) {
	if resource != "cpu" && resource != "memory" {
		return nil, fmt.Errorf("resource %q: metrics-server serves only cpu and memory", resource)
	}
	out := make(map[string]horizontal.Sample, len(pods))
	for _, p := range pods {
		u, ok := usage[p.Name]
		if !ok {
			continue
		}
		var sum int64
		found := false
		for _, c := range u.Containers {
			if container != "" && c.Name != container {
				continue
			}
			found = true
			if resource == "cpu" {
				sum += c.CPUMilli
			} else {
				sum += c.MemoryBytes * 1000
			}
		}
		if !found {
			continue
		}
		out[p.Name] = horizontal.Sample{Value: sum, Timestamp: u.Timestamp, Window: u.Window}
	}
	return out, nil
}

// podValueSamples turns a per-pod PromQL result into samples in milli-units,
// keeping only the target's pods.
func podValueSamples(v metricsource.PodValues, pods []horizontal.Pod, at time.Time) (map[string]horizontal.Sample, error) {
	out := make(map[string]horizontal.Sample, len(pods))
	for _, p := range pods {
		f, ok := v[p.Name]
		if !ok {
			continue
		}
		m, err := toMilli(f)
		if err != nil {
			return nil, fmt.Errorf("pod %s: %w", p.Name, err)
		}
		out[p.Name] = horizontal.Sample{Value: m, Timestamp: at, Window: promSampleWindow}
	}
	return out, nil
}

// toMilli converts a value in units to milli-units, refusing what cannot be
// represented.
func toMilli(f float64) (int64, error) {
	m := math.Round(f * 1000)
	if math.IsNaN(m) || math.IsInf(m, 0) || m > math.MaxInt64 || m < math.MinInt64 {
		return 0, fmt.Errorf("value %v: %w", f, metricsource.ErrBadData)
	}
	return int64(m), nil
}
