package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// replicas is a chart with every style: a step series with a gap and a
// lone point after it, a dashed one, dots, and a series without data.
func replicas() Chart {
	return Chart{
		Title: "Deployment/web replicas", Integer: true,
		Series: []Series{
			{Name: "current", Style: Step, Points: []Point{{T: at(0), V: 2}, {T: at(5), V: 2}, {T: at(10), V: 2},
				{T: at(15), V: 4}, {T: at(20), Missing: true}, {T: at(25), V: 6}, {T: at(30), Missing: true}}},
			{Name: "desired", Dashed: true, Points: []Point{{T: at(0), V: 2}, {T: at(10), V: 4}, {T: at(20), V: 6},
				{T: at(30), V: 6}}},
			{Name: "applied", Style: Dots, Points: []Point{{T: at(10), V: 4}, {T: at(20), V: 6}}},
			{Name: "hpa", Style: Step, Points: []Point{{T: at(0), Missing: true}}},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chart Chart
	}{
		{name: "replicas", chart: replicas()},
		{name: "one-instant", chart: Chart{Title: "Resource/cpu", Format: func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "%" },
			Series: []Series{{Name: "utilization", Points: []Point{{T: at(0), V: 130}}},
				{Name: "target", Dashed: true, Points: []Point{{T: at(0), V: 60}}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.chart); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".svg")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if d := cmp.Diff(string(want), buf.String()); d != "" {
				t.Errorf("Render (-want +got):\n%s", d)
			}
		})
	}
}

// svgSeries is what a parsed chart says about its series.
type svgSeries struct {
	Name, Points string
	Paths, Dots  int
}

// parse decodes the SVG as XML (so it must be well formed) and lists its
// series groups.
func parse(t *testing.T, svg string) []svgSeries {
	t.Helper()
	var out []svgSeries
	dec := xml.NewDecoder(strings.NewReader(svg))
	var cur *svgSeries
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			switch {
			case el.Name.Local == "g" && attr["class"] == "series":
				out = append(out, svgSeries{Name: attr["data-series"], Points: attr["data-points"]})
				cur = &out[len(out)-1]
			case cur != nil && el.Name.Local == "path":
				cur.Paths++
			case cur != nil && el.Name.Local == "circle":
				cur.Dots++
			}
		case xml.EndElement:
			if el.Name.Local == "g" {
				cur = nil
			}
		}
	}
	return out
}

func TestRenderSeriesShapes(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, replicas()); err != nil {
		t.Fatal(err)
	}
	got := parse(t, buf.String())
	want := []svgSeries{
		{Name: "current", Points: "5", Paths: 1, Dots: 1}, // 4 joined points, then a lone one after the gap
		{Name: "desired", Points: "4", Paths: 1},
		{Name: "applied", Points: "2", Dots: 2},
		{Name: "hpa", Points: "0"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("series (-want +got):\n%s", d)
	}
	if !strings.Contains(buf.String(), "hpa (no data)") {
		t.Errorf("legend does not say the hpa series has no data:\n%s", buf.String())
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := Render(&a, replicas()); err != nil {
		t.Fatal(err)
	}
	if err := Render(&b, replicas()); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("two renders of the same chart differ")
	}
}

func TestRenderEscapes(t *testing.T) {
	var buf bytes.Buffer
	c := Chart{Title: `<script>alert("x")</script>`, Series: []Series{{Name: `a&b"<`, Points: []Point{{T: at(0), V: 1}}}}}
	if err := Render(&buf, c); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<script") {
		t.Errorf("title not escaped:\n%s", buf.String())
	}
	if got := parse(t, buf.String()); len(got) != 1 || got[0].Name != `a&b"<` {
		t.Errorf("series = %+v, want one named a&b\"<", got)
	}
}

func TestRenderErrors(t *testing.T) {
	if err := Render(io.Discard, Chart{Title: "empty"}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Render(no series) error = %v, want one naming the chart", err)
	}
	if err := Render(failWriter{}, replicas()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Render(failing writer) error = %v, want disk full", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderNonFiniteIsAGap(t *testing.T) {
	var buf bytes.Buffer
	c := Chart{Title: "x", Series: []Series{{Name: "v", Points: []Point{{T: at(0), V: 1}, {T: at(1), V: 2},
		{T: at(2), V: math.NaN()}, {T: at(3), V: math.Inf(1)}, {T: at(4), V: 3}, {T: at(5), V: 4}}}}}
	if err := Render(&buf, c); err != nil {
		t.Fatal(err)
	}
	got := parse(t, buf.String())
	if d := cmp.Diff([]svgSeries{{Name: "v", Points: "4", Paths: 2}}, got); d != "" {
		t.Errorf("series (-want +got):\n%s", d)
	}
	if strings.Contains(buf.String(), "NaN") || strings.Contains(buf.String(), "Inf") {
		t.Errorf("non-finite value written:\n%s", buf.String())
	}
}

func TestDecimate(t *testing.T) {
	const n, width = 100000, 500
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{T: t0.Add(time.Duration(i) * time.Second), V: float64(i % 97)}
	}
	pts[54321].V = 1000 // a spike must survive
	pts[12345].V = -5   // and a dip
	got := decimate(pts, pts[0].T, pts[n-1].T, width)
	if len(got) > 4*(width+1) {
		t.Errorf("decimate kept %d points, want at most %d", len(got), 4*(width+1))
	}
	var lo, hi float64
	for i, pt := range got {
		lo, hi = min(lo, pt.V), max(hi, pt.V)
		if i > 0 && !pt.T.After(got[i-1].T) {
			t.Fatalf("points out of order at %d: %v after %v", i, pt.T, got[i-1].T)
		}
	}
	if lo != -5 || hi != 1000 {
		t.Errorf("decimate range = [%v, %v], want [-5, 1000]", lo, hi)
	}
	if got[0] != pts[0] || got[len(got)-1] != pts[n-1] {
		t.Errorf("decimate dropped an end point")
	}
}

