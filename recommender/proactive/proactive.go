// Package proactive adds a demand forecast to the reactive horizontal
// decision of package horizontal, the way AWS predictive scaling, Alibaba's
// AHPA and Crane's EHPA do, with a gate none of them has: the desired size
// is the larger of the upstream reactive decision and the replicas the
// forecast demand (plus a margin) needs at the target's own target values
// (at the pods' capacity for a utilization target within the tolerance of
// 100 %);
// the forecast never lowers the count (scale-down stays reactive, with its
// stabilization window, see horizontal.DecideWithFloor), and it is ignored
// while the target's history is shorter than MinHistory or the forecast's
// recent error exceeds MaxError. The behavior's scale-up policies still
// apply to a forecast-driven scale-up.
//
// It is pure: it imports only the standard library and ebb's own recommender
// packages, and never reads the clock.
package proactive

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// Mode is what the forecast may do for a target.
type Mode string

// Modes.
const (
	// ModeOff: no forecast is computed.
	ModeOff Mode = "off"
	// ModeForecastOnly: the forecast is computed, scored and shown, the
	// decision stays reactive.
	ModeForecastOnly Mode = "forecast-only"
	// ModeOn: the forecast raises the decision while its gate is open.
	ModeOn Mode = "on"
)

// Config is a target's `horizontal.proactive` section.
type Config struct {
	Mode Mode `json:"mode"`
	// Horizon is how far ahead the forecast looks; 0 means DefaultHorizon
	// of the world the target lives in.
	Horizon time.Duration `json:"horizon"`
	// Margin is added to the forecast demand as a fraction (0.1: +10 %).
	Margin float64 `json:"margin"`
	// MinHistory is the history a forecast needs before it may act.
	MinHistory time.Duration `json:"minHistory"`
	// MaxError is the highest recent forecast error (forecast.Accuracy) at
	// which the forecast may act.
	MaxError float64 `json:"maxError"`
}

// DefaultConfig: mode off, horizon from the world (DefaultHorizon), no
// margin, one hour of history, a recent error of at most 0.5.
func DefaultConfig() Config {
	return Config{Mode: ModeOff, MinHistory: time.Hour, MaxError: 0.5}
}

// Validate reports every invalid field, naming it and its value.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case ModeOff, ModeForecastOnly, ModeOn:
	default:
		errs = append(errs, fmt.Errorf("proactive.mode %q must be off, forecast-only or on", c.Mode))
	}
	if c.Horizon < 0 || c.Horizon > maxHorizon {
		errs = append(errs, fmt.Errorf("proactive.horizon %v must be within [0, %v]", c.Horizon, maxHorizon))
	}
	if !(c.Margin >= 0 && c.Margin <= 10) {
		errs = append(errs, fmt.Errorf("proactive.margin %v must be a number within [0, 10]", c.Margin))
	}
	if c.MinHistory < 0 {
		errs = append(errs, fmt.Errorf("proactive.minHistory %v must be >= 0", c.MinHistory))
	}
	if !(c.MaxError >= 0) {
		errs = append(errs, fmt.Errorf("proactive.maxError %v must be a number >= 0", c.MaxError))
	}
	return errors.Join(errs...)
}

// maxHorizon is the longest horizon: the forecast keeps 30 minutes of raw
// samples to score its predictions (forecast.DefaultOptions).
const maxHorizon = 15 * time.Minute

// DefaultHorizon is how far past a decision its forecast must look: pods
// asked for now serve after the pod startup, those the next decision asks
// for one sync period later, and a scale-up larger than one policy step
// needs the shortest scale-up policy period more (without a behavior the
// legacy limit acts per sync, so one more sync period). The metric delay is
// not part of it: the forecast extrapolates from the time its newest sample
// describes (a per-pod sample is stamped at the middle of its window, see
// demand) to now + horizon, so it bridges that delay itself.
func DefaultHorizon(startup, sync time.Duration, b *horizontal.Behavior) time.Duration {
	step := sync
	if b != nil && len(b.ScaleUp.Policies) > 0 {
		step = b.ScaleUp.Policies[0].Period
		for _, p := range b.ScaleUp.Policies[1:] {
			step = min(step, p.Period)
		}
	}
	return startup + sync + step
}

// Gate reasons: the ForecastActive condition's reason.
const (
	ReasonForecastActive  = "ForecastActive"       // the forecast may raise the decision
	ReasonForecastOnly    = "ForecastOnly"         // mode forecast-only
	ReasonHistoryTooShort = "HistoryTooShort"      // history below minHistory
	ReasonErrorTooHigh    = "ForecastErrorTooHigh" // recent error above maxError
	ReasonNoForecast      = "NoForecast"           // no demand sample to forecast from
	ReasonOff             = "Off"                  // mode off
)

