// Package hpaspec converts an autoscaling/v2 HorizontalPodAutoscalerSpec into
// the horizontal recommender's own Spec: it applies the API server's defaults
// (upstream SetDefaults_HorizontalPodAutoscaler, algorithms.md C.4), converts
// quantities to milli-units with resource.Quantity.MilliValue, and validates
// the spec like the API server's HPA validation, reporting every problem at
// once with its field path and value.
package hpaspec

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// API validation limits (k8s.io/kubernetes pkg/apis/autoscaling/validation).
const (
	maxPeriodSeconds              = 1800
	maxStabilizationWindowSeconds = 3600
	defaultCPUUtilization         = 80
)

// FieldError is one validation problem: the full field path, the offending
// value (empty for a missing field) and what is wrong.
type FieldError struct {
	Field  string
	Value  string
	Detail string
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Detail)
	}
	return fmt.Sprintf("%s: invalid value %s: %s", e.Field, e.Value, e.Detail)
}

// problems collects FieldErrors.
type problems []error

func (p *problems) invalid(field string, value any, detail string) {
	*p = append(*p, &FieldError{Field: field, Value: fmt.Sprint(value), Detail: detail})
}

func (p *problems) required(field, detail string) {
	*p = append(*p, &FieldError{Field: field, Detail: detail})
}

// Convert defaults, validates and converts spec. downscaleStabilization fills
// behavior.scaleDown.stabilizationWindowSeconds when the spec leaves it nil
// (the controller flag, 5m by default). fieldPath prefixes every error's field
// (e.g. "targets[0].horizontal" or "spec"). The error is errors.Join of one
// *FieldError per problem; the returned Spec is meaningful only when it is nil.
func Convert(spec autoscalingv2.HorizontalPodAutoscalerSpec, downscaleStabilization time.Duration, fieldPath string) (horizontal.Spec, error) {
	var errs problems
	out := horizontal.Spec{MinReplicas: 1, MaxReplicas: spec.MaxReplicas}
	if spec.MinReplicas != nil {
		out.MinReplicas = *spec.MinReplicas
		switch {
		case out.MinReplicas == 0 && !onlyObjectOrExternal(spec.Metrics):
			errs.invalid(fieldPath+".minReplicas", out.MinReplicas,
				"must be greater than or equal to 1; 0 (scale to zero) needs every metric to be an Object or External metric")
		case out.MinReplicas < 0:
			errs.invalid(fieldPath+".minReplicas", out.MinReplicas, "must be greater than or equal to 0")
		}
	}
	switch {
	case spec.MaxReplicas == 0:
		errs.required(fieldPath+".maxReplicas", "must be set and greater than 0")
	case spec.MaxReplicas < 0:
		errs.invalid(fieldPath+".maxReplicas", spec.MaxReplicas, "must be greater than or equal to 1")
	case spec.MaxReplicas < out.MinReplicas:
		errs.invalid(fieldPath+".maxReplicas", spec.MaxReplicas,
			fmt.Sprintf("must be greater than or equal to minReplicas (%d)", out.MinReplicas))
	}
	if len(spec.Metrics) == 0 {
		out.Metrics = []horizontal.MetricSpec{{
			Type: horizontal.ResourceMetric, Name: string(corev1.ResourceCPU),
			Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: defaultCPUUtilization},
		}}
	}
	for i, m := range spec.Metrics {
		if ms, ok := convertMetric(m, fmt.Sprintf("%s.metrics[%d]", fieldPath, i), &errs); ok {
			out.Metrics = append(out.Metrics, ms)
		}
	}
	if spec.Behavior != nil {
		out.Behavior = &horizontal.Behavior{
			ScaleUp: convertRules(spec.Behavior.ScaleUp, horizontal.DefaultScaleUpRules(),
				fieldPath+".behavior.scaleUp", &errs),
			ScaleDown: convertRules(spec.Behavior.ScaleDown, horizontal.DefaultScaleDownRules(downscaleStabilization),
				fieldPath+".behavior.scaleDown", &errs),
		}
	}
	if len(errs) > 0 {
		return horizontal.Spec{}, errors.Join(errs...)
	}
	return out, nil
}

