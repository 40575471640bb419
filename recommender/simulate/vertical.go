package simulate

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Usage is one usage sample of a container: from T on (until the next
// sample) it used CPUCores, and its working set was MemoryBytes at T.
type Usage struct {
	T           time.Duration
	CPUCores    float64
	MemoryBytes int64
}

// maxMemoryBytes bounds the memory column (the recommender's own cap).
const maxMemoryBytes = vertical.MaxAmount

// ParseUsage reads a CSV `t_seconds,cpu_cores,memory_bytes` (one container
// sampled at every row, times strictly increasing). Empty lines, lines
// starting with '#' and a first line that is not numeric (the header) are
// skipped. Errors name the line and the value.
func ParseUsage(r io.Reader) ([]Usage, error) {
	var out []Usage
	err := readCSV(r, "usage", []string{"t_seconds", "cpu_cores", "memory_bytes"}, func(line int, v []float64, f []string) error {
		switch {
		case !(v[0] >= 0 && v[0] <= 1e9):
			return fmt.Errorf("usage line %d: t_seconds %q is not a number of seconds in [0, 1e9]", line, f[0])
		case !(v[1] >= 0 && v[1] <= maxDemand):
			return fmt.Errorf("usage line %d: cpu_cores %q is not a number in [0, %g]", line, f[1], maxDemand)
		case !(v[2] >= 0 && v[2] <= maxMemoryBytes):
			return fmt.Errorf("usage line %d: memory_bytes %q is not a number in [0, %g]", line, f[2], float64(maxMemoryBytes))
		}
		u := Usage{T: seconds(v[0]), CPUCores: v[1], MemoryBytes: int64(math.Round(v[2]))}
		if n := len(out); n > 0 && u.T <= out[n-1].T {
			return fmt.Errorf("usage line %d: t_seconds %q is not after the previous row's %v", line, f[0], out[n-1].T.Seconds())
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// VerticalPoint is the recommendation for the container at At (offset from
// Epoch()): CPU in millicores, memory in bytes.
type VerticalPoint struct {
	At          time.Duration
	CPU, Memory vertical.Bounds
	Confidence  float64
}

// ReplayVertical feeds the samples, in order, to the vertical recommender
// as the usage of one container (named "app", one pod) and returns its
// recommendation at every multiple of every (0: after every sample) up to
// the last sample, and at the last sample's time (always the last point).
// The container policy p and the configuration cfg apply as in the loop.
func ReplayVertical(samples []Usage, cfg *vertical.Config, p vertical.Policy, every time.Duration) ([]VerticalPoint, error) {
	if len(samples) == 0 {
		return nil, errors.New("usage: no samples")
	}
	if every < 0 {
		return nil, fmt.Errorf("every: %v must be >= 0", every)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vertical config: %w", err)
	}
	epoch := Epoch()
	w := vertical.NewWorkload(cfg)
	var out []VerticalPoint
	recommend := func(at time.Duration) error {
		recs, err := w.Recommend(p, epoch.Add(at))
		if err != nil {
			return err
		}
		pt := VerticalPoint{At: at}
		for _, r := range recs {
			if r.Name != containerName {
				continue
			}
			pt.Confidence = r.Confidence
			if r.CPU != nil {
				pt.CPU = *r.CPU
			}
			if r.Memory != nil {
				pt.Memory = *r.Memory
			}
		}
		out = append(out, pt)
		return nil
	}
	next := every
	for i, s := range samples {
		// The points due before this sample see the samples before it.
		for every > 0 && next < s.T {
			if i > 0 {
				if err := recommend(next); err != nil {
					return nil, err
				}
			}
			next += every
		}
		at := epoch.Add(s.T)
		if _, err := w.AddCPU("pod", containerName, at, int64(math.Round(s.CPUCores*1000))); err != nil {
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		if _, err := w.AddMemory("pod", containerName, at, s.MemoryBytes); err != nil {
			return nil, fmt.Errorf("sample %d: %w", i+1, err)
		}
		last := i == len(samples)-1
		if every == 0 || last || next == s.T {
			if err := recommend(s.T); err != nil {
				return nil, err
			}
			if every > 0 && next == s.T {
				next += every
			}
		}
	}
	return out, nil
}
