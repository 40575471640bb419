package autoscaler

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

// metrics are the loop's Prometheus metrics (docs/metrics.md); the source
// metrics (ebb_source_*) belong to metricsource.
type metrics struct {
	current       *prometheus.GaugeVec
	recommended   *prometheus.GaugeVec
	desired       *prometheus.GaugeVec
	applied       *prometheus.GaugeVec
	metricValue   *prometheus.GaugeVec
	metricTarget  *prometheus.GaugeVec
	reason        *prometheus.GaugeVec
	stabilized    *prometheus.CounterVec
	actuations    *prometheus.CounterVec
	missing       *prometheus.CounterVec
	unsaved       *prometheus.GaugeVec
	passDuration  prometheus.Histogram
	lastPass      prometheus.Gauge
	breakerOpen   *prometheus.GaugeVec
	policyReloads *prometheus.CounterVec
	leader        prometheus.Gauge
	hpaDesired    *prometheus.GaugeVec
	// The proactive mode (forecast.go).
	forecastReplicas *prometheus.GaugeVec
	forecastGate     *prometheus.GaugeVec
	forecastError    *prometheus.GaugeVec
	forecastDemand   *prometheus.GaugeVec
	observedDemand   *prometheus.GaugeVec

	mu sync.Mutex
	// reasons seen per target, so old reasons drop to 0.
	reasons map[string]map[string]bool
	// hpaSeries are the ebb_hpa_desired_replicas series the last pass set,
	// so the series of an HPA that went away go too.
	hpaSeries map[[3]string]bool
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	target := []string{"namespace", "target"}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return f.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append(append([]string{}, target...), labels...))
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, append(append([]string{}, target...), labels...))
	}
	return &metrics{
		current:      gauge("ebb_current_replicas", "scale.spec.replicas read this pass."),
		recommended:  gauge("ebb_recommended_replicas", "Replicas proposed by the horizontal recommender, before stabilization and limits."),
		desired:      gauge("ebb_desired_replicas", "Replicas after stabilization and behavior limits."),
		applied:      gauge("ebb_applied_replicas", "Last replicas written; dry_run=\"true\": accepted by the API server with DryRun=All.", "dry_run"),
		metricValue:  gauge("ebb_metric_value", "Observed metric value (utilization percent for Utilization targets, else the value in units).", "metric"),
		metricTarget: gauge("ebb_metric_target", "Target of the metric, in the unit of ebb_metric_value.", "metric"),
		reason:       gauge("ebb_decision_reason", "1 for the reason of the last decision, 0 for reasons seen before.", "reason"),
		stabilized:   counter("ebb_stabilized_total", "Passes where a stabilization window held the recommendation.", "direction"),
		actuations:   counter("ebb_actuations_total", "Scale writes (Updates of the Scale read) by result: success, conflict (changed since it was read), error.", "result", "dry_run"),
		missing:      counter("ebb_missing_metrics_total", "Passes that held the scale because metrics were missing."),
		unsaved:      gauge("ebb_state_unsaved", "1 while the target's checkpoint could not be saved (it is then not actuated)."),
		passDuration: f.NewHistogram(prometheus.HistogramOpts{Name: "ebb_pass_duration_seconds",
			Help: "Duration of one pass over all targets.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		lastPass: f.NewGauge(prometheus.GaugeOpts{Name: "ebb_last_pass_timestamp_seconds",
			Help: "Time of the last completed pass (the pass's clock reading), Unix seconds."}),
		breakerOpen: f.NewGaugeVec(prometheus.GaugeOpts{Name: "ebb_source_breaker_open",
			Help: "1 while the circuit breaker of a metric source is open (calls fail at once)."}, []string{"source"}),
		policyReloads: f.NewCounterVec(prometheus.CounterOpts{Name: "ebb_policy_reloads_total",
			Help: "Policy file reloads by result (success: in force; invalid: rejected, the last good policy stays; error: valid but could not be applied)."}, []string{"result"}),
		leader: f.NewGauge(prometheus.GaugeOpts{Name: "ebb_leader", Help: "1 on the replica holding the lease."}),
		hpaDesired: gauge("ebb_hpa_desired_replicas",
			"status.desiredReplicas of the HorizontalPodAutoscaler that targets the workload (shadowed, or in conflict with a target).", "hpa"),
		forecastReplicas: gauge("ebb_forecast_replicas",
			"Replicas the forecast demand (plus the margin) needs at the target, the largest over the metrics (proactive mode)."),
		forecastGate: gauge("ebb_forecast_gate_open",
			"1 while the forecast may act (proactive mode on; forecast-only: would act), 0 while history or error keep it out."),
		forecastError: gauge("ebb_forecast_error",
			"Recent error of the forecast: under-prediction weighs 3 times over-prediction, relative to demand (0 is perfect).", "metric"),
		forecastDemand: gauge("ebb_forecast_demand",
			"Highest demand forecast over the horizon, in the metric's unit (cores of usage for cpu metrics).", "metric"),
		observedDemand: gauge("ebb_forecast_observed_demand",
			"Demand the forecaster last observed (the actual beside ebb_forecast_demand), same unit.", "metric"),
		reasons:   map[string]map[string]bool{},
		hpaSeries: map[[3]string]bool{},
	}
}

