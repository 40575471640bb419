package vertical

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

func newTestRunner(t *testing.T, kube *fake.Clientset) *Runner {
	t.Helper()
	o := DefaultOptions()
	o.Namespace, o.Client = testNS, kube
	r, err := NewRunner(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pass is one vertical pass of Deployment/web at now: 600m CPU and 700Mi
// memory used by every pod.
func pass(ctx context.Context, t *testing.T, r *Runner, now time.Time, mode policy.VerticalMode, pods []*corev1.Pod) {
	t.Helper()
	us := make([]metricsource.PodUsage, len(pods))
	for i, p := range pods {
		us[i] = usage(p.Name, now, 600, 700<<20)
	}
	if _, err := r.Reconcile(ctx, now, webTarget, mode, rv.Policy{}, pods, us); err != nil {
		t.Fatalf("pass at %s: %v", now, err)
	}
}

// TestLeadSavesOnlyWhileLeading: a Runner that never led writes nothing;
// while leading it saves every interval; after its term ends (the lease is
// lost) it writes nothing, not even when its passes go on; Flush is the
// final save.
func TestLeadSavesOnlyWhileLeading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
		kube := newKube(pods[0])
		r := newTestRunner(t, kube)
		passes := func(n int) {
			for range n {
				pass(t.Context(), t, r, time.Now(), policy.VerticalRecommend, pods)
				time.Sleep(time.Minute)
				synctest.Wait()
			}
		}
		passes(15)
		if w := writes(kube); len(w) != 0 {
			t.Fatalf("a runner that never led wrote %v", w)
		}
		term, lost := context.WithCancel(t.Context())
		wait := r.Lead(term)
		passes(25)
		if got := len(writes(kube)); got != 2 {
			t.Errorf("25 minutes of leading with a 10m interval: %d writes, want 2", got)
		}
		lost()
		wait()
		passes(25)
		if got := len(writes(kube)); got != 2 {
			t.Errorf("after the lease was lost: %d writes, want still 2", got)
		}
		term2, stop := context.WithCancel(t.Context())
		wait = r.Lead(term2)
		passes(3)
		stop() // shutdown: the loop stops, then the final save
		wait()
		if err := r.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := len(writes(kube)); got != 3 {
			t.Errorf("after Flush: %d writes, want 3", got)
		}
	})
}

// TestFailoverContinuesState: replica A leads for a day and rolls out new
// requests every hour; it shuts down (its final save) and B, a standby
// that never ran a pass, leads: B's first recommendation is A's last, and
// B honours A's rollout rate limit. A, still running passes after its
// term, writes nothing.
func TestFailoverContinuesState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
		d := newDeployment(100, 256<<20, 1, 1)
		kube := newKube(pods[0], d)
		kube.PrependReactor("patch", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, d, nil // the template stays unchanged: a rollout is due again once allowed
		})
		a, b := newTestRunner(t, kube), newTestRunner(t, kube)
		termA, endA := context.WithCancel(t.Context())
		waitA := a.Lead(termA)
		for range 24*60/5 - 1 { // a day, a pass every 5 minutes; the last at +23h55m
			pass(termA, t, a, time.Now(), policy.VerticalRollout, pods)
			time.Sleep(5 * time.Minute)
			synctest.Wait()
		}
		pass(termA, t, a, time.Now(), policy.VerticalRollout, pods)
		if n := len(patches(t, kube)); n != 24 {
			t.Fatalf("A rolled out %d times in a day, want 24 (one per hour)", n)
		}
		if err := a.Flush(termA); err != nil { // shutdown: the final save while the lease is held
			t.Fatal(err)
		}
		wantRec := mustRecommend(t, a.Manager(), time.Now(), webTarget.Key())
		lastRollout := a.Manager().Actuations(webTarget.Key()).LastRollout
		endA()
		waitA()
		saved := len(writes(kube))
		time.Sleep(time.Minute)
		pass(t.Context(), t, a, time.Now(), policy.VerticalRecommend, pods) // A's loop is stopped; even a pass must not write
		synctest.Wait()
		if w := writes(kube)[saved:]; len(w) != 0 {
			t.Errorf("A wrote %v after its term ended", w)
		}

		termB, endB := context.WithCancel(t.Context())
		waitB := b.Lead(termB)
		defer func() { endB(); waitB() }()
		if err := b.Manager().Restore(termB, b.store, webTarget.Key()); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(wantRec, mustRecommend(t, b.Manager(), time.Now(), webTarget.Key())); d != "" {
			t.Errorf("B's recommendation after failover (-A's last +B's first):\n%s", d)
		}
		time.Sleep(time.Until(lastRollout.Add(time.Hour - time.Second)))
		pass(termB, t, b, time.Now(), policy.VerticalRollout, pods)
		if n := len(patches(t, kube)); n != 24 {
			t.Errorf("1s before A's last rollout is an hour old: %d rollouts, want still 24", n)
		}
		time.Sleep(time.Second)
		pass(termB, t, b, time.Now(), policy.VerticalRollout, pods)
		if n := len(patches(t, kube)); n != 25 {
			t.Errorf("an hour after A's last rollout: %d rollouts, want 25", n)
		}
		// B, within its first 10 minutes: only its rollout memory, saved at once.
		if w := writes(kube)[saved:]; len(w) != 1 {
			t.Errorf("B's writes %v, want 1", w)
		}
	})
}
