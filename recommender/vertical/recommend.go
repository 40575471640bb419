package vertical

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Resource names a resource the vertical recommender controls.
type Resource string

// The controlled resources.
const (
	CPU    Resource = "cpu"
	Memory Resource = "memory"
)

// Mode is a container's scaling mode.
type Mode string

// Container scaling modes: Off containers get no recommendation and do not
// count in the split of the pod minimums.
const (
	ModeAuto Mode = "Auto"
	ModeOff  Mode = "Off"
)

// Amounts is CPU in millicores and memory in bytes.
type Amounts struct {
	CPUMillis   int64
	MemoryBytes int64
}

// ContainerPolicy is the VPA's ContainerResourcePolicy for one container
// name, or for all others when Name is "*".
type ContainerPolicy struct {
	Name string
	Mode Mode // "" means Auto
	// MinAllowed and MaxAllowed clamp target and bounds; a zero amount means
	// no bound. MaxAllowed wins over MinAllowed.
	MinAllowed, MaxAllowed Amounts
	// ControlledResources lists the resources recommended; nil means both.
	ControlledResources []Resource
}

// Policy is the vertical policy of one workload.
type Policy struct {
	Containers []ContainerPolicy
	// HorizontalCPUUtilization and HorizontalMemoryUtilization are the
	// utilization targets (percent) on which the horizontal side scales this
	// workload, 0 when it does not. Then, so the two sides do not ratchet
	// (docs/vertical.md): the CPU target is the mean per-pod usage (rounded
	// up to its histogram bucket end) / target utilization instead of
	// p90 x (1 + margin); memory is left to the
	// horizontal side (listed in HeldByHorizontal).
	HorizontalCPUUtilization    int32
	HorizontalMemoryUtilization int32
	// CurrentRequests are the containers' current requests by name
	// (optional). Under HorizontalCPUUtilization the CPU target keeps the
	// current request while mean usage / target utilization stays within
	// Config.JointTolerance of it: the horizontal side is then in control.
	CurrentRequests map[string]Amounts
}

// Validate names every invalid field.
func (p Policy) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range p.Containers {
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("containers[%d].name is empty", i))
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("containers[%d].name %q is duplicated", i, c.Name))
		}
		seen[c.Name] = true
		if c.Mode != "" && c.Mode != ModeAuto && c.Mode != ModeOff {
			errs = append(errs, fmt.Errorf("containers[%d].mode %q is not Auto or Off", i, c.Mode))
		}
		for _, r := range c.ControlledResources {
			if r != CPU && r != Memory {
				errs = append(errs, fmt.Errorf("containers[%d].controlledResources: %q is not cpu or memory", i, r))
			}
		}
		for name, v := range map[string]int64{"minAllowed.cpu": c.MinAllowed.CPUMillis,
			"minAllowed.memory": c.MinAllowed.MemoryBytes, "maxAllowed.cpu": c.MaxAllowed.CPUMillis,
			"maxAllowed.memory": c.MaxAllowed.MemoryBytes} {
			if v < 0 {
				errs = append(errs, fmt.Errorf("containers[%d].%s is negative: %d", i, name, v))
			}
		}
	}
	for name, r := range p.CurrentRequests {
		if r.CPUMillis < 0 || r.MemoryBytes < 0 {
			errs = append(errs, fmt.Errorf("currentRequests[%q] is negative: %+v", name, r))
		}
	}
	for name, u := range map[string]int32{"horizontalCPUUtilization": p.HorizontalCPUUtilization,
		"horizontalMemoryUtilization": p.HorizontalMemoryUtilization} {
		if u < 0 || u > 1000 {
			errs = append(errs, fmt.Errorf("%s %d out of range [0, 1000]", name, u))
		}
	}
	return joinSorted(errs)
}

// container returns the policy for a container name: exact match, else "*".
func (p Policy) container(name string) (ContainerPolicy, bool) {
	var star *ContainerPolicy
	for i := range p.Containers {
		switch p.Containers[i].Name {
		case name:
			return p.Containers[i], true
		case "*":
			star = &p.Containers[i]
		}
	}
	if star != nil {
		return *star, true
	}
	return ContainerPolicy{}, false
}

// Basis says how a resource's recommendation was derived.
type Basis string

// Bases of a recommendation.
const (
	// BasisUsage: usage percentile x (1 + safety margin), as the VPA.
	BasisUsage Basis = "usage"
	// BasisHorizontalTarget: usage percentile / horizontal target utilization.
	BasisHorizontalTarget Basis = "horizontal-target"
	// BasisHorizontalHeld: the current request, kept because mean usage /
	// horizontal target utilization is within JointTolerance of it.
	BasisHorizontalHeld Basis = "horizontal-held"
)

// Bounds is one resource's recommendation (millicores or bytes).
type Bounds struct {
	Target, Lower, Upper int64
	// UncappedTarget is the target before the policy's min/max clamping.
	UncappedTarget int64
	Basis          Basis
}

// ContainerRecommendation is the recommendation for one container name with
// the history it rests on. CPU or Memory is nil when that resource is not
// controlled.
type ContainerRecommendation struct {
	Name        string
	CPU, Memory *Bounds
	History     time.Duration // first to last CPU sample
	Samples     int64         // CPU samples
	Confidence  float64       // history in ConfidenceIntervals (see Aggregate.Confidence)
	// HeldByHorizontal lists controlled resources left to the horizontal
	// side (memory when it scales on memory utilization); their Bounds are nil.
	HeldByHorizontal []Resource
}

