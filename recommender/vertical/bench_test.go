package vertical

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// usage is a deterministic day of once-a-minute samples for one container:
// a per-container base level, a daily wave and noise.
type usage struct {
	cpuMillis   []int64
	memoryBytes []int64
}

func dayOfUsage(seed uint64) usage {
	rng := rand.New(rand.NewPCG(seed, 42))
	baseCPU := 50 + rng.Float64()*1950        // 50m .. 2 cores
	baseMem := (64 + rng.Float64()*2000) * mb // 64Mi .. 2Gi
	u := usage{cpuMillis: make([]int64, 1440), memoryBytes: make([]int64, 1440)}
	for m := range 1440 {
		wave := 1 + 0.3*math.Sin(2*math.Pi*float64(m)/1440)
		u.cpuMillis[m] = int64(baseCPU * wave * (0.7 + 0.6*rng.Float64()))
		u.memoryBytes[m] = int64(baseMem * (0.95 + 0.1*rng.Float64()) * (1 + 0.1*float64(m)/1440))
	}
	return u
}

func feed(b testing.TB, c *Container, u usage) {
	for m := range u.cpuMillis {
		ts := startTime.Add(time.Duration(m) * time.Minute)
		if _, err := c.AddCPU(ts, u.cpuMillis[m]); err != nil {
			b.Fatal(err)
		}
		if _, err := c.AddMemory(ts, u.memoryBytes[m]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddSample measures one CPU sample through a Container tracker
// into its Aggregate (dedupe, decay, bucket, add).
func BenchmarkAddSample(b *testing.B) {
	u := dayOfUsage(1)
	a := NewAggregate(DefaultConfig(), startTime)
	c := a.NewContainer()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.AddCPU(startTime.Add(time.Duration(i)*time.Second), u.cpuMillis[i%1440]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkAddMemorySample measures one memory sample (peak tracking).
func BenchmarkAddMemorySample(b *testing.B) {
	u := dayOfUsage(1)
	a := NewAggregate(DefaultConfig(), startTime)
	c := a.NewContainer()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.AddMemory(startTime.Add(time.Duration(i)*time.Second), u.memoryBytes[i%1440]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkBytesPerContainer builds 1,000 containers with a day of CPU and
// memory samples each and reports the bytes per container: from Size() (the
// struct and the capacity of its slices) and from the heap growth measured
// with runtime.MemStats (includes allocator rounding).
func BenchmarkBytesPerContainer(b *testing.B) {
	const n = 1000
	days := make([]usage, n)
	for i := range days {
		days[i] = dayOfUsage(uint64(i))
	}
	cfg := DefaultConfig()
	var sizeBytes, heapBytes float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		aggs := make([]*Aggregate, n)
		for j := range aggs {
			aggs[j] = NewAggregate(cfg, startTime)
			feed(b, aggs[j].NewContainer(), days[j])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		total := 0
		for _, a := range aggs {
			total += a.Size()
		}
		sizeBytes = float64(total) / n
		// Minus the aggs slice itself; the Container trackers are garbage.
		heapBytes = (float64(after.HeapAlloc) - float64(before.HeapAlloc) - 8*n) / n
		runtime.KeepAlive(aggs)
	}
	b.ReportMetric(sizeBytes, "size-bytes/container")
	b.ReportMetric(heapBytes, "heap-bytes/container")
}

// BenchmarkRecommend measures one Recommend over a 3-container workload.
func BenchmarkRecommend(b *testing.B) {
	cfg := DefaultConfig()
	states := map[string]*Aggregate{}
	for i, name := range []string{"app", "proxy", "logger"} {
		a := NewAggregate(cfg, startTime)
		feed(b, a.NewContainer(), dayOfUsage(uint64(i)))
		states[name] = a
	}
	now := startTime.Add(24 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Recommend(states, Policy{}, now); err != nil {
			b.Fatal(err)
		}
	}
}
