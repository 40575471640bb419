package vpabench

import (
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/vertical"
	"k8s.io/autoscaler/vertical-pod-autoscaler/pkg/recommender/logic"
	"k8s.io/autoscaler/vertical-pod-autoscaler/pkg/recommender/model"
)

const containers = 1000

func at(m int) time.Time { return Start.Add(time.Duration(m) * time.Minute) }

func vpaFeed(tb testing.TB, c *model.ContainerState, u Usage, days int) {
	for d := range days {
		for m := range u.CPUMillis {
			ts := at(d*1440 + m)
			c.AddSample(&model.ContainerUsageSample{MeasureStart: ts, Usage: model.ResourceAmount(u.CPUMillis[m]), Resource: model.ResourceCPU})
			c.AddSample(&model.ContainerUsageSample{MeasureStart: ts, Usage: model.ResourceAmount(u.MemoryBytes[m]), Resource: model.ResourceMemory})
		}
	}
}

func ebbFeed(tb testing.TB, c *vertical.Container, u Usage, days int) {
	for d := range days {
		for m := range u.CPUMillis {
			ts := at(d*1440 + m)
			if _, err := c.AddCPU(ts, u.CPUMillis[m]); err != nil {
				tb.Fatal(err)
			}
			if _, err := c.AddMemory(ts, u.MemoryBytes[m]); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func newVPA() (*model.AggregateContainerState, *model.ContainerState) {
	agg := model.NewAggregateContainerState()
	return agg, model.NewContainerState(model.Resources{}, agg)
}

// BenchmarkAddSample: one CPU sample. vpa-aggregate calls
// AggregateContainerState.AddSample directly; vpa-container goes through
// ContainerState.AddSample (deduplication, as the VPA feeds samples); ebb
// goes through vertical.Container.AddCPU (deduplication included).
func BenchmarkAddSample(b *testing.B) {
	u := Day(1)
	b.Run("vpa-aggregate", func(b *testing.B) {
		agg, _ := newVPA()
		for i := 0; i < b.N; i++ {
			agg.AddSample(&model.ContainerUsageSample{MeasureStart: Start.Add(time.Duration(i) * time.Second),
				Usage: model.ResourceAmount(u.CPUMillis[i%1440]), Resource: model.ResourceCPU})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
	b.Run("vpa-container", func(b *testing.B) {
		_, c := newVPA()
		for i := 0; i < b.N; i++ {
			c.AddSample(&model.ContainerUsageSample{MeasureStart: Start.Add(time.Duration(i) * time.Second),
				Usage: model.ResourceAmount(u.CPUMillis[i%1440]), Resource: model.ResourceCPU})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
	b.Run("ebb", func(b *testing.B) {
		c := vertical.NewAggregate(vertical.DefaultConfig(), Start).NewContainer()
		for i := 0; i < b.N; i++ {
			if _, err := c.AddCPU(Start.Add(time.Duration(i)*time.Second), u.CPUMillis[i%1440]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}

// BenchmarkAddMemorySample: one memory sample through the peak tracking.
func BenchmarkAddMemorySample(b *testing.B) {
	u := Day(1)
	b.Run("vpa-container", func(b *testing.B) {
		_, c := newVPA()
		for i := 0; i < b.N; i++ {
			c.AddSample(&model.ContainerUsageSample{MeasureStart: Start.Add(time.Duration(i) * time.Second),
				Usage: model.ResourceAmount(u.MemoryBytes[i%1440]), Resource: model.ResourceMemory})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
	b.Run("ebb", func(b *testing.B) {
		c := vertical.NewAggregate(vertical.DefaultConfig(), Start).NewContainer()
		for i := 0; i < b.N; i++ {
			if _, err := c.AddMemory(Start.Add(time.Duration(i)*time.Second), u.MemoryBytes[i%1440]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}

// heapPerContainer builds containers aggregates with build and returns the
// heap growth per container (GC before and after, aggregates kept alive).
func heapPerContainer(build func(i int) any) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep := make([]any, containers)
	for i := range keep {
		keep[i] = build(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return (float64(after.HeapAlloc) - float64(before.HeapAlloc) - 16*containers) / containers
}

// BenchmarkBytesPerContainer: heap bytes per container after a day of CPU
// and memory samples, for 1,000 containers (the per-instance trackers are
// dropped; only the aggregates are kept, as both recommenders keep them).
func BenchmarkBytesPerContainer(b *testing.B) {
	days := make([]Usage, containers)
	for i := range days {
		days[i] = Day(uint64(i))
	}
	b.Run("vpa", func(b *testing.B) {
		var per float64
		for i := 0; i < b.N; i++ {
			per = heapPerContainer(func(j int) any {
				agg, c := newVPA()
				vpaFeed(b, c, days[j], 1)
				return agg
			})
		}
		b.ReportMetric(per, "bytes/container")
	})
	b.Run("ebb", func(b *testing.B) {
		cfg := vertical.DefaultConfig()
		var per float64
		for i := 0; i < b.N; i++ {
			per = heapPerContainer(func(j int) any {
				a := vertical.NewAggregate(cfg, Start)
				ebbFeed(b, a.NewContainer(), days[j], 1)
				return a
			})
		}
		b.ReportMetric(per, "bytes/container")
	})
}

func vpaRecommender() logic.PodResourceRecommender {
	return logic.CreatePodResourceRecommender(logic.RecommendationConfig{
		SafetyMarginFraction: 0.15, PodMinCPUMillicores: 25, PodMinMemoryMb: 250,
		TargetCPUPercentile: 0.9, LowerBoundCPUPercentile: 0.5, UpperBoundCPUPercentile: 0.95,
		ConfidenceIntervalCPU:  24 * time.Hour,
		TargetMemoryPercentile: 0.9, LowerBoundMemoryPercentile: 0.5, UpperBoundMemoryPercentile: 0.95,
		ConfidenceIntervalMemory: 24 * time.Hour,
	})
}

// diffs are the relative differences (ebb - vpa) / vpa of one container's
// six recommended values: cpu/memory x target/lower/upper.
type diffs [6]float64

// compare feeds days of the same samples to both recommenders for n
// containers and returns the per-container differences.
func compare(tb testing.TB, n, days int) []diffs {
	cfg := vertical.DefaultConfig()
	rec := vpaRecommender()
	out := make([]diffs, n)
	for i := range n {
		u := Day(uint64(i))
		agg, c := newVPA()
		vpaFeed(tb, c, u, days)
		a := vertical.NewAggregate(cfg, Start)
		ebbFeed(tb, a.NewContainer(), u, days)
		v := rec.GetRecommendedPodResources(model.ContainerNameToAggregateStateMap{"c": agg})["c"]
		got, err := vertical.Recommend(map[string]*vertical.Aggregate{"c": a}, vertical.Policy{}, at(days*1440))
		if err != nil {
			tb.Fatal(err)
		}
		e := got[0]
		rel := func(ebb int64, vpa model.ResourceAmount) float64 { return (float64(ebb) - float64(vpa)) / float64(vpa) }
		out[i] = diffs{
			rel(e.CPU.Target, v.Target[model.ResourceCPU]), rel(e.CPU.Lower, v.LowerBound[model.ResourceCPU]),
			rel(e.CPU.Upper, v.UpperBound[model.ResourceCPU]), rel(e.Memory.Target, v.Target[model.ResourceMemory]),
			rel(e.Memory.Lower, v.LowerBound[model.ResourceMemory]), rel(e.Memory.Upper, v.UpperBound[model.ResourceMemory]),
		}
	}
	return out
}

var diffNames = [6]string{"cpu-target", "cpu-lower", "cpu-upper", "memory-target", "memory-lower", "memory-upper"}

// TestSameRecommendation: over 200 containers and 3 days, every value of
// ebb's recommendation is within 5% of the VPA's, and the p90 targets are
// identical for nearly all (float32 weights can move a tie by one bucket).
func TestSameRecommendation(t *testing.T) {
	const n = 200
	d := compare(t, n, 3)
	identical := 0
	for i, c := range d {
		for k, v := range c {
			if math.Abs(v) > 0.05 {
				t.Errorf("container %d %s differs by %.2f%% (> 5%%)", i, diffNames[k], 100*v)
			}
		}
		if c[0] == 0 && c[3] == 0 {
			identical++
		}
	}
	if identical < n*99/100 {
		t.Errorf("identical cpu and memory targets for %d of %d containers, want >= 99%%", identical, n)
	}
	t.Logf("identical cpu and memory targets: %d of %d", identical, n)
}

// BenchmarkRecommendationDifference reports the largest and the mean
// absolute difference (%) of ebb's p90 targets from the VPA's, over 100
// containers with 2 days of samples.
func BenchmarkRecommendationDifference(b *testing.B) {
	var d []diffs
	for i := 0; i < b.N; i++ {
		d = compare(b, 100, 2)
	}
	for _, k := range []int{0, 3} {
		maxAbs, sum := 0.0, 0.0
		for _, c := range d {
			maxAbs = math.Max(maxAbs, math.Abs(c[k]))
			sum += math.Abs(c[k])
		}
		b.ReportMetric(100*maxAbs, fmt.Sprintf("max-%%diff-%s", diffNames[k]))
		b.ReportMetric(100*sum/float64(len(d)), fmt.Sprintf("mean-%%diff-%s", diffNames[k]))
	}
}

// BenchmarkIngestDay: a realistic feed, one day of once-a-minute CPU and
// memory samples for 100 containers per op, through each recommender's
// per-container path; reports samples (CPU + memory) per second.
func BenchmarkIngestDay(b *testing.B) {
	const n = 100
	days := make([]Usage, n)
	for i := range days {
		days[i] = Day(uint64(i))
	}
	perOp := float64(n * 2 * 1440)
	b.Run("vpa", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for j := range days {
				_, c := newVPA()
				vpaFeed(b, c, days[j], 1)
			}
		}
		b.ReportMetric(perOp*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
	b.Run("ebb", func(b *testing.B) {
		cfg := vertical.DefaultConfig()
		for i := 0; i < b.N; i++ {
			for j := range days {
				ebbFeed(b, vertical.NewAggregate(cfg, Start).NewContainer(), days[j], 1)
			}
		}
		b.ReportMetric(perOp*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
	})
}
