package vertical

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// writes counts create and update calls on configmaps.
func writes(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		if a.GetResource().Resource == "configmaps" && (a.GetVerb() == "create" || a.GetVerb() == "update") {
			out = append(out, a.GetVerb())
		}
	}
	return out
}

func TestCheckpointRoundTrip(t *testing.T) {
	ctx := t.Context()
	kube := fake.NewClientset()
	store := NewConfigMapStore(kube.CoreV1(), testNS)
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20), newPod("web-b", 100, 256<<20)}
	ss := history([]string{"web-a", "web-b"}, 30*time.Hour)
	now := ss[len(ss)-1].at

	a := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := a.Restore(ctx, store, "Deployment/web"); err != nil {
		t.Fatalf("Restore() without checkpoint: %v", err)
	}
	observeAll(t, a, "Deployment/web", pods, ss)
	for range 2 { // create, then update
		if err := a.Checkpoint(ctx, store, now); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]string{"create", "update"}, writes(kube)); d != "" {
		t.Errorf("ConfigMap writes (-want +got):\n%s", d)
	}
	cm, err := kube.CoreV1().ConfigMaps(testNS).Get(ctx, "ebb-vertical-deployment-web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := a.targets["Deployment/web"].w.Encode(now)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cm.BinaryData[CheckpointKey], want) || cm.Annotations[TargetAnnotation] != "Deployment/web" {
		t.Errorf("ConfigMap %v: binaryData[%q] is not the workload's encoding or target annotation missing", cm.Annotations, CheckpointKey)
	}

	b := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := b.Restore(ctx, store, "Deployment/web"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(mustRecommend(t, a, now, "Deployment/web"), mustRecommend(t, b, now, "Deployment/web")); d != "" {
		t.Errorf("recommendation after restore (-before +after):\n%s", d)
	}
	// An OOM that finished before the checkpoint is already in it.
	old := withOOM(pods[0], now.Add(-time.Hour))
	if err := b.Observe(now, "Deployment/web", []*corev1.Pod{old, pods[1]}, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(b.targets["Deployment/web"].ooms); n != 0 {
		t.Errorf("OOM kills recorded after restore = %d, want 0 (older than the checkpoint)", n)
	}
}

func TestCheckpointSaveErrors(t *testing.T) {
	ctx := t.Context()
	conflictOnce := func(kube *fake.Clientset) {
		n := 0
		kube.PrependReactor("update", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
			n++
			if n == 1 {
				return true, nil, apierrors.NewConflict(corev1.Resource("configmaps"), "x", errors.New("changed"))
			}
			return false, nil, nil
		})
	}
	for _, tc := range []struct {
		name       string
		existing   bool
		setup      func(*fake.Clientset)
		data       []byte
		wantErr    string
		wantWrites []string
	}{
		{name: "create", data: []byte("x"), wantWrites: []string{"create"}},
		{name: "update", existing: true, data: []byte("x"), wantWrites: []string{"update"}},
		{name: "conflict is retried", existing: true, setup: conflictOnce, data: []byte("x"),
			wantWrites: []string{"update", "update"}},
		{name: "too large is refused, nothing written", existing: true, data: make([]byte, rv.MaxCheckpointBytes+1),
			wantErr: "exceeds the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			if tc.existing {
				kube = fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
					Name: "ebb-vertical-deployment-web", Namespace: testNS}, BinaryData: map[string][]byte{CheckpointKey: []byte("old")}})
			}
			if tc.setup != nil {
				tc.setup(kube)
			}
			store := NewConfigMapStore(kube.CoreV1(), testNS)
			err := store.Save(ctx, "Deployment/web", tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Save() error = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantWrites, writes(kube)); d != "" {
				t.Errorf("writes (-want +got):\n%s", d)
			}
			got, err := store.Load(ctx, "Deployment/web")
			if err != nil {
				t.Fatal(err)
			}
			want := tc.data
			if tc.wantErr != "" {
				want = []byte("old")
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Load() = %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestRestoreErrors(t *testing.T) {
	ctx := t.Context()
	bad := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ebb-vertical-deployment-web", Namespace: testNS},
		BinaryData: map[string][]byte{CheckpointKey: []byte("garbage")}})
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := m.Restore(ctx, NewConfigMapStore(bad.CoreV1(), testNS), "Deployment/web"); err == nil || !strings.Contains(err.Error(), "decode checkpoint") {
		t.Errorf("Restore() of garbage: error = %v, want a decode error", err)
	}

	failing := fake.NewClientset()
	failing.PrependReactor("get", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd down")
	})
	m = NewManager(testNS, rv.DefaultConfig(), nil)
	store := NewConfigMapStore(failing.CoreV1(), testNS)
	if err := m.Restore(ctx, store, "Deployment/web"); err == nil {
		t.Fatal("Restore() with the API failing: want an error")
	}
	// Not restored yet: a checkpoint must not overwrite the one not read.
	if err := m.Checkpoint(ctx, store, t0); err != nil {
		t.Fatal(err)
	}
	if w := writes(failing); len(w) != 0 {
		t.Errorf("Checkpoint() of an unrestored target wrote %v, want nothing", w)
	}
}

func TestCheckpointName(t *testing.T) {
	long := "Deployment/" + strings.Repeat("x", 250)
	for _, tc := range []struct {
		name, target string
		want         func(string) bool
	}{
		{"kind and name in lower case", "Deployment/web", func(s string) bool { return s == "ebb-vertical-deployment-web" }},
		{"dots kept", "StatefulSet/db.primary", func(s string) bool { return s == "ebb-vertical-statefulset-db.primary" }},
		{"too long is hashed", long, func(s string) bool {
			return len(s) == len("ebb-vertical-")+32 && strings.HasPrefix(s, "ebb-vertical-") && s != CheckpointName(long+"y")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckpointName(tc.target)
			if len(got) > 253 || !validName(got) || !tc.want(got) {
				t.Errorf("CheckpointName(%q) = %q", tc.target, got)
			}
		})
	}
}

// TestRunCheckpointsInterval: saves every interval, once more on shutdown,
// and a crash loses at most one interval.
func TestRunCheckpointsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kube := fake.NewClientset()
		store := NewConfigMapStore(kube.CoreV1(), testNS)
		m := NewManager(testNS, rv.DefaultConfig(), nil)
		if err := m.Restore(t.Context(), store, "Deployment/web"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { m.RunCheckpoints(ctx, store, 10*time.Minute, 5*time.Second); close(done) }()
		pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
		start := time.Now()
		for i := range 25 * 2 { // a pass every 30s for 25 minutes
			now := time.Now()
			if err := m.Observe(now, "Deployment/web", pods, []metricsource.PodUsage{usage("web-a", now, int64(100+i), 300<<20)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Second)
			synctest.Wait()
			if got, want := len(writes(kube)), int(time.Since(start)/(10*time.Minute)); got != want {
				t.Fatalf("after %s: %d checkpoint writes, want %d", time.Since(start), got, want)
			}
		}
		// Crash now: the stored checkpoint is at most one interval old.
		data, err := store.Load(t.Context(), "Deployment/web")
		if err != nil {
			t.Fatal(err)
		}
		savedAt, _, err := rv.Decode(rv.DefaultConfig(), data)
		if err != nil {
			t.Fatal(err)
		}
		if lost := time.Since(savedAt); lost > 10*time.Minute {
			t.Errorf("a crash now loses %s of history, want at most the 10m interval", lost)
		}
		cancel()
		<-done
		if got := len(writes(kube)); got != 3 {
			t.Errorf("writes after shutdown = %d, want 3 (2 ticks + the final save)", got)
		}
	})
}
