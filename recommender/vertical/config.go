package vertical

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Config holds the recommender's parameters. One Config is shared (by
// pointer) by every Aggregate built from it; it must not change after use.
type Config struct {
	// CPU and memory histogram bucketing: first bucket size (cores, bytes),
	// largest value, growth ratio of consecutive buckets.
	CPUFirstBucket, CPUMaxValue       float64
	MemoryFirstBucket, MemoryMaxValue float64
	BucketGrowth                      float64 // 0.05: each bucket 5% wider
	// Epsilon is the weight below which a bucket counts as empty.
	Epsilon float64
	// Half-lives of the decaying histograms.
	CPUHalfLife, MemoryHalfLife time.Duration
	// CPUSampleWeight is the base weight of a CPU sample; memory peaks weigh 1.
	CPUSampleWeight float64
	// MemoryInterval is the memory aggregation interval (one peak per
	// container per interval); MemoryIntervalCount intervals form the window
	// after which an idle aggregate expires.
	MemoryInterval      time.Duration
	MemoryIntervalCount int
	// OOM bump-up: needed = max(used + OOMMinBumpUpBytes, used * OOMBumpUpRatio).
	OOMBumpUpRatio    float64
	OOMMinBumpUpBytes int64
	// Percentiles (0..1) of target, lower and upper bound.
	TargetPercentile, LowerPercentile, UpperPercentile float64
	// SafetyMargin is the fraction added to every value (0.15).
	SafetyMargin float64
	// ConfidenceInterval is the history length that counts as confidence 1.
	ConfidenceInterval time.Duration
	// Pod minimums, split evenly across the recommended containers.
	PodMinCPUMillis   int64
	PodMinMemoryBytes int64
	// JointTolerance: under a horizontal CPU utilization target the current
	// CPU request is kept while the joint recommendation is within this
	// fraction of it (the HPA's own tolerance, 0.1).
	JointTolerance float64

	cpu, mem scheme // derived by Validate
}

// DefaultConfig returns the VPA recommender v1.8.1 defaults, validated.
func DefaultConfig() *Config {
	c := &Config{
		CPUFirstBucket: 0.01, CPUMaxValue: 1000,
		MemoryFirstBucket: 1e7, MemoryMaxValue: 1e12,
		BucketGrowth:        0.05,
		Epsilon:             1e-4,
		CPUHalfLife:         24 * time.Hour,
		MemoryHalfLife:      24 * time.Hour,
		CPUSampleWeight:     0.1,
		MemoryInterval:      24 * time.Hour,
		MemoryIntervalCount: 8,
		OOMBumpUpRatio:      1.2,
		OOMMinBumpUpBytes:   100 << 20,
		TargetPercentile:    0.9,
		LowerPercentile:     0.5,
		UpperPercentile:     0.95,
		SafetyMargin:        0.15,
		ConfidenceInterval:  24 * time.Hour,
		PodMinCPUMillis:     25,
		PodMinMemoryBytes:   250 << 20,
		JointTolerance:      0.1,
	}
	if err := c.Validate(); err != nil {
		panic(fmt.Sprintf("vertical: default config invalid: %v", err)) // a programming error
	}
	return c
}

// maxDuration bounds the durations of a Config so that 100 half-lives or
// intervals still fit an int64 of nanoseconds.
const maxDuration = 1000 * 24 * time.Hour

// Validate checks every field, naming each invalid one, and derives the
// bucket schemes. It must run before the Config is used.
func (c *Config) Validate() error {
	var errs []error
	positive := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s must be positive and finite, got %v", name, v))
		}
	}
	positive("CPUFirstBucket", c.CPUFirstBucket)
	positive("CPUMaxValue", c.CPUMaxValue)
	positive("MemoryFirstBucket", c.MemoryFirstBucket)
	positive("MemoryMaxValue", c.MemoryMaxValue)
	positive("BucketGrowth", c.BucketGrowth)
	positive("Epsilon", c.Epsilon)
	positive("CPUSampleWeight", c.CPUSampleWeight)
	for name, d := range map[string]time.Duration{"CPUHalfLife": c.CPUHalfLife,
		"MemoryHalfLife": c.MemoryHalfLife, "MemoryInterval": c.MemoryInterval,
		"ConfidenceInterval": c.ConfidenceInterval} {
		if d <= 0 || d > maxDuration {
			errs = append(errs, fmt.Errorf("%s must be in (0, %v], got %v", name, maxDuration, d))
		}
	}
	if c.MemoryIntervalCount < 1 || c.MemoryIntervalCount > 100 {
		errs = append(errs, fmt.Errorf("MemoryIntervalCount must be in [1, 100], got %d", c.MemoryIntervalCount))
	}
	if !(c.OOMBumpUpRatio >= 1) || math.IsInf(c.OOMBumpUpRatio, 0) {
		errs = append(errs, fmt.Errorf("OOMBumpUpRatio must be >= 1 and finite, got %v", c.OOMBumpUpRatio))
	}
	for name, v := range map[string]int64{"OOMMinBumpUpBytes": c.OOMMinBumpUpBytes,
		"PodMinCPUMillis": c.PodMinCPUMillis, "PodMinMemoryBytes": c.PodMinMemoryBytes} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must be >= 0, got %d", name, v))
		}
	}
	for name, p := range map[string]float64{"TargetPercentile": c.TargetPercentile,
		"LowerPercentile": c.LowerPercentile, "UpperPercentile": c.UpperPercentile} {
		if !(p >= 0 && p <= 1) {
			errs = append(errs, fmt.Errorf("%s must be in [0, 1], got %v", name, p))
		}
	}
	if !(c.SafetyMargin >= 0) || math.IsInf(c.SafetyMargin, 0) {
		errs = append(errs, fmt.Errorf("SafetyMargin must be >= 0 and finite, got %v", c.SafetyMargin))
	}
	if !(c.JointTolerance >= 0 && c.JointTolerance < 1) {
		errs = append(errs, fmt.Errorf("JointTolerance must be in [0, 1), got %v", c.JointTolerance))
	}
	if err := joinSorted(errs); err != nil {
		return err
	}
	var err error
	if c.cpu, err = newScheme(c.CPUFirstBucket, c.CPUMaxValue, 1+c.BucketGrowth, c.Epsilon, c.CPUHalfLife); err != nil {
		return fmt.Errorf("CPU histogram: %w", err)
	}
	if c.mem, err = newScheme(c.MemoryFirstBucket, c.MemoryMaxValue, 1+c.BucketGrowth, c.Epsilon, c.MemoryHalfLife); err != nil {
		return fmt.Errorf("memory histogram: %w", err)
	}
	return nil
}

