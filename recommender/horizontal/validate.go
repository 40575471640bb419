package horizontal

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The API server's bounds of a behavior (MaxStabilizationWindowSeconds,
// MaxPeriodSeconds).
const (
	maxStabilizationWindow = time.Hour
	maxPolicyPeriod        = 30 * time.Minute
)

// Validate reports every problem of the spec that the API server's
// validation would reject (and that would make a decision meaningless),
// each naming the field and its value. Problems of a single metric are not
// reported: that metric fails alone (Part B). MinReplicas 0 is accepted (the
// API allows it with the HPAScaleToZero gate).
func (s Spec) Validate() error {
	var errs []error
	if s.MinReplicas < 0 {
		errs = append(errs, fmt.Errorf("spec.minReplicas %d must be >= 0", s.MinReplicas))
	}
	if s.MaxReplicas < 1 {
		errs = append(errs, fmt.Errorf("spec.maxReplicas %d must be >= 1", s.MaxReplicas))
	}
	if s.MaxReplicas < s.MinReplicas {
		errs = append(errs, fmt.Errorf("spec.maxReplicas %d must be >= spec.minReplicas %d", s.MaxReplicas, s.MinReplicas))
	}
	if s.Behavior != nil {
		errs = append(errs, validateRules("spec.behavior.scaleUp", s.Behavior.ScaleUp)...)
		errs = append(errs, validateRules("spec.behavior.scaleDown", s.Behavior.ScaleDown)...)
	}
	return errors.Join(errs...)
}

// Validate reports every invalid option, naming it and its value.
func (o Options) Validate() error {
	var errs []error
	if !validTolerance(o.Tolerance) {
		errs = append(errs, fmt.Errorf("options tolerance %v must be a number >= 0", o.Tolerance))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"cpu initialization period", o.CPUInitializationPeriod},
		{"initial readiness delay", o.InitialReadinessDelay},
		{"downscale stabilization", o.DownscaleStabilization},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("options %s %v must be >= 0", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// validate reports every problem of the spec, the options and the
// observation's sizes.
func validate(o *Observation, s *Spec, opt *Options) error {
	specErr, optErr := s.Validate(), opt.Validate()
	if specErr == nil && optErr == nil && o.CurrentReplicas >= 0 && o.StatusReplicas >= 0 {
		return nil // the common case, without allocating
	}
	errs := []error{specErr, optErr}
	if o.CurrentReplicas < 0 {
		errs = append(errs, fmt.Errorf("observation currentReplicas %d must be >= 0", o.CurrentReplicas))
	}
	if o.StatusReplicas < 0 {
		errs = append(errs, fmt.Errorf("observation statusReplicas %d must be >= 0", o.StatusReplicas))
	}
	return errors.Join(errs...)
}

func validTolerance(t float64) bool {
	return t >= 0 && !math.IsInf(t, 1) // NaN fails t >= 0
}

// validateRules checks one direction of a behavior. An empty SelectPolicy
// is read as Max, the API default.
func validateRules(field string, r ScalingRules) []error {
	var errs []error
	if r.StabilizationWindow < 0 || r.StabilizationWindow > maxStabilizationWindow {
		errs = append(errs, fmt.Errorf("%s.stabilizationWindow %v must be within [0, %v]", field, r.StabilizationWindow, maxStabilizationWindow))
	}
	switch r.SelectPolicy {
	case "", SelectMax, SelectMin, SelectDisabled:
	default:
		errs = append(errs, fmt.Errorf("%s.selectPolicy %q must be Max, Min or Disabled", field, r.SelectPolicy))
	}
	if r.Tolerance != nil && !validTolerance(*r.Tolerance) {
		errs = append(errs, fmt.Errorf("%s.tolerance %v must be a number >= 0", field, *r.Tolerance))
	}
	if len(r.Policies) == 0 {
		errs = append(errs, fmt.Errorf("%s.policies must specify at least one policy", field))
	}
	for i, p := range r.Policies {
		if p.Type != PodsPolicy && p.Type != PercentPolicy {
			errs = append(errs, fmt.Errorf("%s.policies[%d].type %q must be Pods or Percent", field, i, p.Type))
		}
		if p.Value <= 0 {
			errs = append(errs, fmt.Errorf("%s.policies[%d].value %d must be > 0", field, i, p.Value))
		}
		if p.Period <= 0 || p.Period > maxPolicyPeriod {
			errs = append(errs, fmt.Errorf("%s.policies[%d].period %v must be within (0, %v]", field, i, p.Period, maxPolicyPeriod))
		}
	}
	return errs
}
