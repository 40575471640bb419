package metricsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

var (
	podMetricsGVR = metricsapi.SchemeGroupVersion.WithResource("pods")
	sampleTime    = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
)

type ctr struct {
	name, cpu, mem string
}

func podMetrics(ns, name string, lbls map[string]string, ctrs ...ctr) *metricsapi.PodMetrics {
	pm := &metricsapi.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Timestamp:  metav1.NewTime(sampleTime),
		Window:     metav1.Duration{Duration: 15 * time.Second},
	}
	for _, c := range ctrs {
		pm.Containers = append(pm.Containers, metricsapi.ContainerMetrics{Name: c.name, Usage: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(c.cpu), corev1.ResourceMemory: resource.MustParse(c.mem),
		}})
	}
	return pm
}

// newFakeMetrics returns a fake clientset holding objs. The generated fake
// lists resource "pods" while the tracker would guess "podmetricses" from the
// kind, so objects are added with the explicit resource.
func newFakeMetrics(t testing.TB, objs ...*metricsapi.PodMetrics) *metricsfake.Clientset {
	t.Helper()
	c := metricsfake.NewSimpleClientset()
	for _, o := range objs {
		if err := c.Tracker().Create(podMetricsGVR, o, o.Namespace); err != nil {
			t.Fatalf("add %s/%s: %v", o.Namespace, o.Name, err)
		}
	}
	return c
}

func TestMetricsServerPodUsage(t *testing.T) {
	web := map[string]string{"app": "web"}
	objs := []*metricsapi.PodMetrics{
		podMetrics("prod", "web-1", web, ctr{"app", "250m", "64Mi"}, ctr{"sidecar", "1", "1Ki"}),
		podMetrics("prod", "db-1", map[string]string{"app": "db"}, ctr{"db", "1500m", "1Gi"}),
		podMetrics("other", "web-9", web, ctr{"app", "5m", "1M"}),
	}
	want := func(name string, lbls map[string]string, cs ...ContainerUsage) PodUsage {
		return PodUsage{Name: name, Labels: lbls, Timestamp: sampleTime, Window: 15 * time.Second, Containers: cs}
	}
	for _, tc := range []struct {
		name    string
		ns      string
		sel     labels.Selector
		want    []PodUsage
		wantErr error
	}{
		{name: "every pod of the namespace", ns: "prod", sel: labels.Everything(), want: []PodUsage{
			want("db-1", map[string]string{"app": "db"}, ContainerUsage{"db", 1500, 1 << 30}),
			want("web-1", web, ContainerUsage{"app", 250, 64 << 20}, ContainerUsage{"sidecar", 1000, 1024}),
		}},
		{name: "nil selector means every pod", ns: "other", want: []PodUsage{
			want("web-9", web, ContainerUsage{"app", 5, 1000000}),
		}},
		{name: "label selector", ns: "prod", sel: labels.SelectorFromSet(web), want: []PodUsage{
			want("web-1", web, ContainerUsage{"app", 250, 64 << 20}, ContainerUsage{"sidecar", 1000, 1024}),
		}},
		{name: "selector matching nothing is no data", ns: "prod", sel: labels.SelectorFromSet(labels.Set{"app": "none"}), wantErr: ErrNoData},
		{name: "empty namespace is no data", ns: "empty", sel: labels.Everything(), wantErr: ErrNoData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMetricsServer(newFakeMetrics(t, objs...).MetricsV1beta1())
			got, err := m.PodUsage(context.Background(), tc.ns, tc.sel)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("PodUsage() error = %v, want %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("PodUsage() (-want +got):\n%s", d)
			}
		})
	}
}

