package autoscaler

import (
	"context"
	"errors"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// This file is the first phase of a target's pass: read the workload and
// its pods, observe its metrics, decide, apply the missing-metrics policy
// and the gate. Nothing is written here.

// Causes of a cancelled context: a target's own deadline (its sources were
// too slow: missing metrics) versus the whole pass's (deadline or
// shutdown: the target is interrupted, not failed).
var (
	errTargetDeadline = errors.New("target deadline exceeded")
	errPassDeadline   = errors.New("pass deadline exceeded")
)

// interrupted returns why the pass stopped, or nil while it runs (a
// target's own deadline does not stop the pass).
func interrupted(ctx context.Context) error {
	if ctx.Err() == nil || errors.Is(context.Cause(ctx), errTargetDeadline) {
		return nil
	}
	return context.Cause(ctx)
}

// plan is one target's pass: what the first phase read and decided, and
// what the actuation phase did with it.
type plan struct {
	t  Target
	st *targetState // nil for mode off
	rt report.Target
	// err says why the target is not scaled as decided (logged once).
	err error
	// failure is the failure to announce (an Event when its reason is new).
	failure *report.Condition
	// hold is the missing-metrics hold or fallback in force.
	hold *report.Condition
	// stopped is set when the pass was cancelled: no Events, no writes.
	stopped bool
	sc      *autoscalingv1.Scale // as read this pass
	pods    []*corev1.Pod
	gate    gate
	decided bool // a decision was reached: actuation and vertical may run
	current int32
	desired int32
	// reason words the rescale in its Event.
	reason string
	// downBefore holds the scale-down events from before the one recorded
	// ahead of the write (write-ahead, so a crash after the write cannot
	// forget it); nil when none was recorded.
	downBefore []horizontal.Event
	// rescaled is set when the write (or dry-run write) succeeded.
	rescaled bool
}

// fail records a failure of the target in this pass.
func (pl *plan) fail(reason string, err error) {
	pl.err = err
	pl.rt.Reason, pl.rt.Message = reason, err.Error()
	pl.failure = &report.Condition{Reason: reason, Message: err.Error()}
	pl.rt.Blocking = append(pl.rt.Blocking, *pl.failure)
}

func newReportTarget(t Target) report.Target {
	return report.Target{Kind: t.Ref.Kind, Name: t.Ref.Name, APIVersion: t.Ref.APIVersion, Mode: string(t.Mode),
		Min: t.Spec.MinReplicas, Max: t.Spec.MaxReplicas}
}

// decideTarget is the first phase for t.
func (l *Loop) decideTarget(ctx context.Context, p *pass, t Target) *plan {
	pl := &plan{t: t, rt: newReportTarget(t)}
	if t.Mode == policy.ModeOff {
		pl.rt.Reason = "ScalingDisabled"
		pl.rt.Blocking = append(pl.rt.Blocking, report.Condition{Reason: "ModeOff", Message: "mode off: ebb computes nothing"})
		return pl
	}
	if err := interrupted(ctx); err != nil {
		pl.stopped = true
		pl.err = fmt.Errorf("pass interrupted: %w", err)
		pl.rt.Blocking = append(pl.rt.Blocking, report.Condition{Reason: "Interrupted", Message: pl.err.Error()})
		return pl
	}
	if l.o.ReadOnly {
		pl.rt.Blocking = append(pl.rt.Blocking, readOnlyCondition)
	}
	pl.st = l.stateOf(t)
	pl.rt.HPA = p.hpaStatus(ctx, t) // what an HPA of the workload decided, beside ebb
	if reason, err := l.read(ctx, p, pl); err != nil {
		pl.fail(reason, err)
		return pl
	}
	pl.gate = p.gate(ctx, t)
	l.decideReplicas(ctx, p, pl)
	return pl
}

// read resolves t's resource, reads its Scale (informer cache for built-in
// kinds, a scale GET otherwise) and its pods. It returns the failure
// reason with the error.
func (l *Loop) read(ctx context.Context, p *pass, pl *plan) (string, error) {
	t := &pl.t
	gk, version, err := t.GroupKind()
	if err != nil {
		return "FailedGetScale", err
	}
	var sc *autoscalingv1.Scale
	served := false
	if l.o.Workloads != nil {
		sc, t.Resource, served, err = l.o.Workloads.Scale(gk, t.Namespace, t.Ref.Name)
		if served && err != nil {
			return "FailedGetScale", err
		}
	}
	if !served {
		mapping, err := l.o.Mapper.RESTMapping(gk, version)
		if err != nil {
			l.mapperResets.reset(l.o.Mapper, err, p.now) // a CRD installed since is found within a minute
			return "FailedGetScale", fmt.Errorf("resolve %s: %w", gk, err)
		}
		t.Resource = mapping.Resource
		if sc, err = l.o.Scales.Scales(t.Namespace).Get(ctx, t.Resource.GroupResource(), t.Ref.Name, metav1.GetOptions{}); err != nil {
			return "FailedGetScale", fmt.Errorf("get scale of %s: %w", t, err)
		}
	}
	pl.sc, pl.current = sc, sc.Spec.Replicas
	pl.rt.Current = report.Int32(pl.current)
	sel, err := labels.Parse(sc.Status.Selector)
	if err == nil && sel.Empty() {
		err = errors.New("empty selector")
	}
	if err != nil {
		return "InvalidSelector", fmt.Errorf("scale of %s selector %q: %w", t, sc.Status.Selector, err)
	}
	if pl.pods, err = p.podsFor(ctx, sel); err != nil {
		return "FailedGetPods", fmt.Errorf("list pods of %s: %w", t, err)
	}
	return "", nil
}

// decideReplicas observes t's metrics, runs the recommender with the
// target's history, applies the missing-metrics policy and the gate, and
// records the decision in the report and the metrics.
func (l *Loop) decideReplicas(ctx context.Context, p *pass, pl *plan) {
	t := pl.t
	pods := make([]horizontal.Pod, len(pl.pods))
	names := make([]string, len(pl.pods))
	for i, pod := range pl.pods {
		pods[i], names[i] = convertPod(pod), pod.Name
	}
	vars := metricsource.QueryVars{Namespace: t.Namespace, Target: t.Ref.Name, Kind: t.Ref.Kind,
		Pods: names, Selector: pl.sc.Status.Selector}
	obs := horizontal.Observation{Now: p.now, CurrentReplicas: pl.current, StatusReplicas: pl.sc.Status.Replicas,
		Pods: pods, Metrics: p.observeMetrics(ctx, t, vars, pods)}
	h := pl.st.historyAt(p.now)
	d := l.decideHorizontal(ctx, p, pl, obs, h)
	fillDecision(&pl.rt, t, d)
	pl.desired = d.Replicas
	switch {
	case d.Proposal.Invalid && interrupted(ctx) != nil:
		// Shutdown or the pass deadline cancelled the metric reads: not
		// missing metrics (no Event, no ebb_missing_metrics_total).
		pl.stopped = true
		pl.err = fmt.Errorf("pass interrupted: %w", interrupted(ctx))
		pl.rt.Blocking = append(pl.rt.Blocking, report.Condition{Reason: "Interrupted", Message: pl.err.Error()})
		return
	case d.Err != nil && !d.Proposal.Invalid:
		pl.rt.Desired = report.Int32(pl.current)
		pl.fail(d.Reason, fmt.Errorf("decide %s: %w", t, d.Err))
		return
	case d.Proposal.Invalid:
		l.missing(pl, obs, h, d)
	default:
		pl.st.failed = 0
	}
	pl.rt.Desired = report.Int32(pl.desired)
	l.m.observe(t, pl.current, d, pl.desired)
	pl.reason = scaleReason(d, pl.current, pl.desired)
	if pl.gate.cond != nil {
		pl.rt.Blocking = append(pl.rt.Blocking, *pl.gate.cond) // reported even when there is nothing to do
	}
	if pl.gate.err != nil {
		pl.fail("HPAConflictUnknown", pl.gate.err)
		pl.rt.Blocking = pl.rt.Blocking[:len(pl.rt.Blocking)-1] // the gate's condition says it already
	}
	if pl.gate.vpaCond != nil {
		pl.rt.Blocking = append(pl.rt.Blocking, *pl.gate.vpaCond) // the vertical side's own conflict
	}
	pl.decided = true
	if pl.desired < pl.current && !pl.gate.dryRun && pl.gate.err == nil && t.Spec.Behavior != nil {
		// Write-ahead: the scale-down event is checkpointed before the
		// write, so a restart never forgets it and scales down faster.
		pl.downBefore = append([]horizontal.Event{}, h.ScaleDownEvents...)
		h.RecordScale(p.now, pl.current, pl.desired, t.Spec.Behavior)
	}
}

// missing applies the missing-metrics policy after an invalid proposal:
// hold the current size, or after AfterCycles passes propose the fallback
// replicas, which go through the same normalization as any proposal
// (stabilization windows, rate limits, bounds).
func (l *Loop) missing(pl *plan, obs horizontal.Observation, h *horizontal.History, d horizontal.Decision) {
	t := pl.t
	pl.st.failed++
	n := pl.st.failed
	msg := fmt.Sprintf("%s: %s (%d consecutive passes)", d.Proposal.Reason, d.Proposal.Message, n)
	l.m.missing.WithLabelValues(t.Namespace, t.Key()).Inc()
	reason := d.Proposal.Reason
	if reason == "" {
		reason = horizontal.ReasonFailedComputeMetricsReplicas
	}
	var cond report.Condition
	if t.Missing.Action == policy.MissingFallback && t.Missing.AfterCycles > 0 && n >= t.Missing.AfterCycles {
		fd := horizontal.DecideFallback(obs, t.Spec, t.Options, h, t.Missing.FallbackReplicas)
		pl.desired = fd.Replicas
		pl.rt.ShapedBy = shapedBy(t, fd)
		cond = report.Condition{Reason: "MissingMetricsFallback", Message: fmt.Sprintf(
			"%s; fallback to %d replicas, %d after stabilization and limits", msg, t.Missing.FallbackReplicas, fd.Replicas)}
	} else {
		pl.desired = pl.current
		cond = report.Condition{Reason: "MissingMetricsHold", Message: msg + "; holding the current scale"}
	}
	pl.rt.Blocking = append(pl.rt.Blocking, cond)
	pl.hold = &report.Condition{Reason: reason, Message: cond.Message} // the Event carries the HPA reason
	pl.err = fmt.Errorf("%w: %s", errHold, cond.Message)
}

// errHold is the error of a target held without an API error (missing
// metrics).
var errHold = errors.New("metrics missing, scale held")

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
