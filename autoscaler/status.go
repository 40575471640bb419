package autoscaler

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// This file is the leader's live status (`ebb status`, /status): the last
// pass's report and, per target, its recent decisions as a time series.
//
// Memory is bounded by design. A target keeps at most Window/Resolution
// samples (6 h at 1 min: 360) in a ring of compact fixed-size records —
// replica counts as int32, a reason as an index into a shared table, per
// metric its value, target and utilization, per container CPU in
// millicores (int32) and memory in KiB (int32) — with no pointer per
// sample. The passes of one Resolution step share one sample: the last
// pass's numbers, with a write (applied) of an earlier pass of the step
// kept. Sample sizes are measured by BenchmarkStatusHistory.

// StatusHistory keeps the leader's recent decisions. It is safe for
// concurrent use: the loop records, the HTTP handler reads.
type StatusHistory struct {
	window, resolution time.Duration
	size               int // samples per target

	mu      sync.Mutex
	last    report.Report
	targets map[string]*ring // by "Kind/name"
	reasons []string
	reason  map[string]uint16
}

// NewStatusHistory keeps window of decisions at one sample per resolution
// (at least one sample; resolution is raised to window when larger).
func NewStatusHistory(window, resolution time.Duration) *StatusHistory {
	if resolution <= 0 || resolution > window {
		resolution = max(window, time.Second)
	}
	size := max(int(window/resolution), 1)
	return &StatusHistory{window: window, resolution: resolution, size: size,
		targets: map[string]*ring{}, reasons: []string{""}, reason: map[string]uint16{"": 0}}
}

// unknown marks a missing replica count or amount in a compact sample.
const unknown = math.MinInt32

// point is one compact sample of a target.
type point struct {
	at       int64    // Unix nanoseconds of the pass
	replicas [5]int32 // current, recommended, desired, applied, HPA's desired; unknown when nil
	reason   uint16
}

// metricPoint is one metric of a sample (Metric.Value and Target in
// milli-units, Utilization in percent).
type metricPoint struct {
	value, target int64
	util          int32
	has           uint8 // bit 0: value, bit 1: utilization
}

// containerPoint is one container of a sample: target, lower, upper,
// request, usage, CPU in millicores and memory in KiB (rounded up), each
// unknown when nil and math.MaxInt32 when at or above report.Unbounded.
type containerPoint struct {
	cpu, mem [5]int32
}

// layout is what a target's samples share: its metrics' names, target
// types and units, and its containers' names. A sample of another layout
// (a policy change) starts the target's history afresh.
type layout struct {
	metrics    []report.Metric // Name, TargetType, Unit
	containers []string
}

func layoutOf(t report.Target) layout {
	var l layout
	for _, m := range t.Metrics {
		l.metrics = append(l.metrics, report.Metric{Name: m.Name, TargetType: m.TargetType, Unit: m.Unit})
	}
	for _, c := range t.Vertical {
		l.containers = append(l.containers, c.Name)
	}
	return l
}

// fits says whether t's samples have layout l (without allocating).
func (l layout) fits(t report.Target) bool {
	if len(l.metrics) != len(t.Metrics) || len(l.containers) != len(t.Vertical) {
		return false
	}
	for i, m := range t.Metrics {
		if lm := l.metrics[i]; lm.Name != m.Name || lm.TargetType != m.TargetType || lm.Unit != m.Unit {
			return false
		}
	}
	for i, c := range t.Vertical {
		if l.containers[i] != c.Name {
			return false
		}
	}
	return true
}

// ring is one target's samples, oldest first from head.
type ring struct {
	layout     layout
	head, n    int
	points     []point
	metrics    []metricPoint    // len(layout.metrics) per point
	containers []containerPoint // len(layout.containers) per point
}

// Record adds a pass's report: the last report is replaced, each target's
// sample appended (or, within the same Resolution step, overwritten).
// Targets absent from rep are forgotten.
func (s *StatusHistory) Record(rep report.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = rep
	seen := make(map[string]bool, len(rep.Targets))
	for _, t := range rep.Targets {
		key := t.Ref()
		seen[key] = true
		r := s.targets[key]
		if r == nil || !r.layout.fits(t) {
			r = &ring{layout: layoutOf(t)}
			s.targets[key] = r
		}
		s.add(r, rep.GeneratedAt, t)
	}
	for key := range s.targets {
		if !seen[key] {
			delete(s.targets, key)
		}
	}
}

// Reset forgets everything (this replica lost the lease: the next leader
// serves the status).
func (s *StatusHistory) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = report.Report{}
	s.targets = map[string]*ring{}
}

