package vertical

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Metrics are the vertical gauges of docs/metrics.md.
type Metrics struct {
	recCPU, recMem        *prometheus.GaugeVec // namespace, target, container, bound
	reqCPU, reqMem        *prometheus.GaugeVec // namespace, target, container
	usageCPU, usageMemory *prometheus.GaugeVec
}

// NewMetrics registers the vertical gauges on reg (never the global one).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return f.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	c, b := []string{"namespace", "target", "container"}, []string{"namespace", "target", "container", "bound"}
	return &Metrics{
		recCPU:      g("ebb_vertical_recommendation_cpu_cores", "Vertical CPU request recommendation per container (bound: target, lower, upper).", b...),
		recMem:      g("ebb_vertical_recommendation_memory_bytes", "Vertical memory request recommendation per container (bound: target, lower, upper).", b...),
		reqCPU:      g("ebb_vertical_request_cpu_cores", "Current CPU request per container (largest over the target's pods).", c...),
		reqMem:      g("ebb_vertical_request_memory_bytes", "Current memory request per container (largest over the target's pods).", c...),
		usageCPU:    g("ebb_vertical_usage_cpu_cores", "Last observed CPU usage per container (max over pods).", c...),
		usageMemory: g("ebb_vertical_usage_memory_bytes", "Last observed memory working set per container (max over pods).", c...),
	}
}

// Record replaces target's series with recs, the current requests and the
// last usage. Unknown values (no request, no usage, a resource not
// controlled) have no series: missing is never zero.
func (m *Metrics) Record(namespace, target string, recs []rv.ContainerRecommendation, requests, usage map[string]rv.Amounts) {
	m.Forget(namespace, target)
	for _, r := range recs {
		setBounds(m.recCPU, r.CPU, 1000, namespace, target, r.Name)
		setBounds(m.recMem, r.Memory, 1, namespace, target, r.Name)
	}
	setAmounts(m.reqCPU, m.reqMem, requests, namespace, target)
	setAmounts(m.usageCPU, m.usageMemory, usage, namespace, target)
}

func setBounds(g *prometheus.GaugeVec, b *rv.Bounds, per float64, ns, target, container string) {
	if b == nil {
		return
	}
	g.WithLabelValues(ns, target, container, "target").Set(float64(b.Target) / per)
	g.WithLabelValues(ns, target, container, "lower").Set(float64(b.Lower) / per)
	g.WithLabelValues(ns, target, container, "upper").Set(float64(b.Upper) / per)
}

func setAmounts(cpu, mem *prometheus.GaugeVec, by map[string]rv.Amounts, ns, target string) {
	for name, a := range by {
		if a.CPUMillis > 0 {
			cpu.WithLabelValues(ns, target, name).Set(float64(a.CPUMillis) / 1000)
		}
		if a.MemoryBytes > 0 {
			mem.WithLabelValues(ns, target, name).Set(float64(a.MemoryBytes))
		}
	}
}

// Forget deletes every series of target (it left the policy or is off).
func (m *Metrics) Forget(namespace, target string) {
	l := prometheus.Labels{"namespace": namespace, "target": target}
	for _, g := range []*prometheus.GaugeVec{m.recCPU, m.recMem, m.reqCPU, m.reqMem, m.usageCPU, m.usageMemory} {
		g.DeletePartialMatch(l)
	}
}

// ReportContainers is the vertical section of a report target: one row per
// recommended container with its current request, last usage, history and
// confidence (clamped to [0, 1]). Missing values stay nil.
func ReportContainers(recs []rv.ContainerRecommendation, requests, usage map[string]rv.Amounts) []report.Container {
	out := make([]report.Container, 0, len(recs))
	for _, r := range recs {
		c := report.Container{Name: r.Name, History: report.Duration(r.History), Confidence: min(max(r.Confidence, 0), 1)}
		if r.CPU != nil {
			c.Target.CPUMilli, c.LowerBound.CPUMilli, c.UpperBound.CPUMilli = ptr(r.CPU.Target), ptr(r.CPU.Lower), ptr(r.CPU.Upper)
		}
		if r.Memory != nil {
			c.Target.MemoryBytes, c.LowerBound.MemoryBytes, c.UpperBound.MemoryBytes = ptr(r.Memory.Target), ptr(r.Memory.Lower), ptr(r.Memory.Upper)
		}
		c.Request = resources(requests[r.Name])
		c.Usage = resources(usage[r.Name])
		out = append(out, c)
	}
	return out
}

// resources are a's positive amounts; zero is "not set", so nil.
func resources(a rv.Amounts) report.Resources {
	var r report.Resources
	if a.CPUMillis > 0 {
		r.CPUMilli = ptr(a.CPUMillis)
	}
	if a.MemoryBytes > 0 {
		r.MemoryBytes = ptr(a.MemoryBytes)
	}
	return r
}

func ptr(v int64) *int64 { return &v }
