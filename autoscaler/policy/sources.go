package policy

import (
	"fmt"

	"github.com/ebb-autoscaler/ebb/metricsource"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MetricSource says where one metric of a target is read: Resource and
// ContainerResource metrics from metrics-server; a Pods, Object or External
// metric from Prometheus when the target's queries has an entry for its
// name, else from the metrics APIs an adapter serves, as the HPA reads it.
type MetricSource struct {
	// Source is metricsource.SourceMetricsServer, SourcePrometheus,
	// SourceCustomMetrics or SourceExternalMetrics.
	Source string
	// Query is the PromQL template of a metric read from Prometheus.
	Query string
	// Request is the read of a metric served by the metrics APIs. The loop
	// fills in Namespace and, for Pods metrics, the target's Selector.
	Request metricsource.MetricRequest
}

// String says where the metric is read, for `ebb validate`.
func (s MetricSource) String() string {
	r := s.Request
	var out string
	switch {
	case s.Source == metricsource.SourcePrometheus:
		return fmt.Sprintf("Prometheus (queries.%s)", r.Metric)
	case s.Source == metricsource.SourceMetricsServer:
		return "metrics.k8s.io (metrics-server)"
	case r.Kind == metricsource.PodsMetric:
		out = fmt.Sprintf("custom.metrics.k8s.io, metric %q of the target's pods", r.Metric)
	case r.Kind == metricsource.ObjectMetric:
		out = fmt.Sprintf("custom.metrics.k8s.io, metric %q of %s %s", r.Metric, r.Object.Kind, r.Object.Name)
	default:
		out = fmt.Sprintf("external.metrics.k8s.io, metric %q", r.Metric)
	}
	if r.MetricSelector != "" {
		out += fmt.Sprintf(" selected by %q", r.MetricSelector)
	}
	return out
}

// MetricSources returns where each metric of spec is read, in the order of
// the compiled spec's metrics (the default CPU metric when spec has none).
// queries maps metric names to PromQL templates. The metric selectors must
// be valid (hpaspec.Convert checks them): an invalid one selects nothing.
func MetricSources(spec autoscalingv2.HorizontalPodAutoscalerSpec, queries map[string]string) []MetricSource {
	if len(spec.Metrics) == 0 {
		return []MetricSource{{Source: metricsource.SourceMetricsServer}}
	}
	out := make([]MetricSource, len(spec.Metrics))
	for i, m := range spec.Metrics {
		var r metricsource.MetricRequest
		var id autoscalingv2.MetricIdentifier
		switch {
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
			r.Kind, id = metricsource.PodsMetric, m.Pods.Metric
		case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
			r.Kind, id = metricsource.ObjectMetric, m.Object.Metric
			o := m.Object.DescribedObject
			r.Object = metricsource.ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Name: o.Name}
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
			r.Kind, id = metricsource.ExternalMetric, m.External.Metric
		default:
			out[i] = MetricSource{Source: metricsource.SourceMetricsServer}
			continue
		}
		r.Metric = id.Name
		if q, ok := queries[id.Name]; ok {
			out[i] = MetricSource{Source: metricsource.SourcePrometheus, Query: q, Request: r}
			continue
		}
		// As the HPA: a nil selector is labels.Nothing, which the client
		// sends as an empty metricLabelSelector (every series).
		if sel, err := metav1.LabelSelectorAsSelector(id.Selector); err == nil {
			r.MetricSelector = sel.String()
		}
		out[i] = MetricSource{Source: metricsource.SourceCustomMetrics, Request: r}
		if r.Kind == metricsource.ExternalMetric {
			out[i].Source = metricsource.SourceExternalMetrics
		}
	}
	return out
}
