package autoscaler

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// replicasOver runs one pass per step (a minute apart) and returns the
// replicas after each. restartAt > 0 replaces the Loop by a new one over
// the same cluster before that step, as a restarted process would.
func replicasOver(t *testing.T, c *cluster, target Target, usage []int64, restartAt int, state bool) []int32 {
	t.Helper()
	l, _ := c.newLoop(t, loopConfig{targets: []Target{target}, state: state})
	var got []int32
	for i, cpu := range usage {
		if i == restartAt && restartAt > 0 {
			l, _ = c.newLoop(t, loopConfig{targets: []Target{target}, state: state})
		}
		c.setCPU("web", cpu)
		if _, err := l.Pass(t.Context(), time.Now()); err != nil {
			t.Fatalf("step %d: Pass() error = %v", i, err)
		}
		got = append(got, c.replicasOf("web"))
		time.Sleep(time.Minute)
	}
	return got
}

func TestRestartInsideStabilizationWindow(t *testing.T) {
	// Legacy path, downscale stabilization 5m: high usage at minute 0
	// scales 2 -> 4, then usage drops; the 4 must hold until the window
	// that started at minute 0 has passed (scale-down at minute 6).
	usage := []int64{100, 5, 5, 5, 5, 5, 5, 5, 5}
	want := []int32{4, 4, 4, 4, 4, 4, 1, 1, 1}
	for _, tc := range []struct {
		name      string
		restartAt int
		state     bool
		want      []int32
	}{
		{name: "no restart", want: want},
		{name: "restart at minute 2 with state checkpoint", restartAt: 2, state: true, want: want},
		{name: "restart at minute 4 with state checkpoint", restartAt: 4, state: true, want: want},
		// Without the checkpoint the restarted loop starts a new window at
		// the restart (upstream's initial recommendation), so the result
		// differs: the checkpoint is what keeps the original window.
		{name: "restart at minute 2 without state", restartAt: 2, want: []int32{4, 4, 4, 4, 4, 4, 4, 4, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t)
				c.addWorkload(t, "web", 2, 0, time.Now().Add(-time.Hour))
				got := replicasOver(t, c, cpuTarget("web", policy.ModeApply, nil), usage, tc.restartAt, tc.state)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("replicas per minute (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestRestartKeepsScaleDownRateLimit(t *testing.T) {
	// Behavior path: scale down at most 1 pod per 5 minutes, no window.
	// 10 pods at 10% of a 50% target recommend 2; the first pass goes to
	// 9. A restart a minute later must not scale down again before the
	// 5-minute period has passed.
	behavior := &horizontal.Behavior{
		ScaleUp: horizontal.DefaultScaleUpRules(),
		ScaleDown: horizontal.ScalingRules{SelectPolicy: horizontal.SelectMax,
			Policies: []horizontal.ScalingPolicy{{Type: horizontal.PodsPolicy, Value: 1, Period: 5 * time.Minute}}},
	}
	usage := []int64{10, 10, 10, 10, 10, 10, 10}
	for _, tc := range []struct {
		name  string
		state bool
		want  []int32
	}{
		{name: "with state checkpoint", state: true, want: []int32{9, 9, 9, 9, 9, 8, 8}},
		{name: "without state scales down early", want: []int32{9, 8, 8, 8, 8, 8, 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t)
				c.addWorkload(t, "web", 10, 10, time.Now().Add(-time.Hour))
				got := replicasOver(t, c, cpuTarget("web", policy.ModeApply, behavior), usage, 1, tc.state)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("replicas per minute (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestConfigMapStoreRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	state := map[string]horizontal.History{
		"Deployment/web": {
			Recommendations: []horizontal.Recommendation{{At: at, Replicas: 4}, {At: at.Add(time.Minute), Replicas: 2}},
			ScaleUpEvents:   []horizontal.Event{{At: at, Change: 2}},
			ScaleDownEvents: []horizontal.Event{{At: at.Add(time.Minute), Change: 1}},
			Seeded:          true,
		},
		"StatefulSet/db": {Seeded: true},
	}
	kube := fake.NewClientset()
	s := NewConfigMapStore(kube.CoreV1(), testNS, DefaultStateName, false, nil)
	if err := s.Save(t.Context(), state); err != nil {
		t.Fatalf("Save() error = %v", err)
	}
	got, err := NewConfigMapStore(kube.CoreV1(), testNS, DefaultStateName, false, nil).Load(t.Context())
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if diff := cmp.Diff(state, got); diff != "" {
		t.Errorf("Load() after Save() (-want +got):\n%s", diff)
	}
	cm, err := kube.CoreV1().ConfigMaps(testNS).Get(t.Context(), DefaultStateName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Deployment.web", "StatefulSet.db"}, sortedKeys(cm.Data)); diff != "" {
		t.Errorf("ConfigMap keys (-want +got):\n%s", diff)
	}
	if cm.Labels["app.kubernetes.io/managed-by"] != "ebb" {
		t.Errorf("ConfigMap labels = %v, want managed-by ebb", cm.Labels)
	}
}

func writes(kube *fake.Clientset) int {
	n := 0
	for _, a := range kube.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "update" {
			n++
		}
	}
	return n
}

func TestConfigMapStoreWritesOnlyChanges(t *testing.T) {
	kube := fake.NewClientset()
	s := NewConfigMapStore(kube.CoreV1(), testNS, DefaultStateName, false, nil)
	a := map[string]horizontal.History{"Deployment/web": {Seeded: true}}
	b := map[string]horizontal.History{"Deployment/web": {Seeded: true, Recommendations: []horizontal.Recommendation{{At: time.UnixMilli(5), Replicas: 3}}}}
	for i, step := range []struct {
		state      map[string]horizontal.History
		wantWrites int
	}{{a, 1}, {a, 1}, {b, 2}, {b, 2}, {a, 3}} {
		if err := s.Save(t.Context(), step.state); err != nil {
			t.Fatalf("step %d: Save() error = %v", i, err)
		}
		if got := writes(kube); got != step.wantWrites {
			t.Errorf("step %d: writes = %d, want %d", i, got, step.wantWrites)
		}
	}
	ro := NewConfigMapStore(kube.CoreV1(), testNS, DefaultStateName, true, nil)
	if err := ro.Save(t.Context(), b); err != nil || writes(kube) != 3 {
		t.Errorf("read-only Save() = %v with %d writes, want nil and no new write", err, writes(kube))
	}
}

func TestConfigMapStoreSizeBound(t *testing.T) {
	kube := fake.NewClientset()
	s := NewConfigMapStore(kube.CoreV1(), testNS, DefaultStateName, false, nil)
	s.maxBytes = 60
	state := map[string]horizontal.History{
		"Deployment/a": {Seeded: true},
		"Deployment/b": {Seeded: true, Recommendations: []horizontal.Recommendation{{At: time.UnixMilli(1), Replicas: 3}, {At: time.UnixMilli(2), Replicas: 4}}},
	}
	err := s.Save(t.Context(), state)
	if err == nil || !strings.Contains(err.Error(), "Deployment/b") {
		t.Fatalf("Save() error = %v, want one naming Deployment/b", err)
	}
	got, err := s.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Deployment/a"}, sortedKeys(got)); diff != "" {
		t.Errorf("checkpointed targets (-want +got):\n%s", diff)
	}
}

func TestConfigMapStoreSkipsCorruptEntries(t *testing.T) {
	kube := fake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultStateName, Namespace: testNS},
		Data:       map[string]string{"Deployment.web": `{"s":true}`, "Deployment.bad": `{not json`},
	})
	got, err := NewConfigMapStore(kube.CoreV1(), testNS, DefaultStateName, false, nil).Load(t.Context())
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if diff := cmp.Diff(map[string]horizontal.History{"Deployment/web": {Seeded: true}}, got); diff != "" {
		t.Errorf("Load() (-want +got):\n%s", diff)
	}
}
