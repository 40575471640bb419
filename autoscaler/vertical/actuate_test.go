package vertical

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// rec is a recommendation for "app": CPU target 500m in [400m, 700m],
// memory 512Mi in [400Mi, 800Mi].
func rec() []rv.ContainerRecommendation {
	return []rv.ContainerRecommendation{{Name: "app",
		CPU:    &rv.Bounds{Target: 500, Lower: 400, Upper: 700},
		Memory: &rv.Bounds{Target: 512 << 20, Lower: 400 << 20, Upper: 800 << 20}}}
}

var webTarget = Target{Namespace: testNS, APIVersion: "apps/v1", Kind: "Deployment", Name: "web", Replicas: 3, MinReplicas: 1}

type patchSeen struct {
	Resource, Name, Subresource string
	Type                        types.PatchType
	Body                        map[string]any
	DryRun                      []string
}

func patches(t *testing.T, kube *fake.Clientset) []patchSeen {
	t.Helper()
	var out []patchSeen
	for _, a := range kube.Actions() {
		p, ok := a.(clienttesting.PatchActionImpl)
		if !ok {
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(p.Patch, &body); err != nil {
			t.Fatalf("patch body %s: %v", p.Patch, err)
		}
		out = append(out, patchSeen{p.Resource.Resource, p.Name, p.Subresource, p.PatchType, body, p.PatchOptions.DryRun})
	}
	return out
}

func drain(rec *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func newActuator(kube *fake.Clientset, dryRun bool) (*Actuator, *record.FakeRecorder) {
	r := record.NewFakeRecorder(100)
	o := DefaultActuatorOptions()
	o.DryRun, o.Recorder = dryRun, r
	return NewActuator(kube.CoreV1(), kube.AppsV1(), o), r
}

func podBody(requests map[string]any) map[string]any {
	return map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": "app", "resources": map[string]any{"requests": requests}}}}}
}

func TestInPlaceResize(t *testing.T) {
	for _, tc := range []struct {
		name       string
		dryRun     bool
		targetDry  bool // Target.DryRun, the Actuator not dry-run
		pod        *corev1.Pod
		wantBody   map[string]any
		wantEvents []string
	}{
		{name: "both outside bounds", pod: newPod("web-a", 100, 256<<20),
			wantBody:   podBody(map[string]any{"cpu": "500m", "memory": "512Mi"}),
			wantEvents: []string{"Normal VerticalResize pod web-a: app cpu 100m->500m, memory 256Mi->512Mi"}},
		{name: "dry-run: same call with DryRun All", dryRun: true, pod: newPod("web-a", 100, 256<<20),
			wantBody:   podBody(map[string]any{"cpu": "500m", "memory": "512Mi"}),
			wantEvents: []string{"Normal VerticalResize pod web-a: app cpu 100m->500m, memory 256Mi->512Mi (DryRun)"}},
		{name: "target dry-run", targetDry: true, pod: newPod("web-a", 100, 256<<20),
			wantBody:   podBody(map[string]any{"cpu": "500m", "memory": "512Mi"}),
			wantEvents: []string{"Normal VerticalResize pod web-a: app cpu 100m->500m, memory 256Mi->512Mi (DryRun)"}},
		{name: "memory inside bounds stays", pod: newPod("web-a", 900, 600<<20),
			wantBody:   podBody(map[string]any{"cpu": "500m"}),
			wantEvents: []string{"Normal VerticalResize pod web-a: app cpu 900m->500m"}},
		{name: "both inside bounds: no patch", pod: newPod("web-a", 450, 600<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset(tc.pod)
			a, r := newActuator(kube, tc.dryRun)
			target := webTarget
			target.DryRun = tc.targetDry
			res, err := a.Apply(t.Context(), t0, policy.VerticalInPlace, target, rec(), []*corev1.Pod{tc.pod}, &Actuations{})
			if err != nil {
				t.Fatal(err)
			}
			var want []patchSeen
			if tc.wantBody != nil {
				p := patchSeen{"pods", "web-a", "resize", types.StrategicMergePatchType, tc.wantBody, nil}
				if tc.dryRun || tc.targetDry {
					p.DryRun = []string{metav1.DryRunAll}
				}
				want = []patchSeen{p}
				if d := cmp.Diff([]string{"web-a"}, res.Resized); d != "" {
					t.Errorf("Resized (-want +got):\n%s", d)
				}
			}
			if d := cmp.Diff(want, patches(t, kube)); d != "" {
				t.Errorf("patches (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.wantEvents, drain(r)); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}
}

func TestInPlaceLimits(t *testing.T) {
	pods := func(n int) []*corev1.Pod {
		var out []*corev1.Pod
		for i := range n {
			out = append(out, newPod("web-"+string(rune('a'+i)), 100, 256<<20))
		}
		return out
	}
	resizing := func(p *corev1.Pod) *corev1.Pod {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue}}
		return p
	}
	restarting := func(res corev1.ResourceName, ps []*corev1.Pod) []*corev1.Pod {
		for _, p := range ps {
			p.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{
				{ResourceName: res, RestartPolicy: corev1.RestartContainer}}
		}
		return ps
	}
	type step struct {
		after time.Duration
		want  []string
		held  string
	}
	for _, tc := range []struct {
		name          string
		pods          []*corev1.Pod
		replicas, min int32
		resizePods    int
		steps         []step
	}{
		{name: "one pod per minute", pods: pods(3), replicas: 3, min: 1, resizePods: 1, steps: []step{
			{0, []string{"web-a"}, "ResizeRateLimited"}, {30 * time.Second, nil, "ResizeRateLimited"},
			{time.Minute, []string{"web-b"}, "ResizeRateLimited"}}},
		{name: "never more than replicas - minReplicas at once", pods: pods(3), replicas: 3, min: 2, resizePods: 5,
			steps: []step{{0, []string{"web-a"}, "MinReplicas"}}},
		{name: "restarting resizes at minReplicas: none", pods: restarting(corev1.ResourceMemory, pods(2)), replicas: 2, min: 2,
			resizePods: 5, steps: []step{{0, nil, "MinReplicas"}}},
		{name: "no-restart resizes at minReplicas: one at a time", pods: pods(2), replicas: 2, min: 2, resizePods: 5,
			steps: []step{{0, []string{"web-a"}, "MinReplicas"}}},
		{name: "single replica, no restart needed: resized", pods: pods(1), replicas: 1, min: 1, resizePods: 1,
			steps: []step{{0, []string{"web-a"}, ""}}},
		{name: "single replica, restart for cpu: held", pods: restarting(corev1.ResourceCPU, pods(1)), replicas: 1, min: 1,
			resizePods: 1, steps: []step{{0, nil, "MinReplicas"}}},
		{name: "a resize in progress counts as in flight", pods: append(pods(2), resizing(newPod("web-z", 100, 256<<20))),
			replicas: 3, min: 2, resizePods: 5, steps: []step{{0, nil, "MinReplicas"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			for _, p := range tc.pods {
				objs = append(objs, p)
			}
			kube := fake.NewClientset(objs...)
			o := DefaultActuatorOptions()
			o.ResizePods = tc.resizePods
			a := NewActuator(kube.CoreV1(), kube.AppsV1(), o)
			target := webTarget
			target.Replicas, target.MinReplicas = tc.replicas, tc.min
			live := tc.pods
			var last Actuations
			for _, s := range tc.steps {
				res, err := a.Apply(t.Context(), t0.Add(s.after), policy.VerticalInPlace, target, rec(), live, &last)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(Result{Resized: s.want, Held: s.held}, res); d != "" {
					t.Errorf("at +%s: Apply() (-want +got):\n%s", s.after, d)
				}
				// Resized pods now have the recommended requests.
				for _, name := range res.Resized {
					for i, p := range live {
						if p.Name == name {
							live[i] = newPod(name, 500, 512<<20)
						}
					}
				}
			}
		})
	}
}

func newDeployment(cpuMilli, memBytes int64, generation, observed int64) *appsv1.Deployment {
	p := newPod("", cpuMilli, memBytes)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS, Generation: generation},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: p.Spec}},
		Status:     appsv1.DeploymentStatus{ObservedGeneration: observed},
	}
}

func TestRollout(t *testing.T) {
	templateBody := map[string]any{"spec": map[string]any{"template": podBody(map[string]any{"cpu": "500m", "memory": "512Mi"})}}
	for _, tc := range []struct {
		name       string
		dryRun     bool
		deployment *appsv1.Deployment
		want       []patchSeen
		wantRes    Result
		wantEvent  string
	}{
		{name: "patches the template", deployment: newDeployment(100, 256<<20, 1, 1),
			want:      []patchSeen{{"deployments", "web", "", types.StrategicMergePatchType, templateBody, nil}},
			wantRes:   Result{RolledOut: true},
			wantEvent: "Normal VerticalRollout app cpu 100m->500m, memory 256Mi->512Mi"},
		{name: "dry-run", dryRun: true, deployment: newDeployment(100, 256<<20, 1, 1),
			want: []patchSeen{{"deployments", "web", "", types.StrategicMergePatchType, templateBody,
				[]string{metav1.DryRunAll}}},
			wantRes:   Result{RolledOut: true},
			wantEvent: "Normal VerticalRollout app cpu 100m->500m, memory 256Mi->512Mi (DryRun)"},
		{name: "inside bounds: nothing", deployment: newDeployment(500, 512<<20, 1, 1)},
		{name: "previous rollout not observed yet", deployment: newDeployment(100, 256<<20, 2, 1),
			wantRes: Result{Held: "RolloutInProgress"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset(tc.deployment)
			a, r := newActuator(kube, tc.dryRun)
			res, err := a.Apply(t.Context(), t0, policy.VerticalRollout, webTarget, rec(), nil, &Actuations{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantRes, res); d != "" {
				t.Errorf("Apply() (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.want, patches(t, kube)); d != "" {
				t.Errorf("patches (-want +got):\n%s", d)
			}
			var want []string
			if tc.wantEvent != "" {
				want = []string{tc.wantEvent}
			}
			if d := cmp.Diff(want, drain(r)); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}
}

func TestRolloutAtMostOncePerPeriod(t *testing.T) {
	d := newDeployment(100, 256<<20, 1, 1)
	kube := fake.NewClientset(d)
	// As the API server under dry-run: the patch is accepted, nothing stored.
	kube.PrependReactor("patch", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, d, nil
	})
	a, _ := newActuator(kube, true)
	var last Actuations
	for _, tc := range []struct {
		after time.Duration
		want  Result
	}{
		{0, Result{RolledOut: true}},
		{59 * time.Minute, Result{Held: "RolloutRateLimited"}},
		{time.Hour, Result{RolledOut: true}},
	} {
		res, err := a.Apply(t.Context(), t0.Add(tc.after), policy.VerticalRollout, webTarget, rec(), nil, &last)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, res); d != "" {
			t.Errorf("at +%s: Apply() (-want +got):\n%s", tc.after, d)
		}
	}
	if n := len(patches(t, kube)); n != 2 {
		t.Errorf("%d rollout patches in 1h, want 2 (at 0 and at 1h)", n)
	}
}

func TestPerTargetRateLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   policy.VerticalMode
		target func(Target) Target
		steps  []time.Duration
		want   int // patches
	}{
		{name: "rollout period 10m: two rollouts in 10m", mode: policy.VerticalRollout,
			target: func(t Target) Target { t.RolloutPeriod = 10 * time.Minute; return t },
			steps:  []time.Duration{0, 9 * time.Minute, 10 * time.Minute}, want: 2},
		{name: "rollout default period 1h: one rollout in 10m", mode: policy.VerticalRollout,
			target: func(t Target) Target { return t },
			steps:  []time.Duration{0, 9 * time.Minute, 10 * time.Minute}, want: 1},
		{name: "in-place 2 pods per 5m", mode: policy.VerticalInPlace,
			target: func(t Target) Target { t.ResizePods, t.ResizePeriod = 2, 5*time.Minute; return t },
			steps:  []time.Duration{0, time.Minute}, want: 2},
		{name: "in-place default 1 pod per minute", mode: policy.VerticalInPlace,
			target: func(t Target) Target { return t },
			steps:  []time.Duration{0, 30 * time.Second}, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeployment(100, 256<<20, 1, 1)
			pods := []*corev1.Pod{newPod("web-a", 100, 256<<20), newPod("web-b", 100, 256<<20), newPod("web-c", 100, 256<<20)}
			kube := fake.NewClientset(d, pods[0], pods[1], pods[2])
			kube.PrependReactor("patch", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
				return true, d, nil // the template stays unchanged: each rollout is due again
			})
			a, _ := newActuator(kube, false)
			target := tc.target(webTarget)
			var last Actuations
			for _, after := range tc.steps {
				if _, err := a.Apply(t.Context(), t0.Add(after), tc.mode, target, rec(), pods, &last); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(patches(t, kube)); n != tc.want {
				t.Errorf("%d patches, want %d", n, tc.want)
			}
		})
	}
}

func TestRolloutUnsupportedKind(t *testing.T) {
	a, _ := newActuator(fake.NewClientset(), false)
	target := webTarget
	target.APIVersion, target.Kind = "argoproj.io/v1alpha1", "Rollout"
	_, err := a.Apply(t.Context(), t0, policy.VerticalRollout, target, rec(), nil, &Actuations{})
	if err == nil || !strings.Contains(err.Error(), "not argoproj.io/v1alpha1 Rollout") {
		t.Errorf("Apply() error = %v, want one naming the unsupported kind", err)
	}
}

func TestOffAndRecommendNeverPatch(t *testing.T) {
	for _, tc := range []struct {
		mode       policy.VerticalMode
		wantEvents []string
	}{
		{policy.VerticalOff, nil},
		{policy.VerticalRecommend, []string{"Normal VerticalRecommendation requests outside the recommended bounds (pod web-a): app cpu 100m->500m, memory 256Mi->512Mi"}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
			kube := fake.NewClientset(pods[0], newDeployment(100, 256<<20, 1, 1))
			a, r := newActuator(kube, false)
			for i := range 3 { // the same recommendation is announced once
				if _, err := a.Apply(t.Context(), t0.Add(time.Duration(i)*time.Hour), tc.mode, webTarget, rec(), pods, &Actuations{}); err != nil {
					t.Fatal(err)
				}
			}
			if p := patches(t, kube); len(p) != 0 {
				t.Errorf("mode %s patched: %+v", tc.mode, p)
			}
			if d := cmp.Diff(tc.wantEvents, drain(r)); d != "" {
				t.Errorf("events (-want +got):\n%s", d)
			}
		})
	}
}