// observe records one decision of t.
func (m *metrics) observe(t Target, current int32, d horizontal.Decision, desired int32) {
	ns, key := t.Namespace, t.Key()
	m.current.WithLabelValues(ns, key).Set(float64(current))
	m.desired.WithLabelValues(ns, key).Set(float64(desired))
	if d.Proposal.Invalid {
		m.recommended.DeleteLabelValues(ns, key)
	} else {
		m.recommended.WithLabelValues(ns, key).Set(float64(d.Recommended))
	}
	switch d.AbleToScaleReason {
	case horizontal.ReasonScaleUpStabilized:
		m.stabilized.WithLabelValues(ns, key, "up").Inc()
	case horizontal.ReasonScaleDownStabilized:
		m.stabilized.WithLabelValues(ns, key, "down").Inc()
	}
	for _, mp := range d.Proposal.Metrics {
		m.observeMetric(ns, key, mp)
	}
	m.setReason(ns, key, d.Reason)
}

func (m *metrics) observeMetric(ns, key string, mp horizontal.MetricProposal) {
	name := mp.Metric.String()
	tgt := mp.Metric.Target
	var target float64
	switch tgt.Type {
	case horizontal.UtilizationTarget:
		target = float64(tgt.Utilization)
	case horizontal.ValueTarget:
		target = float64(tgt.Value) / 1000
	default:
		target = float64(tgt.AverageValue) / 1000
	}
	m.metricTarget.WithLabelValues(ns, key, name).Set(target)
	if mp.Err != nil {
		m.metricValue.DeleteLabelValues(ns, key, name) // missing is not zero
		return
	}
	v := float64(mp.Value) / 1000
	if tgt.Type == horizontal.UtilizationTarget && mp.Utilization != nil {
		v = float64(*mp.Utilization)
	}
	m.metricValue.WithLabelValues(ns, key, name).Set(v)
}

func (m *metrics) setReason(ns, key, reason string) {
	if reason == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := m.reasons[ns+"/"+key]
	if seen == nil {
		seen = map[string]bool{}
		m.reasons[ns+"/"+key] = seen
	}
	seen[reason] = true
	for r := range seen {
		v := 0.0
		if r == reason {
			v = 1
		}
		m.reason.WithLabelValues(ns, key, r).Set(v)
	}
}

// perTarget are the vectors labelled by target, in the order they are
// declared.
func (m *metrics) perTarget() []*prometheus.MetricVec {
	return append([]*prometheus.MetricVec{m.current.MetricVec, m.recommended.MetricVec, m.desired.MetricVec,
		m.applied.MetricVec, m.metricValue.MetricVec, m.metricTarget.MetricVec, m.reason.MetricVec,
		m.stabilized.MetricVec, m.actuations.MetricVec, m.missing.MetricVec, m.unsaved.MetricVec, m.hpaDesired.MetricVec}, m.forecastVecs()...)
}

