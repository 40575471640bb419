package policy

import corev1 "k8s.io/api/core/v1"

// Vertical is a target's (or the defaults') vertical section: what ebb does
// with the CPU and memory requests of the target's containers. A target's
// fields override the defaults' one by one (mode, containerPolicies as a
// whole, inPlace, rollout).
type Vertical struct {
	// Mode is off, recommend (the default), in-place or rollout.
	Mode string `json:"mode,omitempty"`
	// ContainerPolicies are the VPA's ContainerResourcePolicy: per
	// container name, or "*" for every other container.
	ContainerPolicies []ContainerPolicy `json:"containerPolicies,omitempty"`
	// InPlace bounds in-place resizes, Rollout rollouts (defaults: 1 pod
	// per minute, 1 rollout per hour).
	InPlace *InPlace `json:"inPlace,omitempty"`
	Rollout *Rollout `json:"rollout,omitempty"`
}

// ContainerPolicy is the VPA's ContainerResourcePolicy for one container.
type ContainerPolicy struct {
	ContainerName string `json:"containerName"`
	// Mode is Auto (the default) or Off (no recommendation).
	Mode                string                `json:"mode,omitempty"`
	MinAllowed          corev1.ResourceList   `json:"minAllowed,omitempty"`
	MaxAllowed          corev1.ResourceList   `json:"maxAllowed,omitempty"`
	ControlledResources []corev1.ResourceName `json:"controlledResources,omitempty"`
}

// InPlace bounds in-place resizes: at most PodsPerPeriod pods per Period.
type InPlace struct {
	PodsPerPeriod *int      `json:"podsPerPeriod,omitempty"`
	Period        *Duration `json:"period,omitempty"`
}

// Rollout bounds rollouts: at most one per Period.
type Rollout struct {
	Period *Duration `json:"period,omitempty"`
}
