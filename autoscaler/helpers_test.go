package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	autoscalingv2listers "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/scale"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/autoscaler/internal/apitest"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

const testNS = "shop"

var (
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

// cluster is a fake namespace: a clientset (state ConfigMaps with
// resourceVersions enforced, events, leases), Deployments in an informer
// indexer, a scale client over them that behaves like the API server's
// scale subresource (Get; Update checks the resourceVersion, honours
// DryRun=All), a metrics clientset serving per-pod CPU usage, and pod/HPA
// listers.
type cluster struct {
	kube       *fake.Clientset
	configMaps *apitest.Versions
	scales     *fakeScales
	metrics    *metricsfake.Clientset
	pods       cache.Indexer
	hpas       cache.Indexer
	deploys    cache.Indexer

	mu          sync.Mutex
	rv          int
	cpuMilli    map[string]int64 // usage by pod name
	metricLists int
	scaleGets   int
	updates     int // persisted (non-dry-run) scale updates
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	index := func() cache.Indexer {
		return cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	}
	c := &cluster{
		kube:     fake.NewClientset(),
		metrics:  metricsfake.NewSimpleClientset(),
		pods:     index(),
		hpas:     index(),
		deploys:  index(),
		cpuMilli: map[string]int64{},
	}
	c.configMaps = apitest.Enforce(c.kube, configMapsGVR)
	c.scales = &fakeScales{c: c}
	c.metrics.PrependReactor("list", "pods", c.listPodMetrics)
	return c
}

// addWorkload adds a Deployment with n running, ready pods labelled
// app=name, each requesting 100m CPU and using cpu millicores.
func (c *cluster) addWorkload(t testing.TB, name string, n int32, cpu int64, started time.Time) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rv++
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, ResourceVersion: strconv.Itoa(c.rv)},
		Spec:   appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}},
		Status: appsv1.DeploymentStatus{Replicas: n}}
	if err := c.deploys.Add(d); err != nil {
		t.Fatal(err)
	}
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

// deployment returns the stored Deployment name (nil when absent). c.mu held.
func (c *cluster) deployment(name string) *appsv1.Deployment {
	obj, ok, _ := c.deploys.GetByKey(testNS + "/" + name)
	if !ok {
		return nil
	}
	return obj.(*appsv1.Deployment)
}

func (c *cluster) replicasOf(name string) int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.deployment(name); d != nil {
		return *d.Spec.Replicas
	}
	return 0
}

// setReplicas is another writer (kubectl scale): it changes spec.replicas
// and the resourceVersion.
func (c *cluster) setReplicas(name string, n int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store(c.deployment(name), n)
}

// store writes d with n replicas and a new resourceVersion. c.mu held.
func (c *cluster) store(d *appsv1.Deployment, n int32) {
	c.rv++
	d = d.DeepCopy()
	d.Spec.Replicas, d.Status.Replicas, d.ResourceVersion = &n, n, strconv.Itoa(c.rv)
	_ = c.deploys.Update(d)
}

func (c *cluster) counts() (metricLists, scaleGets, updates int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.metricLists, c.scaleGets, c.updates
}

func (c *cluster) listPodMetrics(clienttesting.Action) (bool, runtime.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.metricLists++
	list := &metricsv1beta1.PodMetricsList{}
	for _, name := range slices.Sorted(maps.Keys(c.cpuMilli)) {
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

// fakeScales is the scale subresource of the cluster's Deployments, as the
// API server serves it: Get builds the Scale with the Deployment's
// resourceVersion; Update refuses a stale resourceVersion with a Conflict
// and persists nothing for DryRun=All. It records every UpdateOptions.
type fakeScales struct {
	c *cluster
	// latency is added to every Get (a request over the network).
	latency time.Duration
	mu      sync.Mutex
	opts    []metav1.UpdateOptions
	// hook, when set, runs before each Update is checked (a second writer
	// between ebb's read and write, or a crash: a non-nil error fails it).
	hook func(name string) error
}

func (f *fakeScales) Scales(ns string) scale.ScaleInterface { return fakeScaleNS{f: f} }

func (f *fakeScales) updateOptions() []metav1.UpdateOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.opts)
}

