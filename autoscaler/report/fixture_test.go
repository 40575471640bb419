package report

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// This file builds a realistic leader status for the HTML tests and the
// docs screenshot: six hours of 15 s passes over three targets, the
// replica decisions computed by ebb's own recommender in the closed-loop
// world of recommender/simulate (so steps, stabilization and lag are
// real), the rest derived from the same run.

const fixtureHours = 6

// fixtureTrace is a diurnal CPU demand (cores) with a flash crowd.
func fixtureTrace(base, swing float64, crowdAt time.Duration) []simulate.Point {
	var tr []simulate.Point
	for t := time.Duration(0); t <= fixtureHours*time.Hour; t += time.Minute {
		d := base + swing*math.Sin(2*math.Pi*t.Hours()/4)
		if t >= crowdAt && t < crowdAt+25*time.Minute {
			d += 2.5 * swing
		}
		tr = append(tr, simulate.Point{T: t, Demand: math.Round(max(d, 0.1)*100) / 100})
	}
	return tr
}

// decision is what a decider said at one sync.
type decision struct {
	ebb, hpa horizontal.Decision
}

// runWorld plays trace with spec; the world follows the HPA rule (opt),
// and ebb decides beside it with ebbOpt on its own history. It returns the
// rows and both decisions per sync.
func runWorld(tb testing.TB, spec horizontal.Spec, trace []simulate.Point, ebbOpt horizontal.Options) ([]simulate.SyncRow, []decision) {
	tb.Helper()
	w := simulate.DefaultWorld()
	w.Spec, w.Trace = spec, trace
	var ds []decision
	ebbHistory := &horizontal.History{}
	w.Decider = simulate.DeciderFunc(func(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
		d := decision{hpa: horizontal.Decide(o, spec, w.Options, h), ebb: horizontal.Decide(o, spec, ebbOpt, ebbHistory)}
		ds = append(ds, d)
		return d.hpa
	})
	res, err := simulate.Run(w)
	if err != nil {
		tb.Fatalf("fixture world: %v", err)
	}
	return res.Syncs, ds
}

func cpuSpec(target horizontal.Target) horizontal.Spec {
	return horizontal.Spec{MinReplicas: 2, MaxReplicas: 24, Metrics: []horizontal.MetricSpec{
		{Type: horizontal.ResourceMetric, Name: "cpu", Target: target}}}
}

// fixtureStatus is the leader's status of namespace shop.
func fixtureStatus(tb testing.TB) Report {
	web := webTarget(tb)
	checkout := checkoutTarget(tb)
	queue := queueTarget()
	last := web.History[len(web.History)-1].Time
	return Report{GeneratedAt: last, Namespace: "shop", Targets: []Target{web, checkout, queue}}
}

// webTarget is applied by ebb (the world follows ebb) on CPU utilization,
// with a vertical recommendation for its container.
func webTarget(tb testing.TB) Target {
	spec := cpuSpec(horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: 60})
	rows, ds := runWorld(tb, spec, fixtureTrace(3, 1.5, 3*time.Hour), horizontal.DefaultOptions())
	t := Target{Kind: "Deployment", Name: "web", APIVersion: "apps/v1", Mode: "apply", Min: 2, Max: 24}
	var usage []float64
	for i, row := range rows {
		d := ds[i].hpa // the world follows this decision: in apply mode it is ebb's
		s := Sample{Time: simulate.Epoch().Add(row.T), Current: Int32(row.Current), Recommended: Int32(d.Recommended),
			Desired: Int32(row.Desired), Reason: d.Reason}
		if row.Desired != row.Current {
			s.Applied = Int32(row.Desired)
		}
		m := Metric{Name: "Resource/cpu", TargetType: "Utilization", Target: 60, Unit: UnitCores, Replicas: Int32(d.Recommended)}
		if row.Utilization != nil {
			m.Utilization = row.Utilization
			m.Value = Int64(int64(*row.Utilization) * 5) // of a 500m request
			usage = append(usage, float64(*m.Value))
		}
		s.Metrics = []Metric{m}
		s.Vertical = []Container{webContainer(row.T, usage)}
		t.History = append(t.History, s)
	}
	fillLast(&t)
	return t
}

