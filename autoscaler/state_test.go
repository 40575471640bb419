package autoscaler

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
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

func TestStateRecordRuns(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	recs := func(vals ...int32) []horizontal.Recommendation {
		var out []horizontal.Recommendation
		for i, v := range vals {
			out = append(out, horizontal.Recommendation{At: at(15 * i), Replicas: v})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		h       horizontal.History
		expired time.Time
		want    string
	}{
		{name: "steady: one open run, no time", h: horizontal.History{Recommendations: recs(4, 4, 4, 4)}, want: `{"o":4}`},
		{name: "runs end at their last recommendation", h: horizontal.History{Recommendations: recs(8, 8, 5, 5, 3)},
			want: `{"o":3,"r":[[1700000015000,8],[1700000045000,5]]}`},
		{name: "expired runs are left out", h: horizontal.History{Recommendations: recs(8, 8, 5, 5, 3)}, expired: at(20),
			want: `{"o":3,"r":[[1700000045000,5]]}`},
		{name: "out of order (reused slots) are sorted", h: horizontal.History{Recommendations: []horizontal.Recommendation{
			{At: at(30), Replicas: 2}, {At: at(0), Replicas: 6}, {At: at(15), Replicas: 6}}},
			want: `{"o":2,"r":[[1700000015000,6]]}`},
		{name: "scale events exactly", h: horizontal.History{Recommendations: recs(4),
			ScaleUpEvents: []horizontal.Event{{At: at(0), Change: 2}}, ScaleDownEvents: []horizontal.Event{{At: at(60), Change: 1}}},
			want: `{"o":4,"u":[[1700000000000,2]],"d":[[1700000060000,1]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecord(&tc.h, tc.expired)
			if got := string(r.encode()); got != tc.want {
				t.Errorf("encode() = %s, want %s", got, tc.want)
			}
			back, err := decodeRecord(r.encode())
			if err != nil {
				t.Fatal(err)
			}
			if !back.sameAs(r, tc.expired) {
				t.Errorf("decoded record %+v differs from %+v", back, r)
			}
		})
	}
}

func TestStateRecordRestoresConservatively(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	h := horizontal.History{Recommendations: []horizontal.Recommendation{{At: t0, Replicas: 8}, {At: t0.Add(time.Minute), Replicas: 5},
		{At: t0.Add(2 * time.Minute), Replicas: 5}}}
	restoreAt := t0.Add(10 * time.Minute)
	got := newRecord(&h, time.Time{}).history(restoreAt)
	want := horizontal.History{Seeded: true, Recommendations: []horizontal.Recommendation{
		{At: t0, Replicas: 8},        // a closed run at its last time
		{At: restoreAt, Replicas: 5}, // the open run counts as recommended up to the restore
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("history (-want +got):\n%s", d)
	}
}

func TestStateExpiryAloneWritesNothing(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	old := stateRecord{Open: ptr.To(int32(3)), Runs: [][2]int64{{t0.UnixMilli(), 8}}}
	later := t0.Add(10 * time.Minute)
	h := old.history(later) // the run of 8 is out of every window by now
	if !newRecord(&h, later.Add(-5*time.Minute)).sameAs(old, later.Add(-5*time.Minute)) {
		t.Error("a record whose only change is an expired run differs, want the same (no write)")
	}
	h.Recommendations = append(h.Recommendations, horizontal.Recommendation{At: later, Replicas: 2})
	if newRecord(&h, later.Add(-5*time.Minute)).sameAs(old, later.Add(-5*time.Minute)) {
		t.Error("a new recommendation value is the same record, want a change")
	}
}

func TestSteadyStateWritesNoConfigMap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		var targets []Target
		for i := range 40 {
			name := fmt.Sprintf("w%02d", i)
			c.addWorkload(t, name, 3, 50, time.Now().Add(-time.Hour)) // at target
			targets = append(targets, cpuTarget(name, policy.ModeApply, stepDown(2, time.Minute)))
		}
		l, _ := c.newLoop(t, loopConfig{targets: targets, state: true})
		for pass := range 40 { // 10 minutes, beyond every window
			if _, err := l.Pass(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
			if pass == 0 {
				if got, want := c.configMaps.Writes(), checkpoint.DefaultShards; got > want || got == 0 {
					t.Fatalf("writes of the first pass = %d, want 1..%d (one per shard)", got, want)
				}
			}
			time.Sleep(15 * time.Second)
		}
		first := c.configMaps.Writes()
		for range 40 {
			if _, err := l.Pass(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(15 * time.Second)
		}
		if got := c.configMaps.Writes(); got != first {
			t.Errorf("ConfigMap writes in 40 steady passes = %d, want 0", got-first)
		}
		c.setCPU("w07", 100) // one target changes: its shard is written, once per change
		if _, err := l.Pass(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := c.configMaps.Writes() - first; got < 1 || got > 2 {
			t.Errorf("ConfigMap writes after one target scaled = %d, want 1 or 2 (ahead of and after the write)", got)
		}
	})
}

// stepDown is a behavior: scale down by at most n pods per period, after a
// 2-minute window; scale up at the API defaults.
func stepDown(n int32, period time.Duration) *horizontal.Behavior {
	return &horizontal.Behavior{
		ScaleUp: horizontal.DefaultScaleUpRules(),
		ScaleDown: horizontal.ScalingRules{StabilizationWindow: 2 * time.Minute, SelectPolicy: horizontal.SelectMax,
			Policies: []horizontal.ScalingPolicy{{Type: horizontal.PodsPolicy, Value: n, Period: period}}},
	}
}

func TestStateOf2000TargetsIsSavedCompletely(t *testing.T) {
	c := newCluster(t)
	var targets []Target
	for i := range 2000 {
		name := fmt.Sprintf("w%04d", i)
		c.addWorkload(t, name, 2, 50, time.Now().Add(-time.Hour))
		targets = append(targets, cpuTarget(name, policy.ModeApply, stepDown(1, time.Minute)))
	}
	l, _ := c.newLoop(t, loopConfig{targets: targets, state: true})
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("Pass() error = %v", err)
	}
	for _, rt := range rep.Targets {
		if hasCondition(rt, "StateNotSaved") {
			t.Fatalf("%s/%s: StateNotSaved", rt.Kind, rt.Name)
		}
	}
	got, err := c.stateStore(t).Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2000 {
		t.Errorf("records saved = %d, want 2000", len(got))
	}
	if n := testutil.CollectAndCount(l.m.unsaved); n != 0 {
		t.Errorf("ebb_state_unsaved series = %d, want 0", n)
	}
}

func TestUnsavedStateIsNamedAndNotActuated(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
	c.configMaps.FailWith(func(clienttesting.Action) error { return errors.New("etcdserver: request timed out") })
	l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}, state: true})
	rep, err := l.Pass(t.Context(), time.Now())
	if err == nil || !strings.Contains(err.Error(), "Deployment.web") {
		t.Errorf("Pass() error = %v, want one naming Deployment.web", err)
	}
	if got := c.replicasOf("web"); got != 2 {
		t.Errorf("replicas = %d, want 2: a decision whose state cannot be saved is not actuated", got)
	}
	if got := reasons(rep.Targets[0].Blocking); !slices.Contains(got, "StateNotSaved") {
		t.Errorf("blocking = %v, want StateNotSaved", got)
	}
	if got := testutil.ToFloat64(l.m.unsaved.WithLabelValues(testNS, "Deployment/web")); got != 1 {
		t.Errorf("ebb_state_unsaved = %v, want 1", got)
	}
	c.configMaps.FailWith(nil)
	if _, err := l.Pass(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := c.replicasOf("web"); got != 4 {
		t.Errorf("replicas once the state saves = %d, want 4", got)
	}
	if n := testutil.CollectAndCount(l.m.unsaved); n != 0 {
		t.Errorf("ebb_state_unsaved series = %d, want 0 once saved", n)
	}
}
