package autoscaler

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/vertical"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// namingRegisterer records the metric names of every collector registered
// through it (from their Descs, so vectors count before first use).
type namingRegisterer struct {
	prometheus.Registerer
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *namingRegisterer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registerer.Register(c)
}

func (r *namingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// usedNames returns the ebb_* names used in the dashboards, or, when there
// are none, the names documented in docs/metrics.md.
func usedNames(t *testing.T) (map[string][]string, string) {
	t.Helper()
	re := regexp.MustCompile(`ebb_[a-z0-9_]+`)
	files, _ := filepath.Glob("../deploy/grafana/*.json")
	src := "deploy/grafana"
	if len(files) == 0 {
		files, src = []string{"../docs/metrics.md"}, "docs/metrics.md"
	}
	used := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range re.FindAllString(string(b), -1) {
			used[n] = append(used[n], filepath.Base(f))
		}
	}
	return used, src
}

func TestDashboardNamesAreRegistered(t *testing.T) {
	rec := &namingRegisterer{Registerer: prometheus.NewRegistry(), names: map[string]bool{}}
	newMetrics(rec)
	metricsource.NewSourceMetrics(rec)
	vertical.NewMetrics(rec)
	used, src := usedNames(t)
	if len(used) == 0 {
		t.Fatalf("no ebb_* names found in %s", src)
	}
	for name, files := range used {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && rec.names[b] {
				base = b
			}
		}
		if !rec.names[base] {
			t.Errorf("%s (used in %v) is registered by none of newMetrics, metricsource.NewSourceMetrics, vertical.NewMetrics", name, files)
		}
	}
}

func TestMetricsExposition(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	tg := cpuTarget("web", policy.ModeApply, nil)
	util := int32(80)
	d := horizontal.Decision{Replicas: 3, Recommended: 4, Stabilized: 3, AbleToScaleReason: horizontal.ReasonScaleDownStabilized,
		Reason: horizontal.ReasonScaleDownStabilized, Proposal: horizontal.Proposal{Replicas: 4, Metrics: []horizontal.MetricProposal{
			{Metric: tg.Spec.Metrics[0], Replicas: 4, Utilization: &util, Value: 80},
		}}}
	m.observe(tg, 5, d, 3)
	d.Reason = horizontal.ReasonDesiredWithinRange
	d.AbleToScaleReason = horizontal.ReasonReadyForNewScale
	m.observe(tg, 3, d, 3)
	m.applied.WithLabelValues(testNS, "Deployment/web", "false").Set(3)
	m.actuations.WithLabelValues(testNS, "Deployment/web", "success", "false").Inc()
	m.missing.WithLabelValues(testNS, "Deployment/web").Inc()
	m.passDuration.Observe(0.1)
	m.lastPass.Set(1.7e9)
	m.unsaved.WithLabelValues(testNS, "Deployment/web").Set(1)
	m.breakerOpen.WithLabelValues("prometheus").Set(0)
	m.policyReloads.WithLabelValues("success").Inc()
	m.leader.Set(1)

	want := `
# HELP ebb_current_replicas scale.spec.replicas read this pass.
# TYPE ebb_current_replicas gauge
ebb_current_replicas{namespace="shop",target="Deployment/web"} 3
# HELP ebb_decision_reason 1 for the reason of the last decision, 0 for reasons seen before.
# TYPE ebb_decision_reason gauge
ebb_decision_reason{namespace="shop",reason="DesiredWithinRange",target="Deployment/web"} 1
ebb_decision_reason{namespace="shop",reason="ScaleDownStabilized",target="Deployment/web"} 0
# HELP ebb_metric_target Target of the metric, in the unit of ebb_metric_value.
# TYPE ebb_metric_target gauge
ebb_metric_target{metric="Resource/cpu",namespace="shop",target="Deployment/web"} 50
# HELP ebb_metric_value Observed metric value (utilization percent for Utilization targets, else the value in units).
# TYPE ebb_metric_value gauge
ebb_metric_value{metric="Resource/cpu",namespace="shop",target="Deployment/web"} 80
# HELP ebb_stabilized_total Passes where a stabilization window held the recommendation.
# TYPE ebb_stabilized_total counter
ebb_stabilized_total{direction="down",namespace="shop",target="Deployment/web"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"ebb_current_replicas", "ebb_decision_reason", "ebb_metric_target", "ebb_metric_value", "ebb_stabilized_total"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		got = append(got, mf.GetName())
	}
	wantNames := []string{"ebb_actuations_total", "ebb_applied_replicas", "ebb_current_replicas", "ebb_decision_reason",
		"ebb_desired_replicas", "ebb_last_pass_timestamp_seconds", "ebb_leader", "ebb_metric_target", "ebb_metric_value",
		"ebb_missing_metrics_total", "ebb_pass_duration_seconds", "ebb_policy_reloads_total", "ebb_recommended_replicas",
		"ebb_source_breaker_open", "ebb_stabilized_total", "ebb_state_unsaved"}
	if diff := cmp.Diff(wantNames, got); diff != "" {
		t.Errorf("gathered names (-want +got):\n%s", diff)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

func TestMissingMetricValueIsDeletedNotZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	tg := cpuTarget("web", policy.ModeApply, nil)
	ok := horizontal.MetricProposal{Metric: tg.Spec.Metrics[0], Value: 70}
	m.observe(tg, 2, horizontal.Decision{Proposal: horizontal.Proposal{Metrics: []horizontal.MetricProposal{ok}}}, 2)
	failed := ok
	failed.Err = metricsource.ErrNoData
	m.observe(tg, 2, horizontal.Decision{Proposal: horizontal.Proposal{Invalid: true, Metrics: []horizontal.MetricProposal{failed}}}, 2)
	if n := testutil.CollectAndCount(m.metricValue); n != 0 {
		t.Errorf("ebb_metric_value series after a missing metric = %d, want 0", n)
	}
	if n := testutil.CollectAndCount(m.recommended); n != 0 {
		t.Errorf("ebb_recommended_replicas series after an invalid proposal = %d, want 0", n)
	}
}

func TestForgetDropsTheTargetsSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	web, api := cpuTarget("web", policy.ModeApply, nil), cpuTarget("api", policy.ModeApply, nil)
	d := horizontal.Decision{Reason: horizontal.ReasonDesiredWithinRange,
		Proposal: horizontal.Proposal{Metrics: []horizontal.MetricProposal{{Metric: web.Spec.Metrics[0], Value: 70}}}}
	for _, tg := range []Target{web, api} {
		m.observe(tg, 2, d, 2)
		m.actuations.WithLabelValues(testNS, tg.Key(), "success", "false").Inc()
	}
	m.leader.Set(1)
	m.forget(testNS, "Deployment/web")
	count := func() int {
		n := 0
		for _, v := range []prometheus.Collector{m.current, m.desired, m.metricValue, m.reason, m.actuations} {
			n += testutil.CollectAndCount(v)
		}
		return n
	}
	if got, want := count(), 5; got != want {
		t.Errorf("series after forgetting Deployment/web = %d, want %d (Deployment/api's)", got, want)
	}
	m.forgetAll()
	if got := count(); got != 0 {
		t.Errorf("series after forgetAll = %d, want 0", got)
	}
	if got := testutil.ToFloat64(m.leader); got != 1 {
		t.Errorf("ebb_leader after forgetAll = %v, want it kept", got)
	}
}
