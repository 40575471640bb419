// Package autoscaler is ebb's control loop over the targets of one
// namespace. Every sync period the leader runs one pass in phases, each
// target on a bounded pool of workers under its own deadline:
//
//   - read (reconcile.go): the target's Scale from namespace-scoped
//     informers for Deployments, StatefulSets and ReplicaSets (a scale GET
//     only for other kinds), its pods from the pod informer, its metrics
//     from metrics-server and Prometheus once per pass (pass.go, behind a
//     per-source circuit breaker, breaker.go);
//   - decide: the horizontal recommender with the target's history, the
//     missing-metrics policy (hold, or a fallback normalized like any
//     proposal) and the gate (gate.go: dry-run for mode dry-run, ebb report
//     and HPA conflicts, decided once for both sides);
//   - checkpoint (state.go): what changed, written ahead of the actuation
//     into sharded ConfigMaps (package checkpoint);
//   - actuate (act.go): an Update of the Scale that was read, so a write
//     based on a stale read fails with a Conflict (actuator.go); then the
//     vertical side;
//   - checkpoint the scale events, then emit the Events of what changed
//     (events.go).
//
// Leadership (leader.go): only the leader runs passes and writes state; a
// new lease re-reads the checkpoints; a lost lease drops state and
// per-target series; shutdown saves the final checkpoints before the lease
// is released. It declares the small interfaces it consumes and imports
// metricsource only for its value types.
package autoscaler
