package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/ebb-autoscaler/ebb/autoscaler/internal/apitest"
)

const ns = "shop"

var configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func newStore(t *testing.T, c *fake.Clientset, mod func(*Options)) *Store {
	t.Helper()
	o := Options{Client: c.CoreV1(), Namespace: ns, Name: "ebb-state", Shards: 4}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustLoad(t *testing.T, s *Store) map[string][]byte {
	t.Helper()
	got, err := s.Load(t.Context())
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	return got
}

func put(t *testing.T, s *Store, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if err := s.Put(kv[i], []byte(kv[i+1])); err != nil {
			t.Fatal(err)
		}
	}
}

func strs(m map[string][]byte) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = string(v)
	}
	return out
}

func TestRoundTripAndNoWriteWithoutChange(t *testing.T) {
	c := fake.NewClientset()
	v := apitest.Enforce(c, configMaps)
	s := newStore(t, c, nil)
	mustLoad(t, s)
	records := map[string]string{}
	for i := range 40 {
		records[fmt.Sprintf("Deployment.w%02d", i)] = fmt.Sprintf(`{"o":%d}`, i)
	}
	for k, val := range records {
		put(t, s, k, val)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatalf("Flush() error = %v", err)
	}
	if got, want := v.Writes(), 4; got != want {
		t.Errorf("writes after the first Flush = %d, want %d (one create per shard)", got, want)
	}
	for k, val := range records { // the same values again: nothing to write
		put(t, s, k, val)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := v.Writes(), 4; got != want {
		t.Errorf("writes after an unchanged Flush = %d, want %d", got, want)
	}
	if got := s.Unsaved(); len(got) != 0 {
		t.Errorf("Unsaved() = %v, want none", got)
	}
	got := strs(mustLoad(t, newStore(t, c, nil)))
	if d := cmp.Diff(records, got); d != "" {
		t.Errorf("records loaded by another store (-want +got):\n%s", d)
	}
	put(t, s, "Deployment.w07", `{"o":70}`)
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := v.Writes(), 5; got != want {
		t.Errorf("writes after one changed record = %d, want %d (its shard only)", got, want)
	}
}

func TestConflictKeepsTheOtherWritersKeys(t *testing.T) {
	c := fake.NewClientset()
	apitest.Enforce(c, configMaps)
	one := func(o *Options) { o.Shards = 1 }
	a := newStore(t, c, one)
	mustLoad(t, a)
	put(t, a, "Deployment.a", "a1", "Deployment.b", "b1")
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	b := newStore(t, c, one) // another writer, e.g. a previous leader
	mustLoad(t, b)
	put(t, b, "Deployment.b", "b2", "Deployment.c", "c2")
	if err := b.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	put(t, a, "Deployment.a", "a3") // a's resourceVersion is stale now
	if err := a.Flush(t.Context()); err != nil {
		t.Fatalf("Flush() after a conflict error = %v", err)
	}
	got := strs(mustLoad(t, newStore(t, c, one)))
	want := map[string]string{"Deployment.a": "a3", "Deployment.b": "b2", "Deployment.c": "c2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("after the conflict (-want +got):\n%s", d)
	}
}

func TestWriteFailureNamesTheKeys(t *testing.T) {
	c := fake.NewClientset()
	v := apitest.Enforce(c, configMaps)
	s := newStore(t, c, func(o *Options) { o.Shards = 1 })
	mustLoad(t, s)
	v.FailWith(func(clienttesting.Action) error { return errors.New("etcd is sad") })
	put(t, s, "Deployment.a", "1", "Deployment.b", "2")
	err := s.Flush(t.Context())
	var ns *NotSavedError
	if !errors.As(err, &ns) {
		t.Fatalf("Flush() error = %v, want a NotSavedError", err)
	}
	if d := cmp.Diff([]string{"Deployment.a", "Deployment.b"}, ns.Keys); d != "" {
		t.Errorf("NotSavedError.Keys (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"Deployment.a", "Deployment.b"}, s.Unsaved()); d != "" {
		t.Errorf("Unsaved() (-want +got):\n%s", d)
	}
	v.FailWith(nil)
	if err := s.Sync(t.Context(), "Deployment.a"); err != nil {
		t.Fatalf("Sync() error = %v", err)
	}
	if got := s.Unsaved(); len(got) != 0 {
		t.Errorf("Unsaved() after Sync = %v, want none", got)
	}
}

func TestOversizedRecordsStayUnsavedAndAreNotRewritten(t *testing.T) {
	c := fake.NewClientset()
	v := apitest.Enforce(c, configMaps)
	s := newStore(t, c, func(o *Options) { o.Shards, o.MaxBytes = 1, 40 })
	mustLoad(t, s)
	put(t, s, "Deployment.a", "0123456789", "Deployment.b", "0123456789", "Deployment.c", "x")
	err := s.Flush(t.Context())
	var ns *NotSavedError
	if !errors.As(err, &ns) {
		t.Fatalf("Flush() error = %v, want a NotSavedError", err)
	}
	if d := cmp.Diff([]string{"Deployment.b"}, ns.Keys); d != "" {
		t.Errorf("keys over the size (-want +got):\n%s", d)
	}
	if err := s.Flush(t.Context()); err == nil {
		t.Error("second Flush() error = nil, want the oversized key named again")
	}
	if got, want := v.Writes(), 1; got != want {
		t.Errorf("writes = %d, want %d (nothing new fits, so nothing is rewritten)", got, want)
	}
}

func TestPlacementMovesRecords(t *testing.T) {
	c := fake.NewClientset()
	apitest.Enforce(c, configMaps)
	old := newStore(t, c, func(o *Options) { o.Shards = 1 })
	mustLoad(t, old)
	put(t, old, "Deployment.a", "1", "Deployment.b", "2", "Deployment.c", "3")
	if err := old.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	perKey := func(o *Options) { o.Place = func(k string) string { return "ebb-state-" + string(k[len(k)-1]) } }
	s := newStore(t, c, perKey)
	if d := cmp.Diff(map[string]string{"Deployment.a": "1", "Deployment.b": "2", "Deployment.c": "3"}, strs(mustLoad(t, s))); d != "" {
		t.Errorf("Load() (-want +got):\n%s", d)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	list, err := c.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, cm := range list.Items {
		got[cm.Name] = cm.Data
	}
	want := map[string]map[string]string{"ebb-state-0": nil, "ebb-state-a": {"Deployment.a": "1"},
		"ebb-state-b": {"Deployment.b": "2"}, "ebb-state-c": {"Deployment.c": "3"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ConfigMaps after the move (-want +got):\n%s", d)
	}
}

func TestContentLabelsAndDelete(t *testing.T) {
	c := fake.NewClientset()
	apitest.Enforce(c, configMaps)
	s := newStore(t, c, func(o *Options) {
		o.Name, o.Place, o.Writer = "ebb-vertical", func(string) string { return "ebb-vertical-web" }, "ebb-7d9f-a"
	})
	mustLoad(t, s)
	if err := s.Put("checkpoint", []byte{0xff, 0x00}); err != nil {
		t.Fatal(err)
	}
	put(t, s, "lastResize", "2025-01-01T00:00:00Z", "gone", "x")
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Delete("gone")
	if err := s.Sync(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	cm, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), "ebb-vertical-web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ebb-vertical-web", Namespace: ns,
		Labels:      map[string]string{ManagedByLabel: "ebb", StoreLabel: "ebb-vertical"},
		Annotations: map[string]string{WriterAnnotation: "ebb-7d9f-a"}},
		Data:       map[string]string{"lastResize": "2025-01-01T00:00:00Z"},
		BinaryData: map[string][]byte{"checkpoint": {0xff, 0x00}}}
	if d := cmp.Diff(want, cm, cmpIgnoreRV); d != "" {
		t.Errorf("ConfigMap (-want +got):\n%s", d)
	}
	if got, ok := s.Get("checkpoint"); !ok || string(got) != "\xff\x00" {
		t.Errorf("Get(checkpoint) = %q, %t", got, ok)
	}
}

var cmpIgnoreRV = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".ResourceVersion" || p.Last().String() == ".ManagedFields"
}, cmp.Ignore())

