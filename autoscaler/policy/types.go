// Package policy parses and validates ebb's policy file: global settings and
// the targets ebb manages in its namespace, each with a horizontal spec
// written in the autoscaling/v2 HorizontalPodAutoscalerSpec schema (so an
// existing HPA spec pastes in unchanged) and PromQL templates for its
// Pods/Object/External metrics. Validation reports every problem at once,
// each naming the target, field and value.
package policy

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Mode is what ebb does for a target.
type Mode string

// Target modes.
const (
	ModeOff    Mode = "off"     // compute nothing
	ModeDryRun Mode = "dry-run" // compute, report, patch with DryRun=All only
	ModeApply  Mode = "apply"   // compute and patch the scale subresource
)

// MissingAction is what ebb does when a target's metrics are missing.
type MissingAction string

// Missing-metric actions.
const (
	MissingHold     MissingAction = "hold"     // keep the current scale (default)
	MissingFallback MissingAction = "fallback" // after AfterCycles failed passes, scale to FallbackReplicas
)

// MissingMetrics is the policy for passes where no valid decision could be
// computed because metrics were missing or failed.
type MissingMetrics struct {
	Action           MissingAction `json:"action,omitempty"`
	AfterCycles      int           `json:"afterCycles,omitempty"`
	FallbackReplicas int32         `json:"fallbackReplicas,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("15s", "5m")
// in the policy file.
type Duration struct{ time.Duration }

// Defaults are the global settings; each target may override Mode and
// MissingMetrics.
type Defaults struct {
	Mode                    Mode            `json:"mode,omitempty"`                    // default dry-run
	SyncPeriod              *Duration       `json:"syncPeriod,omitempty"`              // default 15s
	Tolerance               *float64        `json:"tolerance,omitempty"`               // default 0.1
	CPUInitializationPeriod *Duration       `json:"cpuInitializationPeriod,omitempty"` // default 5m
	InitialReadinessDelay   *Duration       `json:"initialReadinessDelay,omitempty"`   // default 30s
	DownscaleStabilization  *Duration       `json:"downscaleStabilization,omitempty"`  // default 5m
	MissingMetrics          *MissingMetrics `json:"missingMetrics,omitempty"`          // default hold
	// Vertical is every target's vertical section unless the target sets
	// its own (field by field: see Vertical).
	Vertical *Vertical `json:"vertical,omitempty"`
}

// Prometheus is the connection to Prometheus. HTTPConfig holds the same
// settings as Prometheus' own scrape configs (TLS, bearer token file, basic
// auth, proxy): github.com/prometheus/common/config.HTTPClientConfig, kept
// raw here and decoded by the metricsource package.
type Prometheus struct {
	URL        string         `json:"url"`
	Timeout    *Duration      `json:"timeout,omitempty"` // per query, default 10s
	HTTPConfig map[string]any `json:"httpConfig,omitempty"`
}

// Target is one workload ebb manages.
type Target struct {
	ScaleTargetRef autoscalingv2.CrossVersionObjectReference `json:"scaleTargetRef"`
	Mode           Mode                                      `json:"mode,omitempty"`
	// Horizontal is an autoscaling/v2 HorizontalPodAutoscalerSpec (its own
	// scaleTargetRef may be omitted: the target's is used) with ebb's
	// proactive section.
	Horizontal *Horizontal `json:"horizontal,omitempty"`
	// Queries maps a Pods/Object/External metric name to a PromQL template.
	Queries        map[string]string `json:"queries,omitempty"`
	MissingMetrics *MissingMetrics   `json:"missingMetrics,omitempty"`
	// Vertical is the target's vertical (requests) side; absent means mode
	// recommend with no container policies.
	Vertical *Vertical `json:"vertical,omitempty"`
}

// Policy is a whole policy file.
type Policy struct {
	Defaults   Defaults    `json:"defaults,omitempty"`
	Prometheus *Prometheus `json:"prometheus,omitempty"`
	// ShadowHPAs makes ebb follow every HorizontalPodAutoscaler of the
	// namespace whose workload no target names: it computes from the HPA's
	// own spec (under Defaults) beside the HPA and never acts on it.
	ShadowHPAs bool     `json:"shadowHPAs,omitempty"`
	Targets    []Target `json:"targets"`
}
