package sweep

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/proactive.md")

// The traces are the ones vendored for the peer reproduction test
// (recommender/simulate/testdata/hpa-peer/traces, with the World Cup
// notice beside them): worldcup98-cores is ../shared/traces/worldcup98.csv at
// 300 rps = 1 core, nasa-cores is nasa-http-1995.csv at 2 rps = 1 core.
const tracesDir = "../simulate/testdata/hpa-peer/traces"

// claimTrace is one trace of the acceptance setting.
type claimTrace struct {
	name, file string
	repeat     int
	// margins swept for the proactive rule (claim (a) needs the whole
	// grid; the others compare at the default configuration).
	margins []float64
}

var (
	worldCup = claimTrace{name: "World Cup 98 (7 days, 300 rps = 1 core)", file: "worldcup98-cores", margins: DefaultGrid().Margins}
	diurnal  = claimTrace{name: "diurnal (1 day, played 7 times)", file: "diurnal", repeat: 7, margins: []float64{0}}
	step     = claimTrace{name: "step (2 h)", file: "step", margins: []float64{0}}
	spike    = claimTrace{name: "spike (2 h)", file: "spike", margins: []float64{0}}
	nasa     = claimTrace{name: "NASA 95 (3 days, 2 rps = 1 core)", file: "nasa-cores", margins: []float64{0}}
)

// acceptanceSpec is ../shared/reference/hpa-peer/specs/hpa-behavior.yaml
// after API defaulting: min 2, max 40, CPU utilization (swept), scale-up
// Percent 100 or Pods 4 per 15 s (Max), scale-down window 300 s and Percent
// 10 per 60 s.
func acceptanceSpec() horizontal.Spec {
	return horizontal.Spec{
		MinReplicas: 2, MaxReplicas: 40,
		Metrics: []horizontal.MetricSpec{{Type: horizontal.ResourceMetric, Name: "cpu",
			Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: 60}}},
		Behavior: &horizontal.Behavior{
			ScaleUp: horizontal.ScalingRules{SelectPolicy: horizontal.SelectMax, Policies: []horizontal.ScalingPolicy{
				{Type: horizontal.PercentPolicy, Value: 100, Period: 15 * time.Second},
				{Type: horizontal.PodsPolicy, Value: 4, Period: 15 * time.Second},
			}},
			ScaleDown: horizontal.ScalingRules{StabilizationWindow: 300 * time.Second, SelectPolicy: horizontal.SelectMax,
				Policies: []horizontal.ScalingPolicy{{Type: horizontal.PercentPolicy, Value: 10, Period: 60 * time.Second}}},
		},
	}
}

