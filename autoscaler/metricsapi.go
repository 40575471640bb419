package autoscaler

import (
	"context"
	"fmt"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// MetricsAPISource reads Pods, Object and External metrics from the metrics
// APIs an adapter serves (custom.metrics.k8s.io, external.metrics.k8s.io);
// metricsapi.Source satisfies it.
type MetricsAPISource interface {
	Metric(ctx context.Context, r metricsource.MetricRequest) ([]metricsource.MetricValue, error)
}

// apiRequest returns the metrics-API read of metric i of t in namespace with
// the scale target's pod selector, or false when the metric is not read from
// the metrics APIs (a Resource metric, or one with a query).
func apiRequest(t Target, i int, selector string) (metricsource.MetricRequest, bool) {
	if i >= len(t.Sources) {
		return metricsource.MetricRequest{}, false
	}
	s := t.Sources[i]
	if s.Source != metricsource.SourceCustomMetrics && s.Source != metricsource.SourceExternalMetrics {
		return metricsource.MetricRequest{}, false
	}
	r := s.Request
	r.Namespace = t.Namespace
	if r.Kind == metricsource.PodsMetric {
		r.Selector = selector
	}
	return r, true
}

// observeAPIMetric reads metric ms with r, once per pass for identical
// requests, and converts the answer for the recommender.
func (p *pass) observeAPIMetric(ctx context.Context, r metricsource.MetricRequest, pods []horizontal.Pod) horizontal.MetricValues {
	vals, err := p.apiValues.do(ctx, r, func() ([]metricsource.MetricValue, error) {
		if p.loop.o.MetricsAPIs == nil {
			return nil, fmt.Errorf("%s: %w", r, errNoSource)
		}
		return p.loop.o.MetricsAPIs.Metric(ctx, r)
	})
	if err != nil {
		return horizontal.MetricValues{Err: err}
	}
	return apiMetricValues(r.Kind, vals, pods)
}

// apiMetricValues converts what a metrics API served as the HPA does: a Pods
// metric gives one sample per pod of the target (values for other pods are
// ignored, a pod without one is missing; a sample without a window gets the
// HPA's one minute), an Object metric its value, an External metric the sum
// of its values.
func apiMetricValues(kind metricsource.MetricKind, vals []metricsource.MetricValue, pods []horizontal.Pod) horizontal.MetricValues {
	var mv horizontal.MetricValues
	if len(vals) == 0 { // the source says ErrNoData instead; kept for safety
		mv.Err = fmt.Errorf("no values: %w", metricsource.ErrNoData)
		return mv
	}
	switch kind {
	case metricsource.PodsMetric:
		byName := make(map[string]metricsource.MetricValue, len(vals))
		for _, v := range vals {
			byName[v.Name] = v
		}
		mv.PodValues = make(map[string]horizontal.Sample, len(pods))
		for _, pod := range pods {
			v, ok := byName[pod.Name]
			if !ok {
				continue
			}
			w := v.Window
			if w == 0 {
				w = promSampleWindow
			}
			mv.PodValues[pod.Name] = horizontal.Sample{Value: v.MilliValue, Timestamp: v.Timestamp, Window: w}
		}
	case metricsource.ObjectMetric:
		mv.Value = vals[0].MilliValue // the source returns exactly one
	default:
		for _, v := range vals {
			mv.Value += v.MilliValue
		}
	}
	return mv
}
