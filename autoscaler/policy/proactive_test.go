package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

func TestProactiveSection(t *testing.T) {
	c, err := Load([]byte(`
prometheus: {url: "http://prometheus:9090"}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    minReplicas: 2
    maxReplicas: 40
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 85}}
    proactive: {mode: "on", horizon: 90s, margin: 0.1, minHistory: 2h, maxError: 0.3}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: queue-worker}
  queries: {jobs: 'sum(queue_depth{queue="jobs"})'}
  horizontal:
    minReplicas: 0
    maxReplicas: 10
    metrics:
    - type: External
      external: {metric: {name: jobs}, target: {type: AverageValue, averageValue: "20"}}
    proactive: {mode: forecast-only}
`))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []proactive.Config{
		{Mode: proactive.ModeOn, Horizon: 90 * time.Second, Margin: 0.1, MinHistory: 2 * time.Hour, MaxError: 0.3},
		{Mode: proactive.ModeForecastOnly, MinHistory: time.Hour, MaxError: 0.5},
	}
	for i, ct := range c.Targets {
		if d := cmp.Diff(want[i], ct.Proactive); d != "" {
			t.Errorf("target %d proactive (-want +got):\n%s", i, d)
		}
	}
	if got := c.Targets[0].Spec.Metrics[0].Target.Utilization; got != 85 {
		t.Errorf("the spec beside proactive was not decoded: utilization %d, want 85", got)
	}
	if got := c.Targets[1].Spec.MinReplicas; got != 0 || c.Targets[1].Spec.Metrics[0].Type != horizontal.ExternalMetric {
		t.Errorf("queue-worker: minReplicas %d, metric %v; want 0 and External (scale to zero)", got, c.Targets[1].Spec.Metrics[0].Type)
	}
}

func TestProactiveSectionErrors(t *testing.T) {
	_, err := Parse([]byte(`
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    minReplicas: 0
    maxReplicas: 4
    proactive: {mode: sometimes, horizon: 1h, margin: -0.5, minHistory: -1m, maxError: -1}
`))
	for _, want := range []string{
		`targets[0] Deployment/web: targets[0].horizontal.proactive.mode: invalid value "sometimes": must be off, forecast-only or on`,
		`targets[0].horizontal.proactive.horizon: invalid value 1h0m0s: must be within (0s, 15m]`,
		`targets[0].horizontal.proactive.margin: invalid value -0.5: must be a number within [0, 10]`,
		`targets[0].horizontal.proactive.minHistory: invalid value -1m0s: must be >= 0s`,
		`targets[0].horizontal.proactive.maxError: invalid value -1: must be a number >= 0`,
		`targets[0].horizontal.minReplicas: invalid value 0: must be greater than or equal to 1; 0 (scale to zero) needs every metric to be an Object or External metric`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse error = %v\nwant it to contain %q", err, want)
		}
	}
	_, err = Parse([]byte(`
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 4, proactive: {mode: "on", marign: 0.1}}
`))
	if want := `targets[0].horizontal.proactive.marign: unknown field "marign"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Parse error = %v, want it to contain %q", err, want)
	}
}
