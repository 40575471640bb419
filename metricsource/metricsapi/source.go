// Package metricsapi reads Pods, Object and External metrics from the
// metrics APIs an adapter serves (custom.metrics.k8s.io,
// external.metrics.k8s.io) with the typed clients of k8s.io/metrics, making
// the HPA controller's calls. It converts the API types to
// metricsource.MetricValue at the boundary; missing data is
// metricsource.ErrNoData, an absent or down adapter
// metricsource.ErrUnavailable, never a zero.
//
// It is apart from package metricsource because the k8s.io/metrics clients
// link client-go's discovery and scheme, which the policy package (a leaf
// that uses metricsource's value types) must not. Only cmd wires it.
package metricsapi

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	custommetrics "k8s.io/metrics/pkg/apis/custom_metrics/v1beta2"
	externalmetrics "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/ebb-autoscaler/ebb/metricsource"
)

// Source reads Pods, Object and External metrics with the typed clients of
// k8s.io/metrics, with the calls the HPA controller makes
// (k8s.io/kubernetes pkg/controller/podautoscaler/metrics/client.go).
type Source struct {
	custom   customclient.CustomMetricsClient
	external externalclient.ExternalMetricsClient
	metrics  *metricsource.SourceMetrics
}

// New returns a source over the custom metrics client (in production
// NewCustomMetricsClient: the discovery-based multi-version client the HPA
// uses) and the external metrics client. Either may be nil: its metrics then
// fail with ErrUnavailable. Requests are recorded on m (nil: not recorded);
// errors are returned, never logged, here.
func New(custom customclient.CustomMetricsClient, external externalclient.ExternalMetricsClient, m *metricsource.SourceMetrics) *Source {
	return &Source{custom: custom, external: external, metrics: m}
}

// Metric runs r: a Pods metric is GetForObjects on the pods of r.Selector,
// an Object metric GetForObject on r.Object, an External metric a List by
// name. An empty answer, or a metric the adapter does not serve (404), is
// ErrNoData; an unregistered or unavailable API (discovery, 503) is
// ErrUnavailable. The values come back as served, in the API's order.
func (a *Source) Metric(ctx context.Context, r metricsource.MetricRequest) ([]metricsource.MetricValue, error) {
	source := metricsource.SourceCustomMetrics
	if r.Kind == metricsource.ExternalMetric {
		source = metricsource.SourceExternalMetrics
	}
	start := time.Now()
	vals, err := a.metric(ctx, r)
	a.metrics.Observe(source, time.Since(start), err)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", source, r, err)
	}
	return vals, nil
}

func (a *Source) metric(ctx context.Context, r metricsource.MetricRequest) ([]metricsource.MetricValue, error) {
	metricSel, err := labels.Parse(r.MetricSelector)
	if err != nil {
		return nil, fmt.Errorf("metric selector %q: %w", r.MetricSelector, err)
	}
	switch r.Kind {
	case metricsource.PodsMetric:
		sel, err := labels.Parse(r.Selector)
		if err != nil {
			return nil, fmt.Errorf("pod selector %q: %w", r.Selector, err)
		}
		return a.pods(ctx, r, sel, metricSel)
	case metricsource.ObjectMetric:
		return a.object(ctx, r, metricSel)
	case metricsource.ExternalMetric:
		return a.externalValues(ctx, r, metricSel)
	}
	return nil, fmt.Errorf("unknown metric kind %q", r.Kind)
}

func (a *Source) pods(ctx context.Context, r metricsource.MetricRequest, sel, metricSel labels.Selector) ([]metricsource.MetricValue, error) {
	if a.custom == nil {
		return nil, fmt.Errorf("no custom metrics client: %w", metricsource.ErrUnavailable)
	}
	list, err := callCtx(ctx, func() (*custommetrics.MetricValueList, error) {
		return a.custom.NamespacedMetrics(r.Namespace).GetForObjects(schema.GroupKind{Kind: "Pod"}, sel, r.Metric, metricSel)
	})
	if err != nil {
		return nil, classifyMetricsAPIError(err)
	}
	if list == nil || len(list.Items) == 0 {
		return nil, fmt.Errorf("no pod has the metric: %w", metricsource.ErrNoData)
	}
	out := make([]metricsource.MetricValue, len(list.Items))
	for i, m := range list.Items {
		out[i] = customValue(m)
	}
	return out, nil
}

