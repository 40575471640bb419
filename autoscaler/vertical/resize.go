package vertical

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// resize patches the requests of running pods through pods/resize: at
// most ResizePods per ResizePeriod (t's overrides, else the options), and
// at most Replicas-MinReplicas pods in flight (a resize pending or in
// progress counts). A resize whose containers' resize policies need no
// restart (NotRequired, the default) keeps the pod serving, so it may have
// one pod in flight even at MinReplicas: a single-replica workload can be
// resized in place.
func (a *Actuator) resize(ctx context.Context, now time.Time, t Target, recs []rv.ContainerRecommendation,
	pods []*corev1.Pod, last *Actuations) (Result, error) {
	sorted := slices.Clone(pods)
	slices.SortFunc(sorted, func(x, y *corev1.Pod) int { return strings.Compare(x.Name, y.Name) })
	inFlight := 0
	var todo []*corev1.Pod
	for _, p := range sorted {
		switch {
		case resizing(p):
			inFlight++
		case p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && len(changes(p.Spec.Containers, recs)) > 0:
			todo = append(todo, p)
		}
	}
	if len(todo) == 0 {
		return Result{}, nil
	}
	maxPods, period, _ := a.o.limits(t)
	last.Resizes = slices.DeleteFunc(last.Resizes, func(at time.Time) bool { return now.Sub(at) >= period })
	left := maxPods - len(last.Resizes)
	disruptive := int(t.Replicas - t.MinReplicas)
	var res Result
	var errs []error
	for _, p := range todo {
		if left <= 0 {
			res.Held = "ResizeRateLimited"
			break
		}
		chs := changes(p.Spec.Containers, recs)
		limit := disruptive
		if !needsRestart(p.Spec.Containers, chs) {
			limit = max(disruptive, 1)
		}
		if inFlight >= limit {
			res.Held = "MinReplicas"
			continue
		}
		if err := a.resizePod(ctx, t, p, chs); err != nil {
			errs = append(errs, err)
			continue
		}
		left--
		inFlight++
		last.Resizes = append(last.Resizes, now)
		res.Resized = append(res.Resized, p.Name)
	}
	return res, errors.Join(errs...)
}

// needsRestart reports whether applying chs restarts a container: one of
// its changed resources has resize policy RestartContainer (NotRequired
// is the default).
func needsRestart(containers []corev1.Container, chs []change) bool {
	for _, ch := range chs {
		i := slices.IndexFunc(containers, func(c corev1.Container) bool { return c.Name == ch.name })
		if i < 0 {
			continue
		}
		for _, rp := range containers[i].ResizePolicy {
			changed := (rp.ResourceName == corev1.ResourceCPU && ch.to.CPUMillis != 0) ||
				(rp.ResourceName == corev1.ResourceMemory && ch.to.MemoryBytes != 0)
			if changed && rp.RestartPolicy == corev1.RestartContainer {
				return true
			}
		}
	}
	return false
}

// resizing reports whether a resize of p is pending or in progress.
func resizing(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if (c.Type == corev1.PodResizePending || c.Type == corev1.PodResizeInProgress) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func (a *Actuator) resizePod(ctx context.Context, t Target, p *corev1.Pod, chs []change) error {
	body, err := marshal(map[string]any{"spec": map[string]any{"containers": containerPatches(chs)}})
	if err == nil {
		_, err = a.pods.Pods(p.Namespace).Patch(ctx, p.Name, types.StrategicMergePatchType, body, a.patchOptions(t), "resize")
	}
	if err != nil {
		a.o.Recorder.Eventf(t.ref(), corev1.EventTypeWarning, "FailedVerticalResize",
			"pod %s: %s%s: %v", p.Name, describe(chs), a.suffix(t), err)
		return fmt.Errorf("resize pod %s/%s: %w", p.Namespace, p.Name, err)
	}
	a.o.Recorder.Eventf(t.ref(), corev1.EventTypeNormal, "VerticalResize", "pod %s: %s%s", p.Name, describe(chs), a.suffix(t))
	return nil
}

// rollout patches the pod template of a Deployment or StatefulSet, at most
// once per RolloutPeriod (t's override, else the options) and not while its previous rollout is unobserved.
func (a *Actuator) rollout(ctx context.Context, now time.Time, t Target, recs []rv.ContainerRecommendation, last *Actuations) (Result, error) {
	if !strings.HasPrefix(t.APIVersion, "apps/") || (t.Kind != "Deployment" && t.Kind != "StatefulSet") {
		return Result{}, fmt.Errorf("target %s: rollout mode supports apps Deployment and StatefulSet, not %s %s",
			t.Key(), t.APIVersion, t.Kind)
	}
	_, _, period := a.o.limits(t)
	if !last.LastRollout.IsZero() && now.Sub(last.LastRollout) < period {
		return Result{Held: "RolloutRateLimited"}, nil
	}
	tmpl, observed, err := a.template(ctx, t)
	if err != nil {
		return Result{}, err
	}
	chs := changes(tmpl.Spec.Containers, recs)
	if len(chs) == 0 {
		return Result{}, nil
	}
	if !observed {
		return Result{Held: "RolloutInProgress"}, nil
	}
	body, err := marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"spec": map[string]any{"containers": containerPatches(chs)}}}})
	if err == nil {
		err = a.patchWorkload(ctx, t, body)
	}
	if err != nil {
		a.o.Recorder.Eventf(t.ref(), corev1.EventTypeWarning, "FailedVerticalRollout", "%s%s: %v", describe(chs), a.suffix(t), err)
		return Result{}, fmt.Errorf("rollout %s/%s: %w", t.Namespace, t.Key(), err)
	}
	last.LastRollout = now
	a.o.Recorder.Eventf(t.ref(), corev1.EventTypeNormal, "VerticalRollout", "%s%s", describe(chs), a.suffix(t))
	return Result{RolledOut: true}, nil
}

// template reads the workload's pod template and whether its controller
// has observed the latest spec.
func (a *Actuator) template(ctx context.Context, t Target) (corev1.PodTemplateSpec, bool, error) {
	var (
		tmpl corev1.PodTemplateSpec
		meta metav1.ObjectMeta
		obs  int64
	)
	switch t.Kind {
	case "Deployment":
		d, err := a.apps.Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return tmpl, false, fmt.Errorf("get %s/%s: %w", t.Namespace, t.Key(), err)
		}
		tmpl, meta, obs = d.Spec.Template, d.ObjectMeta, d.Status.ObservedGeneration
	default:
		s, err := a.apps.StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return tmpl, false, fmt.Errorf("get %s/%s: %w", t.Namespace, t.Key(), err)
		}
		tmpl, meta, obs = s.Spec.Template, s.ObjectMeta, s.Status.ObservedGeneration
	}
	return tmpl, obs >= meta.Generation, nil
}

func (a *Actuator) patchWorkload(ctx context.Context, t Target, body []byte) error {
	var err error
	if t.Kind == "Deployment" {
		_, err = a.apps.Deployments(t.Namespace).Patch(ctx, t.Name, types.StrategicMergePatchType, body, a.patchOptions(t))
	} else {
		_, err = a.apps.StatefulSets(t.Namespace).Patch(ctx, t.Name, types.StrategicMergePatchType, body, a.patchOptions(t))
	}
	return err
}
