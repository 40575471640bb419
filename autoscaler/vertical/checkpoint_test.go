package vertical

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/autoscaler/internal/apitest"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// writes lists the create and update calls on configmaps.
func writes(kube *fake.Clientset) []string {
	var out []string
	for _, a := range kube.Actions() {
		if a.GetResource().Resource == "configmaps" && (a.GetVerb() == "create" || a.GetVerb() == "update") {
			out = append(out, a.GetVerb())
		}
	}
	return out
}

// newKube is a fake clientset enforcing resourceVersions on ConfigMaps.
func newKube(objs ...runtime.Object) *fake.Clientset {
	kube := fake.NewClientset(objs...)
	apitest.Enforce(kube, corev1.SchemeGroupVersion.WithResource("configmaps"))
	return kube
}

func newStore(t *testing.T, kube *fake.Clientset, readOnly bool) *checkpoint.Store {
	t.Helper()
	s, err := NewStore(kube.CoreV1(), testNS, readOnly, "ebb-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// storedCheckpoint is Deployment/web's checkpoint ConfigMap holding hist.
func storedCheckpoint(hist []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ebb-vertical-deployment-web", Namespace: testNS,
		Labels: map[string]string{checkpoint.StoreLabel: StoreName}},
		BinaryData: map[string][]byte{"Deployment.web": hist}}
}

func TestCheckpointRoundTrip(t *testing.T) {
	ctx := t.Context()
	kube := newKube()
	store := newStore(t, kube, false)
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20), newPod("web-b", 100, 256<<20)}
	ss := history([]string{"web-a", "web-b"}, 30*time.Hour)
	now := ss[len(ss)-1].at

	a := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := a.Restore(ctx, store, "Deployment/web"); err != nil {
		t.Fatalf("Restore() without checkpoint: %v", err)
	}
	observeAll(t, a, "Deployment/web", pods, ss[:len(ss)-2])
	acts := Actuations{LastRollout: now.Add(-time.Hour).UTC(), Resizes: []time.Time{now.Add(-time.Minute).UTC()}}
	a.SetActuations("Deployment/web", acts)
	for range 2 { // create; nothing changed since: no write
		if err := a.Checkpoint(ctx, store, now); err != nil {
			t.Fatal(err)
		}
	}
	observeAll(t, a, "Deployment/web", pods, ss[len(ss)-2:]) // new samples: an update
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
	if !bytes.Equal(cm.BinaryData["Deployment.web"], want) || !strings.Contains(cm.Data["Deployment.web_actuations"], "lastRollout") {
		t.Errorf("ConfigMap data %v: binaryData[Deployment.web] is not the workload's encoding or the actuations are missing", cm.Data)
	}

	b := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := b.Restore(ctx, newStore(t, kube, true), "Deployment/web"); err != nil {
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

// TestCheckpointOneListPerTerm: the first Restore after Reset lists the
// store once for every target; later targets read nothing.
func TestCheckpointOneListPerTerm(t *testing.T) {
	ctx := t.Context()
	kube := newKube()
	store := newStore(t, kube, false)
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	lists := func() int {
		n := 0
		for _, a := range kube.Actions() {
			if a.GetVerb() == "list" || a.GetVerb() == "get" {
				n++
			}
		}
		return n
	}
	for term := range 2 {
		for _, target := range []string{"Deployment/web", "Deployment/api", "StatefulSet/db"} {
			if err := m.Restore(ctx, store, target); err != nil {
				t.Fatal(err)
			}
		}
		if got := lists(); got != term+1 {
			t.Errorf("term %d: %d reads, want %d (one list per term)", term, got, term+1)
		}
		m.Reset()
	}
}

func TestRestoreErrors(t *testing.T) {
	ctx := t.Context()
	bad := newKube(storedCheckpoint([]byte("garbage")))
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	if err := m.Restore(ctx, newStore(t, bad, false), "Deployment/web"); err == nil || !strings.Contains(err.Error(), "decode checkpoint") {
		t.Errorf("Restore() of garbage: error = %v, want a decode error", err)
	}

	failing := newKube()
	failing.PrependReactor("list", "configmaps", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd down")
	})
	m = NewManager(testNS, rv.DefaultConfig(), nil)
	store := newStore(t, failing, false)
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
	long := "Deployment." + strings.Repeat("x", 250)
	for _, tc := range []struct {
		name, key string
		want      func(string) bool
	}{
		{"kind and name in lower case", "Deployment.web", func(s string) bool { return s == "ebb-vertical-deployment-web" }},
		{"dots kept", "StatefulSet.db.primary", func(s string) bool { return s == "ebb-vertical-statefulset-db.primary" }},
		{"too long is hashed", long, func(s string) bool {
			return len(s) == len("ebb-vertical-")+32 && strings.HasPrefix(s, "ebb-vertical-") && s != CheckpointName(long+"y")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckpointName(tc.key)
			if len(got) > 253 || !validName(got) || !tc.want(got) {
				t.Errorf("CheckpointName(%q) = %q", tc.key, got)
			}
		})
	}
	if a, b := placement(histogramsKey("Deployment/web")), placement(actuationsKey("Deployment/web")); a != b {
		t.Errorf("a target's records are placed in %s and %s, want one ConfigMap", a, b)
	}
}
