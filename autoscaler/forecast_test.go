package autoscaler

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

// clockUsage serves the cluster's per-pod CPU usage stamped with a test
// clock (the pass's now minus 10 s), so that the forecaster sees samples
// at the times the passes are run with.
type clockUsage struct {
	c   *cluster
	mu  sync.Mutex
	now time.Time
}

func (u *clockUsage) set(now time.Time) {
	u.mu.Lock()
	u.now = now
	u.mu.Unlock()
}

func (u *clockUsage) PodUsage(context.Context, string, labels.Selector) ([]metricsource.PodUsage, error) {
	u.mu.Lock()
	at := u.now.Add(-10 * time.Second)
	u.mu.Unlock()
	u.c.mu.Lock()
	defer u.c.mu.Unlock()
	var out []metricsource.PodUsage
	for _, name := range sortedKeys(u.c.cpuMilli) {
		out = append(out, metricsource.PodUsage{Name: name, Timestamp: at, Window: 15 * time.Second,
			Containers: []metricsource.ContainerUsage{{Name: "app", CPUMilli: u.c.cpuMilli[name], MemoryBytes: 64 << 20}}})
	}
	return out, nil
}

// proactiveTarget is cpuTarget with a proactive section.
func proactiveTarget(name string, c proactive.Config) Target {
	t := cpuTarget(name, policy.ModeApply, nil)
	t.Proactive = c
	return t
}

// ramp runs passes every 15 s from start for n passes while each of the
// workload's pods uses cpu(i) millicores, keeping the pods in step with the
// desired size (a scaled Deployment's pods start at once here).
func ramp(t *testing.T, c *cluster, l *Loop, u *clockUsage, start time.Time, n int, cpu func(i int) int64) time.Time {
	t.Helper()
	now := start
	for i := range n {
		now = start.Add(time.Duration(i) * 15 * time.Second)
		c.setCPU("web", cpu(i))
		u.set(now)
		if _, err := l.Pass(context.Background(), now); err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
	}
	return now
}

