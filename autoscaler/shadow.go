package autoscaler

import (
	"fmt"
	"slices"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// This file is the shadowing of HorizontalPodAutoscalers (`ebb report`
// without a policy, `shadowHPAs: true`): every pass, each HPA of the
// namespace whose workload no policy target names becomes a dry-run target
// with the HPA's own spec. ebb computes its decision from the same metrics,
// reports it beside the HPA's status.desiredReplicas and never acts on it:
// no patch, not even dry-run, and no Event.

// Shadower compiles the shadow target of an HPA (*policy.Compiled).
type Shadower interface {
	CompileShadow(h *autoscalingv2.HorizontalPodAutoscaler) (policy.CompiledTarget, error)
	Covers(ref autoscalingv2.CrossVersionObjectReference) bool
}

// shadowTargets returns this pass's shadow targets, by HPA name, and a
// report target for each HPA whose spec does not compile (it says why).
func (l *Loop) shadowTargets(cfg Config) ([]Target, []report.Target, error) {
	if cfg.Shadow == nil || l.o.HPAs == nil {
		return nil, nil, nil
	}
	hpas, err := l.o.HPAs.HorizontalPodAutoscalers(l.o.Namespace).List(labels.Everything())
	if err != nil {
		return nil, nil, fmt.Errorf("list horizontalpodautoscalers to shadow: %w", err)
	}
	slices.SortFunc(hpas, func(a, b *autoscalingv2.HorizontalPodAutoscaler) int { return strings.Compare(a.Name, b.Name) })
	var out []Target
	var invalid []report.Target
	for _, h := range hpas {
		if cfg.Shadow.Covers(h.Spec.ScaleTargetRef) {
			continue // the policy's target is reported, with its HPAConflict
		}
		ct, err := cfg.Shadow.CompileShadow(h)
		if err != nil {
			ref := h.Spec.ScaleTargetRef
			rt := report.Target{Kind: ref.Kind, Name: ref.Name, APIVersion: ref.APIVersion, Mode: string(policy.ModeDryRun),
				Min: derefOr(h.Spec.MinReplicas, 1), Max: h.Spec.MaxReplicas, Reason: "InvalidHPASpec", HPA: hpaStatus(h)}
			msg := strings.Join(problemLines(err), "; ")
			rt.Message = msg
			rt.Blocking = []report.Condition{{Reason: "InvalidHPASpec", Message: "ebb cannot shadow it: " + msg}}
			invalid = append(invalid, rt)
			continue
		}
		out = append(out, Target{CompiledTarget: ct, Namespace: l.o.Namespace, ShadowOf: h.Name})
	}
	return out, invalid, nil
}

func problemLines(err error) []string {
	var out []string
	for _, p := range policy.Problems(err) {
		out = append(out, p.Error())
	}
	return out
}

func derefOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// hpaStatus is what HPA h itself decided: status.desiredReplicas (unknown
// until the controller has processed it: no conditions yet), its
// conditions, and the metrics it last read, beside their spec targets.
func hpaStatus(h *autoscalingv2.HorizontalPodAutoscaler) *report.HPA {
	st := h.Status
	out := &report.HPA{Name: h.Name}
	if st.DesiredReplicas > 0 || len(st.Conditions) > 0 {
		out.Desired = report.Int32(st.DesiredReplicas)
	}
	for _, c := range st.Conditions {
		out.Conditions = append(out.Conditions, report.Condition{Reason: c.Reason,
			Message: fmt.Sprintf("%s=%s: %s", c.Type, c.Status, c.Message)})
	}
	for i, m := range st.CurrentMetrics {
		var spec *autoscalingv2.MetricSpec
		if i < len(h.Spec.Metrics) && h.Spec.Metrics[i].Type == m.Type {
			spec = &h.Spec.Metrics[i] // the controller writes them in spec order
		}
		out.Metrics = append(out.Metrics, hpaMetric(m, spec))
	}
	return out
}

// hpaMetric is one of the HPA's status.currentMetrics as a report metric
// named like ebb's ("Resource/cpu", "Pods/http_requests"), with the target
// of the matching spec metric.
func hpaMetric(m autoscalingv2.MetricStatus, spec *autoscalingv2.MetricSpec) report.Metric {
	var name string
	var cur autoscalingv2.MetricValueStatus
	switch {
	case m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil:
		name, cur = string(m.Resource.Name), m.Resource.Current
	case m.Type == autoscalingv2.ContainerResourceMetricSourceType && m.ContainerResource != nil:
		name, cur = string(m.ContainerResource.Name)+"/"+m.ContainerResource.Container, m.ContainerResource.Current
	case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
		name, cur = m.Pods.Metric.Name, m.Pods.Current
	case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
		name, cur = m.Object.Metric.Name, m.Object.Current
	case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
		name, cur = m.External.Metric.Name, m.External.Current
	}
	out := report.Metric{Name: string(m.Type) + "/" + name, Utilization: cur.AverageUtilization}
	switch {
	case cur.AverageValue != nil:
		out.Value = report.Int64(cur.AverageValue.MilliValue())
	case cur.Value != nil:
		out.Value = report.Int64(cur.Value.MilliValue())
	}
	if t := specTarget(spec); t != nil {
		out.TargetType = string(t.Type)
		switch {
		case t.AverageUtilization != nil:
			out.Target = int64(*t.AverageUtilization)
		case t.AverageValue != nil:
			out.Target = t.AverageValue.MilliValue()
		case t.Value != nil:
			out.Target = t.Value.MilliValue()
		}
	}
	return out
}

// specTarget is the target of a spec metric, nil when unknown.
func specTarget(m *autoscalingv2.MetricSpec) *autoscalingv2.MetricTarget {
	switch {
	case m == nil:
		return nil
	case m.Resource != nil:
		return &m.Resource.Target
	case m.ContainerResource != nil:
		return &m.ContainerResource.Target
	case m.Pods != nil:
		return &m.Pods.Target
	case m.Object != nil:
		return &m.Object.Target
	case m.External != nil:
		return &m.External.Target
	}
	return nil
}
