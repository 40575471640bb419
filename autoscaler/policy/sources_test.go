package policy

import (
	"testing"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/google/go-cmp/cmp"
)

// A Pods/Object/External metric without a queries entry is read from the
// metrics APIs with the HPA's request; with one, from Prometheus.
func TestMetricSources(t *testing.T) {
	c, err := Load([]byte(`
prometheus: {url: "http://prom:9090"}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    maxReplicas: 10
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
    - type: Pods
      pods:
        metric: {name: http_requests_per_second, selector: {matchLabels: {verb: GET}}}
        target: {type: AverageValue, averageValue: "10"}
    - type: Object
      object:
        describedObject: {apiVersion: v1, kind: Service, name: web}
        metric: {name: http_requests_per_second}
        target: {type: Value, value: "100"}
    - type: External
      external:
        metric: {name: queue_depth, selector: {matchExpressions: [{key: queue, operator: In, values: [jobs, mail]}]}}
        target: {type: AverageValue, averageValue: "30"}
    - type: External
      external:
        metric: {name: lag}
        target: {type: Value, value: "5"}
  queries:
    lag: 'sum(kafka_lag{namespace="{{.Namespace}}"})'
`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Targets[0].Sources
	want := []MetricSource{
		{Source: metricsource.SourceMetricsServer},
		{Source: metricsource.SourceCustomMetrics, Request: metricsource.MetricRequest{
			Kind: metricsource.PodsMetric, Metric: "http_requests_per_second", MetricSelector: "verb=GET"}},
		{Source: metricsource.SourceCustomMetrics, Request: metricsource.MetricRequest{
			Kind: metricsource.ObjectMetric, Metric: "http_requests_per_second",
			Object: metricsource.ObjectRef{APIVersion: "v1", Kind: "Service", Name: "web"}}},
		{Source: metricsource.SourceExternalMetrics, Request: metricsource.MetricRequest{
			Kind: metricsource.ExternalMetric, Metric: "queue_depth", MetricSelector: "queue in (jobs,mail)"}},
		{Source: metricsource.SourcePrometheus, Query: `sum(kafka_lag{namespace="{{.Namespace}}"})`,
			Request: metricsource.MetricRequest{Kind: metricsource.ExternalMetric, Metric: "lag"}},
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("sources (-got +want):\n%s", d)
	}
	var lines []string
	for _, s := range got {
		lines = append(lines, s.String())
	}
	wantLines := []string{
		"metrics.k8s.io (metrics-server)",
		`custom.metrics.k8s.io, metric "http_requests_per_second" of the target's pods selected by "verb=GET"`,
		`custom.metrics.k8s.io, metric "http_requests_per_second" of Service web`,
		`external.metrics.k8s.io, metric "queue_depth" selected by "queue in (jobs,mail)"`,
		"Prometheus (queries.lag)",
	}
	if d := cmp.Diff(lines, wantLines); d != "" {
		t.Errorf("String (-got +want):\n%s", d)
	}
}
