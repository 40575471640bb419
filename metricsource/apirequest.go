package metricsource

import (
	"fmt"
	"time"
)

// This file holds the value types of the metrics APIs (custom.metrics.k8s.io,
// external.metrics.k8s.io); package metricsource/metricsapi reads them.

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

// MetricRequest is one read from the metrics APIs (the HPA's request for one
// metric of a target). It is comparable, so a pass can run each distinct
// request once. Selectors are in
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
