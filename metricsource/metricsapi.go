package metricsource

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
)

// MetricKind is the kind of an HPA metric read from the metrics APIs.
type MetricKind string

// The metric kinds the metrics APIs serve (autoscaling/v2 MetricSourceType).
const (
	PodsMetric     MetricKind = "Pods"     // custom.metrics.k8s.io, every pod of a selector
	ObjectMetric   MetricKind = "Object"   // custom.metrics.k8s.io, one described object
	ExternalMetric MetricKind = "External" // external.metrics.k8s.io
)

// ObjectRef is the described object of an Object metric
// (autoscaling/v2 CrossVersionObjectReference).
type ObjectRef struct {
	APIVersion string
	Kind       string
	Name       string
}

// MetricRequest is one read from the metrics APIs. It is comparable, so a
// pass can run each distinct request once. Selectors are in
// labels.Selector string form ("" selects everything).
type MetricRequest struct {
	Kind      MetricKind
	Namespace string
	// Metric is the metric's name (metric.name of the HPA spec).
	Metric string
	// Selector selects the pods of a Pods metric: the scale target's
	// selector. Unused for the other kinds.
	Selector string
	// MetricSelector is the metric's own selector (metric.selector).
	MetricSelector string
	// Object is the described object of an Object metric.
	Object ObjectRef
}

func (r MetricRequest) String() string {
	s := fmt.Sprintf("%s metric %q in namespace %q", r.Kind, r.Metric, r.Namespace)
	switch r.Kind {
	case PodsMetric:
		s += fmt.Sprintf(" for pods %q", r.Selector)
	case ObjectMetric:
		s += fmt.Sprintf(" of %s %s (%s)", r.Object.Kind, r.Object.Name, r.Object.APIVersion)
	}
	if r.MetricSelector != "" {
		s += fmt.Sprintf(" (metric selector %q)", r.MetricSelector)
	}
	return s
}

// MetricValue is one value served by a metrics API: the described object's
// name (a pod's for Pods metrics) or the external metric's name, the value
// in milli-units as the HPA reads it (resource.Quantity.MilliValue), its
// timestamp, and its window (0 when the API gives none).
type MetricValue struct {
	Name       string
	MilliValue int64
	Timestamp  time.Time
	Window     time.Duration
}

// MetricsAPIs reads Pods, Object and External metrics with the typed
// clients of k8s.io/metrics, with the calls the HPA controller makes
// (k8s.io/kubernetes pkg/controller/podautoscaler/metrics/client.go).
type MetricsAPIs struct {
	custom   customclient.CustomMetricsClient
	external externalclient.ExternalMetricsClient
	metrics  *SourceMetrics
}

// NewMetricsAPIs returns a source over the custom metrics client (in
// production NewCustomMetricsClient: the discovery-based multi-version
// client the HPA uses) and the external metrics client. Either may be nil:
// its metrics then fail with ErrUnavailable. WithMetrics applies; errors are
// returned, never logged, here.
func NewMetricsAPIs(custom customclient.CustomMetricsClient, external externalclient.ExternalMetricsClient, opts ...Option) *MetricsAPIs {
	s := applyOptions(opts)
	return &MetricsAPIs{custom: custom, external: external, metrics: s.metrics}
}

// Metric runs r: a Pods metric is GetForObjects on the pods of r.Selector,
// an Object metric GetForObject on r.Object, an External metric a List by
// name. An empty answer, or a metric the adapter does not serve (404), is
// ErrNoData; an unregistered or unavailable API (discovery, 503) is
// ErrUnavailable. The values come back as served, in the API's order.
func (a *MetricsAPIs) Metric(ctx context.Context, r MetricRequest) ([]MetricValue, error) {
	source := SourceCustomMetrics
	if r.Kind == ExternalMetric {
		source = SourceExternalMetrics
	}
	start := time.Now()
	vals, err := a.metric(ctx, r)
	a.metrics.observe(source, time.Since(start), err)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", source, r, err)
	}
	return vals, nil
}

func (a *MetricsAPIs) metric(ctx context.Context, r MetricRequest) ([]MetricValue, error) {
	metricSel, err := labels.Parse(r.MetricSelector)
	if err != nil {
		return nil, fmt.Errorf("metric selector %q: %w", r.MetricSelector, err)
	}
	switch r.Kind {
	case PodsMetric:
		sel, err := labels.Parse(r.Selector)
		if err != nil {
			return nil, fmt.Errorf("pod selector %q: %w", r.Selector, err)
		}
		return a.pods(ctx, r, sel, metricSel)
	case ObjectMetric:
		return a.object(ctx, r, metricSel)
	case ExternalMetric:
		return a.externalValues(ctx, r, metricSel)
	}
	return nil, fmt.Errorf("unknown metric kind %q", r.Kind)
}

func (a *MetricsAPIs) pods(ctx context.Context, r MetricRequest, sel, metricSel labels.Selector) ([]MetricValue, error) {
	if a.custom == nil {
		return nil, fmt.Errorf("no custom metrics client: %w", ErrUnavailable)
	}
	list, err := callCtx(ctx, func() (*custommetrics.MetricValueList, error) {
		return a.custom.NamespacedMetrics(r.Namespace).GetForObjects(schema.GroupKind{Kind: "Pod"}, sel, r.Metric, metricSel)
	})
	if err != nil {
		return nil, classifyMetricsAPIError(err)
	}
	if list == nil || len(list.Items) == 0 {
		return nil, fmt.Errorf("no pod has the metric: %w", ErrNoData)
	}
	out := make([]MetricValue, len(list.Items))
	for i, m := range list.Items {
		out[i] = customValue(m)
	}
	return out, nil
}

func (a *MetricsAPIs) object(ctx context.Context, r MetricRequest, metricSel labels.Selector) ([]MetricValue, error) {
	if a.custom == nil {
		return nil, fmt.Errorf("no custom metrics client: %w", ErrUnavailable)
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
		return nil, fmt.Errorf("no value: %w", ErrNoData)
	}
	return []MetricValue{customValue(*v)}, nil
}

func (a *MetricsAPIs) externalValues(ctx context.Context, r MetricRequest, metricSel labels.Selector) ([]MetricValue, error) {
	if a.external == nil {
		return nil, fmt.Errorf("no external metrics client: %w", ErrUnavailable)
	}
	list, err := callCtx(ctx, func() (*externalmetrics.ExternalMetricValueList, error) {
		return a.external.NamespacedMetrics(r.Namespace).List(r.Metric, metricSel)
	})
	if err != nil {
		return nil, classifyMetricsAPIError(err)
	}
	if list == nil || len(list.Items) == 0 {
		return nil, fmt.Errorf("no series: %w", ErrNoData)
	}
	out := make([]MetricValue, len(list.Items))
	for i, m := range list.Items {
		out[i] = MetricValue{Name: m.MetricName, MilliValue: m.Value.MilliValue(), Timestamp: m.Timestamp.Time,
			Window: seconds(m.WindowSeconds)}
	}
	return out, nil
}

func customValue(m custommetrics.MetricValue) MetricValue {
	return MetricValue{Name: m.DescribedObject.Name, MilliValue: m.Value.MilliValue(), Timestamp: m.Timestamp.Time,
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
		return fmt.Errorf("metrics API unavailable (is the adapter running and its APIService Available?): %w: %w", ErrUnavailable, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("not served (is the metric in the adapter's rules, and its APIService registered?): %w: %w", ErrNoData, err)
	}
	return err
}
