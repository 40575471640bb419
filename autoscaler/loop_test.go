package autoscaler

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// failingUsage is a metrics-server that is not there.
type failingUsage struct{}

func (failingUsage) PodUsage(context.Context, string, labels.Selector) ([]metricsource.PodUsage, error) {
	return nil, metricsource.ErrUnavailable
}

func reasons(cs []report.Condition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Reason)
	}
	return out
}

// eventReasons keeps "<type> <reason>" of each Event, plus "DryRun" when
// the message says so.
func eventReasons(evs []string) []string {
	var out []string
	for _, e := range evs {
		f := strings.Fields(e)
		s := f[0] + " " + f[1]
		if strings.Contains(e, "DryRun") {
			s += " DryRun"
		}
		out = append(out, s)
	}
	return out
}

func TestPassScenarios(t *testing.T) {
	ebbPatch := metav1.UpdateOptions{FieldManager: "ebb"}
	dryPatch := metav1.UpdateOptions{FieldManager: "ebb", DryRun: []string{metav1.DryRunAll}}
	for _, tc := range []struct {
		name         string
		target       Target
		hpa          bool
		usage        UsageSource
		passes       int
		wantReplicas int32
		wantDesired  *int32
		wantPatches  []metav1.UpdateOptions
		wantEvents   []string
		wantBlocking []string
		wantMissing  float64
	}{{
		name:         "scale-up applied",
		target:       cpuTarget("web", policy.ModeApply, nil),
		passes:       1,
		wantReplicas: 4, wantDesired: report.Int32(4),
		wantPatches: []metav1.UpdateOptions{ebbPatch},
		wantEvents:  []string{"Normal SuccessfulRescale"},
	}, {
		name:         "dry-run updates with DryRun=All, changes nothing, one Event for the same size",
		target:       cpuTarget("web", policy.ModeDryRun, nil),
		passes:       2,
		wantReplicas: 2, wantDesired: report.Int32(4),
		wantPatches: []metav1.UpdateOptions{dryPatch, dryPatch},
		wantEvents:  []string{"Normal SuccessfulRescale DryRun"},
	}, {
		name:         "off computes nothing",
		target:       cpuTarget("web", policy.ModeOff, nil),
		passes:       1,
		wantReplicas: 2,
		wantBlocking: []string{"ModeOff"},
	}, {
		name:         "HPA conflict: no actuation, dry-run instead",
		target:       cpuTarget("web", policy.ModeApply, nil),
		hpa:          true,
		passes:       1,
		wantReplicas: 2, wantDesired: report.Int32(4),
		wantPatches:  []metav1.UpdateOptions{dryPatch},
		wantEvents:   []string{"Warning HPAConflict", "Normal SuccessfulRescale DryRun"},
		wantBlocking: []string{"HPAConflict"},
	}, {
		name:         "missing metrics hold the scale, one Event on entering the hold",
		target:       cpuTarget("web", policy.ModeApply, nil),
		usage:        failingUsage{},
		passes:       2,
		wantReplicas: 2, wantDesired: report.Int32(2),
		wantEvents:   []string{"Warning FailedGetResourceMetric"},
		wantBlocking: []string{"MissingMetricsHold"},
		wantMissing:  2,
	}, {
		name: "missing metrics fall back after N passes, through the scale-up limit (max(2x, 4) = 4, not 5)",
		target: func() Target {
			t := cpuTarget("web", policy.ModeApply, nil)
			t.Missing = policy.MissingMetrics{Action: policy.MissingFallback, AfterCycles: 2, FallbackReplicas: 5}
			return t
		}(),
		usage:        failingUsage{},
		passes:       2,
		wantReplicas: 4, wantDesired: report.Int32(4),
		wantPatches:  []metav1.UpdateOptions{ebbPatch},
		wantEvents:   []string{"Warning FailedGetResourceMetric", "Normal SuccessfulRescale"},
		wantBlocking: []string{"MissingMetricsFallback"},
		wantMissing:  2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newCluster(t)
				c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour)) // 200% of the request
				if tc.hpa {
					_ = c.hpas.Add(&autoscalingv2.HorizontalPodAutoscaler{
						ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS},
						Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
							APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}})
				}
				reg := prometheus.NewRegistry()
				l, rec := c.newLoop(t, loopConfig{targets: []Target{tc.target}, usage: tc.usage, reg: reg})
				var rep report.Report
				for range tc.passes {
					var err error
					if rep, err = l.Pass(t.Context(), time.Now()); err != nil {
						t.Fatalf("Pass() error = %v", err)
					}
					time.Sleep(15 * time.Second)
				}
				if got := c.replicasOf("web"); got != tc.wantReplicas {
					t.Errorf("replicas = %d, want %d", got, tc.wantReplicas)
				}
				rt := rep.Targets[0]
				if diff := cmp.Diff(tc.wantDesired, rt.Desired); diff != "" {
					t.Errorf("report desired (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantPatches, c.scales.updateOptions()); diff != "" {
					t.Errorf("patch options (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantEvents, eventReasons(events(rec))); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantBlocking, reasons(rt.Blocking)); diff != "" {
					t.Errorf("blocking conditions (-want +got):\n%s", diff)
				}
				if got := testutil.ToFloat64(l.m.missing.WithLabelValues(testNS, "Deployment/web")); got != tc.wantMissing {
					t.Errorf("ebb_missing_metrics_total = %v, want %v", got, tc.wantMissing)
				}
			})
		})
	}
}

