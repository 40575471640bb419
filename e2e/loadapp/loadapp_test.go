package loadapp

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestExporterAdvancesAtReadTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps func(e *Exporter, c *fakeClock)
		want  string
	}{
		{
			name: "rate integrates over elapsed time",
			steps: func(e *Exporter, c *fakeClock) {
				mustSet(t, e, "ns", "a", 10)
				c.t = c.t.Add(3 * time.Second)
			},
			want: `http_requests_total{namespace="ns",pod="a"} 30`,
		},
		{
			name: "rate change charges the old rate up to the change",
			steps: func(e *Exporter, c *fakeClock) {
				mustSet(t, e, "ns", "a", 10)
				c.t = c.t.Add(2 * time.Second)
				mustSet(t, e, "ns", "a", 1)
				c.t = c.t.Add(5 * time.Second)
			},
			want: `http_requests_total{namespace="ns",pod="a"} 25`,
		},
		{
			name: "SetRates stops pods that left and keeps their counters",
			steps: func(e *Exporter, c *fakeClock) {
				if err := e.SetRates("ns", Spread(20, []string{"a", "b"})); err != nil {
					t.Fatal(err)
				}
				c.t = c.t.Add(time.Second)
				if err := e.SetRates("ns", Spread(20, []string{"b"})); err != nil {
					t.Fatal(err)
				}
				c.t = c.t.Add(time.Second)
			},
			want: "http_requests_total{namespace=\"ns\",pod=\"a\"} 10\nhttp_requests_total{namespace=\"ns\",pod=\"b\"} 30",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeClock{t: time.Unix(1000, 0)}
			e := New(c.now)
			tc.steps(e, c)
			var b strings.Builder
			if err := e.WriteMetrics(&b); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(b.String()[strings.Index(b.String(), "counter\n")+len("counter\n"):])
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("metrics (-want +got):\n%s", d)
			}
		})
	}
}

func TestSetRateRejectsBadRates(t *testing.T) {
	for _, rps := range []float64{-1, math.NaN()} {
		if err := New(time.Now).SetRate("ns", "a", rps); err == nil {
			t.Errorf("SetRate(%v) = nil error, want one", rps)
		}
	}
}

func TestSpread(t *testing.T) {
	got := Spread(30, []string{"a", "b", "c"})
	if d := cmp.Diff(map[string]float64{"a": 10, "b": 10, "c": 10}, got); d != "" {
		t.Errorf("Spread (-want +got):\n%s", d)
	}
	if got := Spread(30, nil); len(got) != 0 {
		t.Errorf("Spread over no pods = %v, want empty", got)
	}
}

func mustSet(t *testing.T, e *Exporter, ns, pod string, rps float64) {
	t.Helper()
	if err := e.SetRate(ns, pod, rps); err != nil {
		t.Fatal(err)
	}
}
