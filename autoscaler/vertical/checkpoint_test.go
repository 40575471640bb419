package vertical

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

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

// withResourceVersions makes kube's ConfigMaps behave like the API
// server's: every write stamps a new resourceVersion, and an update whose
// resourceVersion is not the stored one is a Conflict.
func withResourceVersions(kube *fake.Clientset) {
	var mu sync.Mutex
	n := 100
	gvr := corev1.SchemeGroupVersion.WithResource("configmaps")
	stamp := func(cm *corev1.ConfigMap) {
		mu.Lock()
		defer mu.Unlock()
		n++
		cm.ResourceVersion = strconv.Itoa(n)
	}
	kube.PrependReactor("create", "configmaps", func(a clienttesting.Action) (bool, runtime.Object, error) {
		cm := a.(clienttesting.CreateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		stamp(cm)
		if err := kube.Tracker().Create(gvr, cm, cm.Namespace); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
	kube.PrependReactor("update", "configmaps", func(a clienttesting.Action) (bool, runtime.Object, error) {
		cm := a.(clienttesting.UpdateAction).GetObject().(*corev1.ConfigMap).DeepCopy()
		cur, err := kube.Tracker().Get(gvr, cm.Namespace, cm.Name)
		if err != nil {
			return true, nil, err
		}
		if rv := cur.(*corev1.ConfigMap).ResourceVersion; cm.ResourceVersion != rv {
			return true, nil, apierrors.NewConflict(corev1.Resource("configmaps"), cm.Name,
				fmt.Errorf("resourceVersion %q, stored %q", cm.ResourceVersion, rv))
		}
		stamp(cm)
		if err := kube.Tracker().Update(gvr, cm, cm.Namespace); err != nil {
			return true, nil, err
		}
		return true, cm, nil
	})
}

// checkpointCM is a stored checkpoint of Deployment/web.
func checkpointCM(rv string, data []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ebb-vertical-deployment-web", Namespace: testNS, ResourceVersion: rv},
		BinaryData: map[string][]byte{CheckpointKey: data}}
}

func TestCheckpointRoundTrip(t *testing.T) {
	ctx := t.Context()
	kube := fake.NewClientset()
	withResourceVersions(kube)
	store := NewConfigMapStore(kube.CoreV1(), testNS)
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20), newPod("web-b", 100, 256<<20)}
	ss := history([]string{"web-a", "web-b"}, 30*time.Hour)
	now := ss[len(ss)-1].at

	a := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := a.Restore(ctx, store, "Deployment/web"); err != nil {
		t.Fatalf("Restore() without checkpoint: %v", err)
	}
	observeAll(t, a, "Deployment/web", pods, ss[:len(ss)-2])
	acts := Actuations{LastRollout: now.Add(-time.Hour), Resizes: []time.Time{now.Add(-time.Minute)}}
	a.SetActuations("Deployment/web", acts)
	for range 2 { // create; nothing changed: no write; a new sample: update
		if err := a.Checkpoint(ctx, store, now); err != nil {
			t.Fatal(err)
		}
	}
	observeAll(t, a, "Deployment/web", pods, ss[len(ss)-2:])
	if err := a.Checkpoint(ctx, store, now); err != nil {
		t.Fatal(err)
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
	if err := b.Restore(ctx, NewConfigMapStore(kube.CoreV1(), testNS), "Deployment/web"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(mustRecommend(t, a, now, "Deployment/web"), mustRecommend(t, b, now, "Deployment/web")); d != "" {
		t.Errorf("recommendation after restore (-before +after):\n%s", d)
	}
	if got := b.Actuations("Deployment/web"); !got.Equal(acts) {
		t.Errorf("actuations after restore = %+v, want %+v", got, acts)
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

// TestCheckpointStoreGuardsWrites: the store writes only over what it
// read; another writer's data is never overwritten.
func TestCheckpointStoreGuardsWrites(t *testing.T) {
	ctx := t.Context()
	other := func(kube *fake.Clientset) { // another writer between Load and Save
		cm, err := kube.CoreV1().ConfigMaps(testNS).Get(ctx, "ebb-vertical-deployment-web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.BinaryData[CheckpointKey] = []byte("theirs")
		if _, err := kube.CoreV1().ConfigMaps(testNS).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	otherCreates := func(kube *fake.Clientset) {
		if _, err := kube.CoreV1().ConfigMaps(testNS).Create(ctx, checkpointCM("", []byte("theirs")), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name       string
		existing   bool
		load       bool
		between    func(*fake.Clientset)
		data       []byte
		wantErr    string
		wantIs     error
		wantWrites []string
		want       string // stored afterwards
	}{
		{name: "create", load: true, data: []byte("ours"), wantWrites: []string{"create"}, want: "ours"},
		{name: "update", existing: true, load: true, data: []byte("ours"), wantWrites: []string{"update"}, want: "ours"},
		{name: "changed since read: conflict, theirs kept", existing: true, load: true, between: other, data: []byte("ours"),
			wantIs: ErrConflict, wantWrites: []string{"update", "update"}, want: "theirs"},
		{name: "created since read: conflict, theirs kept", load: true, between: otherCreates, data: []byte("ours"),
			wantIs: ErrConflict, wantWrites: []string{"create", "create"}, want: "theirs"},
		{name: "never read: not written", existing: true, data: []byte("ours"), wantIs: ErrConflict, want: "old"},
		{name: "too large is refused, nothing written", existing: true, load: true, data: make([]byte, rv.MaxCheckpointBytes+1),
			wantErr: "exceeds the limit", want: "old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			withResourceVersions(kube)
			if tc.existing {
				if _, err := kube.CoreV1().ConfigMaps(testNS).Create(ctx, checkpointCM("", []byte("old")), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			kube.ClearActions()
			store := NewConfigMapStore(kube.CoreV1(), testNS)
			if tc.load {
				if _, err := store.Load(ctx, "Deployment/web"); err != nil && !errors.Is(err, ErrNoCheckpoint) {
					t.Fatal(err)
				}
			}
			if tc.between != nil {
				tc.between(kube)
			}
			err := store.Save(ctx, "Deployment/web", Checkpoint{Histograms: tc.data})
			switch {
			case tc.wantIs != nil:
				if !errors.Is(err, tc.wantIs) {
					t.Fatalf("Save() error = %v, want %v", err, tc.wantIs)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Save() error = %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.wantWrites, writes(kube)); d != "" {
				t.Errorf("writes (-want +got):\n%s", d)
			}
			got, err := NewConfigMapStore(kube.CoreV1(), testNS).Load(ctx, "Deployment/web")
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Histograms) != tc.want && !(tc.want == "ours" && bytes.Equal(got.Histograms, tc.data)) {
				t.Errorf("stored %q, want %q", got.Histograms, tc.want)
			}
		})
	}
}

// TestSaveConflictRereads: after a conflict the Manager drops the target's
// state and restores what the other writer saved before its next decision.
func TestSaveConflictRereads(t *testing.T) {
	ctx := t.Context()
	theirs := history([]string{"web-a"}, 5*time.Hour)
	theirData, err := reference(t, theirs).Encode(theirs[len(theirs)-1].at)
	if err != nil {
		t.Fatal(err)
	}
	kube := fake.NewClientset()
	withResourceVersions(kube)
	store := NewConfigMapStore(kube.CoreV1(), testNS)
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := m.Restore(ctx, store, "Deployment/web"); err != nil {
		t.Fatal(err)
	}
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
	observeAll(t, m, "Deployment/web", pods, history([]string{"web-a"}, 10*time.Minute))
	if _, err := kube.CoreV1().ConfigMaps(testNS).Create(ctx, checkpointCM("", theirData), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Checkpoint(ctx, store, t0.Add(10*time.Minute)); !errors.Is(err, ErrConflict) {
		t.Fatalf("Checkpoint() error = %v, want ErrConflict", err)
	}
	if err := m.Restore(ctx, store, "Deployment/web"); err != nil {
		t.Fatal(err)
	}
	if h := m.targets["Deployment/web"].w; h.Size() == 0 {
		t.Fatal("after the conflict the target was not restored from the other writer's checkpoint")
	}
	recs := mustRecommend(t, m, theirs[len(theirs)-1].at, "Deployment/web")
	if recs[0].History < 4*time.Hour {
		t.Errorf("history after re-read = %s, want the other writer's 5h", recs[0].History)
	}
}

func TestRestoreErrors(t *testing.T) {
	ctx := t.Context()
	bad := fake.NewClientset(checkpointCM("", []byte("garbage")))
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
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
	observeAll(t, m, "Deployment/web", pods, history([]string{"web-a"}, 3*time.Minute))
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