func (m *metrics) forecastVecs() []*prometheus.MetricVec {
	return []*prometheus.MetricVec{m.forecastReplicas.MetricVec, m.forecastGate.MetricVec, m.forecastError.MetricVec,
		m.forecastDemand.MetricVec, m.observedDemand.MetricVec}
}

// observeForecast records the forecast of one proactive decision of t.
func (m *metrics) observeForecast(t Target, d proactive.Decision) {
	ns, key := t.Namespace, t.Key()
	var needed int32
	for _, mf := range d.Forecasts {
		if !mf.Forecast.OK {
			m.forecastDemand.DeleteLabelValues(ns, key, mf.Metric) // no forecast is not zero
			m.observedDemand.DeleteLabelValues(ns, key, mf.Metric)
			continue
		}
		needed = max(needed, mf.Needed)
		m.forecastError.WithLabelValues(ns, key, mf.Metric).Set(mf.Forecast.Error)
		m.forecastDemand.WithLabelValues(ns, key, mf.Metric).Set(mf.Forecast.Demand / 1000)
		m.observedDemand.WithLabelValues(ns, key, mf.Metric).Set(mf.Forecast.Level / 1000)
	}
	if needed > 0 {
		m.forecastReplicas.WithLabelValues(ns, key).Set(float64(needed))
	} else {
		m.forecastReplicas.DeleteLabelValues(ns, key)
	}
	gate := 0.0
	if d.GateOpen {
		gate = 1
	}
	m.forecastGate.WithLabelValues(ns, key).Set(gate)
}

// forgetForecast deletes the forecast series of one target (its proactive
// mode was turned off).
func (m *metrics) forgetForecast(ns, key string) {
	for _, v := range m.forecastVecs() {
		v.DeletePartialMatch(prometheus.Labels{"namespace": ns, "target": key})
	}
}

// forget deletes every series of one target (it left the policy).
func (m *metrics) forget(ns, key string) {
	for _, v := range m.perTarget() {
		v.DeletePartialMatch(prometheus.Labels{"namespace": ns, "target": key})
	}
	m.mu.Lock()
	delete(m.reasons, ns+"/"+key)
	m.mu.Unlock()
}

// forgetAll deletes every per-target series (the lease was lost: a
// standby exports no decisions).
func (m *metrics) forgetAll() {
	for _, v := range m.perTarget() {
		v.Reset()
	}
	m.mu.Lock()
	m.reasons = map[string]map[string]bool{}
	m.mu.Unlock()
}

// observeHPAs sets ebb_hpa_desired_replicas for the targets of a pass
// whose HPA reported a size, and deletes the series of the others.
func (m *metrics) observeHPAs(ns string, targets []report.Target) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[[3]string]bool, len(m.hpaSeries))
	for _, t := range targets {
		if t.HPA == nil || t.HPA.Desired == nil {
			continue
		}
		k := [3]string{ns, t.Ref(), t.HPA.Name}
		m.hpaDesired.WithLabelValues(k[:]...).Set(float64(*t.HPA.Desired))
		seen[k] = true
	}
	for k := range m.hpaSeries {
		if !seen[k] {
			m.hpaDesired.DeleteLabelValues(k[:]...)
		}
	}
	m.hpaSeries = seen
}

// PolicyReloaded counts a policy reload; result is "success", "invalid"
// or "error".
func (l *Loop) PolicyReloaded(result string) {
	l.m.policyReloads.WithLabelValues(result).Inc()
}

// PolicyReloadsCounter is ebb_policy_reloads_total{result} (for tests of
// the reload wiring in cmd).
func (l *Loop) PolicyReloadsCounter(result string) prometheus.Counter {
	return l.m.policyReloads.WithLabelValues(result)
}
