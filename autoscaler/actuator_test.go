package autoscaler

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

func TestScaleActuatorRetriesAndCounts(t *testing.T) {
	conflict := apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "web", nil)
	for _, tc := range []struct {
		name        string
		dryRun      bool
		failures    []error // returned by the first patches, then success
		wantErr     bool
		wantPatches int
		wantResult  string
		wantEvent   string
	}{
		{name: "success", wantPatches: 1, wantResult: "success", wantEvent: "Normal SuccessfulRescale New size: 7; reason: Resource/cpu above target"},
		{name: "dry-run success", dryRun: true, wantPatches: 1, wantResult: "success", wantEvent: "Normal SuccessfulRescale DryRun: New size: 7; reason: Resource/cpu above target"},
		{name: "conflict retried", failures: []error{conflict, conflict}, wantPatches: 3, wantResult: "success", wantEvent: "Normal SuccessfulRescale New size: 7"},
		{name: "conflict exhausted", failures: []error{conflict, conflict, conflict, conflict, conflict, conflict}, wantErr: true, wantPatches: 5, wantResult: "conflict", wantEvent: "Warning FailedRescale New size: 7"},
		{name: "forbidden", failures: []error{apierrors.NewForbidden(schema.GroupResource{Resource: "deployments/scale"}, "web", nil)}, wantErr: true, wantPatches: 1, wantResult: "error", wantEvent: "Warning FailedRescale New size: 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &scalefake.FakeScaleClient{}
			patches := 0
			fs.AddReactor("patch", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
				patches++
				if patches <= len(tc.failures) {
					return true, nil, tc.failures[patches-1]
				}
				return true, &autoscalingv1.Scale{}, nil
			})
			rec := record.NewFakeRecorder(10)
			m := newMetrics(prometheus.NewRegistry())
			a := NewScaleActuator(fs, tc.dryRun, rec, m.actuations)
			tg := cpuTarget("web", policy.ModeApply, nil)
			tg.Resource = deploymentsGVR
			tg.scaleReason = "Resource/cpu above target"
			err := a.Scale(t.Context(), tg, 7)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Scale() error = %v, want error %t", err, tc.wantErr)
			}
			if patches != tc.wantPatches {
				t.Errorf("patch calls = %d, want %d", patches, tc.wantPatches)
			}
			dry := "false"
			if tc.dryRun {
				dry = "true"
			}
			if got := testutil.ToFloat64(m.actuations.WithLabelValues(testNS, "Deployment/web", tc.wantResult, dry)); got != 1 {
				t.Errorf("ebb_actuations_total{result=%q,dry_run=%q} = %v, want 1", tc.wantResult, dry, got)
			}
			evs := events(rec)
			if len(evs) != 1 || !strings.HasPrefix(evs[0], tc.wantEvent) {
				t.Errorf("events = %q, want one starting with %q", evs, tc.wantEvent)
			}
		})
	}
}

func TestScaleActuatorPatchBody(t *testing.T) {
	fs := &scalefake.FakeScaleClient{}
	var got []string
	fs.AddReactor("patch", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		pa := a.(clienttesting.PatchAction)
		got = append(got, string(pa.GetPatchType())+" "+pa.GetSubresource()+" "+pa.GetName()+" "+string(pa.GetPatch()))
		return true, &autoscalingv1.Scale{}, nil
	})
	tg := cpuTarget("web", policy.ModeApply, nil)
	tg.Resource = deploymentsGVR
	if err := NewScaleActuator(fs, false, nil, nil).Scale(t.Context(), tg, 12); err != nil {
		t.Fatal(err)
	}
	want := []string{`application/merge-patch+json scale web {"spec":{"replicas":12}}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("patches (-want +got):\n%s", diff)
	}
}
