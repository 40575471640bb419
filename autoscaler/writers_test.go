package autoscaler

import (
	"context"
	"slices"

	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// TestSecondWriterIsNeverOverwritten: between ebb's read and its write,
// another writer (kubectl scale) sets the replicas, pass after pass. ebb's
// write is refused (Conflict), counted, reported, and the other writer's
// number stays; once the other writer stops, ebb decides from a fresh read.
func TestSecondWriterIsNeverOverwritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour)) // wants 4
		l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}})
		theirs := int32(7)
		c.scales.hook = func(name string) error {
			theirs++
			c.setReplicas(name, theirs) // lands after ebb's read, before its write
			return nil
		}
		for pass := range 5 {
			rep, err := l.Pass(t.Context(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := c.replicasOf("web"); got != theirs {
				t.Fatalf("pass %d: replicas = %d, want the other writer's %d", pass, got, theirs)
			}
			if got := reasons(rep.Targets[0].Blocking); !slices.Contains(got, "ScaleConflict") {
				t.Errorf("pass %d: blocking = %v, want ScaleConflict", pass, got)
			}
			time.Sleep(15 * time.Second)
		}
		if got := testutil.ToFloat64(l.m.actuations.WithLabelValues(testNS, "Deployment/web", "conflict", "false")); got != 5 {
			t.Errorf("ebb_actuations_total{result=conflict} = %v, want 5", got)
		}
		c.scales.hook = nil
		c.setCPU("web", 50) // at target: the number to keep is the current one
		if _, err := l.Pass(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := c.replicasOf("web"); got != theirs {
			t.Errorf("after the other writer stopped: replicas = %d, want %d (decided from the fresh read)", got, theirs)
		}
	})
}

// TestStaleInformerReadIsRefused: the informer has not seen the last write
// yet and serves an old copy of the Deployment; the write built from it
// carries the old resourceVersion and is refused.
func TestStaleInformerReadIsRefused(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
	stale := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	obj, _, _ := c.deploys.GetByKey(testNS + "/web")
	_ = stale.Add(obj.(*appsv1.Deployment).DeepCopy())
	c.setReplicas("web", 9) // written after the informer's copy
	l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}})
	l.o.Workloads = NewWorkloadCache(appslisters.NewDeploymentLister(stale), nil, nil)
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.replicasOf("web"); got != 9 {
		t.Errorf("replicas = %d, want 9: a write from a stale cache must be refused", got)
	}
	if got := reasons(rep.Targets[0].Blocking); !slices.Contains(got, "ScaleConflict") {
		t.Errorf("blocking = %v, want ScaleConflict", got)
	}
}

func TestWorkloadCacheBuildsTheScale(t *testing.T) {
	index := func(objs ...any) cache.Indexer {
		ix := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
		for _, o := range objs {
			_ = ix.Add(o)
		}
		return ix
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: testNS, ResourceVersion: "42", UID: k8stypes.UID("u-" + name)}
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}}
	wc := NewWorkloadCache(
		appslisters.NewDeploymentLister(index(&appsv1.Deployment{ObjectMeta: meta("d"), Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(3)), Selector: sel}, Status: appsv1.DeploymentStatus{Replicas: 4}})),
		appslisters.NewStatefulSetLister(index(&appsv1.StatefulSet{ObjectMeta: meta("s"), Spec: appsv1.StatefulSetSpec{Selector: sel}, Status: appsv1.StatefulSetStatus{Replicas: 1}})),
		appslisters.NewReplicaSetLister(index(&appsv1.ReplicaSet{ObjectMeta: meta("r"), Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(int32(0)), Selector: sel}})),
	)
	scale := func(name string, spec, status int32) *autoscalingv1.Scale {
		return &autoscalingv1.Scale{ObjectMeta: meta(name), Spec: autoscalingv1.ScaleSpec{Replicas: spec},
			Status: autoscalingv1.ScaleStatus{Replicas: status, Selector: "app=x,tier in (a,b)"}}
	}
	for _, tc := range []struct {
		kind, group, name string
		want              *autoscalingv1.Scale
		wantResource      string
		served, wantErr   bool
	}{
		{kind: "Deployment", group: "apps", name: "d", want: scale("d", 3, 4), wantResource: "deployments", served: true},
		{kind: "StatefulSet", group: "apps", name: "s", want: scale("s", 1, 1), wantResource: "statefulsets", served: true}, // spec.replicas defaults to 1
		{kind: "ReplicaSet", group: "apps", name: "r", want: scale("r", 0, 0), wantResource: "replicasets", served: true},
		{kind: "Deployment", group: "apps", name: "ghost", wantResource: "deployments", served: true, wantErr: true},
		{kind: "Rollout", group: "argoproj.io", name: "d"},
		{kind: "DaemonSet", group: "apps", name: "d"},
	} {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			sc, gvr, served, err := wc.Scale(schema.GroupKind{Group: tc.group, Kind: tc.kind}, testNS, tc.name)
			if served != tc.served || (err != nil) != tc.wantErr || gvr.Resource != tc.wantResource {
				t.Fatalf("Scale() served %t, resource %q, err %v; want %t, %q, error %t", served, gvr.Resource, err, tc.served, tc.wantResource, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, sc); d != "" {
				t.Errorf("Scale (-want +got):\n%s", d)
			}
		})
	}
}

// TestRemovedTargetIsForgotten: a reload without a target drops its series
// and vertical state at once, keeps its checkpoint for RemovedGrace (a
// policy that brings it back continues from it), then deletes it.
func TestRemovedTargetIsForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		for _, n := range []string{"a", "b"} {
			c.addWorkload(t, n, 2, 100, time.Now().Add(-time.Hour))
		}
		both := staticConfig{Targets: []Target{cpuTarget("a", policy.ModeApply, nil), cpuTarget("b", policy.ModeApply, nil)}}
		cfg := &mutableConfig{cfg: Config(both)}
		v := &recordingVertical{}
		l, _ := c.newLoop(t, loopConfig{state: true})
		l.o.Config, l.o.Vertical = cfg, v
		pass := func() {
			t.Helper()
			if _, err := l.Pass(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		stored := func() []string {
			got, err := c.stateStore(t).Load(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return sortedKeys(got)
		}
		pass()
		if d := cmp.Diff([]string{"Deployment.a", "Deployment.b"}, stored()); d != "" {
			t.Fatalf("checkpoints (-want +got):\n%s", d)
		}
		cfg.set(Config{Targets: both.Targets[:1]})
		pass()
		if n := testutil.CollectAndCount(l.m.current); n != 1 {
			t.Errorf("ebb_current_replicas series after b left = %d, want 1", n)
		}
		if d := cmp.Diff([]string{"Deployment/b"}, v.forgotten); d != "" {
			t.Errorf("vertical targets forgotten (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"Deployment.a", "Deployment.b"}, stored()); d != "" {
			t.Errorf("checkpoints inside the grace period (-want +got):\n%s", d)
		}
		time.Sleep(DefaultOptions().RemovedGrace)
		pass()
		if d := cmp.Diff([]string{"Deployment.a"}, stored()); d != "" {
			t.Errorf("checkpoints after the grace period (-want +got):\n%s", d)
		}
	})
}

// mutableConfig is a ConfigSource a test reloads.
type mutableConfig struct {
	mu  sync.Mutex
	cfg Config
}

func (m *mutableConfig) set(c Config) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = c
}

func (m *mutableConfig) Config() Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}
