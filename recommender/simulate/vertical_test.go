package simulate

import (
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/vertical"
	"github.com/google/go-cmp/cmp"
)

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Usage
		err      string
	}{
		{"header and comments", "# c\nt_seconds,cpu_cores,memory_bytes\n0,0.25,1e8\n15.5, 0.5 ,200000000\n",
			[]Usage{{0, 0.25, 1e8}, {15500 * time.Millisecond, 0.5, 2e8}}, ""},
		{"bad cpu names line and value", "0,1,1\n15,x,1\n", nil, `usage line 2: cpu_cores "x"`},
		{"negative memory", "0,1,-5\n", nil, `usage line 1: memory_bytes "-5"`},
		{"time going back", "0,1,1\n15,1,1\n10,1,1\n", nil, `usage line 3: t_seconds "10" is not after`},
		{"two fields", "0,1,1\n5,1\n", nil, "usage line 2: want 3 fields"},
		{"empty", "t,c,m\n", nil, "no data rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUsage(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// constantUsage is d of samples every step at cpu cores and mem bytes.
func constantUsage(d, step time.Duration, cpu float64, mem int64) []Usage {
	var out []Usage
	for t := time.Duration(0); t <= d; t += step {
		out = append(out, Usage{T: t, CPUCores: cpu, MemoryBytes: mem})
	}
	return out
}

// TestReplayVerticalConstantUsage: two days of 0.5 cores and 300 MiB. The
// target is the VPA's p90 + 15 % of a constant (the end of the bucket
// holding it, buckets about 5 % wide: 0.5..0.53 cores, 300..318 MiB, x 1.15);
// lower <= target <= upper; the bounds narrow as the history grows; a
// point at every hour from 1 h and the last at the last sample.
func TestReplayVerticalConstantUsage(t *testing.T) {
	samples := constantUsage(48*time.Hour, time.Minute, 0.5, 300<<20)
	pts, err := ReplayVertical(samples, vertical.DefaultConfig(), vertical.Policy{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 48 || pts[0].At != time.Hour || pts[47].At != 48*time.Hour {
		t.Fatalf("got %d points from %v to %v, want 48 from 1h to 48h", len(pts), pts[0].At, pts[len(pts)-1].At)
	}
	last := pts[47]
	if c := last.CPU.Target; c < 575 || c > 610 {
		t.Errorf("cpu target %dm, want 0.5..0.53 cores x 1.15 = 575..610m", c)
	}
	if m := float64(last.Memory.Target) / (1 << 20); m < 1.15*300 || m > 1.15*318 {
		t.Errorf("memory target %v MiB, want 300..318 MiB x 1.15", m)
	}
	for _, p := range pts {
		for name, b := range map[string]vertical.Bounds{"cpu": p.CPU, "memory": p.Memory} {
			if !(b.Lower <= b.Target && b.Target <= b.Upper) {
				t.Errorf("%v %s: bounds %+v not ordered", p.At, name, b)
			}
		}
	}
	if !(pts[0].CPU.Upper > last.CPU.Upper && pts[0].Confidence < last.Confidence) {
		t.Errorf("upper bound %d -> %d, confidence %v -> %v: want the bound to narrow as confidence grows",
			pts[0].CPU.Upper, last.CPU.Upper, pts[0].Confidence, last.Confidence)
	}
}

// TestReplayVerticalPoints: every = 0 gives a point per sample; a point due
// before the first sample is skipped; a point on a sample's time sees it;
// the end is always the last point.
func TestReplayVerticalPoints(t *testing.T) {
	s := []Usage{{90 * time.Second, 1, 1e9}, {120 * time.Second, 2, 1e9}, {150 * time.Second, 1, 1e9}, {170 * time.Second, 1, 1e9}}
	at := func(pts []VerticalPoint) []float64 {
		var out []float64
		for _, p := range pts {
			out = append(out, p.At.Seconds())
		}
		return out
	}
	for _, tc := range []struct {
		every time.Duration
		want  []float64
	}{
		{0, []float64{90, 120, 150, 170}},
		{time.Minute, []float64{120, 170}},
		{40 * time.Second, []float64{120, 160, 170}},
		{time.Hour, []float64{170}},
	} {
		pts, err := ReplayVertical(s, vertical.DefaultConfig(), vertical.Policy{}, tc.every)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, at(pts)); diff != "" {
			t.Errorf("every %v: points (-want +got):\n%s", tc.every, diff)
		}
	}
	// The 120 s point includes the 2-core sample: its p90 is above 1 core.
	pts, _ := ReplayVertical(s, vertical.DefaultConfig(), vertical.Policy{}, time.Minute)
	if pts[0].CPU.Target < 2000 {
		t.Errorf("the point at 120 s recommends %dm: it did not see the 2-core sample at 120 s", pts[0].CPU.Target)
	}
}

func TestReplayVerticalErrors(t *testing.T) {
	cfg := vertical.DefaultConfig()
	bad := *cfg
	bad.TargetPercentile = 2
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"no samples", func() error { _, err := ReplayVertical(nil, cfg, vertical.Policy{}, 0); return err }(), "no samples"},
		{"negative every", func() error {
			_, err := ReplayVertical([]Usage{{0, 1, 1}}, cfg, vertical.Policy{}, -time.Second)
			return err
		}(), "every: -1s"},
		{"bad config", func() error { _, err := ReplayVertical([]Usage{{0, 1, 1}}, &bad, vertical.Policy{}, 0); return err }(), "vertical config"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, tc.err, tc.want)
		}
	}
}
