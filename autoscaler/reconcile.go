package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

func podNames(pods []horizontal.Pod) []string {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Name
	}
	return names
}

// objectRef is the target as an Event's involved object.
func objectRef(t Target) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: t.Ref.APIVersion, Kind: t.Ref.Kind, Namespace: t.Namespace, Name: t.Ref.Name}
}

func newReportTarget(t Target) report.Target {
	return report.Target{Kind: t.Ref.Kind, Name: t.Ref.Name, APIVersion: t.Ref.APIVersion, Mode: string(t.Mode),
		Min: t.Spec.MinReplicas, Max: t.Spec.MaxReplicas}
}

// reconcile observes, decides and (in apply or dry-run mode) actuates one
// target. The error says why the target was not scaled as decided; the
// report says the same for users.
func (l *Loop) reconcile(ctx context.Context, p *pass, t Target) (report.Target, error) {
	rt := newReportTarget(t)
	if t.Mode == policy.ModeOff {
		rt.Reason = "ScalingDisabled"
		rt.Blocking = append(rt.Blocking, report.Condition{Reason: "ModeOff", Message: "mode off: ebb computes nothing"})
		return rt, nil
	}
	fail := func(reason string, err error) (report.Target, error) {
		rt.Reason, rt.Message = reason, err.Error()
		rt.Blocking = append(rt.Blocking, report.Condition{Reason: reason, Message: err.Error()})
		l.o.Recorder.Event(objectRef(t), corev1.EventTypeWarning, reason, err.Error())
		return rt, err
	}
	gk, version, err := t.GroupKind()
	if err != nil {
		return fail("FailedGetScale", err)
	}
	mapping, err := l.o.Mapper.RESTMapping(gk, version)
	if err != nil {
		if r, ok := l.o.Mapper.(meta.ResettableRESTMapper); ok {
			r.Reset() // a CRD installed since the last discovery is found next pass
		}
		return fail("FailedGetScale", fmt.Errorf("resolve %s: %w", gk, err))
	}
	t.Resource = mapping.Resource
	sc, err := l.o.Scales.Scales(t.Namespace).Get(ctx, t.Resource.GroupResource(), t.Ref.Name, metav1.GetOptions{})
	if err != nil {
		return fail("FailedGetScale", fmt.Errorf("get scale of %s: %w", t, err))
	}
	current := sc.Spec.Replicas
	rt.Current = report.Int32(current)
	sel, err := labels.Parse(sc.Status.Selector)
	if err == nil && sel.Empty() {
		err = errors.New("empty selector")
	}
	if err != nil {
		return fail("InvalidSelector", fmt.Errorf("scale of %s selector %q: %w", t, sc.Status.Selector, err))
	}
	podList, err := p.podsFor(sel)
	if err != nil {
		return fail("FailedGetPods", fmt.Errorf("list pods of %s: %w", t, err))
	}
	pods := make([]horizontal.Pod, len(podList))
	for i, pod := range podList {
		pods[i] = convertPod(pod)
	}
	vars := metricsource.QueryVars{Namespace: t.Namespace, Target: t.Ref.Name, Kind: t.Ref.Kind,
		Pods: podNames(pods), Selector: sc.Status.Selector}
	obs := horizontal.Observation{Now: p.now, CurrentReplicas: current, StatusReplicas: sc.Status.Replicas,
		Pods: pods, Metrics: p.observeMetrics(ctx, t, vars, pods)}
	h := l.historyFor(t.Key())
	d := l.decide(obs, t.Spec, t.Options, h)
	rt, err = l.act(ctx, p, t, h, d, current, rt)
	l.reconcileVertical(ctx, p, t, current, podList, &rt)
	rt.Notes = append(rt.Notes, p.excludedNotes(podList)...)
	return rt, err
}

