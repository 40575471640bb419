package sweep

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

// Frontier returns the points no other point beats on both cost
// (core-seconds) and under-provisioned seconds, cheapest first.
func Frontier(points []Point) []Point {
	s := slices.Clone(points)
	slices.SortStableFunc(s, func(a, b Point) int {
		return cmp.Or(cmp.Compare(a.Totals.CoreSeconds, b.Totals.CoreSeconds),
			cmp.Compare(a.Totals.UnderProvisionedSeconds, b.Totals.UnderProvisionedSeconds))
	})
	var out []Point
	for _, p := range s {
		if n := len(out); n == 0 || p.Totals.UnderProvisionedSeconds < out[n-1].Totals.UnderProvisionedSeconds {
			out = append(out, p)
		}
	}
	return out
}

// Cheapest is the point with the fewest core-seconds among those with at
// most maxUnder under-provisioned seconds; false when there is none.
func Cheapest(points []Point, maxUnder float64) (Point, bool) {
	var best Point
	found := false
	for _, p := range points {
		if p.Totals.UnderProvisionedSeconds <= maxUnder && (!found || p.Totals.CoreSeconds < best.Totals.CoreSeconds) {
			best, found = p, true
		}
	}
	return best, found
}

// Comparison is the HPA and one proactive configuration at one target.
type Comparison struct {
	Target         int32
	HPA, Proactive Point
}

// CostChange is the proactive run's core-seconds relative to the HPA's
// (0.02: 2 % more).
func (c Comparison) CostChange() float64 {
	return c.Proactive.Totals.CoreSeconds/c.HPA.Totals.CoreSeconds - 1
}

// UnderRatio is the proactive run's under-provisioned seconds over the
// HPA's: 0 when both are 0, +Inf when only the proactive run has some.
func (c Comparison) UnderRatio() float64 {
	h, p := c.HPA.Totals.UnderProvisionedSeconds, c.Proactive.Totals.UnderProvisionedSeconds
	switch {
	case h > 0:
		return p / h
	case p > 0:
		return math.Inf(1)
	}
	return 0
}

// Compare pairs every HPA point with the proactive point of configuration
// c at the same target (a zero c.Mode matches mode on).
func Compare(r Result, c proactive.Config) []Comparison {
	if c.Mode == "" {
		c.Mode = proactive.ModeOn
	}
	var out []Comparison
	for _, h := range r.HPA {
		for _, p := range r.Proactive {
			if p.Target == h.Target && p.Config == c {
				out = append(out, Comparison{Target: h.Target, HPA: h, Proactive: p})
				break
			}
		}
	}
	return out
}

// WriteTable writes every point as a Markdown table (rule, target, the
// proactive parameters, core-seconds, under-provisioned seconds, scale
// events), marking the points on their rule's frontier with "*".
func WriteTable(w io.Writer, r Result) error {
	onFrontier := map[string]bool{}
	for _, set := range [][]Point{r.HPA, r.Proactive} {
		for _, p := range Frontier(set) {
			onFrontier[key(p)] = true
		}
	}
	var b strings.Builder
	b.WriteString("| rule | target | margin | horizon | minHistory | maxError | core-seconds | under-provisioned s | scale events | frontier |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|\n")
	for _, p := range append(slices.Clone(r.HPA), r.Proactive...) {
		margin, horizon, minHist, maxErr := "", "", "", ""
		if p.Rule == RuleProactive {
			h := p.Config.Horizon
			if h == 0 {
				h = r.Horizon
			}
			margin, horizon = fmt.Sprintf("%.2f", p.Config.Margin), dur(h)
			minHist, maxErr = dur(p.Config.MinHistory), fmt.Sprintf("%.2f", p.Config.MaxError)
		}
		mark := ""
		if onFrontier[key(p)] {
			mark = "*"
		}
		fmt.Fprintf(&b, "| %s | %d%% | %s | %s | %s | %s | %.0f | %.1f | %d | %s |\n", p.Rule, p.Target, margin, horizon, minHist, maxErr,
			p.Totals.CoreSeconds, p.Totals.UnderProvisionedSeconds, p.Totals.ScaleEvents, mark)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary writes, per rule, the cheapest run without under-provisioned
// seconds, and the proactive rule's change at each target for the
// configuration c (proactive.DefaultConfig's parameters in the CLI), with
// the share of syncs its forecast gate was open and the number of syncs at
// which the forecast raised the decision.
func WriteSummary(w io.Writer, r Result, c proactive.Config) error {
	var b strings.Builder
	hpa, okH := Cheapest(r.HPA, 0)
	pro, okP := Cheapest(r.Proactive, 0)
	switch {
	case okH && okP:
		fmt.Fprintf(&b, "cheapest without under-provisioning: hpa %s %.0f core-s; proactive %s %.0f core-s (%+.1f %%)\n",
			describe(hpa, r.Horizon), hpa.Totals.CoreSeconds, describe(pro, r.Horizon), pro.Totals.CoreSeconds,
			100*(pro.Totals.CoreSeconds/hpa.Totals.CoreSeconds-1))
	case okP:
		fmt.Fprintf(&b, "cheapest without under-provisioning: hpa none; proactive %s %.0f core-s\n", describe(pro, r.Horizon), pro.Totals.CoreSeconds)
	case okH:
		fmt.Fprintf(&b, "cheapest without under-provisioning: hpa %s %.0f core-s; proactive none\n", describe(hpa, r.Horizon), hpa.Totals.CoreSeconds)
	default:
		b.WriteString("cheapest without under-provisioning: none for either rule\n")
	}
	if c.Mode == "" {
		c.Mode = proactive.ModeOn
	}
	fmt.Fprintf(&b, "\nsame target, proactive %s vs hpa:\n\n", describe(Point{Rule: RuleProactive, Config: c}, r.Horizon))
	b.WriteString("| target | hpa core-s | proactive core-s | cost change | hpa under-provisioned s | proactive under-provisioned s | hpa events | proactive events | gate open | syncs raised |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, cmp := range Compare(r, c) {
		p := cmp.Proactive
		fmt.Fprintf(&b, "| %d%% | %.0f | %.0f | %+.2f %% | %.1f | %.1f | %d | %d | %.0f %% | %d |\n", cmp.Target,
			cmp.HPA.Totals.CoreSeconds, p.Totals.CoreSeconds, 100*cmp.CostChange(),
			cmp.HPA.Totals.UnderProvisionedSeconds, p.Totals.UnderProvisionedSeconds,
			cmp.HPA.Totals.ScaleEvents, p.Totals.ScaleEvents, 100*float64(p.GateOpen)/float64(max(1, p.Totals.Syncs)), p.Floored)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe names a point's rule and parameters in one phrase.
func describe(p Point, horizon time.Duration) string {
	if p.Rule == RuleHPA {
		return fmt.Sprintf("at %d%%", p.Target)
	}
	h := p.Config.Horizon
	if h == 0 {
		h = horizon
	}
	s := fmt.Sprintf("margin %.2f, horizon %s, minHistory %s, maxError %.2f", p.Config.Margin, dur(h), dur(p.Config.MinHistory), p.Config.MaxError)
	if p.Target > 0 {
		s = fmt.Sprintf("at %d%% (%s)", p.Target, s)
	}
	return s
}

func key(p Point) string { return fmt.Sprintf("%s/%d/%+v", p.Rule, p.Target, p.Config) }

// dur prints a duration without trailing zero units ("1h", "75s").
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