// TestProactiveModeInTheLoop: a target in proactive mode on gets its
// forecast in the report and the ebb_forecast_* gauges, an Event when the
// gate opens, and a scale-up ahead of the reactive rule on a ramp; its
// forecast is checkpointed (at most every CheckpointPeriod) and a new loop
// on the same cluster (a restart, a new leader) continues from it.
func TestProactiveModeInTheLoop(t *testing.T) {
	c := newCluster(t)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c.addWorkload(t, "web", 4, 40, start.Add(-time.Hour))
	u := &clockUsage{c: c}
	reg := prometheus.NewRegistry()
	cfg := proactive.Config{Mode: proactive.ModeOn, MinHistory: 5 * time.Minute, MaxError: 5}
	l, rec := c.newLoop(t, loopConfig{targets: []Target{proactiveTarget("web", cfg)}, state: true, usage: u, reg: reg})

	// 10 minutes flat at 40m per pod (4 pods of 100m at a 50 % target):
	// the gate opens after 5 minutes of history.
	now := ramp(t, c, l, u, start, 40, func(int) int64 { return 40 })
	evs := strings.Join(events(rec), "\n")
	if !strings.Contains(evs, "ForecastGateOpened") {
		t.Errorf("no ForecastGateOpened Event after 10 minutes; events:\n%s", evs)
	}
	if got := testutil.ToFloat64(l.m.forecastGate.WithLabelValues(testNS, "Deployment/web")); got != 1 {
		t.Errorf("ebb_forecast_gate_open = %v, want 1", got)
	}
	// The forecast of a flat 160m load is 160m = 0.16 cores.
	if got := testutil.ToFloat64(l.m.forecastDemand.WithLabelValues(testNS, "Deployment/web", "Resource/cpu")); math.Abs(got-0.16) > 1e-9 {
		t.Errorf("ebb_forecast_demand = %v, want 0.16", got)
	}
	if n := testutil.CollectAndCount(reg, "ebb_forecast_replicas", "ebb_forecast_error", "ebb_forecast_observed_demand"); n != 3 {
		t.Errorf("%d series of ebb_forecast_replicas/_error/_observed_demand, want 3", n)
	}

	// Then the load grows by 4m per pod every 15 s: the forecast sees the
	// slope and scales up before the reactive rule does.
	rep, err := l.Pass(context.Background(), now.Add(15*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Targets[0].Forecast
	if f == nil || f.Mode != "on" || !f.GateOpen || len(f.Metrics) != 1 {
		t.Fatalf("report forecast = %+v, want mode on, gate open, one metric", f)
	}
	ahead := false
	for i := range 20 {
		at := now.Add(time.Duration(i+2) * 15 * time.Second)
		c.setCPU("web", int64(40+4*(i+1)))
		u.set(at)
		rep, err := l.Pass(context.Background(), at)
		if err != nil {
			t.Fatal(err)
		}
		if f := rep.Targets[0].Forecast; f != nil && f.Replicas > f.Reactive && *rep.Targets[0].Desired > f.Reactive {
			ahead = true
		}
	}
	if !ahead {
		t.Error("on a ramp the proactive decision was never above the reactive one")
	}

	// The checkpoint holds the forecast: a new loop restores it and its
	// gate is open at its first pass (the history was restored).
	cms, err := c.kube.CoreV1().ConfigMaps(testNS).List(context.Background(), metav1ListOptions())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, cm := range cms.Items {
		if b, ok := cm.Data["Deployment.web_forecast"]; ok {
			var cps []forecast.Checkpoint
			if err := json.Unmarshal([]byte(b), &cps); err != nil || len(cps) != 1 || cps[0].Version == 0 {
				t.Errorf("forecast checkpoint %q: %v", b[:min(len(b), 80)], err)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no Deployment.web_forecast checkpoint after 15 minutes")
	}
	l2, _ := c.newLoop(t, loopConfig{targets: []Target{proactiveTarget("web", cfg)}, state: true, usage: u, reg: prometheus.NewRegistry()})
	at := now.Add(25 * 15 * time.Second)
	u.set(at)
	rep, err = l2.Pass(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Targets[0].Forecast; f == nil || f.Metrics[0].HistorySeconds < 10*60 || !f.GateOpen {
		t.Errorf("after a restart the forecast is %+v, want the restored history (>= 10 minutes) and an open gate", f)
	}
}

// TestProactiveModeOffForgets: turning the mode off drops the forecast
// state and series; decisions are the reactive rule's.
func TestProactiveModeOffForgets(t *testing.T) {
	c := newCluster(t)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c.addWorkload(t, "web", 2, 40, start.Add(-time.Hour))
	u := &clockUsage{c: c}
	reg := prometheus.NewRegistry()
	holder := &mutableConfig{}
	holder.set(Config{Targets: []Target{proactiveTarget("web", proactive.Config{Mode: proactive.ModeForecastOnly, MaxError: 5})}, SyncPeriod: 15 * time.Second})
	l, _ := c.newLoop(t, loopConfig{usage: u, reg: reg})
	l.o.Config = holder
	ramp(t, c, l, u, start, 4, func(int) int64 { return 40 })
	if n := testutil.CollectAndCount(reg, "ebb_forecast_gate_open"); n != 1 {
		t.Fatalf("%d ebb_forecast_gate_open series in forecast-only, want 1", n)
	}
	holder.set(Config{Targets: []Target{proactiveTarget("web", proactive.Config{Mode: proactive.ModeOff})}, SyncPeriod: 15 * time.Second})
	u.set(start.Add(time.Minute))
	rep, err := l.Pass(context.Background(), start.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Targets[0].Forecast != nil {
		t.Errorf("mode off reports a forecast: %+v", rep.Targets[0].Forecast)
	}
	if n := testutil.CollectAndCount(reg, "ebb_forecast_gate_open", "ebb_forecast_demand"); n != 0 {
		t.Errorf("%d forecast series left after mode off, want 0", n)
	}
}

// fakeHistory is a Prometheus serving range queries from a function.
type fakeHistory struct {
	mu      sync.Mutex
	queries []string
	series  func(q string, start, end time.Time, step time.Duration) ([]metricsource.Series, error)
}

func (f *fakeHistory) RangeQuery(_ context.Context, q string, start, end time.Time, step time.Duration) ([]metricsource.Series, error) {
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	return f.series(q, start, end, step)
}

// TestProactiveBootstrap: the first proactive pass reads the demand
// history from Prometheus (the pods' CPU usage for a cpu metric, summed
// over pods and containers), so the gate opens at once and a daily season
// is found; a failed read is retried after RetryAfter.
func TestProactiveBootstrap(t *testing.T) {
	c := newCluster(t)
	now := time.Date(2026, 3, 5, 7, 59, 0, 0, time.UTC)
	c.addWorkload(t, "web", 4, 40, now.Add(-time.Hour))
	u := &clockUsage{c: c}
	calls := 0
	h := &fakeHistory{series: func(q string, start, end time.Time, step time.Duration) ([]metricsource.Series, error) {
		calls++
		if calls == 1 {
			return nil, context.DeadlineExceeded
		}
		// Two pods' containers, each half of a daily shape: 2 cores at
		// night, 10 from 8:00 to 12:00.
		var a, b metricsource.Series
		a.Labels = map[string]string{"pod": "web-abc12-xyz12", "container": "app"}
		b.Labels = map[string]string{"pod": "web-abc12-qrs34", "container": "app"}
		for at := start; !at.After(end); at = at.Add(step) {
			v := 1.0
			if tod := at.Sub(at.Truncate(24 * time.Hour)); tod >= 8*time.Hour && tod < 12*time.Hour {
				v = 5
			}
			a.Samples = append(a.Samples, metricsource.Sample{Time: at, Value: v})
			b.Samples = append(b.Samples, metricsource.Sample{Time: at, Value: v})
		}
		return []metricsource.Series{a, b}, nil
	}}
	cfg := proactive.Config{Mode: proactive.ModeForecastOnly, MinHistory: 24 * time.Hour, MaxError: 5}
	l, _ := c.newLoop(t, loopConfig{targets: []Target{proactiveTarget("web", cfg)}, usage: u})
	l.o.Forecast.History = h
	u.set(now)
	rep, err := l.Pass(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if f := rep.Targets[0].Forecast; f == nil || f.GateOpen || f.Gate.Reason != proactive.ReasonHistoryTooShort {
		t.Fatalf("after a failed bootstrap: forecast %+v, want the gate closed for history", f)
	}
	// Retried only after RetryAfter (10 minutes).
	u.set(now.Add(time.Minute))
	if _, err := l.Pass(context.Background(), now.Add(time.Minute)); err != nil || calls != 1 {
		t.Fatalf("pass before the retry time: %v, %d history calls; want 1", err, calls)
	}
	later := now.Add(11 * time.Minute)
	u.set(later)
	rep, err = l.Pass(context.Background(), later)
	if err != nil {
		t.Fatal(err)
	}
	f := rep.Targets[0].Forecast
	if calls != 2 || f == nil || !f.GateOpen || f.Metrics[0].HistorySeconds < 13*24*3600 || f.Metrics[0].PeriodSeconds != 86400 {
		t.Errorf("after the retry: %d calls, forecast %+v; want the gate open on 14 days of history with a daily season", calls, f)
	}
	if q := h.queries[0]; !strings.Contains(q, "container_cpu_usage_seconds_total") || !strings.Contains(q, `pod=~"web-[a-z0-9]{1,10}-[a-z0-9]{5}"`) {
		t.Errorf("history query %q: want the CPU usage of the Deployment's pods, past ones included", q)
	}
}

// TestHistoryQuery: the history of each metric type comes from the
// target's own query, or the pods' CPU usage; memory and metrics-API
// metrics have none.
func TestHistoryQuery(t *testing.T) {
	tg := cpuTarget("web", policy.ModeApply, nil)
	tg.Queries = map[string]string{"rps": `sum(rate(http_requests_total{namespace="{{.Namespace}}"}[1m]))`}
	for _, tc := range []struct {
		name          string
		m             horizontal.MetricSpec
		want, wantCtr string
	}{
		{"cpu", horizontal.MetricSpec{Type: horizontal.ResourceMetric, Name: "cpu"}, "container_cpu_usage_seconds_total", ""},
		{"container cpu", horizontal.MetricSpec{Type: horizontal.ContainerResourceMetric, Name: "cpu", Container: "app"}, "container_cpu_usage_seconds_total", "app"},
		{"memory", horizontal.MetricSpec{Type: horizontal.ResourceMetric, Name: "memory"}, "", ""},
		{"external with a query", horizontal.MetricSpec{Type: horizontal.ExternalMetric, Name: "rps"}, `http_requests_total{namespace="shop"}`, ""},
		{"external from the metrics API", horizontal.MetricSpec{Type: horizontal.ExternalMetric, Name: "queue"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, ctr, err := historyQuery(tg, tc.m, []string{"web-1"}, "app=web", 5*time.Minute)
			if err != nil || (tc.want == "") != (q == "") || !strings.Contains(q, tc.want) || ctr != tc.wantCtr {
				t.Errorf("historyQuery = %q, %q, %v; want containing %q, container %q", q, ctr, err, tc.want, tc.wantCtr)
			}
		})
	}
}

func metav1ListOptions() metav1.ListOptions { return metav1.ListOptions{} }

// TestStateRecordKeepsScaledToZero: that ebb scaled a target to zero is
// checkpointed (so a restarted ebb scales it up from its metrics again),
// and a change of it alone is a change of the record.
func TestStateRecordKeepsScaledToZero(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	h := horizontal.History{Recommendations: []horizontal.Recommendation{{At: now, Replicas: 0}}}
	before := newRecord(&h, now.Add(-time.Hour))
	h.RecordScale(now, 3, 0, nil)
	r := newRecord(&h, now.Add(-time.Hour))
	if r.sameAs(before, now.Add(-time.Hour)) {
		t.Error("the record did not change when the target was scaled to zero")
	}
	back, err := decodeRecord(r.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got := back.history(now); !got.ScaledToZero {
		t.Errorf("restored history %+v: ScaledToZero lost", got)
	}
}
