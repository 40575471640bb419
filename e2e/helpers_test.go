//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// How to add an ebb scenario test (one file per feature, //go:build e2e;
// doc.go says when a test needs setupOwnCluster):
//
//	func TestScaleUpOnCPU(t *testing.T) {
//		s := setup(t, "cpu-up")                       // parallel, fresh namespace, timing recorded
//		w := harness.Workload{Namespace: "cpu-up", Name: "web", Replicas: 2, CPURequest: "100m"}
//		s.Env.CreateDeployment(ctx, w)                 // kwok pods, Running/Ready in < 1 s
//		s.Env.WaitReadyPods(ctx, ns, w.Selector(), 2, time.Minute)
//		ebb := s.startEbb(t, "cpu-up", policyYAML, false) // scoped identity, /metrics up, stopped at cleanup
//		load := s.Env.CPULoad(ctx, ns, w.Selector(), 800) // total millicores spread over ready pods
//		defer load.Stop()
//		... harness.Eventually(ctx, "scaled to 4", ..., func(ctx) error { s.Env.ScaleReplicas(...) })
//	}
//
// Request-rate scenarios: app, _ := s.Env.StartLoadApp(); s.Env.RequestLoad(ctx, app, ns, sel, total);
// the policy's PromQL reads http_requests_total{namespace,pod} from
// {{PROMETHEUS}}. Faults, only on a test's own cluster (setupOwnCluster):
// s.Env.Cluster.StopComponent("metrics-server") /
// StartComponent(ctx, "metrics-server"), s.StartHPAController(t, opts).
// Killing the test's own ebb (ebb.SIGKILL()) is not a fault: any test may.

// startEbb writes policy (with {{PROMETHEUS}} replaced by the cluster's
// Prometheus URL) to the run dir, gives namespace ns ebb's ServiceAccount,
// Role (deploy/kustomize/role.yaml) and binding, starts `ebb run` with that
// namespace-scoped kubeconfig, waits for its /metrics and registers it with
// Prometheus. Cleanup stops it and, when the test failed, logs its log tail.
func (s *Suite) startEbb(t *testing.T, ns, policy string, leaderElect bool, extraArgs ...string) *harness.Ebb {
	t.Helper()
	ctx := context.Background()
	bin := s.requireEbb(t)
	kubeconfig, err := s.Env.ScopedKubeconfig(ctx, ns, s.RolePath(), s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	name := "ebb-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	path := filepath.Join(s.RunDir, name+"-policy.yaml")
	policy = strings.ReplaceAll(policy, "{{PROMETHEUS}}", s.Env.Cluster.PrometheusURL())
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	o := harness.EbbOptions{Bin: bin, Name: name, Kubeconfig: kubeconfig, Namespace: ns, Policy: path,
		LeaderElect: leaderElect, ExtraArgs: extraArgs, LogDir: filepath.Join(s.RunDir, "logs")}
	e, err := s.Env.StartEbb(o, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Terminate(10 * time.Second); err != nil {
			t.Errorf("stop ebb: %v", err)
		}
		if t.Failed() {
			t.Logf("last lines of %s:\n%s", e.Log, e.LogTail(40))
		}
	})
	if err := e.WaitMetrics(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return e
}
