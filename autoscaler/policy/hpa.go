package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ebb-autoscaler/ebb/autoscaler/hpaspec"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// This file turns HorizontalPodAutoscalers into policy targets: the shadow
// targets of `ebb report` and `shadowHPAs: true` (ebb computes from the
// HPA's own spec, beside the HPA, and never acts), and the targets `ebb
// import` writes. Both go through compileTarget, so a shadowed HPA and the
// same HPA imported into a policy file compile to the same target.

// TargetFromHPA is the policy target for h: its scaleTargetRef, mode
// dry-run, and its spec unchanged (scaleTargetRef included) as horizontal.
func TargetFromHPA(h *autoscalingv2.HorizontalPodAutoscaler) Target {
	spec := h.Spec.DeepCopy()
	return Target{ScaleTargetRef: spec.ScaleTargetRef, Mode: ModeDryRun, Horizontal: &Horizontal{HorizontalPodAutoscalerSpec: *spec}}
}

// CompileShadow compiles the shadow target of h under the policy's
// defaults (controller settings, missing-metric policy, vertical side): a
// dry-run target with h's spec. The error lists every problem of h's spec,
// each naming the HPA and the field (e.g. "HorizontalPodAutoscaler web:
// spec.maxReplicas: must be set and greater than 0").
func (c *Compiled) CompileShadow(h *autoscalingv2.HorizontalPodAutoscaler) (CompiledTarget, error) {
	ch := &checker{}
	ct, ok := compileTarget(ch, c.Defaults, TargetFromHPA(h), "")
	if ok {
		if ct.Vertical.Mode != VerticalOff {
			ct.Vertical.Mode = VerticalRecommend // a shadow never acts, not even on requests
		}
		return ct, nil
	}
	// Name the HPA's own fields: "spec.maxReplicas", not the policy
	// target's ".horizontal.maxReplicas".
	errs := make([]error, len(ch.errs))
	for i, err := range ch.errs {
		var fe *hpaspec.FieldError
		if errors.As(err, &fe) {
			f := *fe
			f.Field = "spec" + strings.TrimPrefix(f.Field, ".horizontal")
			err = &f
		}
		errs[i] = &TargetError{Target: "HorizontalPodAutoscaler " + h.Name, Err: err}
	}
	return CompiledTarget{}, joinProblems(errs)
}

// Covers says whether a target of the policy manages the workload ref
// (same API group, kind and name): such an HPA is not shadowed, the policy
// target is reported instead (with its HPAConflict).
func (c *Compiled) Covers(ref autoscalingv2.CrossVersionObjectReference) bool {
	key := refKey(ref)
	for _, t := range c.Targets {
		if refKey(t.Ref) == key {
			return true
		}
	}
	return false
}

// ShadowOnly is the policy of `ebb report` without a policy file: no
// targets, every HPA of the namespace shadowed under defaults d (the
// controller settings given as flags; upstream's where d leaves them out).
func ShadowOnly(d Defaults) (*Compiled, error) {
	c := &checker{}
	checkDefaults(c, d)
	if err := joinProblems(c.errs); err != nil {
		return nil, fmt.Errorf("controller settings: %w", err)
	}
	return &Compiled{SyncPeriod: durationOr(d.SyncPeriod, DefaultSyncPeriod), ShadowHPAs: true, Defaults: d}, nil
}
