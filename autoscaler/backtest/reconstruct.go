package backtest

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// Grid is the time grid of a backtest: N slots of Step from Start; slot k
// covers [Start + k*Step, Start + (k+1)*Step). Range queries are evaluated
// at the slot ends, Start + Step ... Start + N*Step, so that a rate over
// the last Step describes the slot it closes.
type Grid struct {
	Start time.Time
	Step  time.Duration
	N     int
}

// NewGrid covers [end - since, end] with slots of step: end - since is
// rounded down to a multiple of step (the first slot starts there).
func NewGrid(end time.Time, since, step time.Duration) (Grid, error) {
	switch {
	case step <= 0:
		return Grid{}, fmt.Errorf("step %v: must be positive", step)
	case since < step:
		return Grid{}, fmt.Errorf("since %v: must be at least one step (%v)", since, step)
	}
	n := int(since / step)
	return Grid{Start: end.Add(-time.Duration(n) * step), Step: step, N: n}, nil
}

// End is the end of the last slot.
func (g Grid) End() time.Time { return g.Start.Add(time.Duration(g.N) * g.Step) }

// QueryRange is the range query's [start, end] and step: the slot ends.
func (g Grid) QueryRange() (time.Time, time.Time, time.Duration) {
	return g.Start.Add(g.Step), g.End(), g.Step
}

// slot is the slot a point at t closes, or false when t is not a slot end
// of the grid.
func (g Grid) slot(t time.Time) (int, bool) {
	d := t.Sub(g.Start)
	if d <= 0 || d%g.Step != 0 {
		return 0, false
	}
	k := int(d/g.Step) - 1
	return k, k < g.N
}

// Slots holds one value per slot of a grid; NaN where nothing was known.
type Slots []float64