func TestPassOffReadsNothing(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
	l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeOff, nil)}})
	if _, err := l.Pass(t.Context(), time.Now()); err != nil {
		t.Fatalf("Pass() error = %v", err)
	}
	lists, gets, patches := c.counts()
	if lists+gets+patches != 0 {
		t.Errorf("mode off: metric lists %d, scale gets %d, patches %d; want none", lists, gets, patches)
	}
}

func TestPassOneMetricsListForManyTargets(t *testing.T) {
	c := newCluster(t)
	var targets []Target
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		c.addWorkload(t, name, 2, 40, time.Now().Add(-time.Hour))
		targets = append(targets, cpuTarget(name, policy.ModeApply, nil))
	}
	l, _ := c.newLoop(t, loopConfig{targets: targets})
	for pass := 1; pass <= 3; pass++ {
		if _, err := l.Pass(t.Context(), time.Now()); err != nil {
			t.Fatalf("Pass() error = %v", err)
		}
		lists, gets, _ := c.counts()
		if lists != pass || gets != 0 {
			t.Errorf("after pass %d: PodMetrics lists %d (want %d), scale gets %d (want 0: Deployments come from the informer)", pass, lists, pass, gets)
		}
	}
}

func TestPassFailedGetScale(t *testing.T) {
	c := newCluster(t)
	l, rec := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("ghost", policy.ModeApply, nil)}})
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatalf("Pass() error = %v", err)
	}
	if diff := cmp.Diff([]string{"Warning FailedGetScale"}, eventReasons(events(rec))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if rt := rep.Targets[0]; rt.Current != nil || rt.Reason != "FailedGetScale" {
		t.Errorf("report target = current %v reason %q; want nil, FailedGetScale", rt.Current, rt.Reason)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 40, time.Now().Add(-time.Hour))
		l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		time.Sleep(time.Minute) // passes at 0, 15, 30, 45, 60s
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil on cancel", err)
		}
		if lists, _, _ := c.counts(); lists != 5 {
			t.Errorf("passes (PodMetrics lists) in one minute = %d, want 5 (sync period 15s)", lists)
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	err := Options{}.Validate()
	if err == nil {
		t.Fatal("Validate() of empty options = nil, want errors")
	}
	for _, field := range []string{"Namespace", "Registerer", "Config", "Scales", "Mapper", "Pods", "SyncPeriod"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v, does not name %s", err, field)
		}
	}
}

func TestReportShowsWhatShapedTheNumber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 100, time.Now().Add(-time.Hour))
		l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}})
		if _, err := l.Pass(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
		c.setCPU("web", 5)
		time.Sleep(time.Minute)
		rep, err := l.Pass(t.Context(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		rt := rep.Targets[0]
		got := []any{*rt.Current, *rt.Recommended, *rt.Stabilized, *rt.Desired, rt.Reason, rt.ShapedBy}
		want := []any{int32(4), int32(1), int32(4), int32(4), "ScaleDownStabilized",
			[]string{"scaleDown stabilization 5m0s held at 4 (recommended 1)"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("current, recommended, stabilized, desired, reason, shapedBy (-want +got):\n%s", diff)
		}
		if len(rt.Metrics) != 1 || rt.Metrics[0].Utilization == nil || *rt.Metrics[0].Utilization != 5 ||
			rt.Metrics[0].Unit != report.UnitCores {
			t.Errorf("report metrics = %+v, want Resource/cpu at 5%% in cores", rt.Metrics)
		}
	})
}