// act records the decision and actuates it when the size changes.
func (l *Loop) act(ctx context.Context, p *pass, t Target, h *horizontal.History, d horizontal.Decision, current int32, rt report.Target) (report.Target, error) {
	desired := d.Replicas
	fillDecision(&rt, t, d)
	if d.Err != nil && !d.Proposal.Invalid {
		rt.Desired = report.Int32(current)
		return blocked(rt, d.Reason, fmt.Errorf("decide %s: %w", t, d.Err))
	}
	var holdErr error
	if d.Proposal.Invalid && ctx.Err() != nil {
		// Shutdown cancelled the metric reads: not missing metrics (no
		// Event, no ebb_missing_metrics_total), just an interrupted pass.
		return blocked(rt, "Interrupted", fmt.Errorf("pass interrupted: %w", ctx.Err()))
	}
	if d.Proposal.Invalid {
		var cond report.Condition
		desired, cond = l.missing(t, d, current)
		rt.Blocking = append(rt.Blocking, cond)
		l.m.missing.WithLabelValues(t.Namespace, t.Key()).Inc()
		reason := d.Proposal.Reason
		if reason == "" {
			reason = horizontal.ReasonFailedComputeMetricsReplicas
		}
		l.o.Recorder.Event(objectRef(t), corev1.EventTypeWarning, reason, cond.Message)
		holdErr = fmt.Errorf("%w: %s", errHold, cond.Message)
	} else {
		l.metricsValid(t)
	}
	rt.Desired = report.Int32(desired)
	l.m.observe(t, current, d, desired)
	dry := t.Mode == policy.ModeDryRun || l.o.DryRun
	gk, _, _ := t.GroupKind() // parsed without error in reconcile
	hpa, err := p.hpaConflict(t, gk)
	if err != nil {
		return blocked(rt, "HPAConflictUnknown", fmt.Errorf("check HPAs targeting %s: %w", t, err))
	}
	if hpa != "" { // reported even when there is nothing to do
		dry = true
		msg := fmt.Sprintf("HorizontalPodAutoscaler %s also targets %s; ebb stays in dry-run for it", hpa, t)
		rt.Blocking = append(rt.Blocking, report.Condition{Reason: "HPAConflict", Message: msg})
		// Repeated passes aggregate into one Event with a count (client-go's correlator).
		l.o.Recorder.Event(objectRef(t), corev1.EventTypeWarning, "HPAConflict", msg)
	}
	if desired == current {
		return rt, holdErr
	}
	t.scaleReason = scaleReason(d, current, desired)
	act := l.o.Actuator
	if dry {
		act = l.o.DryRunActuator
	}
	if err := act.Scale(ctx, t, desired); err != nil {
		return blocked(rt, "FailedRescale", err)
	}
	l.m.applied.WithLabelValues(t.Namespace, t.Key(), fmt.Sprint(dry)).Set(float64(desired))
	if !dry {
		h.RecordScale(p.now, current, desired, t.Spec.Behavior)
	}
	return rt, holdErr
}

// scaleReason words the reason of a rescale like the HPA's Events.
func scaleReason(d horizontal.Decision, current, desired int32) string {
	switch {
	case d.Proposal.Invalid:
		return "missing metrics: fallback replicas"
	case desired > current && d.Proposal.Metric != "":
		return d.Proposal.Metric + " above target"
	case desired > current:
		return d.Reason
	default:
		return "All metrics below target"
	}
}

func blocked(rt report.Target, reason string, err error) (report.Target, error) {
	rt.Blocking = append(rt.Blocking, report.Condition{Reason: reason, Message: err.Error()})
	return rt, err
}

// fillDecision copies the decision into the report target.
func fillDecision(rt *report.Target, t Target, d horizontal.Decision) {
	if !d.Proposal.Invalid {
		rt.Recommended = report.Int32(d.Recommended)
		rt.Stabilized = report.Int32(d.Stabilized)
	}
	rt.Reason, rt.Message = d.Reason, d.Message
	if d.Proposal.Invalid && d.Proposal.Reason != "" {
		rt.Reason, rt.Message = d.Proposal.Reason, d.Proposal.Message
	}
	rt.ShapedBy = shapedBy(t, d)
	for _, mp := range d.Proposal.Metrics {
		rt.Metrics = append(rt.Metrics, reportMetric(mp))
	}
}

func reportMetric(mp horizontal.MetricProposal) report.Metric {
	m := report.Metric{Name: mp.Metric.String(), TargetType: string(mp.Metric.Target.Type)}
	if t := mp.Metric.Type; t == horizontal.ResourceMetric || t == horizontal.ContainerResourceMetric {
		m.Unit = report.ResourceUnit(mp.Metric.Name)
	}
	switch mp.Metric.Target.Type {
	case horizontal.UtilizationTarget:
		m.Target = int64(mp.Metric.Target.Utilization)
	case horizontal.ValueTarget:
		m.Target = mp.Metric.Target.Value
	default:
		m.Target = mp.Metric.Target.AverageValue
	}
	if mp.Err != nil {
		m.Error = mp.Err.Error()
		if mp.Reason != "" && !strings.Contains(m.Error, mp.Reason) {
			m.Error = mp.Reason + ": " + m.Error
		}
		return m
	}
	m.Utilization = mp.Utilization
	m.Value = report.Int64(mp.Value)
	m.Replicas = report.Int32(mp.Replicas)
	return m
}

// sortedKeys is used for deterministic iteration in tests and state.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