func newSlots(n int) Slots {
	s := make(Slots, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}

// known counts the slots with a value.
func (s Slots) known() int {
	n := 0
	for _, v := range s {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}

// perSeries is each series' samples on the grid, keyed by the series' pod
// label (series of one pod are summed, e.g. its containers).
func perPod(series []metricsource.Series, g Grid) map[string]Slots {
	out := map[string]Slots{}
	for _, s := range series {
		pod := s.Labels["pod"]
		slots, ok := out[pod]
		if !ok {
			slots = newSlots(g.N)
			out[pod] = slots
		}
		for _, p := range s.Samples {
			k, ok := g.slot(p.Time)
			if !ok {
				continue
			}
			if math.IsNaN(slots[k]) {
				slots[k] = 0
			}
			slots[k] += p.Value
		}
	}
	return out
}

// byLabel is each series' samples on the grid, keyed by one label's value
// (series with the same value are summed).
func byLabel(series []metricsource.Series, g Grid, label string) map[string]Slots {
	renamed := make([]metricsource.Series, len(series))
	for i, s := range series {
		renamed[i] = metricsource.Series{Labels: map[string]string{"pod": s.Labels[label]}, Samples: s.Samples}
	}
	return perPod(renamed, g)
}

// total is, per slot, the sum over the pods with a sample and how many
// pods had one (NaN and 0 where none had).
func total(pods map[string]Slots, n int) (Slots, []int) {
	sum, count := newSlots(n), make([]int, n)
	for _, slots := range pods {
		for k, v := range slots {
			if math.IsNaN(v) {
				continue
			}
			if math.IsNaN(sum[k]) {
				sum[k] = 0
			}
			sum[k] += v
			count[k]++
		}
	}
	return sum, count
}

// errNoHistory: a series set had no sample on the grid.
var errNoHistory = errors.New("no sample in the window")

// fill returns s with every unknown slot given the last known value before
// it (the first known value before the first one), and how many slots it
// filled. Missing history is not zero: a gap keeps the last demand seen.
func fill(s Slots) (Slots, int, error) {
	first := -1
	for k, v := range s {
		if !math.IsNaN(v) {
			first = k
			break
		}
	}
	if first < 0 {
		return nil, 0, errNoHistory
	}
	out := make(Slots, len(s))
	last, filled := s[first], 0
	for k, v := range s {
		if math.IsNaN(v) {
			out[k] = last
			filled++
			continue
		}
		out[k], last = v, v
	}
	return out, filled, nil
}

// trace turns per-slot demand into a world trace: a row per change.
func trace(demand Slots, step time.Duration) []simulate.Point {
	var out []simulate.Point
	for k, v := range demand {
		if k > 0 && v == demand[k-1] {
			continue
		}
		out = append(out, simulate.Point{T: time.Duration(k) * step, Demand: v})
	}
	return out
}

// Actual is what happened in the window, reconstructed from history.
type Actual struct {
	// CoreSeconds is ∫ pods x request; DemandCoreSeconds ∫ demand (in a
	// request-rate target, at one request per pod capacity).
	CoreSeconds       float64 `json:"coreSeconds"`
	DemandCoreSeconds float64 `json:"demandCoreSeconds"`
	// UnderProvisionedSeconds is the time with demand above Ready pods x
	// capacity (the request in cores, or the rate capacity).
	UnderProvisionedSeconds float64 `json:"underProvisionedSeconds"`
	// ScaleEvents are changes of the desired replicas (or of the pod count
	// when kube-state-metrics has no desired replicas), ScaleUps+ScaleDowns.
	ScaleEvents int     `json:"scaleEvents"`
	ScaleUps    int     `json:"scaleUps"`
	ScaleDowns  int     `json:"scaleDowns"`
	MaxReplicas int     `json:"maxReplicas"`
	AveragePods float64 `json:"averagePods"`
	// Sources name where pods, Ready pods, desired replicas and requests
	// came from ("kube-state-metrics", "pod series", "template").
	PodsFrom     string `json:"podsFrom"`
	ReadyFrom    string `json:"readyFrom"`
	ReplicasFrom string `json:"replicasFrom"`
	RequestFrom  string `json:"requestFrom"`
}

// actualInput is what the reconstruction of the actual run needs, per
// slot: demand (filled), pods and Ready pods, desired replicas (NaN where
// unknown), the pod request in cores, the demand one pod can serve.
type actualInput struct {
	demand, pods, ready, desired, request Slots
	capacity                              Slots
	step                                  time.Duration
}

// actual integrates the input over the grid. Unknown pods count as none;
// an unknown request as the template's (the caller fills it).
func actual(in actualInput) Actual {
	var a Actual
	secs := in.step.Seconds()
	var podSecs float64
	prev := math.NaN()
	for k, d := range in.demand {
		pods := zeroIfNaN(in.pods[k])
		ready := zeroIfNaN(in.ready[k])
		a.CoreSeconds += pods * in.request[k] * secs
		a.DemandCoreSeconds += d / in.capacity[k] * in.request[k] * secs
		podSecs += pods * secs
		if d > ready*in.capacity[k] {
			a.UnderProvisionedSeconds += secs
		}
		a.MaxReplicas = max(a.MaxReplicas, int(pods))
		if r := in.desired[k]; !math.IsNaN(r) {
			if !math.IsNaN(prev) && r != prev {
				a.ScaleEvents++
				if r > prev {
					a.ScaleUps++
				} else {
					a.ScaleDowns++
				}
			}
			prev = r
		}
	}
	if n := len(in.demand); n > 0 {
		a.AveragePods = podSecs / (float64(n) * secs)
	}
	return a
}

func zeroIfNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// orElse is a with its unknown slots taken from b.
func orElse(a, b Slots) Slots {
	out := make(Slots, len(a))
	for k := range a {
		out[k] = a[k]
		if math.IsNaN(out[k]) {
			out[k] = b[k]
		}
	}
	return out
}

// constant is n slots of v.
func constant(n int, v float64) Slots {
	s := make(Slots, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// counts turns pod counts into slots (0 where no pod had a sample).
func counts(c []int) Slots {
	s := make(Slots, len(c))
	for i, v := range c {
		s[i] = float64(v)
	}
	return s
}
