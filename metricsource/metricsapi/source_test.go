package metricsapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	custommetrics "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetrics "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	customfake "k8s.io/metrics/pkg/client/custom_metrics/fake"
	externalfake "k8s.io/metrics/pkg/client/external_metrics/fake"

	"github.com/ebb-autoscaler/ebb/metricsource"
)

var sampleTime = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

func int64p(v int64) *int64 { return &v }

func customItem(kind, name, value string, window *int64) custommetrics.MetricValue {
	return custommetrics.MetricValue{
		DescribedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: "prod"},
		Metric:          custommetrics.MetricIdentifier{Name: "http_requests"},
		Timestamp:       metav1.NewTime(sampleTime),
		WindowSeconds:   window,
		Value:           resource.MustParse(value),
	}
}

// recordedAction is what a fake client call asked for.
type recordedAction struct {
	Verb, Resource, Namespace, Name, Metric, Selector string
}

func record(a k8stesting.Action) recordedAction {
	r := recordedAction{Verb: a.GetVerb(), Resource: a.GetResource().GroupResource().String(), Namespace: a.GetNamespace()}
	switch act := a.(type) {
	case customfake.GetForAction:
		r.Name, r.Metric = act.GetName(), act.GetMetricName()
		if s := act.GetLabelSelector(); s != nil {
			r.Selector = s.String()
		}
	case k8stesting.ListAction:
		r.Selector = act.GetListRestrictions().Labels.String()
	}
	return r
}

func TestSourceMetric(t *testing.T) {
	podsList := &custommetrics.MetricValueList{Items: []custommetrics.MetricValue{
		customItem("Pod", "web-1", "12500m", nil),
		customItem("Pod", "web-2", "7", int64p(30)),
	}}
	extList := &externalmetrics.ExternalMetricValueList{Items: []externalmetrics.ExternalMetricValue{
		{MetricName: "queue_depth", Timestamp: metav1.NewTime(sampleTime), WindowSeconds: int64p(60), Value: resource.MustParse("40")},
		{MetricName: "queue_depth", Timestamp: metav1.NewTime(sampleTime), Value: resource.MustParse("2.5")},
	}}
	for _, tc := range []struct {
		name       string
		req        metricsource.MetricRequest
		custom     runtime.Object // answer of the custom metrics fake
		external   runtime.Object // answer of the external metrics fake
		want       []metricsource.MetricValue
		wantAction recordedAction
	}{
		{
			name:   "Pods metric: GetForObjects on pods by the target's selector, values, timestamps and windows as served",
			req:    metricsource.MetricRequest{Kind: metricsource.PodsMetric, Namespace: "prod", Metric: "http_requests", Selector: "app=web", MetricSelector: "verb=GET"},
			custom: podsList,
			want: []metricsource.MetricValue{
				{Name: "web-1", MilliValue: 12500, Timestamp: sampleTime},
				{Name: "web-2", MilliValue: 7000, Timestamp: sampleTime, Window: 30 * time.Second},
			},
			wantAction: recordedAction{Verb: "get", Resource: "pods.custom.metrics.k8s.io", Namespace: "prod", Name: "*",
				Metric: "http_requests", Selector: "app=web"},
		},
		{
			name: "Object metric on a Service: GetForObject on the described object",
			req: metricsource.MetricRequest{Kind: metricsource.ObjectMetric, Namespace: "prod", Metric: "http_requests",
				Object: metricsource.ObjectRef{APIVersion: "v1", Kind: "Service", Name: "web"}},
			custom:     &custommetrics.MetricValueList{Items: []custommetrics.MetricValue{customItem("Service", "web", "60", nil)}},
			want:       []metricsource.MetricValue{{Name: "web", MilliValue: 60000, Timestamp: sampleTime}},
			wantAction: recordedAction{Verb: "get", Resource: "services.custom.metrics.k8s.io", Namespace: "prod", Name: "web", Metric: "http_requests"},
		},
		{
			name: "Object metric of a group kind (apps Deployment)",
			req: metricsource.MetricRequest{Kind: metricsource.ObjectMetric, Namespace: "prod", Metric: "queue",
				Object: metricsource.ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker"}},
			custom:     &custommetrics.MetricValueList{Items: []custommetrics.MetricValue{customItem("Deployment", "worker", "3", nil)}},
			want:       []metricsource.MetricValue{{Name: "worker", MilliValue: 3000, Timestamp: sampleTime}},
			wantAction: recordedAction{Verb: "get", Resource: "deployments.apps.custom.metrics.k8s.io", Namespace: "prod", Name: "worker", Metric: "queue"},
		},
		{
			name: "Object metric on the Namespace: root-scoped, named for the target's namespace whatever the spec says",
			req: metricsource.MetricRequest{Kind: metricsource.ObjectMetric, Namespace: "prod", Metric: "load",
				Object: metricsource.ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: "elsewhere"}},
			custom:     &custommetrics.MetricValueList{Items: []custommetrics.MetricValue{customItem("Namespace", "prod", "1", nil)}},
			want:       []metricsource.MetricValue{{Name: "prod", MilliValue: 1000, Timestamp: sampleTime}},
			wantAction: recordedAction{Verb: "get", Resource: "namespaces.custom.metrics.k8s.io", Name: "prod", Metric: "load"},
		},
		{
			name:     "External metric: List by name and the metric's selector, every value",
			req:      metricsource.MetricRequest{Kind: metricsource.ExternalMetric, Namespace: "prod", Metric: "queue_depth", MetricSelector: "queue=jobs"},
			external: extList,
			want: []metricsource.MetricValue{
				{Name: "queue_depth", MilliValue: 40000, Timestamp: sampleTime, Window: time.Minute},
				{Name: "queue_depth", MilliValue: 2500, Timestamp: sampleTime},
			},
			wantAction: recordedAction{Verb: "list", Resource: "queue_depth.external.metrics.k8s.io", Namespace: "prod", Selector: "queue=jobs"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm, em := &customfake.FakeCustomMetricsClient{}, &externalfake.FakeExternalMetricsClient{}
			cm.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, tc.custom, nil })
			em.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, tc.external, nil })
			got, err := New(cm, em, nil).Metric(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Metric(%s): %v", tc.req, err)
			}
			if d := cmp.Diff(got, tc.want); d != "" {
				t.Errorf("values (-got +want):\n%s", d)
			}
			actions := append(cm.Actions(), em.Actions()...)
			if len(actions) != 1 {
				t.Fatalf("got %d calls, want 1: %v", len(actions), actions)
			}
			if d := cmp.Diff(record(actions[0]), tc.wantAction); d != "" {
				t.Errorf("call (-got +want):\n%s", d)
			}
		})
	}
}

