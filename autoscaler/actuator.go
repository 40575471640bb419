package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/scale"
)

// FieldManager is the field manager of ebb's writes.
const FieldManager = "ebb"

// errConflict marks a write refused because the object changed since it
// was read: someone else wrote; the next pass re-reads and recomputes.
var errConflict = errors.New("changed since it was read; recomputed next pass")

// ScaleActuator updates spec.replicas through the scale subresource, with
// the Scale the pass read: its resourceVersion guards the write, as the
// upstream HPA does (a.scaleNamespacer.Scales(ns).Update(ctx, resource,
// scale, ...)). A write never retries: a Conflict means another writer
// (kubectl scale, a GitOps sync) changed the object, and a number computed
// from the old state must not overwrite theirs. Dry-run is an option of the
// same Update (DryRun=All: the API server validates, authorizes and admits
// it, and persists nothing), not a second code path.
type ScaleActuator struct {
	scales     scale.ScalesGetter
	dryRun     bool
	actuations *prometheus.CounterVec // labels namespace, target, result, dry_run; may be nil
}

// NewScaleActuator returns an actuator over scales; actuations, when not
// nil, counts writes (ebb_actuations_total).
func NewScaleActuator(scales scale.ScalesGetter, dryRun bool, actuations *prometheus.CounterVec) *ScaleActuator {
	return &ScaleActuator{scales: scales, dryRun: dryRun, actuations: actuations}
}

// Scale updates sc to replicas with field manager "ebb". A conflict wraps
// errConflict.
func (a *ScaleActuator) Scale(ctx context.Context, t Target, sc *autoscalingv1.Scale, replicas int32) error {
	if sc == nil || sc.ResourceVersion == "" {
		return fmt.Errorf("scale %s to %d: no resourceVersion read to guard the write", t, replicas)
	}
	opts := metav1.UpdateOptions{FieldManager: FieldManager}
	if a.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	next := sc.DeepCopy()
	next.Spec.Replicas = replicas
	_, err := a.scales.Scales(t.Namespace).Update(ctx, t.Resource.GroupResource(), next, opts)
	a.record(t, err)
	switch {
	case apierrors.IsConflict(err):
		return fmt.Errorf("scale %s to %d (dry-run %t): %w: %w", t, replicas, a.dryRun, errConflict, err)
	case err != nil:
		return fmt.Errorf("scale %s to %d (dry-run %t): %w", t, replicas, a.dryRun, err)
	}
	return nil
}

func (a *ScaleActuator) record(t Target, err error) {
	if a.actuations == nil {
		return
	}
	result := "success"
	switch {
	case apierrors.IsConflict(err):
		result = "conflict"
	case err != nil:
		result = "error"
	}
	a.actuations.WithLabelValues(t.Namespace, t.Key(), result, strconv.FormatBool(a.dryRun)).Inc()
}
