// Package metricsource fetches what the recommenders consume: per-pod CPU and
// memory usage from metrics-server (metrics.k8s.io) and values of PromQL
// queries from Prometheus, instant (PodValues, Scalar) and ranged (history).
// It also holds the value types of the metrics APIs (MetricRequest,
// MetricValue), which subpackage metricsapi reads from custom.metrics.k8s.io
// and external.metrics.k8s.io.
// It converts API types to plain values at the boundary and never turns a
// missing metric into a zero: no data is ErrNoData, unusable data
// ErrBadData, a missing source ErrUnavailable. Its own request metrics go on
// an injected registry (NewSourceMetrics).
//
// It may import client-go, k8s.io/metrics and client_golang, but none of the
// client-go packages the policy package (a leaf that uses these value types)
// may not link, such as discovery and kubernetes/scheme: the metrics API
// clients need those and live in metricsapi. It must not import autoscaler,
// cmd or the recommenders (they import its value types).
package metricsource