// MetricForecast is the forecast of one metric of the target.
type MetricForecast struct {
	Metric   string
	Forecast forecast.Forecast
	// Replicas is the floor the forecast demand plus the margin asks for
	// at the metric's target, by the HPA's rule (see replicasFor): above
	// the current size for a scale-up ahead of the metrics, at most the
	// current size within the tolerance band, 0 for no opinion (the
	// forecast is below the tolerance band, or it cannot say).
	Replicas int32
	// Needed is the replicas the forecast demand plus the margin needs at
	// the metric's target (at the capacity for a utilization target within
	// the tolerance of 100 %, see planFor), whatever the current size (0
	// when it cannot say): what dashboards plot against the desired
	// replicas.
	Needed int32
	// Open is whether this metric's forecast passed the gate (history and
	// error); only then does Replicas count.
	Open   bool
	Reason string
}

// Decision is a horizontal decision with the forecast beside it.
type Decision struct {
	horizontal.Decision
	// Reactive is the replicas the reactive rule alone decided on the same
	// input and history; Replicas is never below it.
	Reactive int32
	// Floor is the replicas the forecast asked for (the largest over the
	// metrics whose gate is open), 0 when none; it acted only in mode on.
	Floor     int32
	Forecasts []MetricForecast
	// GateOpen and GateReason are the ForecastActive condition: open when
	// at least one metric's forecast may act (mode on) or would (mode
	// forecast-only reports ForecastOnly and GateOpen as if it were on).
	GateOpen   bool
	GateReason string
	// config is what the decision was made with (for GateMessage).
	config Config
}

// GateMessage explains GateReason (built on demand: a simulation asks for
// it never, the loop once per pass).
func (d Decision) GateMessage() string {
	if d.GateReason == ReasonOff {
		return "proactive mode is off"
	}
	return gateMessage(d.Forecasts, d.config, d.GateOpen)
}

// Target is the forecast state of one target: a demand model per metric.
// It is not safe for concurrent use.
type Target struct {
	opts   forecast.Options
	models []*forecast.Model
	// measured are the pods each per-pod metric had a sample for at the
	// last observation (see demand).
	measured []map[string]bool
	spare    map[string]bool
}

// NewTarget returns a target with no history; o must pass Validate.
func NewTarget(o forecast.Options) (*Target, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("forecast options: %w", err)
	}
	return &Target{opts: o}, nil
}

// Models returns the demand model of each metric (nil before the first
// observation of that metric), in spec order.
func (t *Target) Models() []*forecast.Model { return t.models }

// model returns metric i's model, creating it.
func (t *Target) model(i int) *forecast.Model {
	for len(t.models) <= i {
		t.models = append(t.models, nil)
	}
	if t.models[i] == nil {
		t.models[i], _ = forecast.New(t.opts) // options validated by NewTarget
	}
	return t.models[i]
}

// Decide feeds the observation's demand to the models, forecasts, and
// decides: horizontal.Decide in modes off and forecast-only or while the
// gate is closed, horizontal.DecideWithFloor with the forecast's replicas
// otherwise. horizon is c.Horizon, or the caller's DefaultHorizon when that
// is 0. c must pass Validate.
func (t *Target) Decide(o horizontal.Observation, s horizontal.Spec, opt horizontal.Options, h *horizontal.History, c Config, horizon time.Duration) Decision {
	if c.Mode == ModeOff || c.Mode == "" {
		d := horizontal.Decide(o, s, opt, h)
		return Decision{Decision: d, Reactive: d.Replicas, GateReason: ReasonOff, config: c}
	}
	if c.Horizon > 0 {
		horizon = c.Horizon
	}
	out := Decision{config: c}
	var tol tolerances
	tol.down, tol.up = s.Tolerances(opt)
	for i, m := range s.Metrics {
		if i >= len(o.Metrics) {
			break
		}
		mf := t.forecastMetric(i, m, o, horizon, c, tol)
		if mf.Open {
			out.Floor = max(out.Floor, mf.Replicas)
		}
		out.Forecasts = append(out.Forecasts, mf)
	}
	out.GateOpen, out.GateReason = gate(out.Forecasts, c)
	if c.Mode == ModeOn && out.GateOpen && out.Floor > 0 {
		out.Decision, out.Reactive = horizontal.DecideWithFloor(o, s, opt, h, out.Floor)
		return out
	}
	out.Decision = horizontal.Decide(o, s, opt, h)
	out.Reactive = out.Decision.Replicas
	return out
}

