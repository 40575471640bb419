package sweep

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"

	"github.com/ebb-autoscaler/ebb/recommender/proactive"
)

// WriteHTML writes the sweep as one self-contained page (inline CSS and
// SVG, no script, nothing fetched): the summary, a chart of every run
// (core-seconds across, under-provisioned seconds up on a log scale, each
// rule's frontier joined by a line) and the tables of WriteSummary and
// WriteTable. title names the trace.
func WriteHTML(w io.Writer, r Result, c proactive.Config, title string) error {
	var summary, frontiers, all strings.Builder
	if err := WriteSummary(&summary, r, c); err != nil {
		return err
	}
	if err := WriteTable(&frontiers, Result{HPA: Frontier(r.HPA), Proactive: Frontier(r.Proactive), Horizon: r.Horizon}); err != nil {
		return err
	}
	if err := WriteTable(&all, r); err != nil {
		return err
	}
	page := struct {
		Title                   string
		Chart                   template.HTML
		Summary, Frontiers, All template.HTML
	}{Title: title, Chart: template.HTML(frontierSVG(r)), // built from numbers and escaped names only
		Summary: mdTables(summary.String()), Frontiers: mdTables(frontiers.String()), All: mdTables(all.String())}
	return pageTmpl.Execute(w, page)
}

var pageTmpl = template.Must(template.New("sweep").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ebb sweep: {{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f4f4f4}
p{max-width:60em}
</style></head><body>
<h1>ebb sweep: {{.Title}}</h1>
<p>The HPA rule at every utilization target and the proactive rule over its parameters, on the same closed-loop world (docs/proactive.md).</p>
{{.Chart}}
<h2>Summary</h2>
{{.Summary}}
<h2>Frontiers</h2>
{{.Frontiers}}
<h2>Every run</h2>
{{.All}}
</body></html>
`))

// mdTables turns the Markdown text of WriteSummary and WriteTable (plain
// lines and pipe tables) into HTML, every cell escaped.
func mdTables(md string) template.HTML {
	var b strings.Builder
	inTable, header := false, false
	for _, line := range strings.Split(strings.TrimSpace(md), "\n") {
		switch {
		case strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "|:--"):
			continue
		case strings.HasPrefix(line, "|"):
			if !inTable {
				b.WriteString("<table>")
				inTable, header = true, true
			}
			cell := "td"
			if header {
				cell = "th"
			}
			b.WriteString("<tr>")
			for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
				fmt.Fprintf(&b, "<%s>%s</%s>", cell, html.EscapeString(strings.TrimSpace(c)), cell)
			}
			b.WriteString("</tr>\n")
			header = false
		default:
			if inTable {
				b.WriteString("</table>\n")
				inTable = false
			}
			if strings.TrimSpace(line) != "" {
				fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(line))
			}
		}
	}
	if inTable {
		b.WriteString("</table>\n")
	}
	return template.HTML(b.String()) // every piece of text escaped above
}

// Chart geometry, in pixels.
const (
	chartW, chartH = 720, 360
	padL, padR     = 70, 20
	padT, padB     = 20, 50
)

// frontierSVG draws every run as a dot and each rule's frontier as a line.
// Under-provisioned seconds u are drawn at log10(1+u), so 0 sits on the
// axis and every decade is as tall.
func frontierSVG(r Result) string {
	all := append(append([]Point(nil), r.HPA...), r.Proactive...)
	if len(all) == 0 {
		return ""
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	maxU := 0.0
	for _, p := range all {
		lo, hi = math.Min(lo, p.Totals.CoreSeconds), math.Max(hi, p.Totals.CoreSeconds)
		maxU = math.Max(maxU, p.Totals.UnderProvisionedSeconds)
	}
	if hi <= lo {
		hi = lo + 1
	}
	span := hi - lo
	lo, hi = lo-0.02*span, hi+0.02*span
	top := math.Max(1, math.Ceil(math.Log10(1+maxU)))
	x := func(v float64) float64 { return padL + (v-lo)/(hi-lo)*(chartW-padL-padR) }
	y := func(u float64) float64 { return chartH - padB - math.Log10(1+u)/top*(chartH-padT-padB) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	for d := 0.0; d <= top; d++ {
		u := math.Pow(10, d) - 1
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
			padL, chartW-padR, y(u), y(u), padL-4, y(u)+4, axisNumber(u))
	}
	for _, v := range ticks(lo, hi, 6) {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			x(v), x(v), padT, chartH-padB, x(v), chartH-padB+14, axisNumber(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">core-seconds</text>`, (chartW+padL)/2, chartH-12)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">under-provisioned seconds (log)</text>`, chartH/2, chartH/2)
	for i, set := range []struct {
		name   string
		colour string
		points []Point
	}{{"hpa", "#0072B2", r.HPA}, {"proactive", "#D55E00", r.Proactive}} {
		var line []string
		for _, p := range Frontier(set.points) {
			line = append(line, fmt.Sprintf("%.1f,%.1f", x(p.Totals.CoreSeconds), y(p.Totals.UnderProvisionedSeconds)))
		}
		fmt.Fprintf(&b, `<polyline class="frontier" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, set.colour, strings.Join(line, " "))
		for _, p := range set.points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s" fill-opacity="0.6"><title>%s</title></circle>`,
				x(p.Totals.CoreSeconds), y(p.Totals.UnderProvisionedSeconds), set.colour,
				html.EscapeString(fmt.Sprintf("%s %s: %.0f core-s, %.1f s under-provisioned", set.name, describe(p, r.Horizon),
					p.Totals.CoreSeconds, p.Totals.UnderProvisionedSeconds)))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`,
			chartW-padR-110, padT+8+16*i, set.colour, chartW-padR-95, padT+17+16*i, set.name)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// ticks are about n round values within [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{2, 5, 10} {
		if step >= raw {
			break
		}
		step = m * mag
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, v)
	}
	return out
}

// axisNumber prints an axis value compactly: 950, 12k, 1.5M.
func axisNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e3:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
