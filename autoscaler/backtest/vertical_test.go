package backtest

import (
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// TestSlackAndExcess by hand: two pods, 500m requested, 400m recommended.
func TestSlackAndExcess(t *testing.T) {
	pods := map[string]Slots{"a": {0.2, 0.45, nan, 0.6}, "b": {0.3, nan, 0.1, 0.7}}
	slack, over := slackAndExcess(pods, 0.5, 0.4, 4)
	// Slack: a 0.3+0.05+0 (0.6 > 0.5), b 0.2+0.4+0; over 0.4: slots 1 (a) and 3.
	if want := 0.3 + 0.05 + 0.2 + 0.4; slack < want-1e-12 || slack > want+1e-12 || over != 2 {
		t.Errorf("slack %v over %d, want %v and 2", slack, over, want)
	}
	if s, o := slackAndExcess(pods, 0, 0, 4); s != 0 || o != 0 {
		t.Errorf("without request and recommendation: %v %d", s, o)
	}
}

// TestVerticalBacktest: a day of one pod at 0.3 cores and 300 MiB, 500m
// and 256Mi requested: the recommendation (p90 + 15 %) is about 345m and
// 345Mi; the slack is 0.2 cores x 24 h (memory has none: usage above the
// request); the usage never exceeds the recommendation.
func TestVerticalBacktest(t *testing.T) {
	g := Grid{Start: t0, Step: time.Minute, N: 24 * 60}
	cpu, mem := make([]float64, g.N), make([]float64, g.N)
	for k := range cpu {
		cpu[k], mem[k] = 0.3, 300<<20
	}
	labels := map[string]string{"pod": "web-1", "container": "app"}
	cs, err := verticalBacktest(containerSeries([]metricsource.Series{series(labels, g, cpu...)}, g),
		containerSeries([]metricsource.Series{series(labels, g, mem...)}, g),
		[]Request{{Name: "app", CPUMillis: 500, MemoryBytes: 256 << 20}}, vertical.Policy{}, g)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%v %+v", err, cs)
	}
	c := cs[0]
	if c.RecommendedCPUMillis < 345 || c.RecommendedCPUMillis > 365 || c.RecommendedMemoryBytes < 345<<20 || c.RecommendedMemoryBytes > 366<<20 {
		t.Errorf("recommended %dm, %d bytes; want about 345m and 345Mi", c.RecommendedCPUMillis, c.RecommendedMemoryBytes)
	}
	if c.SlackCoreHours < 0.2*24-1e-9 || c.SlackCoreHours > 0.2*24+1e-9 || c.SlackGiBHours != 0 || c.CPUExceededMinutes != 0 || c.MemoryExceededMinutes != 0 {
		t.Errorf("container %+v: want 4.8 core-hours of slack, none of memory, never exceeded", c)
	}
}