// forecastMetric observes metric i's demand, forecasts it and applies the
// gate to it.
func (t *Target) forecastMetric(i int, m horizontal.MetricSpec, o horizontal.Observation, horizon time.Duration, c Config, tol tolerances) MetricForecast {
	mf := MetricForecast{Metric: m.String()}
	model := t.model(i)
	if smp, ok := t.demand(i, m, o.Metrics[i], o.Now); ok {
		if _, err := model.Observe(smp); err != nil {
			mf.Reason = ReasonNoForecast
			return mf
		}
	}
	mf.Forecast = model.Forecast(o.Now, horizon)
	switch {
	case !mf.Forecast.OK:
		mf.Reason = ReasonNoForecast
		return mf
	case mf.Forecast.History < c.MinHistory:
		mf.Reason = ReasonHistoryTooShort
	case mf.Forecast.Error > c.MaxError:
		mf.Reason = ReasonErrorTooHigh
	default:
		mf.Open, mf.Reason = true, ReasonForecastActive
	}
	d := mf.Forecast.Demand * (1 + c.Margin)
	mf.Replicas, mf.Needed = replicasFor(m, o, d, tol), neededFor(m, o, d, tol)
	return mf
}

// gate summarizes the metrics' gates as the ForecastActive condition's
// status and reason.
func gate(fs []MetricForecast, c Config) (bool, string) {
	if len(fs) == 0 {
		return false, ReasonNoForecast
	}
	for _, f := range fs {
		if f.Open {
			if c.Mode == ModeForecastOnly {
				return true, ReasonForecastOnly
			}
			return true, ReasonForecastActive
		}
	}
	switch r := fs[0].Reason; r {
	case ReasonHistoryTooShort, ReasonErrorTooHigh:
		return false, r
	}
	return false, ReasonNoForecast
}

// gateMessage is the condition's message for gate's result.
func gateMessage(fs []MetricForecast, c Config, open bool) string {
	if len(fs) == 0 {
		return "no metric to forecast"
	}
	if open {
		for _, f := range fs {
			if !f.Open {
				continue
			}
			floor := "within or below the tolerance band, no floor"
			if f.Replicas > 0 {
				floor = fmt.Sprintf("floor %d replicas", f.Replicas)
			}
			msg := fmt.Sprintf("%s forecast %.4g in %v (error %.2f <= %.2f, history %v): %s",
				f.Metric, f.Forecast.Demand/1000, f.Forecast.Horizon, f.Forecast.Error, c.MaxError, f.Forecast.History.Round(time.Second), floor)
			if c.Mode == ModeForecastOnly {
				return "mode forecast-only; " + msg
			}
			return msg
		}
	}
	f := fs[0]
	switch f.Reason {
	case ReasonHistoryTooShort:
		return fmt.Sprintf("%s history %v is below minHistory %v", f.Metric, f.Forecast.History.Round(time.Second), c.MinHistory)
	case ReasonErrorTooHigh:
		return fmt.Sprintf("%s forecast error %.2f is above maxError %.2f", f.Metric, f.Forecast.Error, c.MaxError)
	}
	return fmt.Sprintf("%s has no demand sample to forecast from", f.Metric)
}

// Checkpoint returns the state of every metric's model, in spec order (a
// zero forecast.Checkpoint for a metric not seen yet).
func (t *Target) Checkpoint() []forecast.Checkpoint {
	out := make([]forecast.Checkpoint, len(t.models))
	for i, m := range t.models {
		if m != nil {
			out[i] = m.Checkpoint()
		}
	}
	return out
}

// RestoreTarget returns a target whose metric models are restored from cs
// (spec order). A damaged checkpoint of one metric is an error naming the
// metric; the caller starts that target afresh.
func RestoreTarget(o forecast.Options, cs []forecast.Checkpoint) (*Target, error) {
	t, err := NewTarget(o)
	if err != nil {
		return nil, err
	}
	for i, c := range cs {
		m, err := forecast.Restore(o, c)
		if err != nil {
			return nil, fmt.Errorf("metric %d: %w", i, err)
		}
		t.models = append(t.models, m)
	}
	return t, nil
}

// Bootstrap adds past demand samples of metric i (oldest first, e.g. a
// Prometheus range query of the target's own query) to its model's long
// history; it returns how many were added and skipped as invalid.
func (t *Target) Bootstrap(i int, samples []forecast.Sample) (added, skipped int) {
	return t.model(i).ObserveHistory(samples)
}
