package autoscaler

import (
	"context"
	"fmt"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// gate is how a target may be actuated in this pass, decided once for the
// horizontal and the vertical side: dry-run for mode dry-run, for ebb
// report, and for a target a HorizontalPodAutoscaler also drives (two
// writers on one scale oscillate); blocked (horizontally) when the HPAs
// could not be read, since a conflict can then not be ruled out.
type gate struct {
	dryRun bool
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
		return gate{dryRun: true} // a shadow is its HPA's; no conflict to report
	}
	g := gate{dryRun: t.Mode == policy.ModeDryRun || p.loop.o.DryRun}
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
