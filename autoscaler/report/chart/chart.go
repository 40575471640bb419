// Package chart draws small time-series line charts as self-contained SVG
// for ebb's HTML report: no script, no external font or stylesheet, colours
// and styles inline, so the file opens offline and embeds in a page as is.
// It is pure (standard library only, no clock, no I/O beyond the given
// writer) and deterministic: the same chart gives the same bytes, which
// keeps the report golden-tested.
//
// Why not gonum.org/v1/plot (v0.17.0) with its vg/vgsvg backend, measured
// on the chart of BenchmarkRender (four step series of 1,440 points, six
// hours of 15 s passes): vgsvg is deterministic, but writes 164 KB in
// about 105 ms where this package writes 6 KB in about 10 ms (it drops the
// middle of flat runs and keeps at most four points per pixel column). Its
// text names the font "Liberation Serif" and is laid out with that font's
// metrics, which a browser without it replaces (labels then overrun); with
// vgsvg.EmbedFonts(true) the TTF rides along in base64 and the chart
// weighs 688 KB, per chart. Its plotters reject NaN (plotter.CheckFloats),
// so a missing sample needs a line per segment, and its time ticks fall on
// arbitrary minutes. It brings eight modules (fonts, LaTeX, PDF, freetype,
// x/image, ...) and grows a minimal binary from 2.4 MB to 11.2 MB. The
// charts here need lines, steps, gaps, dots, two axes and a legend: a few
// hundred tested lines, system fonts, no dependency.
package chart

import (
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Style is how a series is drawn.
type Style int

// The styles.
const (
	// Line joins consecutive points.
	Line Style = iota
	// Step holds each value until the next point (replica counts).
	Step
	// Dots draws each point alone (events such as an applied scale).
	Dots
)

// Point is one value at one time. Missing points break the line: a
// missing sample is a gap, never a zero.
type Point struct {
	T       time.Time
	V       float64
	Missing bool
}

// Series is one named line of a chart.
type Series struct {
	Name  string
	Style Style
	// Dashed draws a Line or Step dashed (targets and bounds).
	Dashed bool
	Points []Point // in time order
}

// Chart is one chart: a title, a y-axis formatter and its series.
type Chart struct {
	Title string
	// Format labels the y axis ticks; strconv 'g' when nil.
	Format func(float64) string
	// Integer keeps y ticks on whole numbers (replica counts).
	Integer bool
	Series  []Series
	// Width and Height in pixels; 720 x 220 when zero.
	Width, Height int
}

// palette is a colour-blind-safe qualitative palette (Okabe-Ito).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442"}

// Margins around the plot area, in pixels.
const (
	marginLeft   = 64
	marginRight  = 16
	marginTop    = 40
	marginBottom = 28
	fontFamily   = "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"
)

// Render writes c as one <svg> element. It fails only when w does, or
// when the chart has no series.
func Render(w io.Writer, c Chart) error {
	if len(c.Series) == 0 {
		return fmt.Errorf("chart %q: no series", c.Title)
	}
	p := newPlot(c)
	var b strings.Builder
	p.header(&b)
	p.axes(&b)
	for i, s := range c.Series {
		p.series(&b, s, palette[i%len(palette)])
	}
	p.legend(&b)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// plot is a chart laid out: its scales and ticks.
type plot struct {
	c           Chart
	w, h        int
	t0, t1      time.Time
	y0, y1      float64
	yTicks      []float64
	tTicks      []time.Time
	tFormat     string
	left, right float64
	top, bottom float64
	format      func(float64) string
}

func newPlot(c Chart) *plot {
	p := &plot{c: c, w: c.Width, h: c.Height, format: c.Format}
	if p.w <= 0 {
		p.w = 720
	}
	if p.h <= 0 {
		p.h = 220
	}
	if p.format == nil {
		p.format = func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	}
	p.left, p.right = marginLeft, float64(p.w-marginRight)
	p.top, p.bottom = marginTop, float64(p.h-marginBottom)
	lo, hi, first, last, ok := extent(c.Series)
	if !ok { // nothing to plot: an empty frame over a unit range
		lo, hi = 0, 1
	}
	p.t0, p.t1 = first, last
	if !p.t1.After(p.t0) { // one instant: centre it in two minutes
		p.t0, p.t1 = p.t0.Add(-time.Minute), p.t1.Add(time.Minute)
	}
	p.y0, p.y1, p.yTicks = yScale(min(lo, 0), hi, c.Integer)
	p.tTicks, p.tFormat = timeTicks(p.t0, p.t1)
	return p
}

// extent is the value range and time span of the series' present points.
func extent(ss []Series) (lo, hi float64, first, last time.Time, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, pt := range s.Points {
			if pt.Missing || math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				continue
			}
			lo, hi = min(lo, pt.V), max(hi, pt.V)
			if !ok || pt.T.Before(first) {
				first = pt.T
			}
			if !ok || pt.T.After(last) {
				last = pt.T
			}
			ok = true
		}
	}
	return lo, hi, first, last, ok
}

