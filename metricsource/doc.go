// Package metricsource fetches what the recommenders consume: per-pod CPU and
// memory usage from metrics-server (metrics.k8s.io) and values of PromQL
// queries from Prometheus. It converts API types to plain values at the
// boundary and never turns a missing metric into a zero: no data is ErrNoData.
package metricsource
