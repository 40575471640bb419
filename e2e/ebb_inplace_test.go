//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestKwokInPlaceResize proves the cluster side of in-place resize, without
// ebb: the API server accepts pods/resize for a running kwok pod (its
// container status carries resources), kwok reports the resize in progress
// and then completes it (status resources and allocatedResources follow the
// spec, observedGeneration catches up, the condition goes), and the pod is
// the same pod throughout (UID, no restart).
func TestKwokInPlaceResize(t *testing.T) {
	const ns = "kwok-resize"
	s := setup(t, ns)
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: "web", Replicas: 1, CPURequest: "100m", MemRequest: "64Mi"}
	if _, err := s.Env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	names, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 1, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Env.Kube.CoreV1().Pods(ns).Get(ctx, names[0], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs := before.Status.ContainerStatuses; len(cs) != 1 || cs[0].Resources == nil || !cs[0].Resources.Requests.Cpu().Equal(resourceQ("100m")) {
		t.Fatalf("running pod's container status resources = %+v, want requests cpu 100m (pod-ready fills them)", cs)
	}
	patch := []byte(`{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"250m","memory":"96Mi"}}}]}}`)
	if _, err := s.Env.Kube.CoreV1().Pods(ns).Patch(ctx, before.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "resize"); err != nil {
		t.Fatalf("pods/resize refused on a kwok node: %v", err)
	}
	var sawInProgress bool
	err = harness.Eventually(ctx, "kwok completes the resize", 20*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		p, err := s.Env.Kube.CoreV1().Pods(ns).Get(ctx, before.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if resizeInProgress(p) {
			sawInProgress = true
			return fmt.Errorf("resize in progress")
		}
		return resizeDone(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	after, err := s.Env.Kube.CoreV1().Pods(ns).Get(ctx, before.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID || after.Status.ContainerStatuses[0].RestartCount != 0 {
		t.Errorf("pod UID %s → %s, restarts %d: want the same pod, not restarted", before.UID, after.UID, after.Status.ContainerStatuses[0].RestartCount)
	}
	if after.Generation <= before.Generation || after.Status.ObservedGeneration != after.Generation {
		t.Errorf("generation %d → %d, observedGeneration %d: want a new generation, observed", before.Generation, after.Generation, after.Status.ObservedGeneration)
	}
	if !sawInProgress {
		t.Log("the PodResizeInProgress condition was not sampled (kwok holds it 1 s)")
	}
}

// TestEbbVerticalInPlace: a Deployment of 3 kwok pods using 300m CPU and
// 400Mi memory while requesting 10m and 16Mi, horizontal 2..3 (so at most
// 3 − 2 = 1 pod may be in a resize at once) and vertical mode in-place at 1
// pod per 8 s. ebb resizes every running pod in place to its recommendation
// without recreating any (same UIDs, no template change), never more than
// one pod in flight (so never fewer than minReplicas = 2 pods available),
// and no two resizes closer than the period.
func TestEbbVerticalInPlace(t *testing.T) {
	const ns, name = "ebb-inplace", "web"
	const period = 8 * time.Second
	s := setup(t, ns)
	ctx := context.Background()
	w, _ := underRequestedWorkload(t, s, ns, name, 3)
	uids := map[string]types.UID{}
	list, err := s.Env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: w.Selector().String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.Items {
		uids[p.Name] = p.UID
	}
	gen := deploymentGeneration(t, s, ns, name)

	watcher := watchResizes(t, s, ns, w, list)
	policy := cpuPolicy("apply", "Deployment", name, 2, 3, 50, "") + fmt.Sprintf(`  vertical:
    mode: in-place
    inPlace: {podsPerPeriod: 1, period: %s}
`, period)
	o := ebbSetup(t, s, ns, policy)
	ebb := startEbb(t, s, o, "")

	// Every pod resized in place: spec and status carry ebb's target.
	match := map[string]string{"namespace": ns, "target": "Deployment/" + name, "container": "app", "bound": "target"}
	err = harness.Eventually(ctx, "all 3 pods resized in place and completed", 3*period+30*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		pods, err := s.Env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: w.Selector().String()})
		if err != nil {
			return err
		}
		var pending []string
		for _, p := range pods.Items {
			if p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() == 10 || resizeDone(&p) != nil {
				pending = append(pending, p.Name)
			}
		}
		if len(pending) > 0 {
			return fmt.Errorf("not resized yet: %v; resizes seen: %s", pending, watcher)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cpu := ebb.waitMetric(t, "ebb_vertical_recommendation_cpu_cores", match, "present", func(float64) bool { return true }, 10*time.Second)
	watcher.stop()

	pods, err := s.Env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: w.Selector().String()})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]types.UID{}
	for _, p := range pods.Items {
		got[p.Name] = p.UID
		if c := p.Spec.Containers[0].Resources.Requests.Cpu().MilliValue(); c < 300 {
			t.Errorf("pod %s cpu request %dm after the resize, want >= the 300m it uses (recommendation %.3f cores)", p.Name, c, cpu)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(uids) {
		t.Fatalf("pods %v after the resizes, want the same pods %v (in place, none recreated)", got, uids)
	}
	if g := deploymentGeneration(t, s, ns, name); g != gen {
		t.Errorf("Deployment generation %d → %d: in-place mode must not touch the template", gen, g)
	}
	starts, maxInFlight := watcher.result()
	if len(starts) != 3 {
		t.Fatalf("resizes seen %s, want one per pod", watcher)
	}
	if maxInFlight > 1 {
		t.Errorf("%d pods were resizing at once, want at most replicas − minReplicas = 1: %s", maxInFlight, watcher)
	}
	for i := 1; i < len(starts); i++ {
		// The watch sees a resize when the API server stored it; ebb's passes
		// are 2 s apart, so the spacing can fall short of the period by at
		// most the watch delay.
		if d := starts[i].Sub(starts[i-1]); d < period-time.Second {
			t.Errorf("resizes %d and %d only %s apart, want >= %s (1 pod per period): %s", i-1, i, d.Round(100*time.Millisecond), period, watcher)
		}
	}
	eventsMention(t, s, ns, "Deployment", name, "VerticalResize", "app cpu 10m->", 10*time.Second)
	t.Logf("resizes: %s", watcher)
}

// resizeWatcher follows a workload's pods through a watch and records when
// each pod's spec requests changed (a resize was stored) and the largest
// number of pods resizing at once (spec requests differ from the status',
// or a PodResizeInProgress/Pending condition is true).
type resizeWatcher struct {
	mu          sync.Mutex
	t0          time.Time
	resized     map[string]time.Time // pod → first spec change
	initial     map[string]string    // pod → initial spec requests
	inFlight    map[string]bool
	maxInFlight int
	err         error
	cancel      context.CancelFunc
	done        chan struct{}
}

// watchResizes starts from list (the pods before any resize, whose
// requests are the baseline) and watches from its resource version: a pod's
// first watch event may already be its resize.
func watchResizes(t *testing.T, s *Suite, ns string, w harness.Workload, list *corev1.PodList) *resizeWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	wi, err := s.Env.Kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: w.Selector().String(), ResourceVersion: list.ResourceVersion})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	rw := &resizeWatcher{t0: time.Now(), resized: map[string]time.Time{}, initial: map[string]string{},
		inFlight: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	for i := range list.Items {
		rw.observe(&list.Items[i], watch.Added)
	}
	go func() {
		defer close(rw.done)
		defer wi.Stop()
		for ev := range wi.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if ctx.Err() != nil {
				return // stopped: the watch's closing error is not one
			}
			if !ok || ev.Type == watch.Error {
				rw.mu.Lock()
				rw.err = fmt.Errorf("watch event %s: %v", ev.Type, ev.Object)
				rw.mu.Unlock()
				continue
			}
			rw.observe(p, ev.Type)
		}
	}()
	t.Cleanup(rw.stop)
	return rw
}

