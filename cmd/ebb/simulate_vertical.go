package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// verticalReplayOptions are the flags of `ebb simulate --vertical`: the
// usage file, how often to print, and the recommender's settings (the
// VPA's defaults, under the VPA recommender's flag names).
type verticalReplayOptions struct {
	file  string
	every time.Duration
	cfg   *vertical.Config
	// minMemoryMB is --pod-recommendation-min-memory-mb (the VPA's unit).
	minMemoryMB float64
}

func newVerticalReplayOptions() verticalReplayOptions {
	cfg := vertical.DefaultConfig()
	return verticalReplayOptions{every: time.Hour, cfg: cfg, minMemoryMB: float64(cfg.PodMinMemoryBytes) / (1 << 20)}
}

func (v *verticalReplayOptions) addFlags(fs *pflag.FlagSet) {
	c := v.cfg
	fs.StringVar(&v.file, "vertical", "", "container usage CSV t_seconds,cpu_cores,memory_bytes: print the vertical recommendation over time")
	fs.DurationVar(&v.every, "every", v.every, "with --vertical: print the recommendation every this long (0: after every row), and at the end")
	fs.Float64Var(&c.TargetPercentile, "target-percentile", c.TargetPercentile, "with --vertical: usage percentile of the target (cpu and memory)")
	fs.Float64Var(&c.LowerPercentile, "lower-bound-percentile", c.LowerPercentile, "with --vertical: usage percentile of the lower bound")
	fs.Float64Var(&c.UpperPercentile, "upper-bound-percentile", c.UpperPercentile, "with --vertical: usage percentile of the upper bound")
	fs.Float64Var(&c.SafetyMargin, "recommendation-margin-fraction", c.SafetyMargin, "with --vertical: fraction added to every recommendation")
	fs.DurationVar(&c.CPUHalfLife, "cpu-histogram-decay-half-life", c.CPUHalfLife, "with --vertical: half-life of the CPU usage histogram")
	fs.DurationVar(&c.MemoryHalfLife, "memory-histogram-decay-half-life", c.MemoryHalfLife, "with --vertical: half-life of the memory peaks histogram")
	fs.DurationVar(&c.MemoryInterval, "memory-aggregation-interval", c.MemoryInterval, "with --vertical: one memory peak per this interval")
	fs.IntVar(&c.MemoryIntervalCount, "memory-aggregation-interval-count", c.MemoryIntervalCount, "with --vertical: intervals of history kept")
	fs.Int64Var(&c.PodMinCPUMillis, "pod-recommendation-min-cpu-millicores", c.PodMinCPUMillis, "with --vertical: minimum CPU recommendation")
	fs.Float64Var(&v.minMemoryMB, "pod-recommendation-min-memory-mb", v.minMemoryMB, "with --vertical: minimum memory recommendation (MiB)")
}

// verticalLine is one JSON line of `ebb simulate --vertical -o json`: the
// recommendation at `at` seconds, CPU in millicores, memory in bytes.
type verticalLine struct {
	At     float64        `json:"at"`
	CPU    verticalBounds `json:"cpu"`
	Memory verticalBounds `json:"memory"`
}

type verticalBounds struct {
	Target int64 `json:"target"`
	Lower  int64 `json:"lower"`
	Upper  int64 `json:"upper"`
}

// runVerticalReplay replays the usage file through the vertical recommender
// and prints the recommendation over time as a table or JSON lines.
func runVerticalReplay(v verticalReplayOptions, output string, stdout io.Writer) error {
	if output != "table" && output != "json" {
		return fmt.Errorf("-o: %q is not a format of --vertical: table or json", output)
	}
	if !(v.minMemoryMB >= 0 && v.minMemoryMB <= float64(vertical.MaxAmount)/(1<<20)) {
		return fmt.Errorf("--pod-recommendation-min-memory-mb: %v must be a size in MiB >= 0", v.minMemoryMB)
	}
	v.cfg.PodMinMemoryBytes = int64(v.minMemoryMB * (1 << 20))
	if err := v.cfg.Validate(); err != nil {
		return fmt.Errorf("vertical recommender settings: %w", err)
	}
	f, err := os.Open(v.file)
	if err != nil {
		return fmt.Errorf("read usage: %w", err)
	}
	defer f.Close()
	samples, err := simulate.ParseUsage(f)
	if err != nil {
		return fmt.Errorf("%s: %w", v.file, err)
	}
	pts, err := simulate.ReplayVertical(samples, v.cfg, vertical.Policy{}, v.every)
	if err != nil {
		return fmt.Errorf("%s: %w", v.file, err)
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		for _, p := range pts {
			l := verticalLine{At: p.At.Seconds(),
				CPU:    verticalBounds{p.CPU.Target, p.CPU.Lower, p.CPU.Upper},
				Memory: verticalBounds{p.Memory.Target, p.Memory.Lower, p.Memory.Upper}}
			if err := enc.Encode(l); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tCPU TARGET\tCPU LOWER\tCPU UPPER\tMEMORY TARGET\tMEMORY LOWER\tMEMORY UPPER\tCONFIDENCE")
	milli := func(v int64) string { return resource.NewMilliQuantity(v, resource.DecimalSI).String() }
	bytes := func(v int64) string { return strconv.FormatFloat(float64(v)/(1<<20), 'f', 1, 64) + "Mi" }
	for _, p := range pts {
		fmt.Fprintf(tw, "%v\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n", p.At, milli(p.CPU.Target), milli(p.CPU.Lower), milli(p.CPU.Upper),
			bytes(p.Memory.Target), bytes(p.Memory.Lower), bytes(p.Memory.Upper), p.Confidence)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
