package policy

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// VerticalMode is what ebb does with a target's container requests.
type VerticalMode string

// Vertical modes.
const (
	// VerticalOff: nothing is computed or surfaced for the target.
	VerticalOff VerticalMode = "off"
	// VerticalRecommend (the default): metrics, report and Events only.
	VerticalRecommend VerticalMode = "recommend"
	// VerticalInPlace: running pods' requests are changed through pods/resize.
	VerticalInPlace VerticalMode = "in-place"
	// VerticalRollout: the workload's pod template requests are patched.
	VerticalRollout VerticalMode = "rollout"
)

// ParseVerticalMode reads a mode; "" is VerticalRecommend.
func ParseVerticalMode(s string) (VerticalMode, error) {
	switch m := VerticalMode(s); m {
	case "":
		return VerticalRecommend, nil
	case VerticalOff, VerticalRecommend, VerticalInPlace, VerticalRollout:
		return m, nil
	}
	return "", fmt.Errorf("vertical mode %q: want off, recommend, in-place or rollout", s)
}

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
