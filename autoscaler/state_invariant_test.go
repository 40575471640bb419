package autoscaler

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	clienttesting "k8s.io/client-go/testing"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// invariantLoad is the scripted scenario of TestKillAtEveryWrite: CPU
// usage per pass (15 s apart) of a Deployment with 4 pods requesting 100m
// at a 50% target, so the recommendation is ceil(4 x usage / 50): steady
// at 4, a rise to 12 (scaled up by the rate limit), a partial drop to 8
// and a long one to 2 (held by the 2-minute window, then 2 pods per
// minute), a second rise and a drop to the minimum.
func invariantLoad() []int64 {
	var out []int64
	for _, seg := range []struct {
		passes int
		cpu    int64
	}{{4, 50}, {8, 150}, {4, 100}, {20, 25}, {5, 100}, {15, 10}} {
		for range seg.passes {
			out = append(out, seg.cpu)
		}
	}
	return out
}

// killer fails every write from the k-th on (a crash right before it);
// k = 0 never fails.
type killer struct {
	mu     sync.Mutex
	k, n   int
	killed bool
}

func (k *killer) write() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	if k.k > 0 && k.n >= k.k {
		k.killed = true
	}
	if k.killed {
		return errors.New("killed")
	}
	return nil
}

// crash is where the loop of runScenario dies: right before its write-th
// write (scale update or ConfigMap write), or between passes, right
// before pass beforePass. Zero values never crash.
type crash struct{ write, beforePass int }

// runScenario plays invariantLoad once. At the crash a new Loop over the
// same cluster restarts at once (at the same instant), from the
// checkpoints when state is set, and plays on. It returns the replicas
// after each pass time and the number of writes.
func runScenario(t *testing.T, window time.Duration, at crash, state bool) ([]int32, int) {
	var got []int32
	writes := 0
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 4, 50, time.Now().Add(-time.Hour))
		k := &killer{k: at.write}
		c.scales.hook = func(string) error { return k.write() }
		c.configMaps.FailWith(func(clienttesting.Action) error { return k.write() })
		behavior := stepDown(2, time.Minute)
		behavior.ScaleDown.StabilizationWindow = window
		targets := []Target{cpuTarget("web", policy.ModeApply, behavior)}
		targets[0].Spec.MaxReplicas = 20
		l, _ := c.newLoop(t, loopConfig{targets: targets, state: state})
		for i, cpu := range invariantLoad() {
			c.setCPU("web", cpu)
			if i > 0 && i == at.beforePass {
				l, _ = c.newLoop(t, loopConfig{targets: targets, state: state})
			}
			_, _ = l.Pass(t.Context(), time.Now())
			if k.killed && k.n >= k.k {
				k.mu.Lock()
				k.killed, k.k = false, 0 // the new process writes
				k.mu.Unlock()
				l, _ = c.newLoop(t, loopConfig{targets: targets, state: state})
				if _, err := l.Pass(t.Context(), time.Now()); err != nil { // restart at once, same instant
					t.Fatalf("pass %d after the restart: %v", i, err)
				}
			}
			got = append(got, c.replicasOf("web"))
			time.Sleep(15 * time.Second)
		}
		writes = k.n
	})
	return got, writes
}

// violations compares a run killed and restarted with the uninterrupted
// run: it must never be below it (never scaled down earlier), and must
// never scale down by more than the policy (2 pods per minute = 4 passes)
// over its own history, the restart included.
func violations(got, want []int32) []string {
	var out []string
	for i := range got {
		if got[i] < want[i] {
			out = append(out, fmt.Sprintf("pass %d: %d replicas, below the uninterrupted run's %d", i, got[i], want[i]))
		}
		if i >= 4 && got[i] < got[i-4]-2 {
			out = append(out, fmt.Sprintf("pass %d: %d replicas, a minute after %d: faster than 2 pods per minute", i, got[i], got[i-4]))
		}
	}
	return out
}

// TestKillAtEveryWrite is the state invariant (docs/operations.md): after
// a restart, ebb never scales down earlier, nor faster than the rate limits
// allow, than an uninterrupted run would have. The loop is killed right
// before each of the writes of the scripted scenario (every scale update
// and every ConfigMap write) and restarted at once from the checkpoints;
// with a 2-minute scale-down window and without one.
func TestKillAtEveryWrite(t *testing.T) {
	passes := len(invariantLoad())
	for _, window := range []time.Duration{2 * time.Minute, 0} {
		t.Run(fmt.Sprintf("window %v", window), func(t *testing.T) {
			want, writes := runScenario(t, window, crash{}, true)
			if writes < 8 {
				t.Fatalf("the scenario made %d writes; want one that scales and checkpoints (uninterrupted: %v)", writes, want)
			}
			t.Logf("uninterrupted: %v (%d writes)", want, writes)
			var crashes []crash
			for k := 1; k <= writes+1; k++ {
				crashes = append(crashes, crash{write: k})
			}
			for i := 1; i < passes; i++ {
				crashes = append(crashes, crash{beforePass: i})
			}
			for _, at := range crashes {
				got, _ := runScenario(t, window, at, true)
				for _, v := range violations(got, want) {
					t.Errorf("crash %+v: %s\n  got  %v\n  want %v", at, v, got, want)
				}
			}
		})
	}
	t.Run("the check can fail: without checkpoints a restart scales down too fast", func(t *testing.T) {
		want, _ := runScenario(t, 0, crash{}, false)
		for i := 1; i < passes; i++ {
			if got, _ := runScenario(t, 0, crash{beforePass: i}, false); len(violations(got, want)) > 0 {
				return
			}
		}
		t.Error("no restart without checkpoints violated the invariant: the scenario does not test it")
	})
}
