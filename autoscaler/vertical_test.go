package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// recordingVertical records what the loop hands to the vertical side.
type recordingVertical struct {
	calls     []string
	err       error
	forgotten []string
}

func (v *recordingVertical) ForgetVertical(target string) { v.forgotten = append(v.forgotten, target) }

func (v *recordingVertical) ReconcileVertical(_ context.Context, _ time.Time, t Target, current int32, dryRun bool,
	pods []*corev1.Pod, usage []metricsource.PodUsage) ([]report.Container, error) {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	var withUsage []string
	for _, u := range usage {
		withUsage = append(withUsage, u.Name)
	}
	slices.Sort(names)
	slices.Sort(withUsage)
	mode := "apply"
	if dryRun {
		mode = "dry"
	}
	v.calls = append(v.calls, fmt.Sprintf("%s %s %d pods %s usage %s", t.Key(), mode, current,
		strings.Join(names, ","), strings.Join(withUsage, ",")))
	return []report.Container{{Name: "app"}}, v.err
}

// fakeVPAs answers Conflict with a fixed VPA name or error.
type fakeVPAs struct {
	vpa string
	err error
}

func (f fakeVPAs) Conflict(schema.GroupKind, string) (string, error) { return f.vpa, f.err }

func TestVerticalHook(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mode         policy.Mode
		vertical     policy.VerticalMode
		vpas         VPAChecker
		err          error
		wantCalls    []string
		wantBlocking []string
	}{
		{name: "apply", mode: policy.ModeApply, wantCalls: []string{"Deployment/web apply 2 pods web-0,web-1 usage web-0,web-1"}},
		{name: "dry-run", mode: policy.ModeDryRun, wantCalls: []string{"Deployment/web dry 2 pods web-0,web-1 usage web-0,web-1"}},
		{name: "off is not called", mode: policy.ModeOff, wantBlocking: []string{"ModeOff"}},
		{name: "vertical off: called without pods or usage", mode: policy.ModeApply, vertical: policy.VerticalOff,
			wantCalls: []string{"Deployment/web apply 2 pods  usage "}},
		{name: "failure is reported", mode: policy.ModeApply, err: errors.New("checkpoint: boom"),
			wantCalls: []string{"Deployment/web apply 2 pods web-0,web-1 usage web-0,web-1"}, wantBlocking: []string{"VerticalFailed"}},
		{name: "a VPA in Auto: rollout stays dry-run", mode: policy.ModeApply, vertical: policy.VerticalRollout,
			vpas:      fakeVPAs{vpa: "web-vpa"},
			wantCalls: []string{"Deployment/web dry 2 pods web-0,web-1 usage web-0,web-1"}, wantBlocking: []string{"VPAConflict"}},
		{name: "VPAs unknown: in-place stays dry-run", mode: policy.ModeApply, vertical: policy.VerticalInPlace,
			vpas:      fakeVPAs{err: errors.New("forbidden")},
			wantCalls: []string{"Deployment/web dry 2 pods web-0,web-1 usage web-0,web-1"}, wantBlocking: []string{"VPAConflictUnknown"}},
		{name: "no conflicting VPA: rollout applies", mode: policy.ModeApply, vertical: policy.VerticalRollout,
			vpas: fakeVPAs{}, wantCalls: []string{"Deployment/web apply 2 pods web-0,web-1 usage web-0,web-1"}},
		{name: "recommend never conflicts", mode: policy.ModeApply, vertical: policy.VerticalRecommend,
			vpas: fakeVPAs{vpa: "web-vpa"}, wantCalls: []string{"Deployment/web apply 2 pods web-0,web-1 usage web-0,web-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t)
			c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour)) // at target: no horizontal change
			v := &recordingVertical{err: tc.err}
			tg := cpuTarget("web", tc.mode, nil)
			tg.Vertical.Mode = tc.vertical
			l, _ := c.newLoop(t, loopConfig{targets: []Target{tg}, vpas: tc.vpas})
			l.o.Vertical = v
			rep, err := l.Pass(t.Context(), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCalls, v.calls); diff != "" {
				t.Errorf("vertical calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantBlocking, reasons(rep.Targets[0].Blocking)); diff != "" {
				t.Errorf("blocking (-want +got):\n%s", diff)
			}
			if wantRows := len(tc.wantCalls); len(rep.Targets[0].Vertical) != wantRows {
				t.Errorf("vertical rows = %d, want %d", len(rep.Targets[0].Vertical), wantRows)
			}
		})
	}
}

// TestVPAConflictEventOnChange: a VPA conflict is announced once when it
// begins, not in every pass.
func TestVPAConflictEventOnChange(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour))
	tg := cpuTarget("web", policy.ModeApply, nil)
	tg.Vertical.Mode = policy.VerticalRollout
	l, rec := c.newLoop(t, loopConfig{targets: []Target{tg}, vpas: fakeVPAs{vpa: "web-vpa"}})
	l.o.Vertical = &recordingVertical{}
	for range 3 {
		if _, err := l.Pass(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Warning VPAConflict VerticalPodAutoscaler web-vpa also changes the requests of Deployment/web; " +
		"ebb's vertical side stays in dry-run for it"}
	if d := cmp.Diff(want, events(rec)); d != "" {
		t.Errorf("events over 3 passes (-want +got):\n%s", d)
	}
}