func TestReadOnlyNeverWrites(t *testing.T) {
	c := fake.NewClientset()
	v := apitest.Enforce(c, configMaps)
	s := newStore(t, c, func(o *Options) { o.ReadOnly = true })
	mustLoad(t, s)
	put(t, s, "Deployment.a", "1")
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := v.Writes(); got != 0 {
		t.Errorf("writes = %d, want 0", got)
	}
}

func TestConcurrentSyncsCoalesce(t *testing.T) {
	c := fake.NewClientset()
	v := apitest.Enforce(c, configMaps)
	s := newStore(t, c, func(o *Options) { o.Shards = 1 })
	mustLoad(t, s)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			key := fmt.Sprintf("Deployment.w%02d", i)
			if err := s.Put(key, []byte("v")); err != nil {
				t.Error(err)
			}
			if err := s.Sync(context.Background(), key); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := s.Unsaved(); len(got) != 0 {
		t.Errorf("Unsaved() = %v", got)
	}
	if got := len(mustLoad(t, newStore(t, c, func(o *Options) { o.Shards = 1 }))); got != 50 {
		t.Errorf("records saved = %d, want 50", got)
	}
	if got := v.Writes(); got > 50 {
		t.Errorf("writes = %d, want at most one per Sync", got)
	}
}

func TestOptionsAndKeys(t *testing.T) {
	_, err := New(Options{Name: "Bad_Name", Shards: -1})
	for _, want := range []string{"Client", "Namespace", `Name "Bad_Name"`, "Shards -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New() error = %v, want it to name %s", err, want)
		}
	}
	s := newStore(t, fake.NewClientset(), nil)
	if err := s.Put("a/b", nil); err == nil {
		t.Error("Put(a/b) error = nil, want an invalid key error")
	}
	for in, want := range map[string]string{"Deployment/web": "Deployment.web", "Rollout/a:b": "Rollout.a_b"} {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFenceRefusesWrites: a write the fence refuses is not sent, and the
// record stays unsaved (named), to be written once the fence allows it.
func TestFenceRefusesWrites(t *testing.T) {
	c := fake.NewClientset()
	v := apitest.Enforce(c, configMaps)
	fenced := errors.New("not leading")
	var refuse error = fenced
	s := newStore(t, c, func(o *Options) { o.Fence = func() error { return refuse } })
	mustLoad(t, s)
	put(t, s, "Deployment.web", "1")
	err := s.Flush(t.Context())
	if !errors.Is(err, fenced) || v.Writes() != 0 {
		t.Fatalf("Flush() = %v with %d writes, want the fence's error and no write", err, v.Writes())
	}
	if d := cmp.Diff([]string{"Deployment.web"}, s.Unsaved()); d != "" {
		t.Errorf("Unsaved() (-want +got):\n%s", d)
	}
	refuse = nil
	if err := s.Flush(t.Context()); err != nil || v.Writes() != 1 {
		t.Errorf("Flush() after the fence allows = %v with %d writes, want 1 write", err, v.Writes())
	}
}
