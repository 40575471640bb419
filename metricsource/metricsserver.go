package metricsource

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsv1beta1 "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
)

// MetricsServer reads per-pod CPU and memory usage from metrics.k8s.io.
type MetricsServer struct {
	client  metricsv1beta1.PodMetricsesGetter
	metrics *SourceMetrics
}

// NewMetricsServer returns a source over the typed metrics.k8s.io/v1beta1
// client. WithMetrics applies; the other options are ignored (errors are
// returned, never logged, here).
func NewMetricsServer(c metricsv1beta1.PodMetricsesGetter, opts ...Option) *MetricsServer {
	s := applyOptions(opts)
	return &MetricsServer{client: c, metrics: s.metrics}
}

// PodUsage lists the PodMetrics of namespace matching sel (nil: every pod)
// with one List call. Call it once per namespace per cycle and share the
// result (IndexPodUsage) between the targets of that namespace. An empty list
// is ErrNoData; a missing or unavailable metrics.k8s.io API is
// ErrUnavailable. A pod whose entry is bad (negative usage, a container
// without a name, twice, or without cpu or memory, no timestamp) is
// returned with Excluded naming the problem and no containers, and counted
// in ebb_source_excluded_pods_total: the other pods of the namespace keep
// their samples.
func (m *MetricsServer) PodUsage(ctx context.Context, namespace string, sel labels.Selector) ([]PodUsage, error) {
	if sel == nil {
		sel = labels.Everything()
	}
	start := time.Now()
	list, err := m.client.PodMetricses(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	var pods []PodUsage
	if err == nil {
		pods, err = convertPodMetrics(list.Items)
	} else {
		err = classifyAPIError(err)
	}
	m.metrics.observe(SourceMetricsServer, time.Since(start), err)
	if err != nil {
		return nil, fmt.Errorf("%s: list PodMetrics in namespace %q (selector %q): %w",
			SourceMetricsServer, namespace, sel.String(), err)
	}
	m.metrics.excludedPods(SourceMetricsServer, pods)
	return pods, nil
}

// classifyAPIError marks the errors of a missing or unavailable
// metrics.k8s.io APIService (404, 503) as ErrUnavailable.
func classifyAPIError(err error) error {
	if apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) {
		return fmt.Errorf("metrics.k8s.io is not available (is metrics-server installed and its APIService Available?): %w: %w",
			ErrUnavailable, err)
	}
	return err
}

// convertPodMetrics converts API objects to PodUsage: CPU in millicores,
// memory in bytes, keeping each sample's timestamp and window. Bad entries
// are kept with Excluded set and no containers.
func convertPodMetrics(items []metricsapi.PodMetrics) ([]PodUsage, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("no PodMetrics: %w", ErrNoData)
	}
	n := 0
	for i := range items {
		n += len(items[i].Containers)
	}
	all := make([]ContainerUsage, n) // one allocation for every container
	pods := make([]PodUsage, len(items))
	for i := range items {
		pm := &items[i]
		k := len(pm.Containers)
		pods[i] = PodUsage{
			Name:       pm.Name,
			Labels:     pm.Labels,
			Timestamp:  pm.Timestamp.Time,
			Window:     pm.Window.Duration,
			Containers: all[:k:k],
		}
		all = all[k:]
		if reason := convertContainers(pm, pods[i].Containers); reason != "" {
			pods[i].Containers, pods[i].Excluded = nil, reason
		}
	}
	return pods, nil
}

// convertContainers fills out with pm's containers and returns why pm is
// bad, or "".
func convertContainers(pm *metricsapi.PodMetrics, out []ContainerUsage) string {
	if pm.Timestamp.IsZero() {
		return "no timestamp"
	}
	if len(pm.Containers) == 0 {
		return "no containers"
	}
	for j := range pm.Containers {
		c := &pm.Containers[j]
		if c.Name == "" {
			return fmt.Sprintf("container %d has no name", j)
		}
		for _, prev := range out[:j] {
			if prev.Name == c.Name {
				return fmt.Sprintf("container %s listed twice", c.Name)
			}
		}
		cpu, okCPU := c.Usage[corev1.ResourceCPU]
		mem, okMem := c.Usage[corev1.ResourceMemory]
		if !okCPU || !okMem {
			return fmt.Sprintf("container %s: no cpu or memory usage (missing is not zero)", c.Name)
		}
		cu := ContainerUsage{Name: c.Name, CPUMilli: cpu.MilliValue(), MemoryBytes: mem.Value()}
		if cu.CPUMilli < 0 || cu.MemoryBytes < 0 {
			return fmt.Sprintf("container %s: negative usage (cpu %dm, memory %d bytes)", c.Name, cu.CPUMilli, cu.MemoryBytes)
		}
		out[j] = cu
	}
	return ""
}

// UsageIndex is one namespace's PodUsage by pod name, built once per cycle
// and shared by the targets of that namespace.
type UsageIndex map[string]PodUsage

// IndexPodUsage indexes pods by name, leaving out the excluded ones (they
// are missing).
func IndexPodUsage(pods []PodUsage) UsageIndex {
	ix := make(UsageIndex, len(pods))
	for _, p := range pods {
		if p.Excluded == "" {
			ix[p.Name] = p
		}
	}
	return ix
}

// ExcludedPods returns, by pod name, why each excluded pod of pods was
// refused; nil when none was.
func ExcludedPods(pods []PodUsage) map[string]string {
	var out map[string]string
	for _, p := range pods {
		if p.Excluded != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[p.Name] = p.Excluded
		}
	}
	return out
}

// Pick returns the usage of the named pods (a target's pods), in the order of
// names, and the names that have no sample: missing, never zero.
func (ix UsageIndex) Pick(names []string) (found []PodUsage, missing []string) {
	found = make([]PodUsage, 0, len(names))
	for _, n := range names {
		if p, ok := ix[n]; ok {
			found = append(found, p)
		} else {
			missing = append(missing, n)
		}
	}
	return found, missing
}
