// Package vertical is the I/O side of ebb's vertical recommender: it feeds
// metrics-server samples, Prometheus history and OOM kills from pod status
// into recommender/vertical's per-target Workload state, checkpoints that
// state in ConfigMaps, actuates recommendations (off, recommend, in-place
// through pods/resize, rollout through the workload's pod template; all with
// dry-run), and surfaces them as metrics and report rows.
//
// The math stays in recommender/vertical; this package never reads the
// clock for it (now is passed in by the control loop). It must not import
// package autoscaler (the loop imports it).
package vertical
