// Package sweep answers "what does a forecast buy on this load?": it runs
// the upstream HPA rule at a range of utilization targets and the proactive
// rule (package proactive) over a grid of its parameters, each on the same
// closed-loop trace world (package simulate), and returns both sets of
// totals (core-seconds, under-provisioned seconds, scale events) with their
// cost/under-provisioning frontiers.
//
// The proactive rule sees what the loop would see, when it would see it:
// the world calls it at the sync times only, with the pods' metric samples
// of that moment, and the forecaster is fed from those samples alone.
//
// It is pure: it imports only the standard library and ebb's recommender
// packages, and never reads the clock.
package sweep

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// Grid is what a sweep varies. Every target is run with the HPA rule and,
// for every combination of the proactive parameters, with the proactive rule
// in mode on.
type Grid struct {
	// Targets are utilization targets in percent, applied to every
	// Utilization metric of the world's spec.
	Targets []int32
	// The proactive parameters; a zero Horizon is proactive.DefaultHorizon
	// of the world.
	Margins    []float64
	Horizons   []time.Duration
	MinHistory []time.Duration
	MaxError   []float64
}

// DefaultGrid: targets 40..95 % in steps of 5, margins 0, 0.05, 0.1, 0.15,
// 0.2, and the default horizon, minimum history and maximum error of
// proactive.DefaultConfig.
func DefaultGrid() Grid {
	var ts []int32
	for t := int32(40); t <= 95; t += 5 {
		ts = append(ts, t)
	}
	d := proactive.DefaultConfig()
	return Grid{
		Targets: ts, Margins: []float64{0, 0.05, 0.1, 0.15, 0.2},
		Horizons: []time.Duration{d.Horizon}, MinHistory: []time.Duration{d.MinHistory}, MaxError: []float64{d.MaxError},
	}
}

// Validate reports every invalid value of the grid.
func (g Grid) Validate() error {
	var errs []error
	if len(g.Targets) == 0 {
		errs = append(errs, errors.New("sweep: no utilization target"))
	}
	for _, t := range g.Targets {
		if t < 1 || t > 1000 {
			errs = append(errs, fmt.Errorf("sweep target %d%% must be within [1, 1000]", t))
		}
	}
	for _, c := range g.configs() {
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("sweep: %w", err))
		}
	}
	return errors.Join(errs...)
}

// configs are the proactive configurations of the grid, in order.
func (g Grid) configs() []proactive.Config {
	var out []proactive.Config
	for _, m := range g.Margins {
		for _, h := range g.Horizons {
			for _, mh := range g.MinHistory {
				for _, e := range g.MaxError {
					out = append(out, proactive.Config{Mode: proactive.ModeOn, Margin: m, Horizon: h, MinHistory: mh, MaxError: e})
				}
			}
		}
	}
	return out
}

// Rule names.
const (
	RuleHPA       = "hpa"
	RuleProactive = "proactive"
)

// Point is one run of the sweep.
type Point struct {
	Rule   string `json:"rule"`
	Target int32  `json:"target"`
	// Config is the proactive configuration (zero for the HPA rule).
	Config proactive.Config `json:"config"`
	Totals simulate.Totals  `json:"totals"`
	// Floored counts the syncs at which the forecast raised the decision
	// above the reactive one; GateOpen the syncs with the gate open.
	Floored  int `json:"floored"`
	GateOpen int `json:"gateOpen"`
}

// Result holds every run, the HPA's first, each set in grid order.
// Durations are nanoseconds in JSON.
type Result struct {
	HPA       []Point `json:"hpa"`
	Proactive []Point `json:"proactive"`
	// Horizon is the horizon a zero Config.Horizon stood for.
	Horizon time.Duration `json:"horizon"`
}

// Run sweeps g over the world w (its Decider is ignored) with forecast
// options fo, on up to workers goroutines. Every run gets its own
// forecaster: no state is shared between runs.
func Run(w simulate.World, g Grid, fo forecast.Options, workers int) (Result, error) {
	if err := errors.Join(g.Validate(), fo.Validate(), w.Validate()); err != nil {
		return Result{}, err
	}
	if !slices.ContainsFunc(w.Spec.Metrics, func(m horizontal.MetricSpec) bool { return m.Target.Type == horizontal.UtilizationTarget }) {
		return Result{}, errors.New("sweep: the spec has no Utilization metric, and the sweep varies utilization targets")
	}
	res := Result{Horizon: proactive.DefaultHorizon(w.Startup, w.SyncPeriod, w.Spec.Behavior)}
	for _, t := range g.Targets {
		res.HPA = append(res.HPA, Point{Rule: RuleHPA, Target: t})
		for _, c := range g.configs() {
			res.Proactive = append(res.Proactive, Point{Rule: RuleProactive, Target: t, Config: c})
		}
	}
	jobs := make([]*Point, 0, len(res.HPA)+len(res.Proactive))
	for i := range res.HPA {
		jobs = append(jobs, &res.HPA[i])
	}
	for i := range res.Proactive {
		jobs = append(jobs, &res.Proactive[i])
	}
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for i := range next {
				errs[i] = runPoint(w, jobs[i], fo, res.Horizon)
			}
		})
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return res, errors.Join(errs...)
}

// runPoint runs one point of the sweep, filling its totals.
func runPoint(w simulate.World, p *Point, fo forecast.Options, horizon time.Duration) error {
	w.Spec = withTarget(w.Spec, p.Target)
	w.Decider = nil
	if p.Rule == RuleProactive {
		tg, err := proactive.NewTarget(fo)
		if err != nil {
			return err
		}
		spec, opt, c := w.Spec, w.Options, p.Config
		w.Decider = simulate.DeciderFunc(func(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
			d := tg.Decide(o, spec, opt, h, c, horizon)
			if d.GateOpen {
				p.GateOpen++
			}
			if d.Replicas > d.Reactive {
				p.Floored++
			}
			return d.Decision
		})
	}
	r, err := simulate.Run(w)
	if err != nil {
		return fmt.Errorf("%s at %d%%: %w", p.Rule, p.Target, err)
	}
	p.Totals = r.Totals
	return nil
}

// withTarget returns s with every Utilization target set to pct.
func withTarget(s horizontal.Spec, pct int32) horizontal.Spec {
	s.Metrics = slices.Clone(s.Metrics)
	for i := range s.Metrics {
		if s.Metrics[i].Target.Type == horizontal.UtilizationTarget {
			s.Metrics[i].Target.Utilization = pct
		}
	}
	return s
}
