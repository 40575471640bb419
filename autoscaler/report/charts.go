package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"

	"github.com/ebb-autoscaler/ebb/autoscaler/report/chart"
)

// This file turns a target's samples into the HTML report's charts:
// replicas, each metric against its target, and per container and
// resource the vertical bounds against the request and the usage.

// samples is t's history, or its one pass as a single sample when it has
// none (`ebb report`), so every target can be charted.
func samples(r Report, t Target) []Sample {
	if len(t.History) > 0 {
		return t.History
	}
	return []Sample{SampleOf(r.GeneratedAt, t, nil)}
}

// targetCharts renders t's charts, in order: replicas, metrics, vertical.
// A chart with nothing to plot (a target in mode off) is left out.
func targetCharts(r Report, t Target) ([]template.HTML, error) {
	ss := samples(r, t)
	charts := []chart.Chart{replicaChart(t, ss)}
	charts = append(charts, metricCharts(ss)...)
	charts = append(charts, verticalCharts(ss)...)
	out := make([]template.HTML, 0, len(charts))
	for _, c := range charts {
		if !plotted(c) {
			continue
		}
		var b bytes.Buffer
		if err := chart.Render(&b, c); err != nil {
			return nil, fmt.Errorf("chart %q: %w", c.Title, err)
		}
		// The chart package escapes every text it writes.
		out = append(out, template.HTML(b.String())) //nolint:gosec // generated SVG, escaped by chart
	}
	return out, nil
}

// plotted reports whether any series of c has a point to draw.
func plotted(c chart.Chart) bool {
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !p.Missing {
				return true
			}
		}
	}
	return false
}

// series collects one value per sample (by index); value reports false
// for a gap.
func series(name string, style chart.Style, dashed bool, ss []Sample, value func(i int) (float64, bool)) chart.Series {
	s := chart.Series{Name: name, Style: style, Dashed: dashed, Points: make([]chart.Point, len(ss))}
	for i, smp := range ss {
		v, ok := value(i)
		s.Points[i] = chart.Point{T: smp.Time, V: v, Missing: !ok}
	}
	return s
}

func int32Of(p *int32) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p), true
}

func replicaChart(t Target, ss []Sample) chart.Chart {
	c := chart.Chart{Title: "Replicas", Integer: true, Format: func(v float64) string {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}}
	field := func(f func(Sample) *int32) func(int) (float64, bool) {
		return func(i int) (float64, bool) { return int32Of(f(ss[i])) }
	}
	c.Series = []chart.Series{
		series("current", chart.Step, false, ss, field(func(s Sample) *int32 { return s.Current })),
		series("recommended", chart.Line, false, ss, field(func(s Sample) *int32 { return s.Recommended })),
		series("desired", chart.Step, true, ss, field(func(s Sample) *int32 { return s.Desired })),
	}
	if t.HPA != nil || hasHPA(ss) {
		c.Series = append(c.Series, series("HPA desired", chart.Step, false, ss,
			field(func(s Sample) *int32 { return s.HPADesired })))
	}
	c.Series = append(c.Series, series("applied", chart.Dots, false, ss, field(func(s Sample) *int32 { return s.Applied })))
	return c
}

func hasHPA(ss []Sample) bool {
	for _, s := range ss {
		if s.HPADesired != nil {
			return true
		}
	}
	return false
}

// metricCharts draws each metric (by name, in order of first appearance)
// as its observed value against its target, in the unit the table uses.
func metricCharts(ss []Sample) []chart.Chart {
	var names []string
	last := map[string]Metric{}
	for _, s := range ss {
		for _, m := range s.Metrics {
			if _, ok := last[m.Name]; !ok {
				names = append(names, m.Name)
			}
			last[m.Name] = m // the latest one sets the scale
		}
	}
	out := make([]chart.Chart, 0, len(names))
	for _, name := range names {
		a := metricScale(last[name])
		rows := make([]*Metric, len(ss)) // name's metric in each sample, nil when absent
		for i := range ss {
			for j := range ss[i].Metrics {
				if ss[i].Metrics[j].Name == name {
					rows[i] = &ss[i].Metrics[j]
				}
			}
		}
		at := func(f func(Metric) (float64, bool)) func(int) (float64, bool) {
			return func(i int) (float64, bool) {
				if rows[i] == nil {
					return 0, false
				}
				return f(*rows[i])
			}
		}
		out = append(out, chart.Chart{Title: name + " (" + a.label + ")", Format: a.format, Series: []chart.Series{
			series("observed", chart.Line, false, ss, at(a.observed)),
			series("target", chart.Step, true, ss, at(func(m Metric) (float64, bool) { return a.of(m.Target), true })),
		}})
	}
	return out
}

// axis is how a quantity is charted: of converts a raw value (milli-units,
// millicores or bytes) to the plotted number, format labels it.
type axis struct {
	label  string
	of     func(int64) float64
	format func(float64) string
	// observed is a metric's plotted observation.
	observed func(Metric) (float64, bool)
}