// onlyObjectOrExternal reports whether metrics is not empty and every metric
// is an Object or External metric: the targets that may scale to zero
// (upstream's HPAScaleToZero asks for at least one such metric; ebb asks
// for all, since a per-pod metric has nothing to read at zero pods).
func onlyObjectOrExternal(metrics []autoscalingv2.MetricSpec) bool {
	for _, m := range metrics {
		if m.Type != autoscalingv2.ObjectMetricSourceType && m.Type != autoscalingv2.ExternalMetricSourceType {
			return false
		}
	}
	return len(metrics) > 0
}

// sourceTypes lists the metric source types with their field names, in the
// order of the API.
func sourceTypes(m autoscalingv2.MetricSpec) []struct {
	typ   autoscalingv2.MetricSourceType
	field string
	set   bool
} {
	return []struct {
		typ   autoscalingv2.MetricSourceType
		field string
		set   bool
	}{
		{autoscalingv2.ResourceMetricSourceType, "resource", m.Resource != nil},
		{autoscalingv2.ContainerResourceMetricSourceType, "containerResource", m.ContainerResource != nil},
		{autoscalingv2.PodsMetricSourceType, "pods", m.Pods != nil},
		{autoscalingv2.ObjectMetricSourceType, "object", m.Object != nil},
		{autoscalingv2.ExternalMetricSourceType, "external", m.External != nil},
	}
}

// checkSource reports a missing or unknown type, a source other than the
// type's that is set, and the type's source missing. It returns the type's
// field name and whether the metric can be converted.
func checkSource(m autoscalingv2.MetricSpec, path string, errs *problems) (string, bool) {
	if m.Type == "" {
		errs.required(path+".type", "must specify a metric source type")
		return "", false
	}
	field, own := "", false
	for _, s := range sourceTypes(m) {
		switch {
		case s.typ == m.Type:
			field, own = s.field, s.set
		case s.set:
			errs.required(path+"."+s.field, fmt.Sprintf("must populate the given metric source only (type is %s)", m.Type))
		}
	}
	if field == "" {
		errs.invalid(path+".type", fmt.Sprintf("%q", m.Type),
			"supported values: Resource, ContainerResource, Pods, Object, External")
		return "", false
	}
	if !own {
		errs.required(path+"."+field, "must populate information for the given metric source")
		return "", false
	}
	return field, true
}

// convertMetric validates one metric: exactly its own source is set, and the
// source's fields and target are valid.
func convertMetric(m autoscalingv2.MetricSpec, path string, errs *problems) (horizontal.MetricSpec, bool) {
	n := len(*errs)
	field, ok := checkSource(m, path, errs)
	if !ok {
		return horizontal.MetricSpec{}, false
	}
	path += "." + field
	var out horizontal.MetricSpec
	switch m.Type {
	case autoscalingv2.ResourceMetricSourceType:
		out = horizontal.MetricSpec{Type: horizontal.ResourceMetric, Name: string(m.Resource.Name)}
		if m.Resource.Name == "" {
			errs.required(path+".name", "must specify a resource name")
		}
		out.Target = convertTarget(m.Resource.Target, path+".target", byResourceFields, errs)
	case autoscalingv2.ContainerResourceMetricSourceType:
		c := m.ContainerResource
		out = horizontal.MetricSpec{Type: horizontal.ContainerResourceMetric, Name: string(c.Name), Container: c.Container}
		if c.Name == "" {
			errs.required(path+".name", "must specify a resource name")
		}
		if c.Container == "" {
			errs.required(path+".container", "must specify a container")
		}
		out.Target = convertTarget(c.Target, path+".target", byResourceFields, errs)
	case autoscalingv2.PodsMetricSourceType:
		out = identified(horizontal.PodsMetric, m.Pods.Metric, path, errs)
		out.Target = convertTarget(m.Pods.Target, path+".target", byPodsField, errs)
	case autoscalingv2.ObjectMetricSourceType:
		out = identified(horizontal.ObjectMetric, m.Object.Metric, path, errs)
		if m.Object.DescribedObject.Kind == "" {
			errs.required(path+".describedObject.kind", "must be set")
		}
		if m.Object.DescribedObject.Name == "" {
			errs.required(path+".describedObject.name", "must be set")
		}
		out.Target = convertTarget(m.Object.Target, path+".target", byObjectType, errs)
	case autoscalingv2.ExternalMetricSourceType:
		out = identified(horizontal.ExternalMetric, m.External.Metric, path, errs)
		out.Target = convertTarget(m.External.Target, path+".target", byExternalFields, errs)
	}
	return out, len(*errs) == n
}

