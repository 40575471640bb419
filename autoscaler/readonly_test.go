package autoscaler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// TestReadOnlyComputesWithoutWriting: in the read-only profile an apply
// target that should scale up is computed and reported with its desired
// size, the report says ReadOnly, an Event says what would happen, and no
// scale request is sent — not even a server-side dry-run.
func TestReadOnlyComputesWithoutWriting(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 2, 150, time.Now().Add(-time.Hour))
	c.addWorkload(t, "idle", 2, 50, time.Now().Add(-time.Hour))
	l, rec := c.newLoop(t, loopConfig{readOnly: true,
		targets: []Target{cpuTarget("web", policy.ModeApply, nil), cpuTarget("idle", policy.ModeDryRun, nil)}})
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if sent := c.scales.updateOptions(); len(sent) != 0 {
		t.Errorf("read-only sent scale updates %+v, want none (not even a dry-run)", sent)
	}
	if got := c.replicasOf("web"); got != 2 {
		t.Errorf("web replicas = %d, want 2 (unchanged)", got)
	}
	for _, rt := range rep.Targets {
		if d := cmp.Diff([]string{"ReadOnly"}, reasons(rt.Blocking)); d != "" {
			t.Errorf("%s blocking (-want +got):\n%s", rt.Ref(), d)
		}
	}
	if web := rep.Targets[0]; web.Desired == nil || *web.Desired != 4 {
		t.Errorf("web desired = %v, want 4 (computed as without read-only)", web.Desired)
	}
	if d := cmp.Diff([]string{"Normal SuccessfulRescale ReadOnly (not sent): New size: 4; reason: Resource/cpu above target"},
		events(rec)); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if n := testutil.CollectAndCount(l.m.actuations); n != 0 {
		t.Errorf("ebb_actuations_total has %d series, want 0 (nothing was sent)", n)
	}
}