func plain(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// metricScale is m's axis: percent for Utilization, millicores for CPU,
// Mi or Gi for memory (chosen by the target), plain numbers otherwise.
func metricScale(m Metric) axis {
	value := func(a axis) func(Metric) (float64, bool) {
		return func(m Metric) (float64, bool) {
			if m.Value == nil {
				return 0, false
			}
			return a.of(*m.Value), true
		}
	}
	var a axis
	switch {
	case m.TargetType == "Utilization":
		a = axis{label: "% of request", of: func(v int64) float64 { return float64(v) },
			format: func(v float64) string { return plain(v) + "%" }}
		a.observed = func(m Metric) (float64, bool) { return int32Of(m.Utilization) }
		return a
	case m.Unit == UnitCores:
		a = axis{label: "millicores", of: func(v int64) float64 { return float64(v) },
			format: func(v float64) string { return plain(v) + "m" }}
	case m.Unit == UnitBytes:
		a = memoryAxis(m.Target / 1000)
		bytesOf := a.of
		a.of = func(v int64) float64 { return bytesOf(v / 1000) }
	default:
		a = axis{label: "value", of: func(v int64) float64 { return float64(v) / 1000 }, format: plain}
	}
	a.observed = value(a)
	return a
}

// memoryAxis plots bytes in Mi, or Gi when ref is 1Gi or more.
func memoryAxis(ref int64) axis {
	suffix, size := "Mi", int64(1<<20)
	if ref >= 1<<30 {
		suffix, size = "Gi", 1<<30
	}
	return axis{label: suffix + "B", of: func(v int64) float64 { return float64(v) / float64(size) },
		format: func(v float64) string { return plain(v) + suffix }}
}

// chartedResources are the resources of a container's vertical charts.
var chartedResources = []struct {
	name string
	get  func(Resources) *int64
}{
	{"CPU", func(r Resources) *int64 { return r.CPUMilli }},
	{"memory", func(r Resources) *int64 { return r.MemoryBytes }},
}

// verticalCharts draws, per container (in order of first appearance) and
// resource with data, the target and bounds against request and usage.
// Unbounded bounds are gaps: they have no finite value to draw.
func verticalCharts(ss []Sample) []chart.Chart {
	var names []string
	seen := map[string]bool{}
	for _, s := range ss {
		for _, c := range s.Vertical {
			if !seen[c.Name] {
				seen[c.Name] = true
				names = append(names, c.Name)
			}
		}
	}
	var out []chart.Chart
	for _, name := range names {
		rows := make([]*Container, len(ss)) // name's row in each sample, nil when absent
		for i := range ss {
			for j := range ss[i].Vertical {
				if ss[i].Vertical[j].Name == name {
					rows[i] = &ss[i].Vertical[j]
				}
			}
		}
		for _, res := range chartedResources {
			if c, ok := resourceChart(ss, name, rows, res.name, res.get); ok {
				out = append(out, c)
			}
		}
	}
	return out
}

// resourceChart is one container's chart for one resource; false when
// no sample has a finite value of it.
func resourceChart(ss []Sample, name string, rows []*Container, resource string, get func(Resources) *int64) (chart.Chart, bool) {
	var peak int64
	found := false
	for _, c := range rows {
		if c == nil {
			continue
		}
		for _, p := range []*int64{get(c.Target), get(c.LowerBound), get(c.Request), get(c.Usage)} {
			if p != nil && *p < Unbounded {
				found, peak = true, max(peak, *p)
			}
		}
	}
	if !found {
		return chart.Chart{}, false
	}
	a := axis{label: "millicores", of: func(v int64) float64 { return float64(v) },
		format: func(v float64) string { return plain(v) + "m" }}
	if resource == "memory" {
		a = memoryAxis(peak)
	}
	at := func(field func(Container) Resources) func(int) (float64, bool) {
		return func(i int) (float64, bool) {
			if rows[i] == nil {
				return 0, false
			}
			p := get(field(*rows[i]))
			if p == nil || *p >= Unbounded {
				return 0, false
			}
			return a.of(*p), true
		}
	}
	return chart.Chart{Title: "Container " + name + " " + resource + " (" + a.label + ")", Format: a.format,
		Series: []chart.Series{
			series("request", chart.Step, false, ss, at(func(c Container) Resources { return c.Request })),
			series("usage", chart.Line, false, ss, at(func(c Container) Resources { return c.Usage })),
			series("target", chart.Step, true, ss, at(func(c Container) Resources { return c.Target })),
			series("lower bound", chart.Line, true, ss, at(func(c Container) Resources { return c.LowerBound })),
			series("upper bound", chart.Line, true, ss, at(func(c Container) Resources { return c.UpperBound })),
		}}, true
}

// cpuQuantity and memQuantity format a request for a manifest:
// millicores for CPU, memory in whole Gi or else rounded up to a whole Mi
// (a request must not shrink by rounding).
func cpuQuantity(milli int64) string { return strconv.FormatInt(milli, 10) + "m" }

func memQuantity(bytes int64) string {
	if bytes%(1<<30) == 0 {
		return strconv.FormatInt(bytes>>30, 10) + "Gi"
	}
	return strconv.FormatInt(int64(math.Ceil(float64(bytes)/(1<<20))), 10) + "Mi"
}
