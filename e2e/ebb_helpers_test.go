//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// ebbRun is one ebb process of a scenario with the options it was started
// with (reused by `ebb report` and restarts).
type ebbRun struct {
	*harness.Ebb
	opts harness.EbbOptions
}

// ebbSetup creates the namespace-scoped kubeconfig of ns and writes policy
// to the run directory; it returns options ready for startEbb and report.
func ebbSetup(t *testing.T, s *Suite, ns, policyYAML string) harness.EbbOptions {
	t.Helper()
	bin := s.requireEbb(t)
	kc, err := s.Env.ScopedKubeconfig(context.Background(), ns, s.RolePath(), s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(s.RunDir, "policy-"+ns+".yaml")
	if err := os.WriteFile(policy, []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return harness.EbbOptions{Bin: bin, Name: "ebb-" + ns, Kubeconfig: kc, Namespace: ns,
		Policy: policy, LogDir: filepath.Join(s.RunDir, "logs")}
}

// startEbb runs `ebb run` with o (o.Name is suffixed by suffix so restarts
// get their own log), waits for /metrics and stops it when the test ends;
// a failed test logs the tail of ebb's log.
func startEbb(t *testing.T, s *Suite, o harness.EbbOptions, suffix string) *ebbRun {
	t.Helper()
	if suffix != "" {
		o.Name += "-" + suffix
	}
	b, err := s.Env.StartEbb(o, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- last lines of %s:\n%s", b.Log, b.LogTail(40))
			// A goroutine dump (SIGQUIT) in the log shows where a hung
			// ebb waits; the test has already failed.
			if b.Alive() && syscall.Kill(b.PID, syscall.SIGQUIT) == nil {
				time.Sleep(time.Second)
				t.Logf("goroutine dump of ebb (SIGQUIT) appended to %s", b.Log)
			}
		}
		_ = b.Terminate(5 * time.Second)
	})
	if err := b.WaitMetrics(context.Background(), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return &ebbRun{Ebb: b, opts: o}
}

// gauge waits until ebb exposes series name{match} and ok accepts it.
func (r *ebbRun) waitMetric(t *testing.T, name string, match map[string]string, what string, ok func(float64) bool, timeout time.Duration) float64 {
	t.Helper()
	var v float64
	err := harness.Eventually(context.Background(), fmt.Sprintf("%s%v %s", name, match, what), timeout, 500*time.Millisecond, func(ctx context.Context) error {
		got, found, err := r.MetricValue(ctx, name, match)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("no series")
		}
		v = got
		if !ok(got) {
			return fmt.Errorf("value %v", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// reportTarget is the part of `ebb report -o json` the scenarios read.
type reportTarget struct {
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Mode        string `json:"mode"`
	Current     *int32 `json:"currentReplicas"`
	Recommended *int32 `json:"recommendedReplicas"`
	Desired     *int32 `json:"desiredReplicas"`
	Blocking    []struct {
		Reason  string `json:"reason"`
		Message string `json:"message"`
	} `json:"blocking"`
}

// report runs `ebb report -o json` and returns the target kind/name.
func report(ctx context.Context, o harness.EbbOptions, kind, name string) (reportTarget, string, error) {
	out, err := harness.EbbReport(ctx, o, "-o", "json")
	if err != nil {
		return reportTarget{}, out, err
	}
	var r struct {
		Targets []reportTarget `json:"targets"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return reportTarget{}, out, fmt.Errorf("decode ebb report: %w", err)
	}
	for _, tg := range r.Targets {
		if tg.Kind == kind && tg.Name == name {
			return tg, out, nil
		}
	}
	return reportTarget{}, out, fmt.Errorf("report has no target %s/%s", kind, name)
}

func (rt reportTarget) blockedBy(reason string) bool {
	for _, c := range rt.Blocking {
		if c.Reason == reason {
			return true
		}
	}
	return false
}

// eventsMention waits until an Event on kind/name has reason (any if "")
// and a message containing substr.
func eventsMention(t *testing.T, s *Suite, ns, kind, name, reason, substr string, timeout time.Duration) {
	t.Helper()
	err := harness.Eventually(context.Background(), fmt.Sprintf("Event %q mentioning %q on %s/%s", reason, substr, kind, name), timeout, time.Second, func(ctx context.Context) error {
		evs, err := s.Env.ObjectEvents(ctx, ns, kind, name)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if (reason == "" || ev.Reason == reason) && strings.Contains(ev.Message, substr) {
				return nil
			}
		}
		return fmt.Errorf("events:\n%s", harness.EventSummary(evs))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cpuPolicy is a one-target policy scaling Deployment/StatefulSet name on
// CPU utilization with short windows; behavior is YAML indented for
// `horizontal:` children (may be empty). cpuInitializationPeriod keeps its
// default (5m): with 0s a new pod's first samples count at once, next to the
// old pods' still-high ones, and a 2 → 4 step overshot to 7 on the next pass
// (the HPA's algorithm doing what it is told, not a bug).
func cpuPolicy(mode, kind, name string, minR, maxR, util int, behavior string) string {
	return fmt.Sprintf(`defaults:
  mode: %s
  syncPeriod: 2s
  downscaleStabilization: 30s
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: %s, name: %s}
  horizontal:
    minReplicas: %d
    maxReplicas: %d
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: %d}}
%s`, mode, kind, name, minR, maxR, util, behavior)
}

// cpuWorkload creates a Deployment of n pods (100m CPU request, 50m used)
// and waits until metrics.k8s.io serves CPU for them.
func cpuWorkload(t *testing.T, s *Suite, ns, name string, n int) harness.Workload {
	t.Helper()
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: name, Replicas: int32(n), CPURequest: "100m", CPUUsage: "50m"}
	if _, err := s.Env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	pods, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), n, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitPodCPU(ctx, ns, w.Selector(), pods, harness.Within(50, 5), 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return w
}

func watchReplicas(t *testing.T, s *Suite, ns, name string) *harness.ReplicaWatcher {
	t.Helper()
	w, err := s.Env.WatchReplicas(context.Background(), harness.DeploymentsGVR, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}
