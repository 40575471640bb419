//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

const ebbSmokePolicy = `defaults:
  mode: dry-run
  syncPeriod: 5s
prometheus:
  url: {{PROMETHEUS}}
targets:
  - scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    horizontal:
      minReplicas: 1
      maxReplicas: 5
      metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`

// TestEbbRunsWithScopedIdentity is the harness's end-to-end check of ebb
// itself: `ebb run` starts with the namespace-scoped kubeconfig, serves
// /metrics that `promtool check metrics` accepts, Prometheus scrapes it, and
// it reports the target's current replicas.
func TestEbbRunsWithScopedIdentity(t *testing.T) {
	const ns = "ebb-smoke"
	s := setup(t, ns)
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: "web", Replicas: 2}
	if _, err := s.Env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), 2, time.Minute); err != nil {
		t.Fatal(err)
	}
	ebb := s.startEbb(t, ns, ebbSmokePolicy, false)

	t.Run("ebb reports the current replicas", func(t *testing.T) {
		q := fmt.Sprintf(`ebb_current_replicas{namespace=%q, target="Deployment/web"}`, ns)
		err := harness.Eventually(ctx, "ebb_current_replicas scraped by Prometheus", 60*time.Second, time.Second, func(ctx context.Context) error {
			got, err := s.Env.QueryByLabel(ctx, q, "target")
			if err != nil {
				return err
			}
			if v, ok := got["Deployment/web"]; !ok || v != 2 {
				return fmt.Errorf("%s = %v, want 2", q, got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("promtool check metrics is clean", func(t *testing.T) {
		if err := harness.PromtoolCheckMetrics(ctx, "/usr/bin/promtool", ebb.MetricsAddr); err != nil {
			t.Error(err)
		}
	})
}