func identified(t horizontal.MetricType, id autoscalingv2.MetricIdentifier, path string, errs *problems) horizontal.MetricSpec {
	if id.Name == "" {
		errs.required(path+".metric.name", "must specify a metric name")
	}
	if _, err := metav1.LabelSelectorAsSelector(id.Selector); err != nil {
		errs.required(path+".metric.selector", err.Error()) // err quotes the value
	}
	return horizontal.MetricSpec{Type: t, Name: id.Name}
}

// targetSelector says which target field the controller reads for a source:
// Resource and ContainerResource read averageValue if set, else
// averageUtilization; Pods reads averageValue; External reads averageValue if
// set, else value; Object follows the target type.
type targetSelector int

const (
	byResourceFields targetSelector = iota
	byPodsField
	byExternalFields
	byObjectType
)

// convertTarget validates a target like the API server (a known type that
// this source allows, the fields it needs, positive values, no forbidden
// pair) and returns it with the type the controller will actually apply.
func convertTarget(t autoscalingv2.MetricTarget, path string, sel targetSelector, errs *problems) horizontal.Target {
	var out horizontal.Target
	if t.Value != nil {
		out.Value = positiveMilli(t.Value, path+".value", errs)
	}
	if t.AverageValue != nil {
		out.AverageValue = positiveMilli(t.AverageValue, path+".averageValue", errs)
	}
	if t.AverageUtilization != nil {
		out.Utilization = *t.AverageUtilization
		if out.Utilization < 1 {
			errs.invalid(path+".averageUtilization", out.Utilization, "must be greater than 0")
		}
	}
	checkTargetType(t.Type, path, sel, errs)
	hasValue, hasAverage, hasUtil := t.Value != nil, t.AverageValue != nil, t.AverageUtilization != nil
	switch sel {
	case byResourceFields:
		out.Type = horizontal.UtilizationTarget
		if hasAverage {
			out.Type = horizontal.AverageValueTarget
		}
		oneOf(path, "averageUtilization", hasUtil, "averageValue", hasAverage, errs)
	case byPodsField:
		out.Type = horizontal.AverageValueTarget
		if !hasAverage {
			errs.required(path+".averageValue", "must specify a positive target averageValue")
		}
	case byExternalFields:
		out.Type = horizontal.ValueTarget
		if hasAverage {
			out.Type = horizontal.AverageValueTarget
		}
		oneOf(path, "value", hasValue, "averageValue", hasAverage, errs)
	case byObjectType:
		out.Type = horizontal.TargetType(t.Type)
		switch {
		case t.Type == autoscalingv2.ValueMetricType && !hasValue:
			errs.required(path+".value", "must be set for target type Value (the controller reads no other field)")
		case t.Type == autoscalingv2.AverageValueMetricType && !hasAverage:
			errs.required(path+".averageValue", "must be set for target type AverageValue (the controller reads no other field)")
		}
	}
	return out
}

