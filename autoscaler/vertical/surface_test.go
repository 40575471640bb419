package vertical

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	recs := []rv.ContainerRecommendation{
		{Name: "app", CPU: &rv.Bounds{Target: 500, Lower: 400, Upper: 700}, Memory: &rv.Bounds{Target: 512 << 20, Lower: 400 << 20, Upper: 800 << 20}},
		{Name: "sidecar", CPU: &rv.Bounds{Target: 25, Lower: 25, Upper: 30}, HeldByHorizontal: []rv.Resource{rv.Memory}},
	}
	requests := map[string]rv.Amounts{"app": {CPUMillis: 100, MemoryBytes: 256 << 20}, "sidecar": {CPUMillis: 50}}
	usage := map[string]rv.Amounts{"app": {CPUMillis: 250, MemoryBytes: 300 << 20}}
	m.Record(testNS, "Deployment/old", recs, requests, usage)
	m.Forget(testNS, "Deployment/old")
	m.Record(testNS, "Deployment/web", recs, requests, usage)
	m.Record(testNS, "Deployment/web", recs, requests, usage) // replacing is idempotent
	want := `
# HELP ebb_vertical_recommendation_cpu_cores Vertical CPU request recommendation per container (bound: target, lower, upper).
# TYPE ebb_vertical_recommendation_cpu_cores gauge
ebb_vertical_recommendation_cpu_cores{bound="lower",container="app",namespace="shop",target="Deployment/web"} 0.4
ebb_vertical_recommendation_cpu_cores{bound="target",container="app",namespace="shop",target="Deployment/web"} 0.5
ebb_vertical_recommendation_cpu_cores{bound="upper",container="app",namespace="shop",target="Deployment/web"} 0.7
ebb_vertical_recommendation_cpu_cores{bound="lower",container="sidecar",namespace="shop",target="Deployment/web"} 0.025
ebb_vertical_recommendation_cpu_cores{bound="target",container="sidecar",namespace="shop",target="Deployment/web"} 0.025
ebb_vertical_recommendation_cpu_cores{bound="upper",container="sidecar",namespace="shop",target="Deployment/web"} 0.03
# HELP ebb_vertical_recommendation_memory_bytes Vertical memory request recommendation per container (bound: target, lower, upper).
# TYPE ebb_vertical_recommendation_memory_bytes gauge
ebb_vertical_recommendation_memory_bytes{bound="lower",container="app",namespace="shop",target="Deployment/web"} 4.194304e+08
ebb_vertical_recommendation_memory_bytes{bound="target",container="app",namespace="shop",target="Deployment/web"} 5.36870912e+08
ebb_vertical_recommendation_memory_bytes{bound="upper",container="app",namespace="shop",target="Deployment/web"} 8.388608e+08
# HELP ebb_vertical_request_cpu_cores Current CPU request per container (largest over the target's pods).
# TYPE ebb_vertical_request_cpu_cores gauge
ebb_vertical_request_cpu_cores{container="app",namespace="shop",target="Deployment/web"} 0.1
ebb_vertical_request_cpu_cores{container="sidecar",namespace="shop",target="Deployment/web"} 0.05
# HELP ebb_vertical_request_memory_bytes Current memory request per container (largest over the target's pods).
# TYPE ebb_vertical_request_memory_bytes gauge
ebb_vertical_request_memory_bytes{container="app",namespace="shop",target="Deployment/web"} 2.68435456e+08
# HELP ebb_vertical_usage_cpu_cores Last observed CPU usage per container (max over pods).
# TYPE ebb_vertical_usage_cpu_cores gauge
ebb_vertical_usage_cpu_cores{container="app",namespace="shop",target="Deployment/web"} 0.25
# HELP ebb_vertical_usage_memory_bytes Last observed memory working set per container (max over pods).
# TYPE ebb_vertical_usage_memory_bytes gauge
ebb_vertical_usage_memory_bytes{container="app",namespace="shop",target="Deployment/web"} 3.145728e+08
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

func TestReportContainers(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	recs := []rv.ContainerRecommendation{
		{Name: "app", CPU: &rv.Bounds{Target: 500, Lower: 400, Upper: 700}, Memory: &rv.Bounds{Target: 512, Lower: 400, Upper: 800},
			History: 36 * time.Hour, Confidence: 1.5},
		{Name: "sidecar", CPU: &rv.Bounds{Target: 25, Lower: 25, Upper: 30}, History: time.Hour, Confidence: 0.04},
	}
	got := ReportContainers(recs, map[string]rv.Amounts{"app": {CPUMillis: 100}},
		map[string]rv.Amounts{"app": {CPUMillis: 420, MemoryBytes: 300}, "gone": {CPUMillis: 1}})
	want := []report.Container{
		{Name: "app", Target: report.Resources{CPUMilli: p(500), MemoryBytes: p(512)},
			LowerBound: report.Resources{CPUMilli: p(400), MemoryBytes: p(400)},
			UpperBound: report.Resources{CPUMilli: p(700), MemoryBytes: p(800)},
			Request:    report.Resources{CPUMilli: p(100)}, Usage: report.Resources{CPUMilli: p(420), MemoryBytes: p(300)},
			History: report.Duration(36 * time.Hour), Confidence: 1},
		{Name: "sidecar", Target: report.Resources{CPUMilli: p(25)}, LowerBound: report.Resources{CPUMilli: p(25)},
			UpperBound: report.Resources{CPUMilli: p(30)}, History: report.Duration(time.Hour), Confidence: 0.04},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReportContainers() (-want +got):\n%s", d)
	}
}
