package autoscaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/autoscaler/vertical"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

// This file is the proactive mode in the loop (docs/proactive.md): each
// target whose horizontal.proactive mode is not off keeps a demand model
// per metric, fed with the pass's observation, bootstrapped once from
// Prometheus history, checkpointed every few minutes by the leader beside
// the horizontal state.

// RangeQuerier runs a PromQL range query; *metricsource.Prometheus
// satisfies it (it chunks long ranges).
type RangeQuerier interface {
	RangeQuery(ctx context.Context, promQL string, start, end time.Time, step time.Duration) ([]metricsource.Series, error)
}

// ForecastOptions are the proactive mode's settings in the loop.
type ForecastOptions struct {
	// Model are the forecaster's settings.
	Model forecast.Options
	// CheckpointPeriod: a target's forecast checkpoint is written at most
	// this often (it changes with every sample).
	CheckpointPeriod time.Duration
	// History, when set, bootstraps a target's demand from Prometheus the
	// first time its proactive mode is on: its own queries for
	// Pods/Object/External metrics, the pods' CPU usage for CPU metrics,
	// over HistoryWindow at HistoryStep. A failure is retried after
	// RetryAfter.
	History                 RangeQuerier
	HistoryWindow           time.Duration
	HistoryStep, RetryAfter time.Duration
	Startup                 time.Duration // pod startup, for the default horizon
}

// DefaultForecastOptions: the forecaster's defaults, a checkpoint at most
// every 5 minutes, 14 days of history at a 5-minute step (retried after 10
// minutes), and a default horizon for pods that start in 30 s.
func DefaultForecastOptions() ForecastOptions {
	return ForecastOptions{Model: forecast.DefaultOptions(), CheckpointPeriod: 5 * time.Minute,
		HistoryWindow: 14 * 24 * time.Hour, HistoryStep: 5 * time.Minute, RetryAfter: 10 * time.Minute,
		Startup: 30 * time.Second}
}

// Validate names every invalid field.
func (o ForecastOptions) Validate() error {
	errs := []error{o.Model.Validate()}
	for name, d := range map[string]time.Duration{"CheckpointPeriod": o.CheckpointPeriod, "HistoryWindow": o.HistoryWindow,
		"HistoryStep": o.HistoryStep, "RetryAfter": o.RetryAfter} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("forecast option %s %v: must be positive", name, d))
		}
	}
	if o.Startup < 0 {
		errs = append(errs, fmt.Errorf("forecast option Startup %v: must not be negative", o.Startup))
	}
	return errors.Join(errs...)
}

// forecastSuffix ends the state-store key of a target's forecast
// checkpoint ("Kind.name_forecast").
const forecastSuffix = "_forecast"

func forecastKey(t Target) string { return stateKey(t) + forecastSuffix }

// forecastState is a target's proactive state.
type forecastState struct {
	target *proactive.Target
	// restore is the checkpoint loaded for the target, applied when its
	// proactive mode is first seen on.
	restore []forecast.Checkpoint
	savedAt time.Time
	// boot: the history was read (or there is none), or when to retry.
	booted  bool
	retryAt time.Time
}

// decideHorizontal is the horizontal decision of pl: the upstream rule, or
// with the target's proactive mode the proactive one, whose forecast goes
// to the report and the metrics.
func (l *Loop) decideHorizontal(ctx context.Context, p *pass, pl *plan, obs horizontal.Observation, h *horizontal.History) horizontal.Decision {
	t, st := pl.t, pl.st
	c := t.Proactive
	if c.Mode == proactive.ModeOff || c.Mode == "" {
		if st.forecast.target != nil {
			st.forecast = forecastState{} // mode turned off: forget, and start over if it comes back
			l.m.forgetForecast(t.Namespace, t.Key())
		}
		return l.decide(obs, t.Spec, t.Options, h)
	}
	tg := l.forecastTarget(ctx, p, pl)
	if tg == nil {
		return l.decide(obs, t.Spec, t.Options, h)
	}
	horizon := proactive.DefaultHorizon(l.o.Forecast.Startup, p.cfg.SyncPeriod, t.Spec.Behavior)
	d := tg.Decide(obs, t.Spec, t.Options, h, c, horizon)
	pl.rt.Forecast = reportForecast(c, d)
	l.m.observeForecast(t, d)
	return d.Decision
}

// forecastTarget returns pl's forecast state, restoring it from its
// checkpoint or bootstrapping it from Prometheus the first time.
func (l *Loop) forecastTarget(ctx context.Context, p *pass, pl *plan) *proactive.Target {
	fs := &pl.st.forecast
	if fs.target == nil {
		tg, err := proactive.RestoreTarget(l.o.Forecast.Model, fs.restore)
		if err != nil {
			l.log.Warn("forecast checkpoint not restored: starting afresh", "target", pl.t.Key(), "err", err)
			tg, err = proactive.NewTarget(l.o.Forecast.Model)
			if err != nil {
				return nil // options were validated by New
			}
		}
		fs.target, fs.booted, fs.savedAt = tg, fs.restore != nil, p.now
		fs.restore = nil
	}
	if !fs.booted && !p.now.Before(fs.retryAt) {
		if err := l.bootstrapForecast(ctx, p, pl, fs.target); err != nil {
			fs.retryAt = p.now.Add(l.o.Forecast.RetryAfter)
			l.log.Warn("forecast history not read from Prometheus; retried later", "target", pl.t.Key(), "retryAt", fs.retryAt, "err", err)
		} else {
			fs.booted = true
		}
	}
	return fs.target
}