func loadTrace(tb testing.TB, file string) []simulate.Point {
	tb.Helper()
	f, err := os.Open(filepath.Join(tracesDir, file+".csv.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := simulate.ParseTrace(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return tr
}

// acceptanceWorld is the setting of the acceptance: 500m pods, 30 s
// startup, the model's defaults otherwise.
func acceptanceWorld(tb testing.TB, ct claimTrace) simulate.World {
	w := simulate.DefaultWorld()
	w.Spec, w.Trace, w.Repeat = acceptanceSpec(), loadTrace(tb, ct.file), ct.repeat
	return w
}

func claimGrid(ct claimTrace) Grid {
	g := DefaultGrid()
	g.Margins = ct.margins
	return g
}

var (
	sweepMu    sync.Mutex
	sweepCache = map[string]Result{}
)

// sweepOf runs (once per test binary) the acceptance sweep of a trace.
func sweepOf(t *testing.T, ct claimTrace) Result {
	t.Helper()
	if testing.Short() {
		t.Skip("the acceptance sweeps take a minute; skipped with -short")
	}
	sweepMu.Lock()
	defer sweepMu.Unlock()
	if r, ok := sweepCache[ct.file]; ok {
		return r
	}
	r, err := Run(acceptanceWorld(t, ct), claimGrid(ct), forecast.DefaultOptions(), runtime.GOMAXPROCS(0))
	if err != nil {
		t.Fatalf("sweep %s: %v", ct.file, err)
	}
	sweepCache[ct.file] = r
	return r
}

// defaultOn is the configuration the same-target claims compare with:
// proactive.DefaultConfig in mode on.
func defaultOn() proactive.Config {
	c := proactive.DefaultConfig()
	c.Mode = proactive.ModeOn
	return c
}

// sameSLO is claim (a): the cheapest proactive run without
// under-provisioned seconds against the cheapest HPA run without.
type sameSLO struct {
	HPA, Proactive Point
	Saving         float64 // 1 - proactive/hpa core-seconds
	OK             bool    // both exist
}

func evalSameSLO(r Result) sameSLO {
	h, okH := Cheapest(r.HPA, 0)
	p, okP := Cheapest(r.Proactive, 0)
	s := sameSLO{HPA: h, Proactive: p, OK: okH && okP}
	if s.OK {
		s.Saving = 1 - p.Totals.CoreSeconds/h.Totals.CoreSeconds
	}
	return s
}

// Thresholds of the acceptance.
const (
	wantSaving       = 0.10 // (a): at least 10 % fewer core-seconds
	maxUnderRatio    = 0.5  // (b): at most half the under-provisioned seconds
	maxCostIncrease  = 0.03 // (b): at most 3 % more core-seconds
	maxCostDeviation = 0.02 // (c): within 2 % of the reactive core-seconds
)

// fewerViolations is claim (b) at one target where the HPA under-provisions.
func fewerViolations(c Comparison) bool {
	return c.UnderRatio() <= maxUnderRatio && c.CostChange() <= maxCostIncrease
}

// noHarm is claim (c) at one target.
func noHarm(c Comparison) bool {
	d := c.CostChange()
	return d <= maxCostDeviation && d >= -maxCostDeviation &&
		c.Proactive.Totals.UnderProvisionedSeconds <= c.HPA.Totals.UnderProvisionedSeconds
}

// The claims are asserted here; docs/proactive.md states them with their
// numbers, and TestProactiveDoc keeps it equal to what the sweeps measure.

// TestClaimSameSLOLowerCost: claim (a) on the World Cup trace: the cheapest
// proactive run without under-provisioned seconds costs at least 10 % fewer
// core-seconds than the cheapest HPA run without.
func TestClaimSameSLOLowerCost(t *testing.T) {
	a := evalSameSLO(sweepOf(t, worldCup))
	if !a.OK {
		t.Fatal("one of the rules has no run without under-provisioned seconds")
	}
	if a.Saving < wantSaving {
		t.Errorf("cheapest proactive run without under-provisioning (%d%%, margin %.2f) %.0f core-seconds, the HPA's (%d%%) %.0f: %.2f %% fewer, want >= %.0f %%",
			a.Proactive.Target, a.Proactive.Config.Margin, a.Proactive.Totals.CoreSeconds, a.HPA.Target, a.HPA.Totals.CoreSeconds, 100*a.Saving, 100*wantSaving)
	}
}

// TestClaimSameTargetFewerViolations: claim (b) on the diurnal and World
// Cup traces at every target where the HPA under-provisions.
func TestClaimSameTargetFewerViolations(t *testing.T) {
	for _, ct := range []claimTrace{diurnal, worldCup} {
		t.Run(ct.file, func(t *testing.T) {
			cs := Compare(sweepOf(t, ct), defaultOn())
			checked := 0
			for _, c := range cs {
				if c.HPA.Totals.UnderProvisionedSeconds == 0 {
					continue
				}
				checked++
				if !fewerViolations(c) {
					t.Errorf("at %d%%: under-provisioned %.0f s vs the HPA's %.0f (ratio %.2f, want <= %.2f), core-seconds %+.2f %% (want <= %+.0f %%)",
						c.Target, c.Proactive.Totals.UnderProvisionedSeconds, c.HPA.Totals.UnderProvisionedSeconds, c.UnderRatio(), maxUnderRatio,
						100*c.CostChange(), 100*maxCostIncrease)
				}
			}
			if checked == 0 {
				t.Fatal("no target where the HPA under-provisions: the claim was not exercised")
			}
		})
	}
}

// TestClaimNoHarm: claim (c) at every target on the step, spike and NASA
// traces.
func TestClaimNoHarm(t *testing.T) {
	for _, ct := range []claimTrace{step, spike, nasa} {
		t.Run(ct.file, func(t *testing.T) {
			cs := Compare(sweepOf(t, ct), defaultOn())
			if len(cs) != len(DefaultGrid().Targets) {
				t.Fatalf("%d comparisons, want one per target", len(cs))
			}
			for _, c := range cs {
				if !noHarm(c) {
					t.Errorf("at %d%%: core-seconds %+.2f %% (want within ±%.0f %%), under-provisioned %.0f s vs the HPA's %.0f",
						c.Target, 100*c.CostChange(), 100*maxCostDeviation, c.Proactive.Totals.UnderProvisionedSeconds, c.HPA.Totals.UnderProvisionedSeconds)
				}
			}
		})
	}
}

// TestProactiveDoc keeps the generated part of docs/proactive.md (the
// frontier tables and the verdict on every claim) equal to what the sweeps
// measure; -update rewrites it.
func TestProactiveDoc(t *testing.T) {
	const path = "../../docs/proactive.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN GENERATED: go test ./recommender/sweep -run TestProactiveDoc -update -->\n", "<!-- END GENERATED -->"
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s: no generated block (%q ... %q)", path, begin, end)
	}
	var b strings.Builder
	writeDoc(t, &b)
	got := string(doc[:i+len(begin)]) + b.String() + string(doc[j:])
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if diff := cmp.Diff(string(doc), got); diff != "" {
		t.Errorf("%s is not what the sweeps measure (-doc +measured); run with -update:\n%s", path, diff)
	}
}

// writeDoc writes the claims' verdicts and the tables behind them.
func writeDoc(t *testing.T, b *strings.Builder) {
	verdict := func(ok bool) string {
		if ok {
			return "holds"
		}
		return "**does not hold**"
	}
	wc := sweepOf(t, worldCup)
	a := evalSameSLO(wc)
	fmt.Fprintf(b, "\n### (a) Same SLO, lower cost (World Cup): %s\n\n", verdict(a.OK && a.Saving >= wantSaving))
	if a.OK {
		fmt.Fprintf(b, "Cheapest HPA run without under-provisioned seconds: %s, %.0f core-seconds.\n", describe(a.HPA, wc.Horizon), a.HPA.Totals.CoreSeconds)
		fmt.Fprintf(b, "Cheapest proactive run without: %s, %.0f core-seconds: **%.1f %% fewer** (the claim asks for %.0f %%).\n",
			describe(a.Proactive, wc.Horizon), a.Proactive.Totals.CoreSeconds, 100*a.Saving, 100*wantSaving)
	} else {
		b.WriteString("One of the rules has no run without under-provisioned seconds.\n")
	}
	if h, okH := Cheapest(wc.HPA, 1); okH {
		if p, okP := Cheapest(wc.Proactive, 1); okP {
			fmt.Fprintf(b, "With up to one under-provisioned second allowed: HPA %s (%.1f s), %.0f core-seconds; proactive %s (%.1f s), %.0f core-seconds: %.1f %% fewer.\n",
				describe(h, wc.Horizon), h.Totals.UnderProvisionedSeconds, h.Totals.CoreSeconds, describe(p, wc.Horizon),
				p.Totals.UnderProvisionedSeconds, p.Totals.CoreSeconds, 100*(1-p.Totals.CoreSeconds/h.Totals.CoreSeconds))
		}
	}
	fmt.Fprintf(b, "\n### (b) Same target, fewer violations (World Cup and diurnal)\n\n")
	for _, ct := range []claimTrace{worldCup, diurnal} {
		var held, failed []string
		for _, c := range Compare(sweepOf(t, ct), defaultOn()) {
			if c.HPA.Totals.UnderProvisionedSeconds == 0 {
				continue
			}
			s := fmt.Sprintf("%d%% (under-provisioned %.1f → %.1f s, ×%.2f; core-seconds %+.2f %%)", c.Target,
				c.HPA.Totals.UnderProvisionedSeconds, c.Proactive.Totals.UnderProvisionedSeconds, c.UnderRatio(), 100*c.CostChange())
			if fewerViolations(c) {
				held = append(held, s)
			} else {
				failed = append(failed, s)
			}
		}
		fmt.Fprintf(b, "- %s: %s. Holds at %s.", ct.name, verdict(len(failed) == 0), list(held))
		if len(failed) > 0 {
			fmt.Fprintf(b, " Fails at %s.", list(failed))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\n### (c) No harm where there is nothing to forecast (step, spike, NASA)\n\n")
	for _, ct := range []claimTrace{step, spike, nasa} {
		var failed []string
		worst := 0.0
		for _, c := range Compare(sweepOf(t, ct), defaultOn()) {
			if d := c.CostChange(); d*d > worst*worst {
				worst = d
			}
			if !noHarm(c) {
				failed = append(failed, fmt.Sprintf("%d%% (core-seconds %+.2f %%, under-provisioned %.1f vs %.1f s)", c.Target,
					100*c.CostChange(), c.Proactive.Totals.UnderProvisionedSeconds, c.HPA.Totals.UnderProvisionedSeconds))
			}
		}
		fmt.Fprintf(b, "- %s: %s (largest core-seconds change %+.2f %%).", ct.name, verdict(len(failed) == 0), 100*worst)
		if len(failed) > 0 {
			fmt.Fprintf(b, " Fails at %s.", list(failed))
		}
		b.WriteString("\n")
	}
	for _, ct := range []claimTrace{worldCup, diurnal, step, spike, nasa} {
		r := sweepOf(t, ct)
		fmt.Fprintf(b, "\n### %s\n\n", ct.name)
		if err := WriteSummary(b, r, defaultOn()); err != nil {
			t.Fatal(err)
		}
		if len(ct.margins) > 1 {
			b.WriteString("\nFrontiers (every run that no other run of its rule beats on both cost and under-provisioning):\n\n")
			if err := WriteTable(b, Result{HPA: Frontier(r.HPA), Proactive: Frontier(r.Proactive), Horizon: r.Horizon}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.WriteString("\n")
}

func list(s []string) string {
	if len(s) == 0 {
		return "no target"
	}
	return strings.Join(s, ", ")
}