// checkTargetType reports a missing type, or one this source does not allow.
func checkTargetType(t autoscalingv2.MetricTargetType, path string, sel targetSelector, errs *problems) {
	allowed := []autoscalingv2.MetricTargetType{autoscalingv2.ValueMetricType, autoscalingv2.AverageValueMetricType}
	switch sel {
	case byResourceFields:
		allowed = []autoscalingv2.MetricTargetType{autoscalingv2.UtilizationMetricType, autoscalingv2.AverageValueMetricType}
	case byPodsField:
		allowed = []autoscalingv2.MetricTargetType{autoscalingv2.AverageValueMetricType}
	}
	if t == "" {
		errs.required(path+".type", "must specify a metric target type")
		return
	}
	for _, a := range allowed {
		if a == t {
			return
		}
	}
	errs.invalid(path+".type", fmt.Sprintf("%q", t), fmt.Sprintf("must be one of %v for this metric source", allowed))
}

// oneOf requires exactly one of two target fields (the API server requires
// one and forbids both).
func oneOf(path, first string, hasFirst bool, second string, hasSecond bool, errs *problems) {
	switch {
	case !hasFirst && !hasSecond:
		errs.required(path+"."+second, fmt.Sprintf("must set either %s or %s", first, second))
	case hasFirst && hasSecond:
		errs.required(path+"."+second, "may not be set together with "+first)
	}
}

func positiveMilli(q *resource.Quantity, path string, errs *problems) int64 {
	if q.Sign() != 1 {
		errs.invalid(path, q.String(), "must be positive")
		return 0
	}
	return q.MilliValue()
}

// convertRules fills the omitted fields of one behavior direction from def
// and validates the given ones.
func convertRules(r *autoscalingv2.HPAScalingRules, def horizontal.ScalingRules, path string, errs *problems) horizontal.ScalingRules {
	if r == nil {
		return def
	}
	out := def
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 || *w > maxStabilizationWindowSeconds {
			errs.invalid(path+".stabilizationWindowSeconds", *w,
				fmt.Sprintf("must be between 0 and %d", maxStabilizationWindowSeconds))
		}
		out.StabilizationWindow = time.Duration(*w) * time.Second
	}
	if p := r.SelectPolicy; p != nil {
		switch *p {
		case autoscalingv2.MaxChangePolicySelect, autoscalingv2.MinChangePolicySelect, autoscalingv2.DisabledPolicySelect:
			out.SelectPolicy = horizontal.SelectPolicy(*p)
		default:
			errs.invalid(path+".selectPolicy", fmt.Sprintf("%q", *p), "supported values: Max, Min, Disabled")
		}
	}
	if r.Policies != nil {
		out.Policies = convertPolicies(r.Policies, path+".policies", errs)
	}
	if r.Tolerance != nil {
		if r.Tolerance.Sign() < 0 {
			errs.invalid(path+".tolerance", r.Tolerance.String(), "must be greater than or equal to 0")
		}
		t := r.Tolerance.AsApproximateFloat64()
		out.Tolerance = &t
	}
	return out
}

func convertPolicies(ps []autoscalingv2.HPAScalingPolicy, path string, errs *problems) []horizontal.ScalingPolicy {
	if len(ps) == 0 {
		errs.required(path, "must specify at least one Policy")
		return nil
	}
	out := make([]horizontal.ScalingPolicy, 0, len(ps))
	for i, p := range ps {
		pp := fmt.Sprintf("%s[%d]", path, i)
		if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
			errs.invalid(pp+".type", fmt.Sprintf("%q", p.Type), "supported values: Pods, Percent")
		}
		if p.Value <= 0 {
			errs.invalid(pp+".value", p.Value, "must be greater than zero")
		}
		if p.PeriodSeconds <= 0 || p.PeriodSeconds > maxPeriodSeconds {
			errs.invalid(pp+".periodSeconds", p.PeriodSeconds, fmt.Sprintf("must be between 1 and %d", maxPeriodSeconds))
		}
		out = append(out, horizontal.ScalingPolicy{
			Type: horizontal.ScalingPolicyType(p.Type), Value: p.Value,
			Period: time.Duration(p.PeriodSeconds) * time.Second,
		})
	}
	return out
}