// TestMetricsServerExcludesBadPods: one bad PodMetrics entry excludes that
// pod (named, counted), never the namespace.
func TestMetricsServerExcludesBadPods(t *testing.T) {
	good := podMetrics("prod", "web-0", nil, ctr{"app", "250m", "64Mi"})
	for _, tc := range []struct {
		name string
		bad  func(*metricsapi.PodMetrics)
		want string
	}{
		{name: "negative cpu", bad: func(pm *metricsapi.PodMetrics) {
			pm.Containers[0].Usage[corev1.ResourceCPU] = resource.MustParse("-5m")
		}, want: "container app: negative usage (cpu -5m, memory 1048576 bytes)"},
		{name: "negative memory", bad: func(pm *metricsapi.PodMetrics) {
			pm.Containers[0].Usage[corev1.ResourceMemory] = resource.MustParse("-1Mi")
		}, want: "container app: negative usage (cpu 5m, memory -1048576 bytes)"},
		{name: "no cpu is not zero cpu", bad: func(pm *metricsapi.PodMetrics) {
			delete(pm.Containers[0].Usage, corev1.ResourceCPU)
		}, want: "container app: no cpu or memory usage (missing is not zero)"},
		{name: "container without name", bad: func(pm *metricsapi.PodMetrics) { pm.Containers[0].Name = "" },
			want: "container 0 has no name"},
		{name: "container twice", bad: func(pm *metricsapi.PodMetrics) {
			pm.Containers = append(pm.Containers, pm.Containers[0])
		}, want: "container app listed twice"},
		{name: "no timestamp", bad: func(pm *metricsapi.PodMetrics) { pm.Timestamp = metav1.Time{} }, want: "no timestamp"},
		{name: "no containers", bad: func(pm *metricsapi.PodMetrics) { pm.Containers = nil }, want: "no containers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := podMetrics("prod", "web-1", nil, ctr{"app", "5m", "1Mi"})
			tc.bad(bad)
			reg := prometheus.NewRegistry()
			m := NewMetricsServer(newFakeMetrics(t, good, bad).MetricsV1beta1(), WithMetrics(NewSourceMetrics(reg)))
			got, err := m.PodUsage(context.Background(), "prod", nil)
			if err != nil {
				t.Fatalf("PodUsage() error = %v, want the good pod's sample", err)
			}
			if d := cmp.Diff(map[string]string{"web-1": tc.want}, ExcludedPods(got)); d != "" {
				t.Errorf("ExcludedPods() (-want +got):\n%s", d)
			}
			found, missing := IndexPodUsage(got).Pick([]string{"web-0", "web-1"})
			if len(found) != 1 || found[0].Name != "web-0" || found[0].Containers[0].CPUMilli != 250 || !slices.Equal(missing, []string{"web-1"}) {
				t.Errorf("Pick() = %+v, missing %v; want web-0's sample, web-1 missing", found, missing)
			}
			if n := testutil.ToFloat64(m.metrics.excluded.WithLabelValues(SourceMetricsServer)); n != 1 {
				t.Errorf("ebb_source_excluded_pods_total = %v, want 1", n)
			}
		})
	}
}

func TestMetricsServerAPIErrors(t *testing.T) {
	gr := schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}
	for _, tc := range []struct {
		name     string
		apiErr   error
		wantErr  error
		wantText string
	}{
		{name: "APIService missing (404)", apiErr: apierrors.NewNotFound(gr, ""), wantErr: ErrUnavailable, wantText: "metrics.k8s.io is not available"},
		{name: "APIService unavailable (503)", apiErr: apierrors.NewServiceUnavailable("the server is currently unable to handle the request"), wantErr: ErrUnavailable, wantText: "metrics.k8s.io is not available"},
		{name: "forbidden stays a transport error", apiErr: apierrors.NewForbidden(gr, "", fmt.Errorf("rbac")), wantText: "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeMetrics(t)
			c.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.apiErr
			})
			_, err := NewMetricsServer(c.MetricsV1beta1()).PodUsage(context.Background(), "prod", nil)
			if err == nil {
				t.Fatal("PodUsage() error = nil, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("PodUsage() error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, ErrUnavailable) {
				t.Errorf("PodUsage() error = %v, must not be ErrUnavailable", err)
			}
			if !errors.Is(err, tc.apiErr) {
				t.Errorf("PodUsage() error = %v does not wrap the API error", err)
			}
			if !containsStr(err.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", err, tc.wantText)
			}
		})
	}
}

