package autoscaler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// VerticalReconciler is the vertical side of a pass (autoscaler/vertical's
// Runner behind an adapter in cmd, which reads the target's vertical mode
// and policy from t.Vertical). The loop calls it once per target whose
// (horizontal) mode is not off, after the horizontal decision, with what
// the pass already read: the target's pods and their metrics-server usage
// (nil when metrics-server failed, and always nil for vertical mode off,
// where the reconciler only forgets the target's metrics). dryRun is true
// when the target's actuation must be dry-run (mode dry-run, ebb report,
// or an HPA conflict): a vertical patch then carries DryRun=All too.
type VerticalReconciler interface {
	ReconcileVertical(ctx context.Context, now time.Time, t Target, current int32, dryRun bool,
		pods []*corev1.Pod, usage []metricsource.PodUsage) ([]report.Container, error)
}

// reconcileVertical runs the vertical side for t and adds its rows (or its
// failure) to rt.
func (l *Loop) reconcileVertical(ctx context.Context, p *pass, t Target, current int32, pods []*corev1.Pod, rt *report.Target) {
	if l.o.Vertical == nil {
		return
	}
	dry := t.Mode == policy.ModeDryRun || l.o.DryRun
	if gk, _, err := t.GroupKind(); err == nil {
		if hpa, err := p.hpaConflict(t, gk); err != nil || hpa != "" {
			dry = true // unknown or conflicting: never actuate
		}
	}
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
	rows, err := l.o.Vertical.ReconcileVertical(ctx, p.now, t, current, dry, pods, usage)
	rt.Vertical = rows
	if err != nil {
		l.log.Warn("vertical reconcile failed", "target", t.Key(), "err", err)
		rt.Blocking = append(rt.Blocking, report.Condition{Reason: "VerticalFailed", Message: fmt.Sprint(err)})
	}
}
