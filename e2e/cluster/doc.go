// Package cluster runs a real, throw-away Kubernetes control plane on
// 127.0.0.1 for ebb's e2e tests and `make demo`: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok (fake nodes and emulated pod
// CPU/memory), metrics-server behind the aggregation layer and Prometheus;
// on demand (StartAdapter) prometheus-adapter behind the aggregation layer
// for custom.metrics.k8s.io and external.metrics.k8s.io.
//
// Binaries come from build.sh (a keyed cache); every process is started in
// its own process group, logs to a file in the run directory and is stopped
// by the PID recorded in that directory's state file, so a second process
// (`ebb-cluster down`) can tear down what the first one started. Ports are
// picked free at start, so a demo cluster and a test cluster can coexist.
//
// The recipe this follows, with its timings and pitfalls, is
// shared/docs/e2e-cluster.md. This package must not import ebb's own packages:
// it is a test fixture for ebb, not part of it.
package cluster
