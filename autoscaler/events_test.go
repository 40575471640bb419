package autoscaler

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// realRecorder is client-go's EventBroadcaster (with its correlator and
// spam filter: a burst of 25, then one per 5 minutes per object) writing
// to sink's Events.
func realRecorder(sink *fake.Clientset) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: sink.CoreV1().Events(testNS)})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "ebb"}), b.Shutdown
}

// reasonsWritten returns the reason of each Event the sink received.
func reasonsWritten(t *testing.T, sink *fake.Clientset) []string {
	t.Helper()
	var out []string
	for _, a := range sink.Actions() {
		if a.GetResource().Resource != "events" || (a.GetVerb() != "create" && a.GetVerb() != "patch") {
			continue
		}
		if c, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if ev, ok := c.GetObject().(*corev1.Event); ok {
				out = append(out, ev.Reason)
				continue
			}
		}
		out = append(out, "patch") // an aggregated repeat
	}
	return out
}

// TestEventsSurviveTheSpamFilter: a target held for 200 passes (10 s
// apart) — by an HPA conflict (dry-run), or on missing metrics — then
// released and rescaled for real. Through client-go's real EventBroadcaster
// (its spam filter allows a burst of 25 Events per object and type, then
// one per 5 minutes) the Event that matters arrives, because the hold said
// so once, not 200 times. The controls send what an Event per pass would
// and show the spam filter then drops it.
func TestEventsSurviveTheSpamFilter(t *testing.T) {
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web-hpa", Namespace: testNS},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
			APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}}
	for _, tc := range []struct {
		name    string
		hold    func(c *cluster, u *switchableUsage)
		release func(c *cluster, u *switchableUsage)
		// want is the Event that must arrive; repeat is what an Event per
		// pass of the hold would have been (the control).
		want, repeat      string
		wantType, repType string
	}{
		{name: "HPA conflict, then a real rescale",
			hold:    func(c *cluster, _ *switchableUsage) { _ = c.hpas.Add(hpa) },
			release: func(c *cluster, _ *switchableUsage) { _ = c.hpas.Delete(hpa) },
			want:    "SuccessfulRescale", wantType: corev1.EventTypeNormal,
			repeat: "SuccessfulRescale", repType: corev1.EventTypeNormal}, // "DryRun: New size: 4" every pass
		{name: "missing metrics, then a failed rescale",
			hold: func(_ *cluster, u *switchableUsage) { u.set(false) },
			release: func(c *cluster, u *switchableUsage) {
				u.set(true)
				c.scales.hook = func(string) error { return errors.New("deployments.apps \"web\" is forbidden") }
			},
			want: "FailedRescale", wantType: corev1.EventTypeWarning,
			repeat: "FailedGetResourceMetric", repType: corev1.EventTypeWarning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t)
				c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
				sink := fake.NewClientset()
				rec, stop := realRecorder(sink)
				defer stop()
				usage := &switchableUsage{ok: true, c: c}
				l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}, usage: usage})
				l.o.Recorder = rec
				tc.hold(c, usage)
				for range 200 {
					if _, err := l.Pass(t.Context(), time.Now()); err != nil {
						t.Fatal(err)
					}
					time.Sleep(10 * time.Second)
				}
				tc.release(c, usage)
				if _, err := l.Pass(t.Context(), time.Now()); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				got := reasonsWritten(t, sink)
				if len(got) > 5 || !slices.Contains(got, tc.want) {
					t.Errorf("Events written = %v, want a few, %s among them", got, tc.want)
				}
			})
		})
		t.Run(tc.name+": control", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sink := fake.NewClientset()
				rec, stop := realRecorder(sink)
				defer stop()
				ref := objectRef(cpuTarget("web", policy.ModeApply, nil))
				for range 200 {
					rec.Event(ref, tc.repType, tc.repeat, "the same, every pass")
					time.Sleep(10 * time.Second)
				}
				rec.Event(ref, tc.wantType, tc.want, "the one that matters")
				synctest.Wait()
				for _, ev := range eventsWritten(sink) {
					if ev.Message == "the one that matters" {
						t.Fatal("it arrived after 200 repeats: the spam filter is not what this test assumes")
					}
				}
			})
		})
	}
}

// eventsWritten returns the Events the sink stores.
func eventsWritten(sink *fake.Clientset) []corev1.Event {
	list, _ := sink.CoreV1().Events(testNS).List(context.Background(), metav1.ListOptions{})
	return list.Items
}

// switchableUsage serves the cluster's usage when ok, else fails like a
// metrics-server that is down.
type switchableUsage struct {
	c  *cluster
	mu sync.Mutex
	ok bool
}

func (u *switchableUsage) set(ok bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ok = ok
}

func (u *switchableUsage) PodUsage(ctx context.Context, ns string, sel labels.Selector) ([]metricsource.PodUsage, error) {
	u.mu.Lock()
	ok := u.ok
	u.mu.Unlock()
	if !ok {
		return nil, metricsource.ErrUnavailable
	}
	return metricsource.NewMetricsServer(u.c.metrics.MetricsV1beta1()).PodUsage(ctx, ns, sel)
}

// TestEventsOnChangeOnly drives one target through holds, an HPA conflict
// and dry-run sizes and checks that only changes emit Events.
func TestEventsOnChangeOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
		usage := &switchableUsage{ok: true, c: c}
		b := horizontal.DefaultBehavior(horizontal.DefaultOptions())
		l, rec := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeDryRun, &b)}, usage: usage})
		hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web-hpa", Namespace: testNS},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}}
		for _, step := range []struct {
			name  string
			setup func()
			want  []string
		}{
			{name: "dry-run rescale to 4", want: []string{"Normal SuccessfulRescale DryRun"}},
			{name: "same size again: nothing", want: nil},
			{name: "new size 6", setup: func() { c.setCPU("web", 150) }, want: []string{"Normal SuccessfulRescale DryRun"}},
			{name: "metrics gone: hold entered", setup: func() { usage.set(false) }, want: []string{"Warning FailedGetResourceMetric"}},
			{name: "still gone: nothing", want: nil},
			{name: "metrics back: hold left, the same size is news again", setup: func() { usage.set(true) },
				want: []string{"Normal MetricsRecovered", "Normal SuccessfulRescale DryRun"}},
			{name: "an HPA appears: conflict entered", setup: func() { _ = c.hpas.Add(hpa) }, want: []string{"Warning HPAConflict"}},
			{name: "conflict goes on: nothing", want: nil},
			{name: "the HPA goes: conflict left", setup: func() { _ = c.hpas.Delete(hpa) }, want: []string{"Normal HPAConflictResolved"}},
		} {
			if step.setup != nil {
				step.setup()
			}
			if _, err := l.Pass(t.Context(), time.Now()); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if d := cmp.Diff(step.want, eventReasons(events(rec))); d != "" {
				t.Errorf("%s: Events (-want +got):\n%s", step.name, d)
			}
			time.Sleep(15 * time.Second)
		}
	})
}