type fakeScaleNS struct{ f *fakeScales }

func (s fakeScaleNS) Get(_ context.Context, gr schema.GroupResource, name string, _ metav1.GetOptions) (*autoscalingv1.Scale, error) {
	time.Sleep(s.f.latency)
	c := s.f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scaleGets++
	d := c.deployment(name)
	if gr != deploymentsGVR.GroupResource() || d == nil {
		return nil, apierrors.NewNotFound(gr, name)
	}
	sc, err := buildScale(&d.ObjectMeta, d.Spec.Replicas, d.Status.Replicas, d.Spec.Selector)
	return sc, err
}

func (s fakeScaleNS) Update(_ context.Context, gr schema.GroupResource, sc *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error) {
	s.f.mu.Lock()
	s.f.opts = append(s.f.opts, opts)
	hook := s.f.hook
	s.f.mu.Unlock()
	if hook != nil {
		if err := hook(sc.Name); err != nil {
			return nil, err
		}
	}
	c := s.f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.deployment(sc.Name)
	if gr != deploymentsGVR.GroupResource() || d == nil {
		return nil, apierrors.NewNotFound(gr, sc.Name)
	}
	if sc.ResourceVersion != "" && sc.ResourceVersion != d.ResourceVersion {
		return nil, apierrors.NewConflict(gr, sc.Name, fmt.Errorf("resourceVersion %s, stored %s", sc.ResourceVersion, d.ResourceVersion))
	}
	if !slices.Contains(opts.DryRun, metav1.DryRunAll) {
		c.updates++
		c.store(d, sc.Spec.Replicas)
	}
	out := sc.DeepCopy()
	return out, nil
}

func (s fakeScaleNS) Patch(context.Context, schema.GroupVersionResource, string, types.PatchType, []byte, metav1.PatchOptions) (*autoscalingv1.Scale, error) {
	return nil, errors.New("ebb never patches a scale: it updates the Scale it read")
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
	state   bool // checkpoint in the ConfigMaps ebb-state-*
	dryRun  bool
	// scaleGets reads every scale with a GET (a custom resource) instead
	// of the Deployment informer.
	scaleGets bool
	usage     UsageSource
	prom      PromSource
	reg       *prometheus.Registry
	leader    LeaderState
	shadow    Shadower // shadows the HPAs no target covers
	readOnly  bool     // the read-only install profile (Options.ReadOnly)
	vpas      VPAChecker
	status    StatusRecorder
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
	cfg := staticConfig{Targets: lc.targets, SyncPeriod: 15 * time.Second, Shadow: lc.shadow}
	if lc.prom != nil {
		cfg.PodValues, cfg.Scalars = lc.prom, lc.prom
	}
	o.Config = cfg
	o.Scales = c.scales
	if !lc.scaleGets {
		o.Workloads = NewWorkloadCache(appslisters.NewDeploymentLister(c.deploys), nil, nil)
	}
	o.Mapper = testMapper()
	o.Pods = corelisters.NewPodLister(c.pods)
	o.HPAs = autoscalingv2listers.NewHorizontalPodAutoscalerLister(c.hpas)
	o.Usage = lc.usage
	if o.Usage == nil {
		o.Usage = metricsource.NewMetricsServer(c.metrics.MetricsV1beta1())
	}
	o.Recorder = rec
	o.DryRun, o.ReadOnly, o.VPAs = lc.dryRun, lc.readOnly, lc.vpas
	o.LeaderState = lc.leader
	o.Status = lc.status
	if lc.state {
		o.State = c.stateStore(t)
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

// stateStore returns a store of horizontal state in c, as cmd wires it.
func (c *cluster) stateStore(t testing.TB) *checkpoint.Store {
	t.Helper()
	s, err := checkpoint.New(checkpoint.Options{Client: c.kube.CoreV1(), Namespace: testNS, Name: "ebb-state"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sortedKeys is used for deterministic iteration in tests.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
