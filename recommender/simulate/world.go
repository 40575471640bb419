package simulate

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// Epoch returns the absolute time of t = 0 in a trace run: the recommender
// sees Epoch() + t as Observation.Now.
func Epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

const (
	tick          = time.Second
	tickOffset    = 500 * time.Millisecond // ticks happen at k + 0.5 s
	containerName = ContainerName
	initialAge    = time.Hour // initial pods were created and Ready 1h before t = 0
	// Bounds that keep a run finite and its arithmetic exact.
	maxRunLength = 30 * 24 * time.Hour
	maxPods      = 10000
	maxDemand    = 1e6 // cores
)

// ContainerName is the name of the world's pods' only container (the one a
// ContainerResource metric may name).
const ContainerName = "app"

// Point is one trace row: from T on (until the next row) the demand is
// Demand cores.
type Point struct {
	T      time.Duration
	Demand float64
}

// World are the parameters of a closed-loop run (simulation-model.md).
type World struct {
	Spec       horizontal.Spec
	Options    horizontal.Options
	Trace      []Point
	Request    int64         // pod CPU request in millicores
	Startup    time.Duration // creation -> Ready
	Pending    time.Duration // creation -> Running
	Resolution time.Duration // metric scrape interval
	Phase      time.Duration // first scrape at 0.5 s + Phase
	SyncPeriod time.Duration
	// Duration of the run; 0 means the last row's time + 1 s.
	Duration time.Duration
	// Repeat plays the trace this many times back to back (0 and 1: once).
	// Each play lasts Duration (or the last row's time + 1 s); the world,
	// the history and the Decider's own state carry over from one play to
	// the next.
	Repeat int
	// Decider replaces the decision rule; nil decides as the HPA does
	// (horizontal.Decide with Spec and Options).
	Decider Decider
	// Rate, when set, makes the trace a request rate served as a Pods
	// metric instead of CPU usage.
	Rate *Rate
}

// Rate describes a request-rate world: the trace's demand column is a rate
// (requests per second, or any unit per second) that the Ready pods share
// evenly, and the metrics serve each pod's rate, averaged over the scrape
// interval like CPU usage, as the Pods metric Metric (in milli-units,
// rounded to the nearest, as the loop reads Prometheus values). A pod that
// is not Ready serves 0. Capacity is the rate one pod can serve: demand
// above Ready pods x Capacity is under-provisioned, and the demand's
// core-seconds are counted at one request (of CPU) per Capacity.
type Rate struct {
	Metric   string
	Capacity float64
}

// Decider decides one sync of the autoscaler in the world. It is called at
// the sync times only, in time order, with what the autoscaler reads then
// (o: the pods and their metric samples, o.Now = Epoch() + the sync time;
// nothing of the future) and the target's history h, which the world
// updates with h.RecordScale after every change. The world keeps o's
// slices and maps for the next syncs: do not modify them, copy what you keep. A Decider may keep
// state of its own across calls (and across the plays of a repeated trace).
// It decides for the world's Spec; its Replicas must be in [0, 10000].
type Decider interface {
	Decide(o horizontal.Observation, h *horizontal.History) horizontal.Decision
}

// DeciderFunc adapts a function to Decider.
type DeciderFunc func(o horizontal.Observation, h *horizontal.History) horizontal.Decision

// Decide calls f.
func (f DeciderFunc) Decide(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
	return f(o, h)
}

// HPA returns the upstream decision rule for spec and opt: the Decider a
// World with a nil Decider uses.
func HPA(spec horizontal.Spec, opt horizontal.Options) Decider {
	return DeciderFunc(func(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
		return horizontal.Decide(o, spec, opt, h)
	})
}

// DefaultWorld returns the documented defaults: request 500m, startup 30s,
// pending 0, resolution 15s, phase 0, sync period 15s, upstream options.
func DefaultWorld() World {
	return World{
		Options: horizontal.DefaultOptions(), Request: 500, Startup: 30 * time.Second,
		Resolution: 15 * time.Second, SyncPeriod: 15 * time.Second,
	}
}

