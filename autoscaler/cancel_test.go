package autoscaler

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// cancellingUsage is a metrics-server read interrupted by shutdown: it
// cancels the pass's context and fails with the context's error, as an HTTP
// request in flight does.
type cancellingUsage struct{ cancel context.CancelFunc }

func (u cancellingUsage) PodUsage(ctx context.Context, _ string, _ labels.Selector) ([]metricsource.PodUsage, error) {
	u.cancel()
	return nil, ctx.Err()
}

// A pass cancelled while reading metrics is not a missing-metrics pass: no
// Warning Event on the target, no ebb_missing_metrics_total, no patch.
func TestPassCancelledDuringMetricsIsNotMissing(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 2, 90, time.Now().Add(-time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l, rec := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}, usage: cancellingUsage{cancel}})
	rep, _ := l.Pass(ctx, time.Now())
	if evs := events(rec); len(evs) != 0 {
		t.Errorf("events = %v, want none for a cancelled pass", evs)
	}
	if got := testutil.ToFloat64(l.m.missing.WithLabelValues(testNS, "Deployment/web")); got != 0 {
		t.Errorf("ebb_missing_metrics_total = %v, want 0", got)
	}
	if _, _, patches := c.counts(); patches != 0 {
		t.Errorf("patches = %d, want 0", patches)
	}
	if len(rep.Targets) != 1 || len(rep.Targets[0].Blocking) != 1 || rep.Targets[0].Blocking[0].Reason != "Interrupted" {
		t.Errorf("report targets = %+v, want one blocked by Interrupted", rep.Targets)
	}
}
