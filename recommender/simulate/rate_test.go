package simulate

import (
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func rpsSpec(min, max int32, avg int64) horizontal.Spec {
	return horizontal.Spec{MinReplicas: min, MaxReplicas: max, Metrics: []horizontal.MetricSpec{{
		Type: horizontal.PodsMetric, Name: "rps",
		Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: avg},
	}}}
}

// TestRateWorldByHand: 100 requests/s on pods serving 40 each; 2 pods, a
// third from the 30 s sync (created at 30.5 s, Ready at 60.5 s).
func TestRateWorldByHand(t *testing.T) {
	w := DefaultWorld()
	w.Spec, w.Trace, w.Duration = rpsSpec(2, 10, 40_000), []Point{{0, 100}}, 91*time.Second
	w.Rate = &Rate{Metric: "rps", Capacity: 40}
	rec := &recorder{next: &fixed{sizes: map[int]int32{2: 3}}}
	w.Decider = rec
	res, err := Run(w)
	if err != nil {
		t.Fatal(err)
	}
	// Each pod's rate over the scrape interval before the sync, in
	// milli-requests/s: 100/2 on the two first pods; the third serves 0
	// until Ready (in the metrics from its second scrape, 45.5 s, so from
	// the 60 s sync), then 100/3 on every pod from the interval after 60.5 s.
	two := map[string]int64{"pod-1": 50_000, "pod-2": 50_000}
	three := map[string]int64{"pod-1": 50_000, "pod-2": 50_000, "pod-3": 0}
	want := []map[string]int64{two, two, two, three, three,
		{"pod-1": 33_333, "pod-2": 33_333, "pod-3": 33_333}}
	var got []map[string]int64
	for _, o := range rec.seen {
		m := map[string]int64{}
		for pod, smp := range o.Metrics[0].PodValues {
			m[pod] = smp.Value
		}
		got = append(got, m)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("served rates per sync (-want +got):\n%s", diff)
	}
	// Under-provisioned while 2 pods (80/s) serve 100/s: until 60.5 s.
	// Pods: 2 on [0, 30.5), 3 on [30.5, 91) at 500m. Demand at one request
	// of 500m per 40/s: 100/40*0.5*91.
	wantT := Totals{CoreSeconds: 2*0.5*30.5 + 3*0.5*60.5, UnderProvisionedSeconds: 60.5, ScaleEvents: 1, ScaleUps: 1,
		DemandCoreSeconds: 113.75, MaxPods: 3, Syncs: 6, Seconds: 91}
	wantT.DemandOverRequested = wantT.DemandCoreSeconds / wantT.CoreSeconds
	wantT.AveragePods = (2*30.5 + 3*60.5) / 91
	if diff := cmp.Diff(wantT, res.Totals, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
}

// TestRateWorldHPA: the HPA rule on a rate world asks for 3 pods at the
// first sync (50/s per pod against 40) and holds them (33.3/s: within the
// tolerance of 3 pods' proposal, ceil(3*0.83) = 3).
func TestRateWorldHPA(t *testing.T) {
	w := DefaultWorld()
	w.Spec, w.Trace, w.Duration = rpsSpec(2, 10, 40_000), []Point{{0, 100}}, 121*time.Second
	w.Rate = &Rate{Metric: "rps", Capacity: 40}
	res, err := Run(w)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		T       float64
		Desired int32
		Value   int64
	}
	var got []row
	for _, r := range res.Syncs {
		got = append(got, row{r.T.Seconds(), r.Desired, r.Value})
	}
	want := []row{{15, 3, 50_000}, {30, 3, 50_000}, {45, 3, 33_333}, {60, 3, 33_333},
		{75, 3, 33_333}, {90, 3, 33_333}, {105, 3, 33_333}, {120, 3, 33_333}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("syncs (-want +got):\n%s", diff)
	}
	if res.Totals.ScaleEvents != 1 || res.Totals.UnderProvisionedSeconds != 45.5 {
		t.Errorf("scale events %d, under-provisioned %vs; want 1 and 45.5 (Ready at 45.5 s)", res.Totals.ScaleEvents, res.Totals.UnderProvisionedSeconds)
	}
}

func TestRateWorldValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *World)
		want   string
	}{
		{"cpu metric in a rate world", func(w *World) { w.Spec = cpuSpec(1, 5, 50) }, `a request-rate world serves only the Pods metric "rps"`},
		{"other pods metric", func(w *World) { w.Spec.Metrics[0].Name = "qps" }, `spec metric 0 (Pods/qps)`},
		{"no capacity", func(w *World) { w.Rate.Capacity = 0 }, "rate capacity: 0 must be"},
		{"no metric name", func(w *World) { w.Rate.Metric = "" }, "rate metric: the name of the Pods metric is empty"},
		{"rate metric in a cpu world", func(w *World) { w.Rate = nil }, "serves only cpu Resource metrics"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := DefaultWorld()
			w.Spec, w.Trace, w.Rate = rpsSpec(1, 5, 10_000), []Point{{0, 1}}, &Rate{Metric: "rps", Capacity: 20}
			tc.change(&w)
			if _, err := Run(w); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
