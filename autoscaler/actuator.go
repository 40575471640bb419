package autoscaler

import (
	"context"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
)

// FieldManager is the field manager of ebb's scale patches.
const FieldManager = "ebb"

// ScaleActuator patches spec.replicas on the scale subresource. Dry-run is
// an option of the same patch (DryRun=All: the API server validates,
// authorizes and admits it, and persists nothing), not a second code path.
type ScaleActuator struct {
	scales     scale.ScalesGetter
	dryRun     bool
	recorder   record.EventRecorder
	actuations *prometheus.CounterVec // labels namespace, target, result, dry_run; may be nil
}

// NewScaleActuator returns an actuator over scales. recorder receives
// SuccessfulRescale/FailedRescale Events on the target; actuations, when
// not nil, counts patches (ebb_actuations_total).
func NewScaleActuator(scales scale.ScalesGetter, dryRun bool, recorder record.EventRecorder, actuations *prometheus.CounterVec) *ScaleActuator {
	if recorder == nil {
		recorder = &record.FakeRecorder{}
	}
	return &ScaleActuator{scales: scales, dryRun: dryRun, recorder: recorder, actuations: actuations}
}

// Scale merge-patches the scale of t to replicas with field manager "ebb",
// retrying on conflicts.
func (a *ScaleActuator) Scale(ctx context.Context, t Target, replicas int32) error {
	opts := metav1.PatchOptions{FieldManager: FieldManager}
	if a.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		_, err := a.scales.Scales(t.Namespace).Patch(ctx, t.Resource, t.Ref.Name, types.MergePatchType, patch, opts)
		return err
	})
	a.record(t, replicas, err)
	if err != nil {
		return fmt.Errorf("patch %s scale to %d (dry-run %t): %w", t, replicas, a.dryRun, err)
	}
	return nil
}

func (a *ScaleActuator) record(t Target, replicas int32, err error) {
	result := "success"
	switch {
	case apierrors.IsConflict(err):
		result = "conflict"
	case err != nil:
		result = "error"
	}
	if a.actuations != nil {
		a.actuations.WithLabelValues(t.Namespace, t.Key(), result, strconv.FormatBool(a.dryRun)).Inc()
	}
	prefix := ""
	if a.dryRun {
		prefix = "DryRun: "
	}
	if err != nil {
		a.recorder.Eventf(objectRef(t), corev1.EventTypeWarning, "FailedRescale",
			"%sNew size: %d; reason: %s; error: %v", prefix, replicas, t.scaleReason, err)
		return
	}
	a.recorder.Eventf(objectRef(t), corev1.EventTypeNormal, "SuccessfulRescale",
		"%sNew size: %d; reason: %s", prefix, replicas, t.scaleReason)
}
