package backtest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Container is the vertical backtest of one container name: its current
// request (from the workload's template; 0 when it sets none), what ebb
// would recommend from the window's history (KRR's columns), and what KRR
// does not show: the slack of the current request over the window and the
// time the recommendation would have been exceeded.
type Container struct {
	Name string `json:"name"`
	// Current and Recommended requests: CPU in millicores, memory in bytes
	// (0: none; no memory recommendation without memory history).
	CurrentCPUMillis, RecommendedCPUMillis     int64
	CurrentMemoryBytes, RecommendedMemoryBytes int64
	// SlackCoreHours and SlackGiBHours are ∫ Σ pods (current request −
	// usage) over the window, where positive: what the current request
	// reserved and did not use (0 without a current request).
	SlackCoreHours float64 `json:"slackCoreHours"`
	SlackGiBHours  float64 `json:"slackGiBHours"`
	// CPUExceededMinutes and MemoryExceededMinutes are the time in which a
	// pod's usage of this container was above the recommended request.
	CPUExceededMinutes    float64 `json:"cpuExceededMinutes"`
	MemoryExceededMinutes float64 `json:"memoryExceededMinutes"`
}

// Request is a container's current request from the workload's template.
type Request struct {
	Name        string
	CPUMillis   int64
	MemoryBytes int64
}

// containerSeries groups per-(pod, container) series by container, then
// pod, on the grid.
func containerSeries(series []metricsource.Series, g Grid) map[string]map[string]Slots {
	by := map[string][]metricsource.Series{}
	for _, s := range series {
		c := s.Labels["container"]
		by[c] = append(by[c], s)
	}
	out := map[string]map[string]Slots{}
	for c, ss := range by {
		out[c] = perPod(ss, g)
	}
	return out
}

// verticalBacktest feeds the CPU (cores) and memory (bytes) history of
// each (pod, container) to the vertical recommender, as the loop would have
// seen it, and compares its recommendation at the end of the grid with the
// current requests.
func verticalBacktest(cpu, mem map[string]map[string]Slots, current []Request, p vertical.Policy, g Grid) ([]Container, error) {
	w := vertical.NewWorkload(vertical.DefaultConfig())
	for c, pods := range cpu {
		for pod, slots := range pods {
			for k, v := range slots {
				if math.IsNaN(v) {
					continue
				}
				// The rate closing slot k is the usage over it, from its start.
				at := g.Start.Add(g.Step * time.Duration(k))
				if _, err := w.AddCPU(pod, c, at, int64(math.Round(v*1000))); err != nil {
					return nil, fmt.Errorf("cpu of pod %s container %s: %w", pod, c, err)
				}
			}
		}
	}
	for c, pods := range mem {
		for pod, slots := range pods {
			for k, v := range slots {
				if math.IsNaN(v) {
					continue
				}
				if _, err := w.AddMemory(pod, c, g.Start.Add(g.Step*time.Duration(k+1)), int64(math.Round(v))); err != nil {
					return nil, fmt.Errorf("memory of pod %s container %s: %w", pod, c, err)
				}
			}
		}
	}
	recs, err := w.Recommend(p, g.End())
	if err != nil {
		return nil, err
	}
	cur := map[string]Request{}
	for _, r := range current {
		cur[r.Name] = r
	}
	hours := g.Step.Hours()
	var out []Container
	for _, r := range recs {
		c := Container{Name: r.Name, CurrentCPUMillis: cur[r.Name].CPUMillis, CurrentMemoryBytes: cur[r.Name].MemoryBytes}
		if r.CPU != nil {
			c.RecommendedCPUMillis = r.CPU.Target
		}
		if r.Memory != nil && len(mem[r.Name]) > 0 { // no memory history: no memory recommendation
			c.RecommendedMemoryBytes = r.Memory.Target
		}
		cpuSlack, cpuOver := slackAndExcess(cpu[r.Name], float64(c.CurrentCPUMillis)/1000, float64(c.RecommendedCPUMillis)/1000, g.N)
		memSlack, memOver := slackAndExcess(mem[r.Name], float64(c.CurrentMemoryBytes), float64(c.RecommendedMemoryBytes), g.N)
		c.SlackCoreHours = cpuSlack * hours
		c.SlackGiBHours = memSlack / (1 << 30) * hours
		c.CPUExceededMinutes = float64(cpuOver) * g.Step.Minutes()
		c.MemoryExceededMinutes = float64(memOver) * g.Step.Minutes()
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Container) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// slackAndExcess sums, over pods and slots with a sample, the request
// above the usage (0 without a request), and counts the slots in which
// some pod used more than recommended (none when nothing is recommended).
func slackAndExcess(pods map[string]Slots, request, recommended float64, n int) (float64, int) {
	var slack float64
	over := make([]bool, n)
	for _, slots := range pods {
		for k, v := range slots {
			if math.IsNaN(v) {
				continue
			}
			if request > 0 {
				slack += max(request-v, 0)
			}
			if recommended > 0 && v > recommended {
				over[k] = true
			}
		}
	}
	count := 0
	for _, o := range over {
		if o {
			count++
		}
	}
	return slack, count
}
