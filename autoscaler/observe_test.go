package autoscaler

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

func TestConvertPod(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	always := corev1.ContainerRestartPolicyAlways
	cpu := func(q string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", DeletionTimestamp: &metav1.Time{Time: start}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "init", Resources: cpu("1")}, {Name: "sidecar", RestartPolicy: &always, Resources: cpu("50m")}},
			Containers:     []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("1Ki")}}}},
			Resources:      &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &metav1.Time{Time: start},
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: metav1.Time{Time: start.Add(time.Minute)}}}},
	}
	want := horizontal.Pod{Name: "p", Phase: horizontal.PodRunning, Deleting: true, HasReadyCondition: true, Ready: false,
		ReadyTransition: start.Add(time.Minute), StartTime: start,
		Containers: []horizontal.Container{{Name: "sidecar", Requests: map[string]int64{"cpu": 50}},
			{Name: "app", Requests: map[string]int64{"cpu": 250, "memory": 1024000}}},
		PodRequests: map[string]int64{"cpu": 500}}
	if diff := cmp.Diff(want, convertPod(pod)); diff != "" {
		t.Errorf("convertPod() (-want +got):\n%s", diff)
	}
}

func TestResourceSamples(t *testing.T) {
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	usage := metricsource.UsageIndex{
		"a": {Name: "a", Timestamp: ts, Window: 30 * time.Second, Containers: []metricsource.ContainerUsage{
			{Name: "app", CPUMilli: 100, MemoryBytes: 10}, {Name: "sidecar", CPUMilli: 20, MemoryBytes: 5}}},
		"b":     {Name: "b", Timestamp: ts, Window: time.Minute, Containers: []metricsource.ContainerUsage{{Name: "sidecar", CPUMilli: 7}}},
		"other": {Name: "other", Containers: []metricsource.ContainerUsage{{Name: "app", CPUMilli: 999}}},
	}
	pods := []horizontal.Pod{{Name: "a"}, {Name: "b"}, {Name: "no-metrics"}}
	for _, tc := range []struct {
		name, resource, container string
		want                      map[string]horizontal.Sample
		wantErr                   bool
	}{
		{name: "cpu sums containers", resource: "cpu", want: map[string]horizontal.Sample{
			"a": {Value: 120, Timestamp: ts, Window: 30 * time.Second}, "b": {Value: 7, Timestamp: ts, Window: time.Minute}}},
		{name: "memory in milli-bytes", resource: "memory", want: map[string]horizontal.Sample{
			"a": {Value: 15000, Timestamp: ts, Window: 30 * time.Second}, "b": {Value: 0, Timestamp: ts, Window: time.Minute}}},
		{name: "container: pods without it are missing", resource: "cpu", container: "app", want: map[string]horizontal.Sample{
			"a": {Value: 100, Timestamp: ts, Window: 30 * time.Second}}},
		{name: "unknown resource", resource: "gpu", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resourceSamples(usage, pods, tc.resource, tc.container)
			if (err != nil) != tc.wantErr {
				t.Fatalf("resourceSamples() error = %v, want error %t", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resourceSamples() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodValueSamples(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pods := []horizontal.Pod{{Name: "a"}, {Name: "b"}}
	got, err := podValueSamples(metricsource.PodValues{"a": 1.5, "z": 3}, pods, at)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]horizontal.Sample{"a": {Value: 1500, Timestamp: at, Window: time.Minute}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("podValueSamples() (-want +got):\n%s", diff)
	}
	if _, err := podValueSamples(metricsource.PodValues{"a": math.Inf(1)}, pods, at); err == nil {
		t.Error("podValueSamples(+Inf) error = nil, want bad data")
	}
}

// countingProm is a fake Prometheus counting queries by PromQL.
type countingProm struct {
	mu      sync.Mutex
	queries map[string]int
}

func (p *countingProm) count(q string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queries[q]++
}

func (p *countingProm) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.queries {
		n += c
	}
	return n
}

func (p *countingProm) PodValues(_ context.Context, q string, _ time.Time) (metricsource.PodValues, error) {
	p.count(q)
	return metricsource.PodValues{"a-0": 30, "a-1": 30, "b-0": 5, "b-1": 5}, nil
}

func (p *countingProm) Scalar(_ context.Context, q string, _ time.Time) (float64, error) {
	p.count(q)
	return 400, nil
}

func TestPrometheusQueriesRenderedAndDeduplicated(t *testing.T) {
	c := newCluster(t)
	prom := &countingProm{queries: map[string]int{}}
	var targets []Target
	for _, name := range []string{"a", "b"} {
		c.addWorkload(t, name, 2, 50, time.Now().Add(-time.Hour))
		tg := cpuTarget(name, policy.ModeApply, nil)
		tg.Spec.Metrics = []horizontal.MetricSpec{
			{Type: horizontal.PodsMetric, Name: "rps", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 10000}},
			{Type: horizontal.ExternalMetric, Name: "queue", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 100000}},
		}
		tg.Queries = map[string]string{
			"rps":   `sum by (pod) (rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"}[2m]))`,
			"queue": `sum(queue_depth{queue="orders"})`,
		}
		targets = append(targets, tg)
	}
	l, _ := c.newLoop(t, loopConfig{targets: targets, prom: prom})
	if _, err := l.Pass(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		`sum by (pod) (rate(http_requests_total{namespace="shop",pod=~"a-0|a-1"}[2m]))`: 1,
		`sum by (pod) (rate(http_requests_total{namespace="shop",pod=~"b-0|b-1"}[2m]))`: 1,
		`sum(queue_depth{queue="orders"})`:                                              1,
	}
	if diff := cmp.Diff(want, prom.queries); diff != "" {
		t.Errorf("queries per pass (-want +got):\n%s", diff)
	}
	// a: rps 30/pod vs 10 -> 6; queue 400/100 -> 4; max 6 within the
	// legacy scale-up limit max(2*2, 4) = 4.
	if got := c.replicasOf("a"); got != 4 {
		t.Errorf("replicas of a = %d, want 4", got)
	}
	// b: rps 5/pod vs 10 -> 1; queue 400/100 -> 4 (External AverageValue).
	if got := c.replicasOf("b"); got != 4 {
		t.Errorf("replicas of b = %d, want 4", got)
	}
}
