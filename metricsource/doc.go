// Package metricsource fetches what the recommenders consume: per-pod CPU and
// memory usage from metrics-server (metrics.k8s.io) and values of PromQL
// queries from Prometheus, instant (PodValues, Scalar) and ranged (history).
// It converts API types to plain values at the boundary and never turns a
// missing metric into a zero: no data is ErrNoData, unusable data
// ErrBadData, a missing source ErrUnavailable. Its own request metrics go on
// an injected registry (NewSourceMetrics).
//
// It may import client-go, k8s.io/metrics and client_golang; it must not
// import autoscaler, cmd or the recommenders (they import its value types).
package metricsource