func (a *Source) object(ctx context.Context, r metricsource.MetricRequest, metricSel labels.Selector) ([]metricsource.MetricValue, error) {
	if a.custom == nil {
		return nil, fmt.Errorf("no custom metrics client: %w", metricsource.ErrUnavailable)
	}
	gk := schema.FromAPIVersionAndKind(r.Object.APIVersion, r.Object.Kind).GroupKind()
	v, err := callCtx(ctx, func() (*custommetrics.MetricValue, error) {
		if gk.Kind == "Namespace" && gk.Group == "" {
			// As the HPA: a Namespace object is the target's own
			// namespace, whatever name the spec gives.
			return a.custom.RootScopedMetrics().GetForObject(gk, r.Namespace, r.Metric, metricSel)
		}
		return a.custom.NamespacedMetrics(r.Namespace).GetForObject(gk, r.Object.Name, r.Metric, metricSel)
	})
	if err != nil {
		return nil, classifyMetricsAPIError(err)
	}
	if v == nil {
		return nil, fmt.Errorf("no value: %w", metricsource.ErrNoData)
	}
	return []metricsource.MetricValue{customValue(*v)}, nil
}

func (a *Source) externalValues(ctx context.Context, r metricsource.MetricRequest, metricSel labels.Selector) ([]metricsource.MetricValue, error) {
	if a.external == nil {
		return nil, fmt.Errorf("no external metrics client: %w", metricsource.ErrUnavailable)
	}
	list, err := callCtx(ctx, func() (*externalmetrics.ExternalMetricValueList, error) {
		return a.external.NamespacedMetrics(r.Namespace).List(r.Metric, metricSel)
	})
	if err != nil {
		return nil, classifyMetricsAPIError(err)
	}
	if list == nil || len(list.Items) == 0 {
		return nil, fmt.Errorf("no series: %w", metricsource.ErrNoData)
	}
	out := make([]metricsource.MetricValue, len(list.Items))
	for i, m := range list.Items {
		out[i] = metricsource.MetricValue{Name: m.MetricName, MilliValue: m.Value.MilliValue(), Timestamp: m.Timestamp.Time,
			Window: seconds(m.WindowSeconds)}
	}
	return out, nil
}

func customValue(m custommetrics.MetricValue) metricsource.MetricValue {
	return metricsource.MetricValue{Name: m.DescribedObject.Name, MilliValue: m.Value.MilliValue(), Timestamp: m.Timestamp.Time,
		Window: seconds(m.WindowSeconds)}
}

func seconds(s *int64) time.Duration {
	if s == nil {
		return 0
	}
	return time.Duration(*s) * time.Second
}

// callCtx runs call, which takes no context (the k8s.io/metrics clients use
// context.TODO), and returns early with ctx's error when ctx ends first.
// The call itself then finishes in the background, bounded by the REST
// client's timeout.
func callCtx[T any](ctx context.Context, call func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := call()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// classifyMetricsAPIError marks what the HPA would also see as missing: a
// metric the adapter does not serve (404) is ErrNoData, an unavailable API
// (503, or the custom metrics group missing from discovery, see
// NewCustomMetricsClient) is ErrUnavailable.
func classifyMetricsAPIError(err error) error {
	switch {
	case apierrors.IsServiceUnavailable(err):
		return fmt.Errorf("metrics API unavailable (is the adapter running and its APIService Available?): %w: %w", metricsource.ErrUnavailable, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("not served (is the metric in the adapter's rules, and its APIService registered?): %w: %w", metricsource.ErrNoData, err)
	}
	return err
}