// TestRecommendationEventsOnlyOnChange: in recommend mode, a recommendation
// that drifts a little at every pass (as the histograms do under changing
// usage) is announced once; a move of 10 % or more is announced again; a
// container back within its bounds and out again is announced afresh.
func TestRecommendationEventsOnlyOnChange(t *testing.T) {
	cpu := func(target, lower, upper int64) []rv.ContainerRecommendation {
		r := rec()
		r[0].CPU = &rv.Bounds{Target: target, Lower: lower, Upper: upper}
		r[0].Memory = nil
		return r
	}
	steps := []struct {
		recs []rv.ContainerRecommendation
		want int // Events of this step
	}{
		{cpu(500, 400, 700), 1}, // request 100m below the bounds
		{cpu(510, 410, 710), 0}, // +2 %
		{cpu(530, 420, 720), 0}, // +6 % from the one announced
		{cpu(560, 450, 750), 1}, // +12 %
		{cpu(540, 440, 740), 0}, // -3.6 %
		{cpu(120, 80, 400), 0},  // 100m within the bounds: nothing to say
		{cpu(560, 450, 750), 1}, // out again: announced afresh
	}
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
	kube := fake.NewClientset(pods[0], newDeployment(100, 256<<20, 1, 1))
	a, r := newActuator(kube, false)
	for i, st := range steps {
		if _, err := a.Apply(t.Context(), t0.Add(time.Duration(i)*15*time.Second), policy.VerticalRecommend, webTarget, st.recs, pods, &Actuations{}); err != nil {
			t.Fatal(err)
		}
		if got := drain(r); len(got) != st.want {
			t.Errorf("step %d (cpu target %dm): events %q, want %d", i, st.recs[0].CPU.Target, got, st.want)
		}
	}
}
