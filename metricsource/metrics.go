package metricsource

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Error kinds, the "kind" label of ebb_source_errors_total.
const (
	KindTransport   = "transport"
	KindNoData      = "no_data"
	KindBadData     = "bad_data"
	KindUnavailable = "unavailable"
)

// SourceMetrics are the metrics of the sources themselves (names in
// docs/metrics.md). Create one per registry and share it between sources.
type SourceMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	excluded *prometheus.CounterVec
}

// NewSourceMetrics registers the source metrics on reg (never the global
// registry). It panics, as promauto does, if they are already registered
// on reg: call it once per registry.
func NewSourceMetrics(reg prometheus.Registerer) *SourceMetrics {
	f := promauto.With(reg)
	return &SourceMetrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_source_requests_total",
			Help: "Requests to a metric source by result (success, error).",
		}, []string{"source", "result"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ebb_source_request_duration_seconds",
			Help:    "Latency of requests to a metric source.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"source"}),
		errors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_source_errors_total",
			Help: "Failed requests to a metric source by kind (transport, no_data, bad_data, unavailable).",
		}, []string{"source", "kind"}),
		excluded: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ebb_source_excluded_pods_total",
			Help: "Pod samples refused as bad data (negative or malformed usage); the pod counts as missing, the rest of the list is kept.",
		}, []string{"source"}),
	}
}

// excludedPods counts the excluded pods of one list; a nil receiver
// records nothing.
func (m *SourceMetrics) excludedPods(source string, pods []PodUsage) {
	if m == nil {
		return
	}
	n := 0
	for _, p := range pods {
		if p.Excluded != "" {
			n++
		}
	}
	if n > 0 {
		m.excluded.WithLabelValues(source).Add(float64(n))
	}
}

// Observe records one request to source (a Source* name) that took took
// and failed with err (nil: success), for sources outside this package; a
// nil receiver records nothing.
func (m *SourceMetrics) Observe(source string, took time.Duration, err error) {
	m.observe(source, took, err)
}

// observe records one request; a nil receiver records nothing.
func (m *SourceMetrics) observe(source string, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(source).Observe(took.Seconds())
	if err == nil {
		m.requests.WithLabelValues(source, "success").Inc()
		return
	}
	m.requests.WithLabelValues(source, "error").Inc()
	m.errors.WithLabelValues(source, errorKind(err)).Inc()
}

// errorKind classifies err for the "kind" label. Sources wrap
// ErrUnavailable, ErrNoData and ErrBadData; anything else is transport.
func errorKind(err error) string {
	switch {
	case errors.Is(err, ErrNoData):
		return KindNoData
	case errors.Is(err, ErrBadData):
		return KindBadData
	case errors.Is(err, ErrUnavailable):
		return KindUnavailable
	default:
		return KindTransport
	}
}
