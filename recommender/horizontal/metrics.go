package horizontal

import (
	"errors"
	"fmt"
)

// HPA condition reasons of failed metrics (ScalingActive=False).
const (
	ReasonFailedGetResourceMetric          = "FailedGetResourceMetric"
	ReasonFailedGetContainerResourceMetric = "FailedGetContainerResourceMetric"
	ReasonFailedGetPodsMetric              = "FailedGetPodsMetric"
	ReasonFailedGetObjectMetric            = "FailedGetObjectMetric"
	ReasonFailedGetExternalMetric          = "FailedGetExternalMetric"
	ReasonInvalidMetricSourceType          = "InvalidMetricSourceType"
	ReasonValidMetricFound                 = "ValidMetricFound"
)

// errNoObservation is the error of a metric without a MetricValues entry.
var errNoObservation = errors.New("no observation for this metric")

// errNoMetrics is the error of a spec without metrics.
var errNoMetrics = errors.New("spec.metrics is empty")

// firstErr returns the error of the first failed metric of p, or
// errNoMetrics when p has no metric.
func (p *Proposal) firstErr() error {
	for i := range p.Metrics {
		if p.Metrics[i].Err != nil {
			return p.Metrics[i].Err
		}
	}
	return errNoMetrics
}

// recommend is Recommend with the tolerances and readiness settings already
// resolved.
func recommend(o Observation, s Spec, tol tolerances, rd readiness) Proposal {
	p := Proposal{Metrics: make([]MetricProposal, len(s.Metrics))}
	invalid, first, best := 0, -1, -1
	for i := range s.Metrics {
		mv := MetricValues{Err: errNoObservation}
		if i < len(o.Metrics) {
			mv = o.Metrics[i]
		}
		mp := evalMetric(s.Metrics[i], mv, &o, tol, rd)
		p.Metrics[i] = mp
		if mp.Err != nil {
			if first < 0 {
				first = i
			}
			invalid++
			continue
		}
		if p.Replicas == 0 || mp.Replicas > p.Replicas {
			p.Replicas, best = mp.Replicas, i
		}
	}
	if best >= 0 {
		p.Metric = s.Metrics[best].String()
	}
	if len(s.Metrics) == 0 {
		p.Invalid = true
		p.Reason = ReasonInvalidMetricSourceType
		p.Message = "the HPA was unable to compute the replica count: " + errNoMetrics.Error()
		return p
	}
	if invalid >= len(s.Metrics) || (invalid > 0 && p.Replicas < o.CurrentReplicas) {
		p.Invalid = true
		p.Reason = p.Metrics[first].Reason
		p.Message = fmt.Sprintf("the HPA was unable to compute the replica count: invalid metrics (%d invalid out of %d), first error is: %v",
			invalid, len(s.Metrics), p.Metrics[first].Err)
		return p
	}
	p.Reason = ReasonValidMetricFound
	p.Message = "the HPA was able to successfully calculate a replica count from " + p.Metric
	return p
}

// failReason is the condition reason of a failure of a metric of type t.
func failReason(t MetricType) string {
	switch t {
	case ResourceMetric:
		return ReasonFailedGetResourceMetric
	case ContainerResourceMetric:
		return ReasonFailedGetContainerResourceMetric
	case PodsMetric:
		return ReasonFailedGetPodsMetric
	case ObjectMetric:
		return ReasonFailedGetObjectMetric
	case ExternalMetric:
		return ReasonFailedGetExternalMetric
	}
	return ReasonInvalidMetricSourceType
}

// evalMetric computes one metric's proposal (Part A).
func evalMetric(m MetricSpec, mv MetricValues, o *Observation, tol tolerances, rd readiness) MetricProposal {
	mp := MetricProposal{Metric: m}
	var err error
	if err = checkTarget(m); err == nil {
		if mv.Err != nil {
			err = fmt.Errorf("source: %w", mv.Err)
		} else {
			err = evalValues(&mp, mv, o, tol, rd)
		}
	}
	if err != nil {
		mp.Replicas, mp.Utilization, mp.Value = 0, nil, 0
		mp.Err = fmt.Errorf("metric %s: %w", m, err)
		mp.Reason = failReason(m.Type)
	}
	return mp
}

// checkTarget rejects a metric whose type or target cannot be evaluated;
// the API server's validation normally prevents these.
func checkTarget(m MetricSpec) error {
	t := m.Target
	ok := false
	switch m.Type {
	case ResourceMetric, ContainerResourceMetric:
		ok = t.Type == UtilizationTarget || t.Type == AverageValueTarget
		if m.Type == ContainerResourceMetric && m.Container == "" {
			return errors.New("container resource metric: container name is empty")
		}
	case PodsMetric:
		ok = t.Type == AverageValueTarget
	case ObjectMetric, ExternalMetric:
		ok = t.Type == ValueTarget || t.Type == AverageValueTarget
	default:
		return fmt.Errorf("unknown metric source type %q", m.Type)
	}
	if !ok {
		return fmt.Errorf("target type %q is not valid for a %s metric", t.Type, m.Type)
	}
	switch t.Type {
	case UtilizationTarget:
		if t.Utilization <= 0 {
			return fmt.Errorf("target utilization %d must be > 0", t.Utilization)
		}
	case ValueTarget:
		if t.Value <= 0 {
			return fmt.Errorf("target value %d must be > 0", t.Value)
		}
	case AverageValueTarget:
		if t.AverageValue <= 0 {
			return fmt.Errorf("target averageValue %d must be > 0", t.AverageValue)
		}
	}
	return nil
}

// evalValues runs the calculation of m's type and target on valid input.
func evalValues(mp *MetricProposal, mv MetricValues, o *Observation, tol tolerances, rd readiness) error {
	m, cur := mp.Metric, o.CurrentReplicas
	switch m.Type {
	case ObjectMetric, ExternalMetric:
		if m.Target.Type == AverageValueTarget {
			mp.Replicas, mp.Value = averageValueReplicas(o.StatusReplicas, mv.Value, m.Target.AverageValue, tol)
			return nil
		}
		r, err := valueReplicas(cur, float64(mv.Value)/float64(m.Target.Value), tol, o.Pods)
		mp.Replicas, mp.Value = r, mv.Value
		return err
	}
	if len(o.Pods) == 0 {
		return errNoPods
	}
	resource, container := m.Name, m.Container
	if m.Type == PodsMetric {
		resource, container = "", ""
	} else if m.Type == ResourceMetric {
		container = ""
	}
	if m.Target.Type == UtilizationTarget {
		fallback := int64(max(100, m.Target.Utilization))
		t := aggregate(o.Pods, mv.PodValues, resource, container, true, fallback, rd)
		r, util, raw, err := utilizationReplicas(cur, m.Target.Utilization, t, tol)
		if err == nil {
			mp.Replicas, mp.Utilization, mp.Value = r, &util, raw
		}
		return err
	}
	t := aggregate(o.Pods, mv.PodValues, resource, container, false, 0, rd)
	r, usage, err := plainReplicas(cur, m.Target.AverageValue, t, tol)
	mp.Replicas, mp.Value = r, usage
	return err
}
