// Package scenario decodes the scenario files of `ebb simulate -f` (YAML or
// JSON) into recommender/simulate values. Decoding is strict: an unknown
// field, a malformed quantity or duration, or an invalid spec is an error
// naming the field path and the value. Times in the file are Go durations
// relative to the scenario start (steps), to the first step (history) or to
// the step (pods and metric timestamps).
package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
)

// file is the on-disk schema (docs/simulate.md).
type file struct {
	Spec    *autoscalingv2.HorizontalPodAutoscalerSpec `json:"spec"`
	Options *options                                   `json:"options,omitempty"`
	History *history                                   `json:"history,omitempty"`
	Steps   []step                                     `json:"steps"`
}

type options struct {
	Tolerance               *float64 `json:"tolerance,omitempty"`
	CPUInitializationPeriod *string  `json:"cpuInitializationPeriod,omitempty"`
	InitialReadinessDelay   *string  `json:"initialReadinessDelay,omitempty"`
	DownscaleStabilization  *string  `json:"downscaleStabilization,omitempty"`
	SyncPeriod              *string  `json:"syncPeriod,omitempty"`
}

type history struct {
	Recommendations []recommendation `json:"recommendations,omitempty"`
	ScaleUpEvents   []event          `json:"scaleUpEvents,omitempty"`
	ScaleDownEvents []event          `json:"scaleDownEvents,omitempty"`
}

type recommendation struct {
	At       string `json:"at"`
	Replicas int32  `json:"replicas"`
}

type event struct {
	At     string `json:"at"`
	Change int32  `json:"change"`
}

type step struct {
	At              *string           `json:"at,omitempty"`
	CurrentReplicas *int32            `json:"currentReplicas"`
	StatusReplicas  *int32            `json:"statusReplicas,omitempty"`
	Pods            []pod             `json:"pods,omitempty"`
	Metrics         *metrics          `json:"metrics,omitempty"`
	Errors          map[string]string `json:"errors,omitempty"`
	Expect          *expect           `json:"expect,omitempty"`
}

type expect struct {
	DesiredReplicas *int32 `json:"desiredReplicas,omitempty"`
	Reason          string `json:"reason,omitempty"`
}

type pod struct {
	Name                string               `json:"name"`
	Phase               string               `json:"phase,omitempty"`
	Ready               *bool                `json:"ready,omitempty"`
	StartTime           *string              `json:"startTime,omitempty"`
	ReadyTransitionTime *string              `json:"readyTransitionTime,omitempty"`
	Deleting            bool                 `json:"deleting,omitempty"`
	Containers          []container          `json:"containers,omitempty"`
	Requests            map[string]*quantity `json:"requests,omitempty"`
}

type container struct {
	Name     string               `json:"name"`
	Requests map[string]*quantity `json:"requests,omitempty"`
}

type metrics struct {
	Resource          map[string]resourceValues          `json:"resource,omitempty"`
	ContainerResource map[string]containerResourceValues `json:"containerResource,omitempty"`
	Pods              map[string]map[string]*quantity    `json:"pods,omitempty"`
	Object            map[string]*quantity               `json:"object,omitempty"`
	External          map[string][]*quantity             `json:"external,omitempty"`
}

type resourceValues struct {
	Window    *string              `json:"window,omitempty"`
	Timestamp *string              `json:"timestamp,omitempty"`
	Pods      map[string]*quantity `json:"pods"`
}

type containerResourceValues struct {
	Window     *string                         `json:"window,omitempty"`
	Timestamp  *string                         `json:"timestamp,omitempty"`
	Containers map[string]map[string]*quantity `json:"containers"`
}

// quantity keeps the raw JSON of a quantity (a string or a number) so that a
// malformed one is reported with its field path after decoding.
type quantity struct{ raw json.RawMessage }

func (q *quantity) UnmarshalJSON(b []byte) error {
	q.raw = append(json.RawMessage(nil), b...)
	return nil
}

// milli parses the quantity and returns it in milli-units, rounded up as
// resource.Quantity.MilliValue does.
func (q *quantity) milli(path string) (int64, error) {
	if q == nil {
		return 0, fmt.Errorf("%s: a quantity is required, got null", path)
	}
	text := string(bytes.TrimSpace(q.raw))
	var s string
	if err := json.Unmarshal(q.raw, &s); err == nil {
		text = s
	} else if len(text) > 0 && (text[0] == '{' || text[0] == '[' || text[0] == '"' || text == "true" || text == "false") {
		return 0, fmt.Errorf("%s: invalid quantity %s: must be a string or a number", path, text)
	}
	v, err := resource.ParseQuantity(text)
	if err != nil {
		return 0, fmt.Errorf("%s: invalid quantity %q: %w", path, text, err)
	}
	return v.MilliValue(), nil
}