// joinSorted joins errors in message order, so that a report built from
// map iteration is deterministic.
func joinSorted(errs []error) error {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// scheme is an exponential bucketing (VPA's exponentialHistogramOptions)
// plus the decay half-life of the histograms that use it.
type scheme struct {
	first, ratio, logRatio, eps float64
	invLog2Ratio                float64 // 1 / log2(ratio)
	n                           int
	halfLife                    time.Duration
	starts                      []float64 // start of every bucket
	pow2                        *[256]float64
}

// newPow2 returns the table 2^(j/256), j = 0..255, for exp2.
func newPow2() *[256]float64 {
	var t [256]float64
	for j := range t {
		t[j] = math.Exp2(float64(j) / 256)
	}
	return &t
}

// exp2 returns 2^x to within an ulp or two of math.Exp2, about twice as
// fast: 2^x = 2^k x 2^(j/256) x e^(f ln2) with |f| <= 1/512, the last factor
// by a degree-4 polynomial (truncation error < 4e-17). It is the decay
// factor of every sample.
func (s *scheme) exp2(x float64) float64 {
	if !(x > -1000 && x < 1000) { // also NaN
		return math.Exp2(x)
	}
	y := x * 256 // exact
	n := math.Floor(y + 0.5)
	t := (y - n) / 256 * math.Ln2
	p := 1 + t*(1+t*(0.5+t*(1.0/6+t*(1.0/24))))
	ni := int(n)
	r := s.pow2[ni&255] * p // in [1, 2)
	return math.Float64frombits(math.Float64bits(r) + uint64(int64(ni>>8))<<52)
}

// maxBuckets is the most buckets a histogram may have: indexes fit a uint8.
const maxBuckets = 256

func newScheme(first, maxValue, ratio, eps float64, halfLife time.Duration) (scheme, error) {
	// Same formula as the VPA's NewExponentialHistogramOptions.
	n := int(math.Ceil(math.Log(maxValue*(ratio-1)/first+1)/math.Log(ratio))) + 1
	if n < 1 || n > maxBuckets {
		return scheme{}, fmt.Errorf("bucket count %d out of range [1, %d]", n, maxBuckets)
	}
	s := scheme{first: first, ratio: ratio, logRatio: math.Log(ratio), invLog2Ratio: 1 / math.Log2(ratio),
		eps: eps, n: n, halfLife: halfLife, pow2: newPow2()}
	s.starts = make([]float64, n)
	for b := 1; b < n; b++ {
		s.starts[b] = first * (math.Pow(ratio, float64(b)) - 1) / (ratio - 1)
	}
	return s, nil
}

// bucket returns the bucket of v, the same as the VPA's FindBucket. The
// bucket is guessed from v's binary exponent and found in the table of
// bucket starts; within 1e-9 (relative) of a bucket boundary, where
// floating-point rounding decides, it falls back to the VPA's own formula
// (logBucket) so the result is identical. This avoids math.Log, which was
// most of the cost of adding a sample.
func (s *scheme) bucket(v float64) int {
	if !(v >= s.first) || math.IsInf(v, 1) { // also NaN
		return s.logBucket(v)
	}
	x := v*(s.ratio-1)/s.first + 1
	bits := math.Float64bits(x)
	exp := float64(int(bits>>52&0x7ff) - 1023)
	mant := math.Float64frombits(bits&(1<<52-1) | 1023<<52) // [1, 2)
	b := int((exp + mant - 1) * s.invLog2Ratio)             // log2(x) within 0.09
	b = min(max(b, 1), s.n-1)
	for b > 1 && v < s.starts[b] {
		b--
	}
	for b < s.n-1 && v >= s.starts[b+1] {
		b++
	}
	const guard = 1e-9
	if v-s.starts[b] <= guard*v || (b < s.n-1 && s.starts[b+1]-v <= guard*v) {
		return s.logBucket(v)
	}
	return b
}

// logBucket is the VPA's FindBucket: same floating-point operations, with
// log(ratio) cached.
func (s *scheme) logBucket(v float64) int {
	if v < s.first {
		return 0
	}
	b := int(math.Log(v*(s.ratio-1)/s.first+1) / s.logRatio)
	if b >= s.n || b < 0 {
		return s.n - 1
	}
	return b
}

// end returns the end of v's bucket (the start of the last bucket for the
// last one), the value a percentile falling in that bucket reports.
func (s *scheme) end(v float64) float64 {
	b := s.bucket(v)
	if b < s.n-1 {
		return s.starts[b+1]
	}
	return s.starts[b]
}