// Validate reports every parameter the world model cannot run with.
func (w World) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(w.Trace) == 0 {
		bad("trace: no rows")
	}
	for i, p := range w.Trace {
		if i > 0 && p.T <= w.Trace[i-1].T {
			bad("trace row %d: t_seconds %v not after the previous row's %v", i+1, p.T.Seconds(), w.Trace[i-1].T.Seconds())
		}
		if !(p.Demand >= 0 && p.Demand <= maxDemand) {
			bad("trace row %d: demand_cores %v must be a number in [0, %g]", i+1, p.Demand, maxDemand)
		}
	}
	if w.Request <= 0 {
		bad("request: %dm must be positive", w.Request)
	}
	if w.Startup < 0 || w.Pending < 0 || w.Pending > w.Startup {
		bad("startup %v / pending %v: need 0 <= pending <= startup", w.Startup, w.Pending)
	}
	for name, d := range map[string]time.Duration{"resolution": w.Resolution, "sync-period": w.SyncPeriod} {
		if d < time.Second || d%time.Second != 0 {
			bad("%s: %v must be a whole number of seconds >= 1s", name, d)
		}
	}
	if w.Phase < 0 || w.Phase%time.Second != 0 || w.Phase >= w.Resolution {
		bad("scrape phase: %v must be a whole number of seconds in [0, resolution)", w.Phase)
	}
	if w.Duration < 0 || w.Duration > maxRunLength {
		bad("duration: %v must be in [0, %v]", w.Duration, maxRunLength)
	}
	if n := len(w.Trace); n > 0 && w.Duration == 0 && w.Trace[n-1].T >= maxRunLength {
		bad("trace: last row at %vs: a run may last at most %v", w.Trace[n-1].T.Seconds(), maxRunLength)
	}
	if w.Repeat < 0 {
		bad("repeat: %d must be >= 0", w.Repeat)
	} else if play := w.playLength(); w.Repeat > 1 && play > 0 && play <= maxRunLength && int64(w.Repeat) > int64(maxRunLength/play) {
		bad("repeat: %d plays of %v exceed the longest run, %v", w.Repeat, play, maxRunLength)
	}
	if w.Spec.MaxReplicas > maxPods || w.Spec.MinReplicas < 1 {
		bad("spec: replicas %d..%d: the trace world runs 1..%d pods", w.Spec.MinReplicas, w.Spec.MaxReplicas, maxPods)
	}
	switch r := w.Rate; {
	case r == nil:
		for i, m := range w.Spec.Metrics {
			if !cpuMetric(m) {
				bad("spec metric %d (%s): the trace world serves only cpu Resource metrics and cpu ContainerResource metrics of container %q", i, m, containerName)
			}
		}
	default:
		if r.Metric == "" {
			bad("rate metric: the name of the Pods metric is empty")
		}
		if !(r.Capacity > 0 && r.Capacity <= maxDemand) {
			bad("rate capacity: %v must be a number in (0, %g]", r.Capacity, maxDemand)
		}
		for i, m := range w.Spec.Metrics {
			if m.Type != horizontal.PodsMetric || m.Name != r.Metric {
				bad("spec metric %d (%s): a request-rate world serves only the Pods metric %q", i, m, r.Metric)
			}
		}
	}
	return errors.Join(errs...)
}

func cpuMetric(m horizontal.MetricSpec) bool {
	return m.Name == "cpu" && (m.Type == horizontal.ResourceMetric ||
		m.Type == horizontal.ContainerResourceMetric && m.Container == containerName)
}

// SyncRow is the state at one sync of the autoscaler.
type SyncRow struct {
	T time.Duration
	// Current is spec.replicas before the sync, Desired after it.
	Current, Desired int32
	// Pods and Ready are the pods that exist and the Ready ones at the sync.
	Pods, Ready int
	// Utilization is the utilization the first metric observed, in percent;
	// nil when it observed none. Value is the value it observed (the per-pod
	// average or the total, in milli-units); 0 when it failed.
	Utilization *int32
	Value       int64
	Reason      string
}

// Totals summarize a run (simulation-model.md, Totals).
type Totals struct {
	CoreSeconds             float64 `json:"coreSeconds"`
	UnderProvisionedSeconds float64 `json:"underProvisionedSeconds"`
	ScaleEvents             int     `json:"scaleEvents"`
	ScaleUps                int     `json:"scaleUps"`
	ScaleDowns              int     `json:"scaleDowns"`
	DemandCoreSeconds       float64 `json:"demandCoreSeconds"`
	// DemandOverRequested is DemandCoreSeconds / CoreSeconds.
	DemandOverRequested float64 `json:"demandOverRequested"`
	AveragePods         float64 `json:"averagePods"`
	MaxPods             int     `json:"maxPods"`
	Syncs               int     `json:"syncs"`
	Seconds             float64 `json:"seconds"`
}

// Result is the outcome of a run.
type Result struct {
	Syncs  []SyncRow
	Totals Totals
}

// playLength is how long one play of the trace lasts: Duration, or the last
// row's time + 1 s.
func (w World) playLength() time.Duration {
	if w.Duration > 0 || len(w.Trace) == 0 {
		return w.Duration
	}
	return w.Trace[len(w.Trace)-1].T + time.Second
}

// repeated returns w with its trace played Repeat times back to back: one
// trace of Repeat plays, each cut at the play length and starting with the
// first row's demand, and a Duration covering them all. w must be valid.
func (w World) repeated() World {
	if w.Repeat <= 1 {
		return w
	}
	play := w.playLength()
	one := make([]Point, 0, len(w.Trace)+1)
	if w.Trace[0].T > 0 {
		one = append(one, Point{T: 0, Demand: w.Trace[0].Demand})
	}
	for _, p := range w.Trace {
		if p.T < play {
			one = append(one, p)
		}
	}
	tr := make([]Point, 0, w.Repeat*len(one))
	for k := range w.Repeat {
		off := time.Duration(k) * play
		for _, p := range one {
			tr = append(tr, Point{T: off + p.T, Demand: p.Demand})
		}
	}
	w.Trace, w.Duration, w.Repeat = tr, time.Duration(w.Repeat)*play, 1
	return w
}