func (s *StatusHistory) add(r *ring, at time.Time, t report.Target) {
	nm, nc := len(r.layout.metrics), len(r.layout.containers)
	if r.points == nil {
		r.points = make([]point, s.size)
		r.metrics = make([]metricPoint, s.size*nm)
		r.containers = make([]containerPoint, s.size*nc)
	}
	p := point{at: at.UnixNano(), reason: s.intern(t.Reason)}
	var hpa *int32
	if t.HPA != nil {
		hpa = t.HPA.Desired
	}
	for i, v := range []*int32{t.Current, t.Recommended, t.Desired, t.Applied, hpa} {
		p.replicas[i] = compact32(v)
	}
	i := (r.head + r.n) % s.size
	if r.n > 0 {
		newest := (r.head + r.n - 1) % s.size
		if at.Truncate(s.resolution).UnixNano() == time.Unix(0, r.points[newest].at).Truncate(s.resolution).UnixNano() {
			i = newest // the same step: the last pass wins, an earlier write stays
			if p.replicas[3] == unknown {
				p.replicas[3] = r.points[newest].replicas[3]
			}
		} else if r.n == s.size {
			r.head = (r.head + 1) % s.size
		} else {
			r.n++
		}
	} else {
		r.n = 1
	}
	r.points[i] = p
	for k, m := range t.Metrics {
		mp := metricPoint{target: m.Target}
		if m.Value != nil {
			mp.value, mp.has = *m.Value, mp.has|1
		}
		if m.Utilization != nil {
			mp.util, mp.has = *m.Utilization, mp.has|2
		}
		r.metrics[i*nm+k] = mp
	}
	for k, c := range t.Vertical {
		r.containers[i*nc+k] = containerPoint{
			cpu: [5]int32{milli32(c.Target.CPUMilli), milli32(c.LowerBound.CPUMilli), milli32(c.UpperBound.CPUMilli), milli32(c.Request.CPUMilli), milli32(c.Usage.CPUMilli)},
			mem: [5]int32{kib32(c.Target.MemoryBytes), kib32(c.LowerBound.MemoryBytes), kib32(c.UpperBound.MemoryBytes), kib32(c.Request.MemoryBytes), kib32(c.Usage.MemoryBytes)},
		}
	}
}

func (s *StatusHistory) intern(reason string) uint16 {
	if i, ok := s.reason[reason]; ok {
		return i
	}
	if len(s.reasons) == math.MaxUint16 {
		return 0 // the condition reasons are a small fixed set; never reached
	}
	s.reasons = append(s.reasons, reason)
	s.reason[reason] = uint16(len(s.reasons) - 1)
	return s.reason[reason]
}

// StatusQuery selects what Status returns.
type StatusQuery struct {
	// Targets ("Kind/name") to return; empty: all.
	Targets []string
	// History is how far back samples go from the last pass; 0 none,
	// negative: all that is kept.
	History time.Duration
}

// Status returns the last pass's report with each target's samples of q's
// span, oldest first.
func (s *StatusHistory) Status(q StatusQuery) report.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.last
	out.Targets = nil
	from := int64(math.MinInt64)
	if q.History >= 0 {
		from = s.last.GeneratedAt.Add(-q.History).UnixNano()
	}
	for _, t := range s.last.Targets {
		if len(q.Targets) > 0 && !slices.Contains(q.Targets, t.Ref()) {
			continue
		}
		if r := s.targets[t.Ref()]; r != nil && q.History != 0 {
			t.History = s.samples(r, from)
		}
		out.Targets = append(out.Targets, t)
	}
	return out
}

// samples expands r's samples taken at or after from.
func (s *StatusHistory) samples(r *ring, from int64) []report.Sample {
	nm, nc := len(r.layout.metrics), len(r.layout.containers)
	var out []report.Sample
	for j := range r.n {
		i := (r.head + j) % s.size
		p := r.points[i]
		if p.at < from {
			continue
		}
		sm := report.Sample{Time: time.Unix(0, p.at).UTC(), Reason: s.reasons[p.reason],
			Current: expand32(p.replicas[0]), Recommended: expand32(p.replicas[1]), Desired: expand32(p.replicas[2]),
			Applied: expand32(p.replicas[3]), HPADesired: expand32(p.replicas[4])}
		for k := range nm {
			mp, m := r.metrics[i*nm+k], r.layout.metrics[k]
			m.Target = mp.target
			if mp.has&1 != 0 {
				m.Value = report.Int64(mp.value)
			}
			if mp.has&2 != 0 {
				m.Utilization = report.Int32(mp.util)
			}
			sm.Metrics = append(sm.Metrics, m)
		}
		for k := range nc {
			cp := r.containers[i*nc+k]
			res := func(j int) report.Resources {
				return report.Resources{CPUMilli: expandMilli(cp.cpu[j]), MemoryBytes: expandKiB(cp.mem[j])}
			}
			sm.Vertical = append(sm.Vertical, report.Container{Name: r.layout.containers[k],
				Target: res(0), LowerBound: res(1), UpperBound: res(2), Request: res(3), Usage: res(4)})
		}
		out = append(out, sm)
	}
	return out
}

func compact32(v *int32) int32 {
	if v == nil {
		return unknown
	}
	return *v
}

func expand32(v int32) *int32 {
	if v == unknown {
		return nil
	}
	return report.Int32(v)
}

// milli32 and kib32 store an amount; at or above report.Unbounded (or
// past int32) it is kept as math.MaxInt32, which reads back as
// report.Unbounded.
func milli32(v *int64) int32 {
	switch {
	case v == nil:
		return unknown
	case *v >= report.Unbounded || *v >= math.MaxInt32:
		return math.MaxInt32
	}
	return int32(max(*v, 0))
}

func kib32(v *int64) int32 {
	if v == nil {
		return unknown
	}
	kib := (*v + 1023) / 1024
	if *v >= report.Unbounded || kib >= math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(max(kib, 0))
}

func expandMilli(v int32) *int64 {
	switch v {
	case unknown:
		return nil
	case math.MaxInt32:
		return report.Int64(report.Unbounded)
	}
	return report.Int64(int64(v))
}

func expandKiB(v int32) *int64 {
	switch v {
	case unknown:
		return nil
	case math.MaxInt32:
		return report.Int64(report.Unbounded)
	}
	return report.Int64(int64(v) * 1024)
}