func TestMetricsServerOneListPerCall(t *testing.T) {
	c := newFakeMetrics(t, podMetrics("prod", "web-1", nil, ctr{"app", "1m", "1"}))
	m := NewMetricsServer(c.MetricsV1beta1())
	if _, err := m.PodUsage(context.Background(), "prod", nil); err != nil {
		t.Fatal(err)
	}
	if got := len(c.Actions()); got != 1 {
		t.Errorf("PodUsage() made %d API calls, want 1: %v", got, c.Actions())
	}
}

func TestUsageIndexPick(t *testing.T) {
	ix := IndexPodUsage([]PodUsage{{Name: "a"}, {Name: "b"}, {Name: "c"}})
	found, missing := ix.Pick([]string{"c", "x", "a"})
	var names []string
	for _, p := range found {
		names = append(names, p.Name)
	}
	if d := cmp.Diff([]string{"c", "a"}, names); d != "" {
		t.Errorf("Pick() found (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"x"}, missing); d != "" {
		t.Errorf("Pick() missing (-want +got):\n%s", d)
	}
}

// BenchmarkMetricsServerCycle is one cycle for a namespace of 2,000 pods:
// one PodMetrics list (fake clientset) converted and indexed, and each
// pod picked once.
func BenchmarkMetricsServerCycle(b *testing.B) {
	const n = 2000
	objs, names := benchPods(n)
	m := NewMetricsServer(newFakeMetrics(b, objs...).MetricsV1beta1())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pods, err := m.PodUsage(ctx, "prod", labels.Everything())
		if err != nil {
			b.Fatal(err)
		}
		if found, _ := IndexPodUsage(pods).Pick(names); len(found) != n {
			b.Fatalf("picked %d pods, want %d", len(found), n)
		}
	}
}

func benchPods(n int) ([]*metricsapi.PodMetrics, []string) {
	objs := make([]*metricsapi.PodMetrics, n)
	names := make([]string, n)
	for i := range objs {
		names[i] = fmt.Sprintf("web-%d", i)
		objs[i] = podMetrics("prod", names[i], map[string]string{"app": "web"},
			ctr{"app", "250m", "64Mi"}, ctr{"sidecar", "10m", "16Mi"})
	}
	return objs, names
}

// BenchmarkConvertAndIndex is ebb's own share of a 2,000-pod cycle: the
// conversion of an already-decoded list, indexing, and picking every pod.
func BenchmarkConvertAndIndex(b *testing.B) {
	objs, names := benchPods(2000)
	items := make([]metricsapi.PodMetrics, len(objs))
	for i, o := range objs {
		items[i] = *o
	}
	b.ReportAllocs()
	for b.Loop() {
		pods, err := convertPodMetrics(items)
		if err != nil {
			b.Fatal(err)
		}
		if found, _ := IndexPodUsage(pods).Pick(names); len(found) != len(names) {
			b.Fatalf("picked %d pods", len(found))
		}
	}
}

// BenchmarkMetricsServerCycleHTTP is a 2,000-pod cycle through the real
// typed client: the PodMetricsList JSON served by httptest is decoded by
// client-go, converted and indexed.
func BenchmarkMetricsServerCycleHTTP(b *testing.B) {
	objs, names := benchPods(2000)
	list := metricsapi.PodMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: "metrics.k8s.io/v1beta1", Kind: "PodMetricsList"}}
	for _, o := range objs {
		list.Items = append(list.Items, *o)
	}
	body, err := json.Marshal(list)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	cs, err := metricsclient.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	m := NewMetricsServer(cs.MetricsV1beta1())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pods, err := m.PodUsage(ctx, "prod", labels.Everything())
		if err != nil {
			b.Fatal(err)
		}
		if found, _ := IndexPodUsage(pods).Pick(names); len(found) != len(names) {
			b.Fatalf("picked %d pods", len(found))
		}
	}
}
