package backtest

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func TestNewGrid(t *testing.T) {
	g, err := NewGrid(t0.Add(10*time.Minute+30*time.Second), 5*time.Minute+20*time.Second, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	start, end, step := g.QueryRange()
	if g.N != 5 || !g.Start.Equal(t0.Add(5*time.Minute+30*time.Second)) || !start.Equal(g.Start.Add(time.Minute)) ||
		!end.Equal(t0.Add(10*time.Minute+30*time.Second)) || step != time.Minute {
		t.Errorf("grid %+v, query range %v..%v step %v", g, start, end, step)
	}
	for _, tc := range []struct {
		since, step time.Duration
		want        string
	}{{time.Hour, 0, "step 0s: must be positive"}, {time.Second, time.Minute, "since 1s: must be at least one step"}} {
		if _, err := NewGrid(t0, tc.since, tc.step); err == nil || err.Error()[:len(tc.want)] != tc.want {
			t.Errorf("NewGrid(%v, %v) error %v, want %q", tc.since, tc.step, err, tc.want)
		}
	}
}

func series(labels map[string]string, g Grid, vals ...float64) metricsource.Series {
	s := metricsource.Series{Labels: labels}
	for k, v := range vals {
		if !math.IsNaN(v) {
			s.Samples = append(s.Samples, metricsource.Sample{Time: g.Start.Add(time.Duration(k+1) * g.Step), Value: v})
		}
	}
	return s
}

var nan = math.NaN()

// TestPerPodAndTotal: points at slot ends land in their slot (others are
// ignored), a pod's containers are summed, the total counts the pods with
// a sample.
func TestPerPodAndTotal(t *testing.T) {
	g := Grid{Start: t0, Step: time.Minute, N: 4}
	a1 := series(map[string]string{"pod": "a", "container": "app"}, g, 1, 2, nan, 4)
	a2 := series(map[string]string{"pod": "a", "container": "side"}, g, 0.5, nan, nan, nan)
	b := series(map[string]string{"pod": "b", "container": "app"}, g, nan, 3, nan, 1)
	b.Samples = append(b.Samples, metricsource.Sample{Time: t0.Add(90 * time.Second), Value: 100}, metricsource.Sample{Time: t0.Add(time.Hour), Value: 100})
	pods := perPod([]metricsource.Series{a1, a2, b}, g)
	sum, count := total(pods, g.N)
	if diff := cmp.Diff(Slots{1.5, 5, nan, 5}, sum, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("sum (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2, 0, 2}, count); diff != "" {
		t.Errorf("count (-want +got):\n%s", diff)
	}
	byC := containerSeries([]metricsource.Series{a1, a2, b}, g)
	if diff := cmp.Diff(Slots{0.5, nan, nan, nan}, byC["side"]["a"], cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("container side of pod a (-want +got):\n%s", diff)
	}
}

func TestFillAndTrace(t *testing.T) {
	got, filled, err := fill(Slots{nan, 2, 2, nan, nan, 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Slots{2, 2, 2, 2, 2, 3}, got); diff != "" || filled != 3 {
		t.Errorf("fill (-want +got):\n%s; filled %d, want 3", diff, filled)
	}
	if _, _, err := fill(Slots{nan, nan}); !errors.Is(err, errNoHistory) {
		t.Errorf("fill of nothing: %v, want errNoHistory", err)
	}
	want := []simulate.Point{{T: 0, Demand: 2}, {T: 5 * time.Minute, Demand: 3}}
	if diff := cmp.Diff(want, trace(got, time.Minute)); diff != "" {
		t.Errorf("trace (-want +got):\n%s", diff)
	}
}

// TestActual: by hand, one-minute slots at 500m pods.
func TestActual(t *testing.T) {
	in := actualInput{
		demand:   Slots{1, 1, 2.5, 2.5, 1},
		pods:     Slots{2, 2, 3, 6, 6},
		ready:    Slots{2, 2, 2, 5, 6},
		desired:  Slots{2, 3, 6, 6, 4},
		request:  constant(5, 0.5),
		capacity: constant(5, 0.5),
		step:     time.Minute,
	}
	got := actual(in)
	want := Actual{
		CoreSeconds:       (2 + 2 + 3 + 6 + 6) * 0.5 * 60,
		DemandCoreSeconds: (1 + 1 + 2.5 + 2.5 + 1) * 60,
		// demand > Ready x 0.5: slot 2 (2.5 > 1) only; slot 3 (2.5 = 2.5) is not.
		UnderProvisionedSeconds: 60,
		ScaleEvents:             3, ScaleUps: 2, ScaleDowns: 1,
		MaxReplicas: 6, AveragePods: 19.0 / 5,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("actual (-want +got):\n%s", diff)
	}
}

func TestByLabelAndOrElse(t *testing.T) {
	g := Grid{Start: t0, Step: time.Minute, N: 3}
	s := []metricsource.Series{
		series(map[string]string{"deployment": "web"}, g, 2, nan, 4),
		series(map[string]string{"deployment": "api"}, g, 7, 7, 7),
	}
	web := byLabel(s, g, "deployment")["web"]
	if diff := cmp.Diff(Slots{2, 9, 4}, orElse(web, Slots{1, 9, 1})); diff != "" {
		t.Errorf("orElse (-want +got):\n%s", diff)
	}
}
