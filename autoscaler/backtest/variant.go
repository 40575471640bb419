package backtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/ebb-autoscaler/ebb/autoscaler/hpaspec"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// variantKeys are the settings a --variant changes, for error messages.
const variantKeys = "target (70% for utilization targets, a quantity for averageValue targets), min, max, tolerance, " +
	"downscaleStabilization, scaleUp.window, scaleDown.window"

// ParseVariant parses "name=key=value,key=value,...": a variant of every
// target's spec with the given settings changed (variantKeys).
func ParseVariant(s string) (Variant, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return Variant{}, fmt.Errorf("variant %q: want name=key=value[,key=value...]", s)
	}
	type setting struct{ key, value string }
	var sets []setting
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return Variant{}, fmt.Errorf("variant %s: %q: want key=value", name, kv)
		}
		sets = append(sets, setting{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	// Check every setting once on an empty spec, so bad values fail now.
	apply := func(spec horizontal.Spec, opt horizontal.Options, check bool) (horizontal.Spec, horizontal.Options, error) {
		spec.Metrics = append([]horizontal.MetricSpec(nil), spec.Metrics...)
		if spec.Behavior != nil {
			b := *spec.Behavior
			spec.Behavior = &b
		}
		var errs []error
		for _, st := range sets {
			if err := change(&spec, &opt, st.key, st.value, check); err != nil {
				errs = append(errs, fmt.Errorf("variant %s: %s=%s: %w", name, st.key, st.value, err))
			}
		}
		if !check && spec.MinReplicas > spec.MaxReplicas {
			errs = append(errs, fmt.Errorf("variant %s: min %d above max %d", name, spec.MinReplicas, spec.MaxReplicas))
		}
		return spec, opt, errors.Join(errs...)
	}
	if _, _, err := apply(horizontal.Spec{}, horizontal.DefaultOptions(), true); err != nil {
		return Variant{}, err
	}
	return Variant{Name: name, Apply: func(s horizontal.Spec, o horizontal.Options) (horizontal.Spec, horizontal.Options, error) {
		return apply(s, o, false)
	}}, nil
}

// change applies one setting; check only parses the value (the spec may
// have no metric to change yet).
func change(s *horizontal.Spec, o *horizontal.Options, key, value string, check bool) error {
	dur := func(dst *time.Duration) error {
		d, err := time.ParseDuration(value)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration >= 0")
		}
		*dst = d
		return nil
	}
	count := func(dst *int32) error {
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("want a whole number >= 1")
		}
		*dst = int32(n)
		return nil
	}
	behavior := func() *horizontal.Behavior {
		if s.Behavior == nil {
			b := horizontal.DefaultBehavior(*o)
			s.Behavior = &b
		}
		return s.Behavior
	}
	switch key {
	case "min":
		return count(&s.MinReplicas)
	case "max":
		return count(&s.MaxReplicas)
	case "tolerance":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || !(f >= 0 && f < 1) {
			return fmt.Errorf("want a number in [0, 1)")
		}
		o.Tolerance = f
		return nil
	case "downscaleStabilization":
		return dur(&o.DownscaleStabilization)
	case "scaleUp.window":
		return dur(&behavior().ScaleUp.StabilizationWindow)
	case "scaleDown.window":
		return dur(&behavior().ScaleDown.StabilizationWindow)
	case "target":
		return changeTarget(s, value, check)
	}
	return fmt.Errorf("unknown setting: want one of %s", variantKeys)
}

// changeTarget sets the utilization ("70%") or the average value (a
// quantity) of every metric with such a target.
func changeTarget(s *horizontal.Spec, value string, check bool) error {
	if pct, ok := strings.CutSuffix(value, "%"); ok {
		n, err := strconv.ParseInt(pct, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("want a whole percentage >= 1")
		}
		return setTargets(s, check, horizontal.UtilizationTarget, func(t *horizontal.Target) { t.Utilization = int32(n) })
	}
	q, err := resource.ParseQuantity(value)
	if err != nil || q.Sign() <= 0 {
		return fmt.Errorf("want a percentage (70%%) or a positive quantity")
	}
	return setTargets(s, check, horizontal.AverageValueTarget, func(t *horizontal.Target) { t.AverageValue = q.MilliValue() })
}

func setTargets(s *horizontal.Spec, check bool, typ horizontal.TargetType, set func(*horizontal.Target)) error {
	n := 0
	for i := range s.Metrics {
		if s.Metrics[i].Target.Type == typ {
			set(&s.Metrics[i].Target)
			n++
		}
	}
	if n == 0 && !check {
		return fmt.Errorf("the spec has no metric with a %s target", typ)
	}
	return nil
}

// variantFile is the schema of a variants file: a list of named HPA specs.
type variantFile []struct {
	Name string                                    `json:"name"`
	Spec autoscalingv2.HorizontalPodAutoscalerSpec `json:"spec"`
}

// LoadVariants reads a variants file (YAML or JSON): a list of
// {name, spec}, each spec an autoscaling/v2 HorizontalPodAutoscalerSpec
// (scaleTargetRef optional) replacing every target's spec. Errors name the
// entry and the field.
func LoadVariants(data []byte) ([]Variant, error) {
	var f variantFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, fmt.Errorf("parse variants: %w", err)
	}
	var out []Variant
	var errs []error
	seen := map[string]bool{}
	for i, v := range f {
		path := fmt.Sprintf("[%d]", i)
		if v.Name == "" || seen[v.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q: must be set and unique", path, v.Name))
		}
		seen[v.Name] = true
		spec := v.Spec
		if _, err := hpaspec.Convert(spec, 5*time.Minute, path+".spec"); err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, Variant{Name: v.Name, Apply: func(_ horizontal.Spec, o horizontal.Options) (horizontal.Spec, horizontal.Options, error) {
			s, err := hpaspec.Convert(spec, o.DownscaleStabilization, path+".spec")
			return s, o, err
		}})
	}
	if len(f) == 0 {
		errs = append(errs, errors.New("variants: the file lists none"))
	}
	return out, errors.Join(errs...)
}