// bootstrapForecast reads each metric's demand history: the target's own
// PromQL for Pods, Object and External metrics (the per-pod values summed),
// the pods' CPU usage for cpu Resource and ContainerResource metrics. A
// metric read from the metrics APIs (no query) has no history. No data is
// an answer, not a failure.
func (l *Loop) bootstrapForecast(ctx context.Context, p *pass, pl *plan, tg *proactive.Target) error {
	q := l.o.Forecast.History
	if q == nil {
		return nil
	}
	t := pl.t
	names := make([]string, len(pl.pods))
	for i, pod := range pl.pods {
		names[i] = pod.Name
	}
	end := p.now
	start := end.Add(-l.o.Forecast.HistoryWindow)
	var errs []error
	for i, m := range t.Spec.Metrics {
		promQL, container, err := historyQuery(t, m, names, pl.sc.Status.Selector, l.o.Forecast.HistoryStep)
		if err != nil || promQL == "" {
			errs = append(errs, err)
			continue
		}
		series, err := q.RangeQuery(ctx, promQL, start, end, l.o.Forecast.HistoryStep)
		if errors.Is(err, metricsource.ErrNoData) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s history: %w", m, err))
			continue
		}
		added, invalid := tg.Bootstrap(i, sumSeries(series, container))
		l.log.Info("forecast history read from Prometheus", "target", t.Key(), "metric", m.String(), "samples", added, "invalid", invalid)
	}
	return errors.Join(errs...)
}

// historyQuery is the PromQL of metric m's demand history (values in the
// metric's units; CPU in cores) and, for a ContainerResource metric, the
// container to keep; "" when m has none.
func historyQuery(t Target, m horizontal.MetricSpec, pods []string, selector string, step time.Duration) (string, string, error) {
	switch m.Type {
	case horizontal.ResourceMetric, horizontal.ContainerResourceMetric:
		if m.Name != string(corev1.ResourceCPU) {
			return "", "", nil
		}
		re, err := vertical.HistoryPodRegex(t.Ref.Kind, t.Ref.Name, pods)
		if err != nil {
			return "", "", fmt.Errorf("%s history: %w", m, err)
		}
		return metricsource.CPUUsageQuery(t.Namespace, re, step), m.Container, nil
	}
	src, ok := t.Queries[m.Name]
	if !ok {
		return "", "", nil
	}
	promQL, err := metricsource.RenderQuery(src, metricsource.QueryVars{Namespace: t.Namespace, Target: t.Ref.Name,
		Kind: t.Ref.Kind, Pods: pods, Selector: selector})
	if err != nil {
		return "", "", fmt.Errorf("%s history: %w", m, err)
	}
	return promQL, "", nil
}

// sumSeries adds up the series at each timestamp (only the container's,
// when given), in milli-units, oldest first.
func sumSeries(series []metricsource.Series, container string) []forecast.Sample {
	sum := map[time.Time]float64{}
	for _, s := range series {
		if container != "" && s.Labels["container"] != container {
			continue
		}
		for _, v := range s.Samples {
			sum[v.Time] += v.Value * 1000
		}
	}
	out := make([]forecast.Sample, 0, len(sum))
	for at, v := range sum {
		out = append(out, forecast.Sample{At: at, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// reportForecast is the forecast of d in the report.
func reportForecast(c proactive.Config, d proactive.Decision) *report.Forecast {
	f := &report.Forecast{Mode: string(c.Mode), GateOpen: d.GateOpen, Replicas: d.Floor, Reactive: d.Reactive,
		Gate: report.Condition{Reason: d.GateReason, Message: d.GateMessage()}}
	for _, mf := range d.Forecasts {
		fc := mf.Forecast
		f.Metrics = append(f.Metrics, report.MetricForecast{Metric: mf.Metric, Demand: fc.Demand / 1000, Observed: fc.Level / 1000,
			HorizonSeconds: fc.Horizon.Seconds(), Error: fc.Error, HistorySeconds: fc.History.Seconds(),
			PeriodSeconds: fc.Period.Seconds(), Replicas: mf.Needed})
	}
	return f
}

// putForecast puts the forecast checkpoint of st when CheckpointPeriod has
// passed since the last one (the leader is the only one to run passes).
func (l *Loop) putForecast(t Target, st *targetState, now time.Time) error {
	fs := &st.forecast
	if l.o.State == nil || fs.target == nil || now.Sub(fs.savedAt) < l.o.Forecast.CheckpointPeriod {
		return nil
	}
	b, err := json.Marshal(fs.target.Checkpoint())
	if err != nil {
		return fmt.Errorf("encode forecast checkpoint of %s: %w", t, err)
	}
	if err := l.o.State.Put(forecastKey(t), b); err != nil {
		return fmt.Errorf("forecast checkpoint %s: %w", t, err)
	}
	fs.savedAt = now
	return nil
}

// loadForecast keeps a forecast checkpoint read at load; false when key is
// not one.
func (l *Loop) loadForecast(key string, b []byte) bool {
	base, ok := strings.CutSuffix(key, forecastSuffix)
	if !ok {
		return false
	}
	var cs []forecast.Checkpoint
	if err := json.Unmarshal(b, &cs); err != nil {
		l.log.Warn("forecast checkpoint skipped", "key", key, "err", err)
		return true
	}
	st, ok := l.targets[base]
	if !ok {
		st = &targetState{}
		l.targets[base] = st
	}
	st.forecast.restore = cs
	return true
}
