package scenario

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/hpaspec"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// DecodeSpec parses a spec file of `ebb simulate --trace`: either an
// autoscaling/v2 HorizontalPodAutoscalerSpec or a whole HorizontalPodAutoscaler
// object (recognized by its "kind" or "apiVersion" field; scaleTargetRef is
// optional), then defaults, validates and converts it with hpaspec.Convert.
func DecodeSpec(data []byte, downscaleStabilization time.Duration) (horizontal.Spec, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return horizontal.Spec{}, fmt.Errorf("parse spec: %w", err)
	}
	var generic map[string]any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &generic); err != nil {
		return horizontal.Spec{}, fmt.Errorf("parse spec: %w", err)
	}
	if generic == nil {
		return horizontal.Spec{}, errors.New("parse spec: the file is empty")
	}
	_, hasKind := generic["kind"]
	_, hasVersion := generic["apiVersion"]
	whole := hasKind || hasVersion
	var spec autoscalingv2.HorizontalPodAutoscalerSpec
	var strict []error
	if whole {
		if err := checkSpecQuantities(generic["spec"], "spec"); err != nil {
			return horizontal.Spec{}, err
		}
		var hpa autoscalingv2.HorizontalPodAutoscaler
		strict, err = kjson.UnmarshalStrict(js, &hpa)
		spec = hpa.Spec
	} else {
		if err := checkSpecQuantities(map[string]any(generic), "spec"); err != nil {
			return horizontal.Spec{}, err
		}
		strict, err = kjson.UnmarshalStrict(js, &spec)
	}
	if err != nil {
		return horizontal.Spec{}, fmt.Errorf("parse spec: %w", err)
	}
	if len(strict) > 0 {
		return horizontal.Spec{}, fmt.Errorf("parse spec: %w", strict[0])
	}
	out, err := hpaspec.Convert(spec, downscaleStabilization, "spec")
	if err != nil {
		return horizontal.Spec{}, fmt.Errorf("invalid spec: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return out, nil
}
