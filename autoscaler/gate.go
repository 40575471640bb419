package autoscaler

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// gate is how a target may be actuated in this pass, decided once for the
// horizontal and the vertical side: dry-run for mode dry-run, for ebb
// report, for the read-only profile, and for a target a
// HorizontalPodAutoscaler also drives (two writers on one scale
// oscillate); blocked (horizontally) when the HPAs could not be read,
// since a conflict can then not be ruled out. The vertical side is also
// dry-run when a VerticalPodAutoscaler changes the target's requests (or
// the VPAs could not be read).
type gate struct {
	dryRun bool
	// verticalDryRun is dryRun, or a VPA conflict (known or not).
	verticalDryRun bool
	// vpa names the VPA that also changes the requests ("" none);
	// vpaCond is the VPAConflict or VPAConflictUnknown condition.
	vpa     string
	vpaCond *report.Condition
	// hpa names the HPA that also targets the workload ("" none).
	hpa string
	// cond is the HPAConflict or HPAConflictUnknown condition to report.
	cond *report.Condition
	// err is set when the HPAs could not be read: no horizontal actuation,
	// and the vertical side stays dry-run.
	err error
}

func (p *pass) gate(ctx context.Context, t Target) gate {
	if t.ShadowOf != "" {
		return gate{dryRun: true, verticalDryRun: true} // a shadow is its HPA's; no conflict to report
	}
	g := p.hpaGate(ctx, t)
	g.verticalDryRun = g.dryRun
	if gk, _, err := t.GroupKind(); err == nil && p.loop.vpaConflict(t, gk, &g) {
		g.verticalDryRun = true
	}
	return g
}

// hpaGate is the gate of both sides: mode, ebb report, the read-only
// profile, the HPAs.
func (p *pass) hpaGate(ctx context.Context, t Target) gate {
	g := gate{dryRun: t.Mode == policy.ModeDryRun || p.loop.o.DryRun || p.loop.o.ReadOnly}
	gk, _, err := t.GroupKind()
	if err != nil {
		g.dryRun, g.err = true, err
		return g
	}
	hpa, err := p.hpaConflict(ctx, t, gk)
	switch {
	case err != nil:
		g.dryRun, g.err = true, fmt.Errorf("check HPAs targeting %s: %w", t, err)
		g.cond = &report.Condition{Reason: "HPAConflictUnknown", Message: g.err.Error()}
	case hpa != "":
		g.dryRun, g.hpa = true, hpa
		g.cond = &report.Condition{Reason: "HPAConflict",
			Message: fmt.Sprintf("HorizontalPodAutoscaler %s also targets %s; ebb stays in dry-run for it", hpa, t)}
	}
	return g
}

// VPAChecker finds a VerticalPodAutoscaler of the namespace that changes
// the requests of gk/name (autoscaler/vertical's VPAs).
type VPAChecker interface {
	Conflict(gk schema.GroupKind, name string) (vpa string, err error)
}

// vpaConflict reports, for a target whose vertical mode actuates (in-place,
// rollout), whether a VerticalPodAutoscaler also changes its requests, or
// whether that is unknown, and records the condition in g.
func (l *Loop) vpaConflict(t Target, gk schema.GroupKind, g *gate) bool {
	if l.o.VPAs == nil || (t.Vertical.Mode != policy.VerticalInPlace && t.Vertical.Mode != policy.VerticalRollout) {
		return false
	}
	vpa, err := l.o.VPAs.Conflict(gk, t.Ref.Name)
	switch {
	case err != nil:
		g.vpaCond = &report.Condition{Reason: "VPAConflictUnknown",
			Message: fmt.Sprintf("cannot tell whether a VerticalPodAutoscaler targets %s (%v); its vertical side stays in dry-run", t, err)}
	case vpa != "":
		g.vpa = vpa
		g.vpaCond = &report.Condition{Reason: "VPAConflict",
			Message: fmt.Sprintf("VerticalPodAutoscaler %s also changes the requests of %s; ebb's vertical side stays in dry-run for it", vpa, t)}
	default:
		return false
	}
	return true
}
