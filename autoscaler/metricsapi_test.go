package autoscaler

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clienttesting "k8s.io/client-go/testing"
	custommetrics "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetrics "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	customfake "k8s.io/metrics/pkg/client/custom_metrics/fake"
	externalfake "k8s.io/metrics/pkg/client/external_metrics/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/metricsource/metricsapi"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// adapterPolicy has targets a and b, each with a Pods metric, an Object
// metric on its own Service and the same External metric, none with a
// query: all three come from the metrics APIs.
const adapterPolicy = `
targets:
%s`

const adapterTarget = `
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: %[1]s}
  mode: apply
  horizontal:
    minReplicas: 1
    maxReplicas: 20
    metrics:
    - type: Pods
      pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: "10"}}
    - type: Object
      object:
        describedObject: {apiVersion: v1, kind: Service, name: %[1]s}
        metric: {name: rps}
        target: {type: Value, value: "100"}
    - type: External
      external:
        metric: {name: queue, selector: {matchLabels: {queue: orders}}}
        target: {type: AverageValue, averageValue: "100"}
`

func compileTargets(t *testing.T, names ...string) []Target {
	t.Helper()
	var body strings.Builder
	for _, n := range names {
		fmt.Fprintf(&body, adapterTarget, n)
	}
	c, err := policy.Load(fmt.Appendf(nil, adapterPolicy, body.String()))
	if err != nil {
		t.Fatal(err)
	}
	return ConfigFromPolicy(c, testNS).Targets
}

// fakeAdapter answers like prometheus-adapter: per-pod rps for any pod
// selector (pods of other workloads too), a Service's total, and the
// queue's series.
type fakeAdapter struct {
	custom   *customfake.FakeCustomMetricsClient
	external *externalfake.FakeExternalMetricsClient
	podRPS   map[string]string // by pod
	svcRPS   map[string]string // by service
	down     bool
}

func newFakeAdapter() *fakeAdapter {
	f := &fakeAdapter{custom: &customfake.FakeCustomMetricsClient{}, external: &externalfake.FakeExternalMetricsClient{}}
	ts := metav1.NewTime(time.Now().Add(-5 * time.Second))
	f.custom.AddReactor("get", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if f.down {
			return true, nil, apierrors.NewServiceUnavailable("the adapter is down")
		}
		ga := a.(customfake.GetForAction)
		list := &custommetrics.MetricValueList{}
		item := func(kind, name, v string) custommetrics.MetricValue {
			return custommetrics.MetricValue{DescribedObject: corev1.ObjectReference{Kind: kind, Name: name},
				Metric: custommetrics.MetricIdentifier{Name: ga.GetMetricName()}, Timestamp: ts, Value: resource.MustParse(v)}
		}
		if ga.GetName() == "*" { // pods of a selector: the adapter answers for every pod it knows
			for _, pod := range sortedKeys(f.podRPS) {
				list.Items = append(list.Items, item("Pod", pod, f.podRPS[pod]))
			}
			return true, list, nil
		}
		list.Items = append(list.Items, item("Service", ga.GetName(), f.svcRPS[ga.GetName()]))
		return true, list, nil
	})
	f.external.AddReactor("list", "*", func(clienttesting.Action) (bool, runtime.Object, error) {
		if f.down {
			return true, nil, apierrors.NewServiceUnavailable("the adapter is down")
		}
		return true, &externalmetrics.ExternalMetricValueList{Items: []externalmetrics.ExternalMetricValue{
			{MetricName: "queue", Timestamp: ts, Value: resource.MustParse("300")},
			{MetricName: "queue", Timestamp: ts, Value: resource.MustParse("100")},
		}}, nil
	})
	return f
}

