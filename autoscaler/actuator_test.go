package autoscaler

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

func TestScaleActuatorGuardsTheWrite(t *testing.T) {
	for _, tc := range []struct {
		name         string
		dryRun       bool
		otherWriter  bool // someone scales between the read and the write
		wantErr      error
		wantReplicas int32
		wantResult   string
	}{
		{name: "update with the resourceVersion read", wantReplicas: 7, wantResult: "success"},
		{name: "dry-run persists nothing", dryRun: true, wantReplicas: 3, wantResult: "success"},
		{name: "another writer since the read: conflict, theirs stays", otherWriter: true, wantErr: errConflict,
			wantReplicas: 5, wantResult: "conflict"},
		{name: "dry-run conflicts too", dryRun: true, otherWriter: true, wantErr: errConflict, wantReplicas: 5, wantResult: "conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			c.addWorkload(t, "web", 3, 50, time.Now())
			sc, err := c.scales.Scales(testNS).Get(t.Context(), deploymentsGVR.GroupResource(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.otherWriter {
				c.setReplicas("web", 5) // kubectl scale --replicas=5
			}
			m := newMetrics(prometheus.NewRegistry())
			tg := cpuTarget("web", policy.ModeApply, nil)
			tg.Resource = deploymentsGVR
			err = NewScaleActuator(c.scales, tc.dryRun, m.actuations).Scale(t.Context(), tg, sc, 7)
			if !errors.Is(err, tc.wantErr) || (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("Scale() error = %v, want %v", err, tc.wantErr)
			}
			if got := c.replicasOf("web"); got != tc.wantReplicas {
				t.Errorf("replicas = %d, want %d", got, tc.wantReplicas)
			}
			dry := map[bool]string{true: "true", false: "false"}[tc.dryRun]
			if got := testutil.ToFloat64(m.actuations.WithLabelValues(testNS, "Deployment/web", tc.wantResult, dry)); got != 1 {
				t.Errorf("ebb_actuations_total{result=%q,dry_run=%q} = %v, want 1", tc.wantResult, dry, got)
			}
			want := metav1.UpdateOptions{FieldManager: "ebb"}
			if tc.dryRun {
				want.DryRun = []string{metav1.DryRunAll}
			}
			if d := cmp.Diff([]metav1.UpdateOptions{want}, c.scales.updateOptions()); d != "" {
				t.Errorf("update options (-want +got):\n%s", d)
			}
		})
	}
}

func TestScaleActuatorRefusesAnUnguardedWrite(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 3, 50, time.Now())
	tg := cpuTarget("web", policy.ModeApply, nil)
	tg.Resource = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	sc, _ := c.scales.Scales(testNS).Get(t.Context(), tg.Resource.GroupResource(), "web", metav1.GetOptions{})
	sc.ResourceVersion = ""
	if err := NewScaleActuator(c.scales, false, nil).Scale(t.Context(), tg, sc, 7); err == nil {
		t.Error("Scale() without a resourceVersion = nil, want an error")
	}
	if got := c.replicasOf("web"); got != 3 {
		t.Errorf("replicas = %d, want 3 (nothing written)", got)
	}
}