// Recommend computes the recommendation for every container name of one
// workload, sorted by name. Containers in mode Off and aggregates expired at
// now are skipped; the pod minimums are split across the rest. Aggregates
// must share one Config.
func Recommend(states map[string]*Aggregate, p Policy, now time.Time) ([]ContainerRecommendation, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("invalid vertical policy: %w", err)
	}
	names := make([]string, 0, len(states))
	var cfg *Config
	for name, a := range states {
		if a == nil {
			return nil, fmt.Errorf("container %q: nil aggregate", name)
		}
		if cfg == nil {
			cfg = a.cfg
		} else if a.cfg != cfg {
			return nil, fmt.Errorf("container %q: aggregate built from a different Config", name)
		}
		if cp, _ := p.container(name); cp.Mode == ModeOff || a.Expired(now) {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	out := make([]ContainerRecommendation, 0, len(names))
	if len(names) == 0 {
		return out, nil
	}
	fraction := 1 / float64(len(names))
	minCPU := amount(float64(cfg.PodMinCPUMillis) * fraction)
	minMem := amount(float64(cfg.PodMinMemoryBytes) * fraction)
	for _, name := range names {
		a := states[name]
		cp, _ := p.container(name)
		r := ContainerRecommendation{Name: name, History: a.History(), Samples: a.samples, Confidence: a.Confidence()}
		if controls(cp, CPU) {
			b := estimate(cfg, a.Confidence(), minCPU, p.HorizontalCPUUtilization, func(q float64) int64 {
				return amount(a.CPUPercentile(q) * 1000)
			}, amount(cfg.cpu.end(a.CPUMean())*1000))
			if cur := p.CurrentRequests[name].CPUMillis; b.Basis == BasisHorizontalTarget && cur > 0 &&
				math.Abs(float64(b.Target-cur)) <= cfg.JointTolerance*float64(cur) {
				b.Target, b.UncappedTarget = cur, cur
				b.Lower, b.Upper = min(b.Lower, cur), max(b.Upper, cur)
				b.Basis = BasisHorizontalHeld
			}
			clamp(&b, cp.MinAllowed.CPUMillis, cp.MaxAllowed.CPUMillis)
			r.CPU = &b
		}
		if controls(cp, Memory) && p.HorizontalMemoryUtilization > 0 {
			r.HeldByHorizontal = append(r.HeldByHorizontal, Memory)
		} else if controls(cp, Memory) {
			b := estimate(cfg, a.Confidence(), minMem, 0, func(q float64) int64 {
				return amount(a.MemoryPercentile(q))
			}, 0)
			clamp(&b, cp.MinAllowed.MemoryBytes, cp.MaxAllowed.MemoryBytes)
			r.Memory = &b
		}
		out = append(out, r)
	}
	return out, nil
}

func controls(cp ContainerPolicy, r Resource) bool {
	return cp.ControlledResources == nil || slices.Contains(cp.ControlledResources, r)
}

// estimate runs the VPA's estimator chain for one resource: percentile ->
// margin -> confidence multiplier on the bounds -> pod minimum. With a
// horizontal utilization target hpaUtil (percent) the target is mean (the
// decaying mean usage rounded up to its bucket end, which gives the loop
// hysteresis) / (hpaUtil/100) and the bounds the percentiles / (hpaUtil/100),
// without margin (docs/vertical.md, "Joint with horizontal").
func estimate(cfg *Config, confidence float64, minimum int64, hpaUtil int32, pct func(float64) int64, mean int64) Bounds {
	grow := func(base int64) int64 { return base + scale(base, cfg.SafetyMargin) }
	basis := BasisUsage
	target := int64(0)
	if hpaUtil > 0 {
		grow = func(base int64) int64 { return scale(base, 100/float64(hpaUtil)) }
		basis = BasisHorizontalTarget
		target = grow(mean)
	} else {
		target = grow(pct(cfg.TargetPercentile))
	}
	lower := grow(pct(cfg.LowerPercentile))
	upper := grow(pct(cfg.UpperPercentile))
	upper = scale(upper, math.Pow(1+1/confidence, 1))
	lower = scale(lower, math.Pow(1+0.001/confidence, -2))
	if hpaUtil > 0 { // the mean may lie outside the percentile bounds
		lower, upper = min(lower, target), max(upper, target)
	}
	b := Bounds{Target: max(target, minimum), Lower: max(lower, minimum), Upper: max(upper, minimum), Basis: basis}
	b.UncappedTarget = b.Target
	return b
}

// scale is the VPA's ScaleResource: amount x factor, truncated and clamped;
// a zero amount stays zero even for an infinite factor.
func scale(v int64, factor float64) int64 {
	if v == 0 {
		return 0
	}
	return amount(float64(v) * factor)
}

// clamp raises every value to min then lowers it to max (0 = no bound), so
// max wins a conflict, as the VPA's capping post-processor.
func clamp(b *Bounds, lo, hi int64) {
	for _, v := range []*int64{&b.Target, &b.Lower, &b.Upper} {
		if lo > 0 && *v < lo {
			*v = lo
		}
		if hi > 0 && *v > hi {
			*v = hi
		}
	}
}
