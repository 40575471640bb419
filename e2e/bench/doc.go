// Package bench is `make bench-cluster`: ebb against kube-controller-
// manager's HPA controller on the same real API server (package
// e2e/cluster), on the same N Deployments of kwok pods whose CPU use
// changes over time, in two phases of equal length:
//
//   - HPA: a kube-controller-manager with only the HPA controller (the
//     cluster's build) and N HorizontalPodAutoscalers;
//   - ebb: the HPAs deleted, `ebb run` in apply mode with a policy of the
//     same N targets and a namespace-scoped identity.
//
// For each phase it measures the controller's API requests by client, verb
// and resource (kube-apiserver audit log at Metadata level, for the
// controllers' users only), the requests metrics-server served (its own
// apiserver_request_total), CPU seconds and peak RSS of the controller
// process (/proc), pass or reconcile latency (the controllers' own
// histograms) and the replica counts both reached, and prints them side by
// side (Markdown, also written to docs/performance.md).
package bench
