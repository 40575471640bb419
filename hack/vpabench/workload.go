package vpabench

import (
	"math"
	"math/rand/v2"
	"time"
)

// Start is the time of the first sample.
var Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// Usage is a deterministic day of once-a-minute samples for one container:
// a per-container base level, a daily wave and noise.
type Usage struct {
	CPUMillis   []int64
	MemoryBytes []int64
}

// Day returns the day of usage of container seed.
func Day(seed uint64) Usage {
	const mb = 1 << 20
	rng := rand.New(rand.NewPCG(seed, 42))
	baseCPU := 50 + rng.Float64()*1950        // 50m .. 2 cores
	baseMem := (64 + rng.Float64()*2000) * mb // 64Mi .. 2Gi
	u := Usage{CPUMillis: make([]int64, 1440), MemoryBytes: make([]int64, 1440)}
	for m := range 1440 {
		wave := 1 + 0.3*math.Sin(2*math.Pi*float64(m)/1440)
		u.CPUMillis[m] = int64(baseCPU * wave * (0.7 + 0.6*rng.Float64()))
		u.MemoryBytes[m] = int64(baseMem * (0.95 + 0.1*rng.Float64()) * (1 + 0.1*float64(m)/1440))
	}
	return u
}
