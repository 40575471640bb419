package sweep

import (
	"encoding/xml"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/google/go-cmp/cmp"
)

func pt(rule string, target int32, margin, core, under float64) Point {
	p := Point{Rule: rule, Target: target, Totals: simulate.Totals{CoreSeconds: core, UnderProvisionedSeconds: under}}
	if rule == RuleProactive {
		p.Config = proactive.Config{Mode: proactive.ModeOn, Margin: margin}
	}
	return p
}

func TestFrontierAndCheapest(t *testing.T) {
	points := []Point{
		pt(RuleHPA, 50, 0, 300, 0),
		pt(RuleHPA, 60, 0, 250, 0),
		pt(RuleHPA, 70, 0, 200, 0.5),
		pt(RuleHPA, 80, 0, 180, 40),
		pt(RuleHPA, 90, 0, 190, 50), // dominated by 80
		pt(RuleHPA, 95, 0, 150, 400),
	}
	got := Frontier(points)
	var targets []int32
	for _, p := range got {
		targets = append(targets, p.Target)
	}
	if diff := cmp.Diff([]int32{95, 80, 70, 60}, targets); diff != "" {
		t.Errorf("frontier targets (-want +got):\n%s", diff)
	}
	if p, ok := Cheapest(points, 0); !ok || p.Target != 60 {
		t.Errorf("Cheapest(0) = %d %v, want 60 (70 has half a second)", p.Target, ok)
	}
	if p, ok := Cheapest(points, 1); !ok || p.Target != 70 {
		t.Errorf("Cheapest(1) = %d %v, want 70", p.Target, ok)
	}
	if _, ok := Cheapest(points[3:], 0); ok {
		t.Error("Cheapest(0) found a run among runs that all under-provision")
	}
}

func TestCompare(t *testing.T) {
	r := Result{
		HPA: []Point{pt(RuleHPA, 80, 0, 100, 10), pt(RuleHPA, 90, 0, 90, 0)},
		Proactive: []Point{pt(RuleProactive, 80, 0, 103, 4), pt(RuleProactive, 80, 0.1, 110, 0),
			pt(RuleProactive, 90, 0, 91, 2), pt(RuleProactive, 90, 0.1, 95, 0)},
	}
	cs := Compare(r, proactive.Config{Margin: 0})
	if len(cs) != 2 || cs[0].Proactive.Totals.CoreSeconds != 103 || cs[1].Proactive.Totals.CoreSeconds != 91 {
		t.Fatalf("Compare = %+v, want the margin-0 runs at 80 and 90", cs)
	}
	for _, tc := range []struct {
		c               Comparison
		cost, underRate float64
	}{
		{cs[0], 0.03, 0.4},
		{cs[1], 1.0 / 90, math.Inf(1)},
	} {
		if got := tc.c.CostChange(); got < tc.cost-1e-12 || got > tc.cost+1e-12 {
			t.Errorf("at %d%%: CostChange = %v, want %v", tc.c.Target, got, tc.cost)
		}
		if got := tc.c.UnderRatio(); got != tc.underRate && math.Abs(got-tc.underRate) > 1e-12 {
			t.Errorf("at %d%%: UnderRatio = %v, want %v", tc.c.Target, got, tc.underRate)
		}
	}
}

// TestRunSmall sweeps a short synthetic ramp: every grid point runs, the
// HPA points match simulate.Run with the same target, and the proactive
// rule with an open gate scales ahead on the ramp.
func TestRunSmall(t *testing.T) {
	w := simulate.DefaultWorld()
	w.Spec = acceptanceSpec()
	// 1 core for 20 minutes, then +1 core per 5 minutes for 40 minutes.
	for m := 0; m <= 60; m++ {
		d := 1.0
		if m > 20 {
			d += float64(m-20) / 5
		}
		w.Trace = append(w.Trace, simulate.Point{T: time.Duration(m) * time.Minute, Demand: d})
	}
	g := Grid{Targets: []int32{60, 90}, Margins: []float64{0, 0.1}, Horizons: []time.Duration{0}, MinHistory: []time.Duration{10 * time.Minute}, MaxError: []float64{0.5}}
	r, err := Run(w, g, forecast.DefaultOptions(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.HPA) != 2 || len(r.Proactive) != 4 || r.Horizon != time.Minute {
		t.Fatalf("%d HPA and %d proactive points, horizon %v; want 2, 4, 1m", len(r.HPA), len(r.Proactive), r.Horizon)
	}
	for _, p := range r.HPA {
		w2 := w
		w2.Spec = withTarget(w.Spec, p.Target)
		want, err := simulate.Run(w2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want.Totals, p.Totals); diff != "" {
			t.Errorf("HPA at %d%% differs from simulate.Run (-want +got):\n%s", p.Target, diff)
		}
	}
	for _, p := range r.Proactive {
		if p.GateOpen == 0 || p.Floored == 0 {
			t.Errorf("proactive at %d%% margin %.2f: gate open %d syncs, floored %d; want both > 0 on a ramp", p.Target, p.Config.Margin, p.GateOpen, p.Floored)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 2+6 {
		t.Errorf("table has %d lines, want a header, a rule and 6 rows:\n%s", n, b.String())
	}
}

func TestGridValidate(t *testing.T) {
	g := DefaultGrid()
	if err := g.Validate(); err != nil {
		t.Fatalf("DefaultGrid: %v", err)
	}
	g.Targets = append(g.Targets, 0)
	g.Margins = append(g.Margins, -1)
	err := g.Validate()
	for _, want := range []string{"sweep target 0% must be within [1, 1000]", "proactive.margin -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
}

// BenchmarkSweepWorldCup is the acceptance's speed goal: the default sweep
// (12 HPA targets and 60 proactive configurations) over the 7-day World Cup
// trace, on every available core; beside it, as the baseline measured in
// the same run, the 12 HPA runs alone.
func BenchmarkSweepWorldCup(b *testing.B) {
	w := acceptanceWorld(b, worldCup)
	hpaOnly := DefaultGrid()
	hpaOnly.Margins = nil
	for _, bc := range []struct {
		name string
		g    Grid
	}{{"hpa-only", hpaOnly}, {"default-grid", DefaultGrid()}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Run(w, bc.g, forecast.DefaultOptions(), runtime.GOMAXPROCS(0)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriteHTML: one self-contained page whose chart has a dot per run and
// one frontier line per rule, whose SVG is well-formed XML, and whose text
// is escaped.
func TestWriteHTML(t *testing.T) {
	r := Result{
		HPA:       []Point{pt(RuleHPA, 60, 0, 250, 0), pt(RuleHPA, 80, 0, 180, 40), pt(RuleHPA, 90, 0, 150, 4000)},
		Proactive: []Point{pt(RuleProactive, 80, 0, 185, 2), pt(RuleProactive, 90, 0.1, 160, 0)},
		Horizon:   75 * time.Second,
	}
	var b strings.Builder
	if err := WriteHTML(&b, r, proactive.Config{}, "trace <&> 1"); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<title>ebb sweep: trace &lt;&amp;&gt; 1</title>", "<h2>Frontiers</h2>", "<th>core-seconds</th>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("page contains %q: it must be self-contained", bad)
		}
	}
	svg := page[strings.Index(page, "<svg") : strings.Index(page, "</svg>")+len("</svg>")]
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("chart is not well-formed XML: %v", err)
	}
	if n := strings.Count(svg, "<circle"); n != 5 {
		t.Errorf("%d dots, want one per run (5)", n)
	}
	if n := strings.Count(svg, `class="frontier"`); n != 2 {
		t.Errorf("%d frontier lines, want 2", n)
	}
}
