package metricsapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/ebb-autoscaler/ebb/metricsource"
)

// fakeAPIServer serves discovery (the custom metrics group with the given
// versions, none for an unregistered adapter) and canned metric answers by
// request path; it records each metrics request as path?query.
type fakeAPIServer struct {
	versions []string // custom.metrics.k8s.io versions, preferred first
	answers  map[string]any

	mu   sync.Mutex
	seen []string
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api":
		_ = json.NewEncoder(w).Encode(metav1.APIVersions{Versions: []string{"v1"}})
		return
	case "/apis":
		list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		if len(f.versions) > 0 {
			g := metav1.APIGroup{Name: "custom.metrics.k8s.io"}
			for _, v := range f.versions {
				g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: "custom.metrics.k8s.io/" + v, Version: v})
			}
			g.PreferredVersion = g.Versions[0]
			list.Groups = append(list.Groups, g)
		}
		_ = json.NewEncoder(w).Encode(list)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	a, ok := f.answers[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound,
			Message: "the server could not find the metric"})
		return
	}
	_ = json.NewEncoder(w).Encode(a)
}

func newTestMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Version: "v1"}})
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	return m
}

// newHTTPMetricsAPIs wires the production clients (NewCustomMetricsClient,
// NewExternalMetricsClient) to srv.
func newHTTPMetricsAPIs(t *testing.T, srv *httptest.Server) *Source {
	t.Helper()
	cfg := &rest.Config{Host: srv.URL}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	custom, _ := NewCustomMetricsClient(cfg, newTestMapper(), disc)
	external, err := NewExternalMetricsClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return New(custom, external, nil)
}

func customJSON(version, kind, name, value string, window *int64) map[string]any {
	item := map[string]any{
		"describedObject": map[string]any{"kind": kind, "namespace": "prod", "name": name, "apiVersion": "/v1"},
		"timestamp":       sampleTime.Format(time.RFC3339), "value": value,
	}
	if window != nil {
		item["windowSeconds"] = *window
	}
	if version == "v1beta1" {
		item["metricName"] = "http_requests"
	} else {
		item["metric"] = map[string]any{"name": "http_requests"}
	}
	return item
}

func customListJSON(version string, items ...map[string]any) map[string]any {
	return map[string]any{"kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/" + version, "metadata": map[string]any{}, "items": items}
}

// The wire requests are the HPA's: selectors as labelSelector and
// metricLabelSelector query parameters, through the preferred version found
// by discovery, v1beta1 answers converted.
func TestSourceOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  string
		req      metricsource.MetricRequest
		answers  map[string]any
		want     []metricsource.MetricValue
		wantSeen []string
	}{
		{
			name:    "Pods metric, v1beta2",
			version: "v1beta2",
			req: metricsource.MetricRequest{Kind: metricsource.PodsMetric, Namespace: "prod", Metric: "http_requests", Selector: "app=web",
				MetricSelector: "verb=GET"},
			answers: map[string]any{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/prod/pods/*/http_requests": customListJSON("v1beta2",
				customJSON("v1beta2", "Pod", "web-1", "10500m", int64p(15)), customJSON("v1beta2", "Pod", "web-2", "9", nil))},
			want: []metricsource.MetricValue{
				{Name: "web-1", MilliValue: 10500, Timestamp: sampleTime, Window: 15 * time.Second},
				{Name: "web-2", MilliValue: 9000, Timestamp: sampleTime},
			},
			wantSeen: []string{"/apis/custom.metrics.k8s.io/v1beta2/namespaces/prod/pods/*/http_requests?labelSelector=app%3Dweb&metricLabelSelector=verb%3DGET"},
		},
		{
			name:    "Object metric on a Service, v1beta1 adapter",
			version: "v1beta1",
			req: metricsource.MetricRequest{Kind: metricsource.ObjectMetric, Namespace: "prod", Metric: "http_requests", MetricSelector: "code=200",
				Object: metricsource.ObjectRef{APIVersion: "v1", Kind: "Service", Name: "web"}},
			answers: map[string]any{"/apis/custom.metrics.k8s.io/v1beta1/namespaces/prod/services/web/http_requests": customListJSON("v1beta1",
				customJSON("v1beta1", "Service", "web", "60", nil))},
			want:     []metricsource.MetricValue{{Name: "web", MilliValue: 60000, Timestamp: sampleTime}},
			wantSeen: []string{"/apis/custom.metrics.k8s.io/v1beta1/namespaces/prod/services/web/http_requests?metricLabelSelector=code%3D200"},
		},
		{
			name:    "External metric",
			version: "v1beta2",
			req:     metricsource.MetricRequest{Kind: metricsource.ExternalMetric, Namespace: "prod", Metric: "queue_depth", MetricSelector: "queue=jobs"},
			answers: map[string]any{"/apis/external.metrics.k8s.io/v1beta1/namespaces/prod/queue_depth": map[string]any{
				"kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1", "metadata": map[string]any{},
				"items": []any{map[string]any{"metricName": "queue_depth", "metricLabels": map[string]string{"queue": "jobs"},
					"timestamp": sampleTime.Format(time.RFC3339), "window": 60, "value": "42"}},
			}},
			want:     []metricsource.MetricValue{{Name: "queue_depth", MilliValue: 42000, Timestamp: sampleTime, Window: time.Minute}},
			wantSeen: []string{"/apis/external.metrics.k8s.io/v1beta1/namespaces/prod/queue_depth?labelSelector=queue%3Djobs"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPIServer{versions: []string{tc.version}, answers: tc.answers}
			srv := httptest.NewServer(api)
			defer srv.Close()
			got, err := newHTTPMetricsAPIs(t, srv).Metric(context.Background(), tc.req)
			if err != nil {
				t.Fatalf("Metric(%s): %v", tc.req, err)
			}
			if d := cmp.Diff(got, tc.want); d != "" {
				t.Errorf("values (-got +want):\n%s", d)
			}
			if d := cmp.Diff(api.seen, tc.wantSeen); d != "" {
				t.Errorf("requests (-got +want):\n%s", d)
			}
		})
	}
}

func TestSourceOverHTTPMissing(t *testing.T) {
	pods := metricsource.MetricRequest{Kind: metricsource.PodsMetric, Namespace: "prod", Metric: "http_requests", Selector: "app=web"}
	for _, tc := range []struct {
		name     string
		versions []string
		want     error
	}{
		{name: "no adapter registered: custom.metrics.k8s.io not in discovery", want: metricsource.ErrUnavailable},
		{name: "adapter does not serve the metric: 404", versions: []string{"v1beta2"}, want: metricsource.ErrNoData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeAPIServer{versions: tc.versions})
			defer srv.Close()
			_, err := newHTTPMetricsAPIs(t, srv).Metric(context.Background(), pods)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}
