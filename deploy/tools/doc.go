// Package tools holds the tests of ebb's deploy/ folder: the Grafana
// dashboards (JSON shape, variables, every PromQL expression parsed by the
// Prometheus parser, every ebb_* name listed in docs/metrics.md), and the
// manifests rendered by kustomize and helm (namespace-scoped only, Role
// rules identical, the policy example identical). It is a separate module so
// github.com/prometheus/prometheus stays out of ebb's go.mod.
package tools
