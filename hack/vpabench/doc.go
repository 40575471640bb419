// Package vpabench runs the same usage samples through the VPA recommender's
// model (k8s.io/autoscaler/vertical-pod-autoscaler v1.8.1,
// AggregateContainerState and ContainerState) and through ebb's
// recommender/vertical, side by side: samples per second, bytes per
// container and the difference of the recommendations. It is a separate
// module so that ebb's own go.mod does not depend on the VPA.
//
// Run: cd hack/vpabench && go test -bench . -benchmem
package vpabench
