package metricsource

import (
	"fmt"
	"math"

	"github.com/prometheus/common/model"
)

// podLabel is the label a per-pod PromQL result must carry.
const podLabel model.LabelName = "pod"

// DecodePodValues converts an instant-query vector to values by pod. It is
// pure; see Prometheus.PodValues for the rules.
func DecodePodValues(v model.Value) (PodValues, error) {
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("want a vector by pod, got %s: %w", valueType(v), ErrBadData)
	}
	out := make(PodValues, len(vec))
	for _, s := range vec {
		if s == nil {
			continue
		}
		pod, ok := s.Metric[podLabel]
		if !ok || pod == "" {
			return nil, fmt.Errorf("series %s has no %q label (aggregate with \"sum by (pod)\"): %w", s.Metric, podLabel, ErrBadData)
		}
		if err := checkValue(s.Metric, float64(s.Value)); err != nil {
			return nil, err
		}
		if _, dup := out[string(pod)]; dup {
			return nil, fmt.Errorf("pod %q has more than one series (last %s; aggregate with \"sum by (pod)\"): %w", pod, s.Metric, ErrBadData)
		}
		out[string(pod)] = float64(s.Value)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty vector: %w", ErrNoData)
	}
	return out, nil
}

// DecodeScalar converts a scalar or a single-element vector to its value.
func DecodeScalar(v model.Value) (float64, error) {
	switch r := v.(type) {
	case *model.Scalar:
		if r == nil {
			return 0, fmt.Errorf("no scalar: %w", ErrNoData)
		}
		return valueOrError(nil, float64(r.Value))
	case model.Vector:
		switch {
		case len(r) == 0 || r[0] == nil:
			return 0, fmt.Errorf("empty vector: %w", ErrNoData)
		case len(r) > 1:
			return 0, fmt.Errorf("want one series, got %d (first %s; aggregate with sum()): %w", len(r), r[0].Metric, ErrBadData)
		}
		return valueOrError(r[0].Metric, float64(r[0].Value))
	default:
		return 0, fmt.Errorf("want a scalar or a one-element vector, got %s: %w", valueType(v), ErrBadData)
	}
}

func valueOrError(series model.Metric, f float64) (float64, error) {
	if err := checkValue(series, f); err != nil {
		return 0, err
	}
	return f, nil
}

// checkValue rejects NaN, ±Inf and negative values, naming the series (nil
// for a scalar).
func checkValue(series model.Metric, f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		name := "scalar"
		if series != nil {
			name = "series " + series.String()
		}
		return fmt.Errorf("%s has value %v (NaN, ±Inf and negative values are refused): %w", name, f, ErrBadData)
	}
	return nil
}

func valueType(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}

// Missing returns the names of pods (a target's pods) that have no value in
// v, in the order given: those pods are missing, never zero.
func (v PodValues) Missing(pods []string) []string {
	var missing []string
	for _, p := range pods {
		if _, ok := v[p]; !ok {
			missing = append(missing, p)
		}
	}
	return missing
}
