package autoscaler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	autoscalingv2listers "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/scale"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

const testNS = "shop"

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// cluster is a fake namespace: a clientset (state ConfigMap, events,
// HPAs), a scale client with reactors keeping spec.replicas per workload,
// a metrics clientset serving per-pod CPU usage, and pod/HPA listers.
type cluster struct {
	kube    *fake.Clientset
	scales  *recordingScales
	metrics *metricsfake.Clientset
	pods    cache.Indexer
	hpas    cache.Indexer

	mu          sync.Mutex
	replicas    map[string]int32 // by workload name
	cpuMilli    map[string]int64 // usage by pod name
	metricLists int
	scaleGets   int
	patches     int // persisted (non-dry-run) patches
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	c := &cluster{
		kube:     fake.NewClientset(),
		metrics:  metricsfake.NewSimpleClientset(),
		pods:     cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		hpas:     cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}),
		replicas: map[string]int32{},
		cpuMilli: map[string]int64{},
	}
	fs := &scalefake.FakeScaleClient{}
	fs.AddReactor("get", "deployments", c.getScale)
	fs.AddReactor("patch", "deployments", c.patchScale)
	c.scales = &recordingScales{fake: fs, c: c}
	c.metrics.PrependReactor("list", "pods", c.listPodMetrics)
	return c
}

// addWorkload adds a Deployment with n running, ready pods labelled
// app=name, each requesting 100m CPU and using cpu millicores.
func (c *cluster) addWorkload(t testing.TB, name string, n int32, cpu int64, started time.Time) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replicas[name] = n
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Namespace: testNS, Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &metav1.Time{Time: started},
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Time{Time: started}}}},
		}
		if err := c.pods.Add(pod); err != nil {
			t.Fatal(err)
		}
		c.cpuMilli[pod.Name] = cpu
	}
}

func (c *cluster) setCPU(workload string, cpu int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for pod := range c.cpuMilli {
		if strings.HasPrefix(pod, workload+"-") {
			c.cpuMilli[pod] = cpu
		}
	}
}

func (c *cluster) replicasOf(name string) int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replicas[name]
}

func (c *cluster) counts() (metricLists, scaleGets, patches int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metricLists, c.scaleGets, c.patches
}

func (c *cluster) getScale(a clienttesting.Action) (bool, runtime.Object, error) {
	name := a.(clienttesting.GetAction).GetName()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scaleGets++
	n, ok := c.replicas[name]
	if !ok {
		return true, nil, fmt.Errorf("deployments.apps %q not found", name)
	}
	return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS},
		Spec: autoscalingv1.ScaleSpec{Replicas: n}, Status: autoscalingv1.ScaleStatus{Replicas: n, Selector: "app=" + name}}, nil
}

func (c *cluster) patchScale(a clienttesting.Action) (bool, runtime.Object, error) {
	pa := a.(clienttesting.PatchAction)
	var p struct {
		Spec struct {
			Replicas int32 `json:"replicas"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(pa.GetPatch(), &p); err != nil {
		return true, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.patches++
	c.replicas[pa.GetName()] = p.Spec.Replicas
	return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: pa.GetName(), Namespace: testNS},
		Spec: autoscalingv1.ScaleSpec{Replicas: p.Spec.Replicas}}, nil
}

func (c *cluster) listPodMetrics(clienttesting.Action) (bool, runtime.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.metricLists++
	list := &metricsv1beta1.PodMetricsList{}
	for _, name := range sortedKeys(c.cpuMilli) {
		obj, _, _ := c.pods.GetByKey(testNS + "/" + name)
		pod := obj.(*corev1.Pod)
		list.Items = append(list.Items, metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: pod.Labels},
			Timestamp:  metav1.Time{Time: time.Now().Add(-10 * time.Second)},
			Window:     metav1.Duration{Duration: 30 * time.Second},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewMilliQuantity(c.cpuMilli[name], resource.DecimalSI),
				corev1.ResourceMemory: resource.MustParse("64Mi")}}},
		})
	}
	return true, list, nil
}

// recordingScales wraps the fake scale client, which drops PatchOptions:
// it records every PatchOptions and, like the API server, persists nothing
// for DryRun=All (answering with the would-be object).
type recordingScales struct {
	fake *scalefake.FakeScaleClient
	c    *cluster
	mu   sync.Mutex
	opts []metav1.PatchOptions
}

func (r *recordingScales) Scales(ns string) scale.ScaleInterface {
	return &recordingScale{ScaleInterface: r.fake.Scales(ns), r: r}
}

func (r *recordingScales) patchOptions() []metav1.PatchOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.opts)
}

type recordingScale struct {
	scale.ScaleInterface
	r *recordingScales
}

func (s *recordingScale) Patch(ctx context.Context, gvr schema.GroupVersionResource, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) (*autoscalingv1.Scale, error) {
	s.r.mu.Lock()
	s.r.opts = append(s.r.opts, opts)
	s.r.mu.Unlock()
	if slices.Contains(opts.DryRun, metav1.DryRunAll) {
		return s.Get(ctx, gvr.GroupResource(), name, metav1.GetOptions{})
	}
	return s.ScaleInterface.Patch(ctx, gvr, name, pt, data, opts)
}

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	return m
}

// staticConfig is a ConfigSource that never changes.
type staticConfig Config

func (s staticConfig) Config() Config { return Config(s) }

// cpuTarget is Deployment/name scaled on CPU utilization 50%.
func cpuTarget(name string, mode policy.Mode, behavior *horizontal.Behavior) Target {
	return Target{Namespace: testNS, CompiledTarget: policy.CompiledTarget{
		Ref:     autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
		Mode:    mode,
		Options: horizontal.DefaultOptions(),
		Spec: horizontal.Spec{MinReplicas: 1, MaxReplicas: 20, Behavior: behavior, Metrics: []horizontal.MetricSpec{{
			Type: horizontal.ResourceMetric, Name: "cpu",
			Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: 50}}}},
		Missing: policy.MissingMetrics{Action: policy.MissingHold},
	}}
}

type loopConfig struct {
	targets []Target
	state   bool // checkpoint in the ConfigMap ebb-state
	dryRun  bool
	usage   UsageSource
	reg     *prometheus.Registry
	leader  LeaderState
}

// newLoop builds a Loop over c; every Loop made from the same cluster
// shares its objects, as a restarted process would.
func (c *cluster) newLoop(t testing.TB, lc loopConfig) (*Loop, *record.FakeRecorder) {
	t.Helper()
	rec := record.NewFakeRecorder(1000)
	o := DefaultOptions()
	o.Namespace = testNS
	if lc.reg == nil {
		lc.reg = prometheus.NewRegistry()
	}
	o.Registerer = lc.reg
	o.Config = staticConfig{Targets: lc.targets, SyncPeriod: 15 * time.Second}
	o.Scales = c.scales
	o.Mapper = testMapper()
	o.Pods = corelisters.NewPodLister(c.pods)
	o.HPAs = autoscalingv2listers.NewHorizontalPodAutoscalerLister(c.hpas)
	o.Usage = lc.usage
	if o.Usage == nil {
		o.Usage = metricsource.NewMetricsServer(c.metrics.MetricsV1beta1())
	}
	o.Recorder = rec
	o.DryRun = lc.dryRun
	o.LeaderState = lc.leader
	if lc.state {
		o.State = NewConfigMapStore(c.kube.CoreV1(), testNS, DefaultStateName, false, nil)
	}
	l, err := New(o)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return l, rec
}

// events drains the recorder.
func events(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}