// webContainer is a plausible vertical row at t: percentiles of the usage
// so far with the VPA's margin, the upper bound unbounded in the first 30
// minutes (too little history).
func webContainer(t time.Duration, usage []float64) Container {
	c := Container{Name: "app", Request: Resources{CPUMilli: Int64(500), MemoryBytes: Int64(512 << 20)},
		History: Duration(t), Confidence: math.Min(t.Hours()/24, 1)}
	mem := int64((300 + 25*math.Sin(2*math.Pi*t.Hours()/3)) * (1 << 20))
	c.Usage.MemoryBytes = Int64(mem)
	if len(usage) > 0 {
		c.Usage.CPUMilli = Int64(int64(usage[len(usage)-1]))
	}
	if len(usage) < 8 {
		return c
	}
	sorted := slices.Clone(usage)
	slices.Sort(sorted)
	p := func(q float64) int64 { return int64(sorted[int(q*float64(len(sorted)-1))] * 1.15) }
	c.Target = Resources{CPUMilli: Int64(p(0.9)), MemoryBytes: Int64(360 << 20)}
	c.LowerBound = Resources{CPUMilli: Int64(p(0.5)), MemoryBytes: Int64(330 << 20)}
	c.UpperBound = Resources{CPUMilli: Int64(Unbounded), MemoryBytes: Int64(Unbounded)}
	if t > 30*time.Minute {
		c.UpperBound = Resources{CPUMilli: Int64(p(0.95) * 2), MemoryBytes: Int64(420 << 20)}
	}
	return c
}

// checkoutTarget is in dry-run beside its HPA: the HPA scales (the world
// follows it) while ebb, with a 1-minute downscale window instead of 5,
// would come down sooner.
func checkoutTarget(tb testing.TB) Target {
	spec := cpuSpec(horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 300})
	opt := horizontal.DefaultOptions()
	opt.DownscaleStabilization = time.Minute
	rows, ds := runWorld(tb, spec, fixtureTrace(2, 1.2, 4*time.Hour+30*time.Minute), opt)
	t := Target{Kind: "Deployment", Name: "checkout", APIVersion: "apps/v1", Mode: "dry-run", Min: 2, Max: 24,
		HPA: &HPA{Name: "checkout"}}
	for i, row := range rows {
		e := ds[i].ebb
		s := Sample{Time: simulate.Epoch().Add(row.T), Current: Int32(row.Current), Recommended: Int32(e.Recommended),
			Desired: Int32(e.Replicas), HPADesired: Int32(row.Desired), Reason: e.Reason}
		m := Metric{Name: "Resource/cpu", TargetType: "AverageValue", Target: 300, Unit: UnitCores, Replicas: Int32(e.Recommended)}
		if len(e.Proposal.Metrics) > 0 && e.Proposal.Metrics[0].Err == nil {
			m.Value = Int64(e.Proposal.Metrics[0].Value)
		}
		s.Metrics = []Metric{m}
		t.History = append(t.History, s)
	}
	fillLast(&t)
	t.HPA.Desired = t.History[len(t.History)-1].HPADesired
	return t
}

// queueTarget scales on a Pods metric whose source went silent for 20
// minutes: a gap in the chart and a hold on the current size.
func queueTarget() Target {
	t := Target{Kind: "StatefulSet", Name: "queue", APIVersion: "apps/v1", Mode: "dry-run", Min: 1, Max: 10}
	current := int32(3)
	for i := 0; i < fixtureHours*240; i++ {
		at := time.Duration(i) * 15 * time.Second
		s := Sample{Time: simulate.Epoch().Add(at), Current: Int32(current)}
		m := Metric{Name: "Pods/queue_depth", TargetType: "AverageValue", Target: 30000}
		if at >= 2*time.Hour && at < 2*time.Hour+20*time.Minute {
			m.Error = "query \"sum(queue_depth)\": no data"
			s.Desired, s.Reason = Int32(current), "MissingMetricsHold"
		} else {
			total := 60 + 45*math.Sin(2*math.Pi*at.Hours()/2.5)
			want := int32(min(max(math.Ceil(total/30), 1), 10))
			m.Value, m.Replicas = Int64(int64(total*1000)/int64(current)), Int32(want)
			s.Recommended, s.Desired, s.Reason = Int32(want), Int32(want), "DesiredWithinRange"
			current = want
		}
		s.Metrics = []Metric{m}
		t.History = append(t.History, s)
	}
	fillLast(&t)
	return t
}

// fillLast copies the last sample into the target's snapshot fields.
func fillLast(t *Target) {
	s := t.History[len(t.History)-1]
	t.Current, t.Recommended, t.Stabilized, t.Desired = s.Current, s.Recommended, s.Desired, s.Desired
	t.Reason, t.Metrics, t.Vertical = s.Reason, s.Metrics, s.Vertical
}