func (rw *resizeWatcher) observe(p *corev1.Pod, typ watch.EventType) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	req := p.Spec.Containers[0].Resources.Requests
	key := req.Cpu().String() + "/" + req.Memory().String()
	if _, ok := rw.initial[p.Name]; !ok {
		rw.initial[p.Name] = key
	}
	if _, ok := rw.resized[p.Name]; !ok && key != rw.initial[p.Name] {
		rw.resized[p.Name] = time.Now()
	}
	rw.inFlight[p.Name] = typ != watch.Deleted && (resizeInProgress(p) || resizeDone(p) != nil)
	n := 0
	for _, f := range rw.inFlight {
		if f {
			n++
		}
	}
	rw.maxInFlight = max(rw.maxInFlight, n)
}

func (rw *resizeWatcher) stop() {
	rw.cancel()
	<-rw.done
}

// result returns the resize times in order and the most pods in flight.
func (rw *resizeWatcher) result() ([]time.Time, int) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	var at []time.Time
	for _, t := range rw.resized {
		at = append(at, t)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	return at, rw.maxInFlight
}

func (rw *resizeWatcher) String() string {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	var parts []string
	for pod, at := range rw.resized {
		parts = append(parts, fmt.Sprintf("%s@+%.1fs", pod, at.Sub(rw.t0).Seconds()))
	}
	sort.Strings(parts)
	return fmt.Sprintf("[%s] max in flight %d (err %v)", strings.Join(parts, " "), rw.maxInFlight, rw.err)
}

// resizeInProgress reports whether the kubelet (kwok) says a resize of p is
// pending or in progress.
func resizeInProgress(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if (c.Type == corev1.PodResizeInProgress || c.Type == corev1.PodResizePending) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// resizeDone is nil when every container's status resources and allocated
// resources equal its spec and the status observed the pod's generation.
func resizeDone(p *corev1.Pod) error {
	for i, c := range p.Spec.Containers {
		if i >= len(p.Status.ContainerStatuses) {
			return fmt.Errorf("pod %s: no status for container %s", p.Name, c.Name)
		}
		cs := p.Status.ContainerStatuses[i]
		if cs.Resources == nil || !equality.Semantic.DeepEqual(cs.Resources.Requests, c.Resources.Requests) ||
			!equality.Semantic.DeepEqual(cs.AllocatedResources, c.Resources.Requests) {
			return fmt.Errorf("pod %s container %s: spec requests %v, status resources %v, allocated %v",
				p.Name, c.Name, c.Resources.Requests, cs.Resources, cs.AllocatedResources)
		}
	}
	if p.Status.ObservedGeneration != p.Generation {
		return fmt.Errorf("pod %s: observedGeneration %d, generation %d", p.Name, p.Status.ObservedGeneration, p.Generation)
	}
	return nil
}

func resourceQ(s string) resource.Quantity { return resource.MustParse(s) }