func (f *fakeAdapter) calls() []string {
	var out []string
	for _, a := range append(f.custom.Actions(), f.external.Actions()...) {
		s := a.GetVerb() + " " + a.GetResource().Resource
		switch act := a.(type) {
		case customfake.GetForAction:
			s += " " + act.GetName()
			if sel := act.GetLabelSelector(); sel != nil {
				s += " pods " + sel.String()
			}
		case clienttesting.ListAction:
			s += " " + act.GetListRestrictions().Labels.String()
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func TestMetricsAPIMetricsScaleAndAreReadOncePerPass(t *testing.T) {
	c := newCluster(t)
	started := time.Now().Add(-time.Hour)
	c.addWorkload(t, "a", 2, 50, started)
	c.addWorkload(t, "b", 2, 50, started)
	ad := newFakeAdapter()
	ad.podRPS = map[string]string{"a-0": "30", "a-1": "30", "b-0": "5", "b-1": "5", "other-0": "1k"}
	ad.svcRPS = map[string]string{"a": "60", "b": "10"}
	l, _ := c.newLoop(t, loopConfig{targets: compileTargets(t, "a", "b")})
	l.o.MetricsAPIs = metricsapi.New(ad.custom, ad.external, nil)
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// One request per distinct read: the Pods metric per target selector,
	// the Object metric per Service, the shared External metric once.
	wantCalls := []string{
		"get pods * pods app=a",
		"get pods * pods app=b",
		"get services a",
		"get services b",
		"list queue queue=orders",
	}
	if d := cmp.Diff(ad.calls(), wantCalls); d != "" {
		t.Errorf("metrics API calls in one pass (-got +want):\n%s", d)
	}
	type metric struct {
		Name  string
		Value int64
	}
	got := map[string][]metric{}
	for _, tg := range rep.Targets {
		for _, m := range tg.Metrics {
			if m.Error != "" {
				t.Errorf("%s %s: %s", tg.Name, m.Name, m.Error)
			}
			got[tg.Name] = append(got[tg.Name], metric{m.Name, *m.Value})
		}
	}
	// Pods: the average of the target's own pods (other-0 ignored); Object:
	// the Service's value; External: the sum of the series per replica.
	want := map[string][]metric{
		"a": {{"Pods/rps", 30000}, {"Object/rps", 60000}, {"External/queue", 200000}},
		"b": {{"Pods/rps", 5000}, {"Object/rps", 10000}, {"External/queue", 200000}},
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("metric values (-got +want):\n%s", d)
	}
	// a: rps 30 vs 10 -> 6, capped by the scale-up policy (max(2*2, 4)) at 4.
	// b: rps -> 1, Service 10/100 -> 1, queue 400 / 100 per replica -> 4.
	for name, want := range map[string]int32{"a": 4, "b": 4} {
		if got := c.replicasOf(name); got != want {
			t.Errorf("replicas of %s = %d, want %d", name, got, want)
		}
	}
}

// The adapter down: every metric of the target is missing, so the hold
// policy keeps the current scale and says why.
func TestMetricsAPIDownHolds(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "a", 3, 50, time.Now().Add(-time.Hour))
	ad := newFakeAdapter()
	ad.down = true
	l, rec := c.newLoop(t, loopConfig{targets: compileTargets(t, "a")})
	l.o.MetricsAPIs = metricsapi.New(ad.custom, ad.external, nil)
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.replicasOf("a"); got != 3 {
		t.Errorf("replicas = %d, want 3 (held)", got)
	}
	rt := rep.Targets[0]
	if rt.Desired == nil || *rt.Desired != 3 {
		t.Errorf("desired = %v, want 3", rt.Desired)
	}
	if !slices.ContainsFunc(rt.Blocking, func(c report.Condition) bool { return c.Reason == "MissingMetricsHold" }) {
		t.Errorf("blocking = %+v, want MissingMetricsHold", rt.Blocking)
	}
	for _, m := range rt.Metrics {
		if !strings.Contains(m.Error, "metrics API unavailable") {
			t.Errorf("metric %s error %q, want it to name the unavailable metrics API", m.Name, m.Error)
		}
	}
	evs := strings.Join(events(rec), "\n")
	if !strings.Contains(evs, "Warning") || !strings.Contains(evs, "hold") {
		t.Errorf("events %q, want a Warning naming the hold", evs)
	}
}

func TestAPIMetricValues(t *testing.T) {
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pods := []horizontal.Pod{{Name: "a"}, {Name: "b"}, {Name: "no-metric"}}
	vals := []metricsource.MetricValue{
		{Name: "a", MilliValue: 1500, Timestamp: ts, Window: 30 * time.Second},
		{Name: "b", MilliValue: 500, Timestamp: ts},
		{Name: "not-ours", MilliValue: 99, Timestamp: ts},
	}
	for _, tc := range []struct {
		name string
		kind metricsource.MetricKind
		vals []metricsource.MetricValue
		want horizontal.MetricValues
	}{
		{name: "Pods: the target's pods only, the HPA's 1m window when none is given", kind: metricsource.PodsMetric, vals: vals,
			want: horizontal.MetricValues{PodValues: map[string]horizontal.Sample{
				"a": {Value: 1500, Timestamp: ts, Window: 30 * time.Second},
				"b": {Value: 500, Timestamp: ts, Window: time.Minute}}}},
		{name: "Object: the value", kind: metricsource.ObjectMetric, vals: vals[:1], want: horizontal.MetricValues{Value: 1500}},
		{name: "External: the sum", kind: metricsource.ExternalMetric, vals: vals, want: horizontal.MetricValues{Value: 2099}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(apiMetricValues(tc.kind, tc.vals, pods), tc.want); d != "" {
				t.Errorf("apiMetricValues (-got +want):\n%s", d)
			}
		})
	}
	if got := apiMetricValues(metricsource.ObjectMetric, nil, pods); !errors.Is(got.Err, metricsource.ErrNoData) {
		t.Errorf("no values: Err = %v, want ErrNoData", got.Err)
	}
}
