// Package vertical recommends CPU and memory requests per container from
// decaying usage histograms, with the semantics and defaults of the VPA
// recommender v1.8.1 (exponential buckets, 24h half-life, per-interval memory
// peaks, p90/p50/p95 with a 15% margin, confidence-scaled bounds, pod minimums,
// OOM bump-up, container policy clamping) but a compact storage: each
// histogram keeps only the window of buckets between its lowest and highest
// used bucket, CPU weights as float32. It also encodes its state as a compact,
// versioned binary checkpoint and, when the horizontal side scales a workload
// on a resource's utilization, recommends that resource from absolute per-pod
// usage at the horizontal target so the two do not ratchet (docs/vertical.md).
//
// It is pure: it imports only the standard library (and, for the joint
// rule's input, the equally pure recommender/horizontal) and never reads
// the clock; every function that needs the time takes it as a value.
package vertical
