package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// This file is the second phase of a target's pass, after its state was
// checkpointed: write the decided size and run the vertical side, both
// under the gate decided in the first phase.

// actuate writes pl's decision and runs the vertical side.
func (l *Loop) actuate(ctx context.Context, p *pass, pl *plan) {
	if pl.st == nil || pl.stopped || pl.sc == nil {
		return
	}
	if err := interrupted(ctx); err != nil {
		l.revertScaleDown(pl)
		pl.stopped = true
		pl.err = fmt.Errorf("pass interrupted: %w", err)
		pl.rt.Blocking = append(pl.rt.Blocking, report.Condition{Reason: "Interrupted", Message: pl.err.Error()})
		return
	}
	if pl.decided && pl.desired != pl.current && pl.failure == nil && pl.t.ShadowOf == "" { // a shadow never writes
		l.scale(ctx, p, pl)
	}
	l.reconcileVertical(ctx, p, pl)
	pl.rt.Notes = append(pl.rt.Notes, p.excludedNotes(pl.pods)...)
}

// scale writes pl.desired with the Scale read in the first phase; a
// Conflict (another writer since the read) is never retried with the old
// number: the next pass re-reads and recomputes.
func (l *Loop) scale(ctx context.Context, p *pass, pl *plan) {
	t := pl.t
	act := l.o.Actuator
	if pl.gate.dryRun {
		act = l.o.DryRunActuator
	}
	if err := act.Scale(ctx, t, pl.sc, pl.desired); err != nil {
		l.revertScaleDown(pl)
		reason := "FailedRescale"
		if errors.Is(err, errConflict) {
			reason = "ScaleConflict"
		}
		pl.fail(reason, err)
		return
	}
	pl.rescaled = true
	if !pl.gate.dryRun {
		pl.rt.Applied = report.Int32(pl.desired)
	}
	l.m.applied.WithLabelValues(t.Namespace, t.Key(), strconv.FormatBool(pl.gate.dryRun)).Set(float64(pl.desired))
	if !pl.gate.dryRun && pl.desired > pl.current {
		pl.st.history.RecordScale(p.now, pl.current, pl.desired, t.Spec.Behavior) // scale-downs were recorded ahead
	}
	pl.downBefore = nil
}

// revertScaleDown takes back the scale-down event recorded ahead of a
// write that did not happen.
func (l *Loop) revertScaleDown(pl *plan) {
	if pl.downBefore != nil {
		pl.st.history.ScaleDownEvents = pl.downBefore
		pl.downBefore = nil
	}
}

// VerticalReconciler is the vertical side of a pass (autoscaler/vertical's
// Runner behind an adapter in cmd, which reads the target's vertical mode
// and policy from t.Vertical). The loop calls it once per target whose
// (horizontal) mode is not off, after the horizontal write, with what the
// pass already read: the target's pods and their metrics-server usage
// (nil when metrics-server failed, and always nil for vertical mode off,
// where the reconciler only forgets the target's metrics). dryRun is the
// target's gate, the same as the horizontal side's (mode dry-run, ebb
// report, the read-only profile, or an HPA conflict, or HPAs that could
// not be read), or a VPA conflict (or VPAs that could not be read). In the
// read-only profile the reconciler must send nothing, not even a dry-run.
type VerticalReconciler interface {
	ReconcileVertical(ctx context.Context, now time.Time, t Target, current int32, dryRun bool,
		pods []*corev1.Pod, usage []metricsource.PodUsage) ([]report.Container, error)
}

// VerticalForgetter is implemented by a VerticalReconciler that keeps
// per-target state: the loop calls ForgetVertical(target "Kind/name") when
// the target leaves the policy (its state and metric series go; its
// checkpoint is the vertical side's to expire).
type VerticalForgetter interface {
	ForgetVertical(target string)
}

// reconcileVertical runs the vertical side for pl and adds its rows (or its
// failure) to the report.
func (l *Loop) reconcileVertical(ctx context.Context, p *pass, pl *plan) {
	if l.o.Vertical == nil {
		return
	}
	t, pods := pl.t, pl.pods
	var usage []metricsource.PodUsage
	if t.Vertical.Mode == policy.VerticalOff {
		pods = nil // nothing is computed
	} else if byPod, err := p.podUsage(ctx); err == nil {
		names := make([]string, len(pods))
		for i, pod := range pods {
			names[i] = pod.Name
		}
		usage, _ = byPod.Pick(names) // pods without a sample are missing, never zero
	}
	rows, err := l.o.Vertical.ReconcileVertical(ctx, p.now, t, pl.current, pl.gate.verticalDryRun, pods, usage)
	pl.rt.Vertical = rows
	if err != nil {
		l.log.Warn("vertical reconcile failed", "target", t.Key(), "err", err)
		pl.rt.Blocking = append(pl.rt.Blocking, report.Condition{Reason: "VerticalFailed", Message: fmt.Sprint(err)})
	}
}
