// Package autoscaler is ebb's control loop: it watches the targets of one
// namespace with client-go informers, asks the metric sources, asks the
// recommenders, and hands decisions to the actuator, which patches the scale
// subresource (or, in dry-run, only has the API server validate the patch).
// It declares the small interfaces it consumes and imports metricsource only
// for its value types.
package autoscaler