func TestSourceErrors(t *testing.T) {
	gr := schema.GroupResource{Group: "custom.metrics.k8s.io", Resource: "pods"}
	pods := metricsource.MetricRequest{Kind: metricsource.PodsMetric, Namespace: "prod", Metric: "http_requests", Selector: "app=web"}
	ext := metricsource.MetricRequest{Kind: metricsource.ExternalMetric, Namespace: "prod", Metric: "queue_depth"}
	for _, tc := range []struct {
		name     string
		req      metricsource.MetricRequest
		answer   runtime.Object
		err      error
		noClient bool
		want     error  // errors.Is
		wantMsg  string // substring
	}{
		{name: "no pod has the metric", req: pods, answer: &custommetrics.MetricValueList{}, want: metricsource.ErrNoData, wantMsg: "no pod has the metric"},
		{name: "no external series", req: ext, answer: &externalmetrics.ExternalMetricValueList{}, want: metricsource.ErrNoData, wantMsg: "no series"},
		{name: "adapter does not serve the metric (404)", req: pods, err: apierrors.NewNotFound(gr, "http_requests"), want: metricsource.ErrNoData, wantMsg: "not served"},
		{name: "adapter down (503)", req: pods, err: apierrors.NewServiceUnavailable("no endpoints"), want: metricsource.ErrUnavailable},
		{name: "external adapter down (503)", req: ext, err: apierrors.NewServiceUnavailable("no endpoints"), want: metricsource.ErrUnavailable},
		{name: "no client configured", req: ext, noClient: true, want: metricsource.ErrUnavailable},
		{name: "bad metric selector names it", req: metricsource.MetricRequest{Kind: metricsource.ExternalMetric, Metric: "x", MetricSelector: "a in (b"}, wantMsg: `metric selector "a in (b"`},
		{name: "unknown kind", req: metricsource.MetricRequest{Kind: "Resource", Metric: "cpu"}, wantMsg: `unknown metric kind "Resource"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cm, em := &customfake.FakeCustomMetricsClient{}, &externalfake.FakeExternalMetricsClient{}
			react := func(k8stesting.Action) (bool, runtime.Object, error) { return true, tc.answer, tc.err }
			cm.AddReactor("*", "*", react)
			em.AddReactor("*", "*", react)
			src := New(cm, em, nil)
			if tc.noClient {
				src = New(nil, nil, nil)
			}
			got, err := src.Metric(context.Background(), tc.req)
			if err == nil {
				t.Fatalf("Metric(%s) = %v, want an error", tc.req, got)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), tc.req.Metric) {
				t.Errorf("error %q does not name %q and the metric %q", err, tc.wantMsg, tc.req.Metric)
			}
		})
	}
}

// A call the client cannot cancel (the k8s.io/metrics clients take no
// context) still returns when the pass's context ends.
func TestSourceContextEnds(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	cm := &customfake.FakeCustomMetricsClient{}
	cm.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release
		return true, &custommetrics.MetricValueList{}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := New(cm, nil, nil).Metric(ctx, metricsource.MetricRequest{Kind: metricsource.PodsMetric, Namespace: "prod", Metric: "m"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
}

func TestSourceSourceMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cm, em := &customfake.FakeCustomMetricsClient{}, &externalfake.FakeExternalMetricsClient{}
	cm.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &custommetrics.MetricValueList{Items: []custommetrics.MetricValue{customItem("Pod", "web-1", "1", nil)}}, nil
	})
	em.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("down")
	})
	src := New(cm, em, metricsource.NewSourceMetrics(reg))
	ctx := context.Background()
	_, _ = src.Metric(ctx, metricsource.MetricRequest{Kind: metricsource.PodsMetric, Namespace: "prod", Metric: "m"})
	_, _ = src.Metric(ctx, metricsource.MetricRequest{Kind: metricsource.ExternalMetric, Namespace: "prod", Metric: "m"})
	want := `
# HELP ebb_source_errors_total Failed requests to a metric source by kind (transport, no_data, bad_data, unavailable).
# TYPE ebb_source_errors_total counter
ebb_source_errors_total{kind="unavailable",source="external-metrics"} 1
# HELP ebb_source_requests_total Requests to a metric source by result (success, error).
# TYPE ebb_source_requests_total counter
ebb_source_requests_total{result="error",source="external-metrics"} 1
ebb_source_requests_total{result="success",source="custom-metrics"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ebb_source_requests_total", "ebb_source_errors_total"); err != nil {
		t.Error(err)
	}
}