func (p *plot) x(t time.Time) float64 {
	return p.left + (p.right-p.left)*float64(t.Sub(p.t0))/float64(p.t1.Sub(p.t0))
}

func (p *plot) y(v float64) float64 {
	return p.bottom - (p.bottom-p.top)*(v-p.y0)/(p.y1-p.y0)
}

// num formats a coordinate with one decimal, trimmed: "12", "12.5".
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

func (p *plot) header(b *strings.Builder) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" font-family="%s" font-size="11">`+"\n",
		p.w, p.h, p.w, p.h, fontFamily)
	fmt.Fprintf(b, "<title>%s</title>\n", html.EscapeString(p.c.Title))
	fmt.Fprintf(b, `<text x="%d" y="16" font-size="13" font-weight="600" fill="#222">%s</text>`+"\n",
		marginLeft, html.EscapeString(p.c.Title))
}

func (p *plot) axes(b *strings.Builder) {
	b.WriteString(`<g class="axes" stroke="#ddd" stroke-width="1">` + "\n")
	for _, v := range p.yTicks {
		y := num(p.y(v))
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(p.left), y, num(p.right), y)
	}
	for _, t := range p.tTicks {
		x := num(p.x(t))
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", x, num(p.top), x, num(p.bottom))
	}
	b.WriteString("</g>\n")
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#999"/>`+"\n",
		num(p.left), num(p.top), num(p.right-p.left), num(p.bottom-p.top))
	b.WriteString(`<g class="labels" fill="#555">` + "\n")
	for _, v := range p.yTicks {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end">%s</text>`+"\n",
			num(p.left-6), num(p.y(v)+4), html.EscapeString(p.format(v)))
	}
	for _, t := range p.tTicks {
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle">%s</text>`+"\n",
			num(p.x(t)), num(p.bottom+16), t.UTC().Format(p.tFormat))
	}
	b.WriteString("</g>\n")
}

