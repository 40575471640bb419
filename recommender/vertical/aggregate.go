package vertical

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"
)

// Earliest and latest sample times accepted: Unix nanoseconds must fit an
// int64 with room for differences (1970 .. 2200).
var (
	minSampleTime = time.Unix(0, 0)
	maxSampleTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ErrStaleOOM is returned by RecordOOM for an OOM kill older than the last
// memory sample minus one aggregation interval; callers may ignore it.
var ErrStaleOOM = errors.New("OOM event older than the last memory sample minus one aggregation interval")

// Aggregate is the usage history of one container name of one workload
// (the VPA's AggregateContainerState): a decaying CPU histogram, a decaying
// histogram of per-interval memory peaks, and the first/last CPU sample time
// and CPU sample count that drive the confidence. Feed it through the
// Container trackers of the running container instances. Not safe for
// concurrent use.
type Aggregate struct {
	cfg         *Config
	cpu         histogram[float32]
	mem         histogram[float64]
	first, last int64 // Unix nanoseconds of the first/last CPU sample; 0 when none
	samples     int64 // CPU samples
	created     int64 // Unix nanoseconds
}

// NewAggregate returns an empty history created at now. cfg must have been
// validated (DefaultConfig is).
func NewAggregate(cfg *Config, now time.Time) *Aggregate {
	return &Aggregate{cfg: cfg, cpu: newHistogram[float32](), mem: newHistogram[float64](), created: now.UnixNano()}
}

// Samples is the number of CPU samples aggregated.
func (a *Aggregate) Samples() int64 { return a.samples }

// History is the time between the first and the last CPU sample.
func (a *Aggregate) History() time.Duration {
	if a.samples == 0 {
		return 0
	}
	return time.Duration(a.last - a.first)
}

// Confidence is min(history / ConfidenceInterval, samples / minutes of
// ConfidenceInterval), the VPA's getConfidence: 1 means a full interval of
// once-a-minute samples.
func (a *Aggregate) Confidence() float64 {
	ci := a.cfg.ConfidenceInterval
	life := float64(a.last-a.first) / float64(ci)
	return math.Min(life, float64(a.samples)/ci.Minutes())
}

// Expired reports whether the aggregate holds no sample newer than the
// memory aggregation window (interval x count) before now, or is empty and
// older than that window: the VPA's garbage-collection rule.
func (a *Aggregate) Expired(now time.Time) bool {
	window := a.cfg.MemoryInterval * time.Duration(a.cfg.MemoryIntervalCount)
	if a.samples == 0 {
		return now.UnixNano()-a.created >= int64(window)
	}
	return now.UnixNano()-a.last >= int64(window)
}

// Size is the bytes the aggregate occupies in memory: the struct and its
// histograms' weight slices.
func (a *Aggregate) Size() int {
	return int(unsafe.Sizeof(*a)) - int(unsafe.Sizeof(a.cpu)) - int(unsafe.Sizeof(a.mem)) +
		a.cpu.size() + a.mem.size()
}

// CPUPercentile returns the p-th percentile (0..1) of the CPU histogram in
// cores (a bucket end), 0 when empty.
func (a *Aggregate) CPUPercentile(p float64) float64 { return a.cpu.percentile(&a.cfg.cpu, p) }

// CPUMean returns the decaying mean of the CPU samples in cores (each sample
// weighted like in the histogram), 0 when empty.
func (a *Aggregate) CPUMean() float64 { return a.cpu.mean() }

// MemoryPercentile returns the p-th percentile of the memory peaks in bytes.
func (a *Aggregate) MemoryPercentile(p float64) float64 { return a.mem.percentile(&a.cfg.mem, p) }

func (a *Aggregate) addCPU(t int64, cores float64) {
	a.cpu.add(&a.cfg.cpu, cores, a.cfg.CPUSampleWeight, t)
	if t > a.last || a.samples == 0 {
		a.last = t
	}
	if a.samples == 0 || t < a.first {
		a.first = t
	}
	a.samples++
}

// Container tracks one running container instance (pod/container) feeding
// an Aggregate: it drops out-of-order CPU samples and turns memory samples
// into one peak per aggregation interval (the VPA's ContainerState).
type Container struct {
	agg              *Aggregate
	lastCPU, lastMem int64 // Unix nanoseconds; 0 when none
	windowEnd        int64 // end of the current memory interval; 0 when none
	memPeak, oomPeak int64 // bytes, in the current interval
}

// NewContainer returns a tracker for one container instance feeding a.
func (a *Aggregate) NewContainer() *Container { return &Container{agg: a} }

// maxSampleUnix is maxSampleTime in Unix seconds (2200-01-01T00:00:00Z).
const maxSampleUnix = 7258118400

func checkSample(what string, t time.Time, v int64) (int64, error) {
	if sec := t.Unix(); sec < 0 || sec >= maxSampleUnix {
		return 0, fmt.Errorf("%s sample time %s outside [%s, %s]", what,
			t.UTC().Format(time.RFC3339), minSampleTime.UTC().Format(time.RFC3339), maxSampleTime.Format(time.RFC3339))
	}
	if v < 0 {
		return 0, fmt.Errorf("%s sample value %d is negative", what, v)
	}
	return t.UnixNano(), nil
}

// AddCPU aggregates a CPU usage sample (millicores, average over the metrics
// window starting at t) with weight CPUSampleWeight. A sample not strictly
// after the previous CPU sample of this container is dropped (added=false).
// Invalid input (negative usage, time out of range) is an error.
func (c *Container) AddCPU(t time.Time, millicores int64) (added bool, err error) {
	ts, err := checkSample("CPU", t, millicores)
	if err != nil {
		return false, err
	}
	if c.lastCPU != 0 && ts <= c.lastCPU {
		return false, nil
	}
	c.agg.addCPU(ts, float64(millicores)/1000)
	c.lastCPU = ts
	return true, nil
}

// AddMemory aggregates a memory usage sample (working set bytes at t): the
// interval's peak is replaced when exceeded, a sample at or past the
// interval end opens a new interval. Samples older than the previous memory
// sample are dropped (added=false).
func (c *Container) AddMemory(t time.Time, bytes int64) (added bool, err error) {
	ts, err := checkSample("memory", t, bytes)
	if err != nil {
		return false, err
	}
	if c.lastMem != 0 && ts < c.lastMem {
		return false, nil
	}
	c.addMemory(ts, bytes, false)
	return true, nil
}

// RecordOOM turns an OOM kill at t into an artificial memory sample of
// max(used + OOMMinBumpUpBytes, used * OOMBumpUpRatio) with used =
// max(requestBytes, this interval's usage peak). It returns ErrStaleOOM
// (wrapped) when t is older than the last memory sample minus one interval.
func (c *Container) RecordOOM(t time.Time, requestBytes int64) error {
	ts, err := checkSample("OOM", t, requestBytes)
	if err != nil {
		return err
	}
	cfg := c.agg.cfg
	if c.lastMem != 0 && ts < c.lastMem-int64(cfg.MemoryInterval) {
		return fmt.Errorf("OOM at %s: %w", t.UTC().Format(time.RFC3339), ErrStaleOOM)
	}
	used := max(requestBytes, c.memPeak)
	needed := max(amount(float64(used)+float64(cfg.OOMMinBumpUpBytes)), amount(float64(used)*cfg.OOMBumpUpRatio))
	c.addMemory(ts, needed, true)
	return nil
}

func (c *Container) addMemory(ts, bytes int64, oom bool) {
	c.lastMem = ts
	agg, s := c.agg, &c.agg.cfg.mem
	if c.windowEnd == 0 {
		c.windowEnd = ts
	}
	addNew := false
	if ts < c.windowEnd {
		if old := max(c.memPeak, c.oomPeak); old != 0 && bytes > old {
			agg.mem.subtract(s, float64(old), 1, c.windowEnd)
			addNew = true
		}
	} else {
		iv := int64(agg.cfg.MemoryInterval)
		c.windowEnd += (ts-c.windowEnd)/iv*iv + iv
		c.memPeak, c.oomPeak = 0, 0
		addNew = true
	}
	if !addNew {
		return
	}
	agg.mem.add(s, float64(bytes), 1, c.windowEnd)
	if oom {
		c.oomPeak = bytes
	} else {
		c.memPeak = bytes
	}
}

// MaxAmount caps every amount (the VPA's MaxResourceAmount): a bound at
// MaxAmount means "no bound", e.g. the upper bound with no history.
const MaxAmount = 1e14

// amount converts a float to a resource amount like the VPA's
// resourceAmountFromFloat: truncated, clamped to [0, MaxAmount].
func amount(v float64) int64 {
	switch {
	case v > MaxAmount:
		return MaxAmount
	case v > 0:
		return int64(v)
	default: // negative or NaN
		return 0
	}
}