func TestDecimateDropsFlatStretches(t *testing.T) {
	pts := []Point{{T: at(0), V: 2}, {T: at(1), V: 2}, {T: at(2), V: 2}, {T: at(3), V: 3}, {T: at(4), V: 3}}
	got := decimate(pts, at(0), at(4), 700)
	want := []Point{{T: at(0), V: 2}, {T: at(2), V: 2}, {T: at(3), V: 3}, {T: at(4), V: 3}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("decimate (-want +got):\n%s", d)
	}
}

func TestYScale(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lo, hi    float64
		integer   bool
		wantY1    float64
		wantTicks []float64
	}{
		{name: "replicas 0..9", lo: 0, hi: 9, integer: true, wantY1: 10, wantTicks: []float64{0, 2, 4, 6, 8, 10}},
		{name: "replicas all 1", lo: 0, hi: 1, integer: true, wantY1: 2, wantTicks: []float64{0, 1, 2}},
		{name: "fractional cores", lo: 0, hi: 0.7, wantY1: 0.8, wantTicks: []float64{0, 0.2, 0.4, 0.6, 0.8}},
		{name: "flat zero", lo: 0, hi: 0, wantY1: 1.5, wantTicks: []float64{0, 0.5, 1, 1.5}},
		{name: "percent", lo: 0, hi: 130, wantY1: 150, wantTicks: []float64{0, 50, 100, 150}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, y1, ticks := yScale(tc.lo, tc.hi, tc.integer)
			if y1 != tc.wantY1 {
				t.Errorf("y1 = %v, want %v", y1, tc.wantY1)
			}
			if d := cmp.Diff(tc.wantTicks, ticks); d != "" {
				t.Errorf("ticks (-want +got):\n%s", d)
			}
		})
	}
}

func TestTimeTicks(t *testing.T) {
	base := time.Date(2026, 11, 22, 3, 7, 13, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		span       time.Duration
		wantFirst  string
		wantCount  int
		wantLayout string
	}{
		{name: "two minutes", span: 2 * time.Minute, wantFirst: "03:07:30", wantCount: 4, wantLayout: "15:04:05"},
		{name: "half an hour", span: 30 * time.Minute, wantFirst: "03:10", wantCount: 6, wantLayout: "15:04"},
		{name: "six hours", span: 6 * time.Hour, wantFirst: "04:00", wantCount: 6, wantLayout: "15:04"},
		{name: "three days", span: 72 * time.Hour, wantFirst: "Nov 22 12:00", wantCount: 6, wantLayout: "Jan 2 15:04"},
		{name: "two weeks", span: 14 * 24 * time.Hour, wantFirst: "Nov 23", wantCount: 2, wantLayout: "Jan 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ticks, layout := timeTicks(base, base.Add(tc.span))
			if layout != tc.wantLayout || len(ticks) != tc.wantCount || ticks[0].Format(layout) != tc.wantFirst {
				t.Errorf("timeTicks = %d ticks from %s (%q), want %d from %s (%q)",
					len(ticks), ticks[0].Format(layout), layout, tc.wantCount, tc.wantFirst, tc.wantLayout)
			}
			for _, tk := range ticks {
				if tk.Before(base) || tk.After(base.Add(tc.span)) {
					t.Errorf("tick %v outside [%v, %v]", tk, base, base.Add(tc.span))
				}
			}
		})
	}
}

// BenchmarkRender draws six hours of 15 s passes (1,440 samples) in four
// series, the leader's default history of one target.
func BenchmarkRender(b *testing.B) {
	c := Chart{Title: "replicas", Integer: true}
	for s := range 4 {
		pts := make([]Point, 1440)
		for i := range pts {
			pts[i] = Point{T: t0.Add(time.Duration(i) * 15 * time.Second), V: float64(3 + (i/40+s)%7)}
		}
		c.Series = append(c.Series, Series{Name: "s" + strconv.Itoa(s), Style: Step, Points: pts})
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := Render(&buf, c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/chart")
}