// series draws one series: a <g> carrying its name and number of present
// points (data-series, data-points), a path per unbroken run and a dot for
// a lone point.
func (p *plot) series(b *strings.Builder, s Series, colour string) {
	runs, n := runs(s.Points)
	fmt.Fprintf(b, `<g class="series" data-series="%s" data-points="%d" stroke="%s" fill="%s">`+"\n",
		html.EscapeString(s.Name), n, colour, colour)
	fmt.Fprintf(b, "<title>%s</title>\n", html.EscapeString(s.Name+last(s.Points, p.format)))
	width := int(p.right - p.left)
	for _, r := range runs {
		if s.Style == Dots || len(r) == 1 {
			for _, pt := range r {
				fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="2.5" stroke="none"/>`+"\n", num(p.x(pt.T)), num(p.y(pt.V)))
			}
			continue
		}
		r = decimate(r, p.t0, p.t1, width)
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<path fill="none" stroke-width="1.8"%s d="%s"/>`+"\n", dash, p.path(r, s.Style == Step))
	}
	b.WriteString("</g>\n")
}

// path is the SVG path data of one run; a step holds each value until the
// next point's time.
func (p *plot) path(r []Point, step bool) string {
	var d strings.Builder
	for i, pt := range r {
		x, y := num(p.x(pt.T)), num(p.y(pt.V))
		switch {
		case i == 0:
			d.WriteString("M" + x + " " + y)
		case step:
			d.WriteString("H" + x + "V" + y)
		default:
			d.WriteString("L" + x + " " + y)
		}
	}
	return d.String()
}

// runs splits points at missing (or non-finite) ones and counts the
// present points.
func runs(pts []Point) ([][]Point, int) {
	var out [][]Point
	var cur []Point
	n := 0
	for _, pt := range pts {
		if pt.Missing || math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, pt)
		n++
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, n
}

// decimate keeps what a chart width pixels wide can show: the middle of a
// flat stretch goes, and with more than two points per pixel column each
// column keeps its first, lowest, highest and last point, in time order.
func decimate(r []Point, t0, t1 time.Time, width int) []Point {
	flat := make([]Point, 0, len(r))
	for i, pt := range r {
		if i > 0 && i < len(r)-1 && r[i-1].V == pt.V && r[i+1].V == pt.V {
			continue
		}
		flat = append(flat, pt)
	}
	if len(flat) <= 2*width || width <= 0 {
		return flat
	}
	col := func(t time.Time) int { return int(float64(width) * float64(t.Sub(t0)) / float64(t1.Sub(t0))) }
	out := make([]Point, 0, 4*width)
	for i := 0; i < len(flat); {
		j, c := i, col(flat[i].T)
		lo, hi := i, i
		for j < len(flat) && col(flat[j].T) == c {
			if flat[j].V < flat[lo].V {
				lo = j
			}
			if flat[j].V > flat[hi].V {
				hi = j
			}
			j++
		}
		keep := []int{i, lo, hi, j - 1}
		slices.Sort(keep)
		for _, k := range slices.Compact(keep) {
			out = append(out, flat[k])
		}
		i = j
	}
	return out
}

// last is ": <value>" of the last present point, for the series tooltip.
func last(pts []Point, format func(float64) string) string {
	for i := len(pts) - 1; i >= 0; i-- {
		if pt := pts[i]; !pt.Missing && !math.IsNaN(pt.V) && !math.IsInf(pt.V, 0) {
			return ": " + format(pt.V) + " at " + pt.T.UTC().Format(time.RFC3339)
		}
	}
	return ": no data"
}

// legend is one row of swatches under the title; a series without data
// says so.
func (p *plot) legend(b *strings.Builder) {
	b.WriteString(`<g class="legend" fill="#333">` + "\n")
	x := float64(marginLeft)
	for i, s := range p.c.Series {
		colour := palette[i%len(palette)]
		name := s.Name
		if _, n := runs(s.Points); n == 0 {
			name += " (no data)"
		}
		if s.Style == Dots {
			fmt.Fprintf(b, `<circle cx="%s" cy="27" r="3" fill="%s"/>`+"\n", num(x+8), colour)
		} else {
			dash := ""
			if s.Dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			fmt.Fprintf(b, `<line x1="%s" y1="27" x2="%s" y2="27" stroke="%s" stroke-width="2"%s/>`+"\n", num(x), num(x+18), colour, dash)
		}
		fmt.Fprintf(b, `<text x="%s" y="31">%s</text>`+"\n", num(x+22), html.EscapeString(name))
		x += 22 + 6.5*float64(len([]rune(name))) + 14 // an estimate: SVG cannot measure text
	}
	b.WriteString("</g>\n")
}
