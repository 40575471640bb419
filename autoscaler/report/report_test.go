package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sample is a report exercising every part of the model: a scaled target
// with a stabilization window, a shadowed HPA and a history, a target held
// on missing metrics, an HPA conflict, a target in mode off, and a vertical
// section.
func sample() Report {
	return Report{
		GeneratedAt: time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC),
		Namespace:   "shop",
		Targets: []Target{
			{
				Kind: "Deployment", Name: "web", APIVersion: "apps/v1", Mode: "apply",
				Current: Int32(4), Recommended: Int32(9), Stabilized: Int32(9), Desired: Int32(8),
				Min: 2, Max: 20, Reason: "ScaleUpLimit",
				Message: "the desired replica count is increasing faster than the maximum scale rate",
				Metrics: []Metric{
					{Name: "Resource/cpu", TargetType: "Utilization", Target: 60, Unit: UnitCores,
						Utilization: Int32(130), Value: Int64(650), Replicas: Int32(9)},
					{Name: "Pods/http_requests_per_second", TargetType: "AverageValue", Target: 10000,
						Value: Int64(12500), Replicas: Int32(5)},
					{Name: "ContainerResource/memory/app", TargetType: "AverageValue", Target: 1000 * (512 << 20),
						Unit: UnitBytes, Value: Int64(1000 * (300 << 20)), Replicas: Int32(3)},
				},
				ShapedBy: []string{"ScaleUpLimit: Pods 4 per 15s"},
				Vertical: []Container{{
					Name:       "app",
					Target:     Resources{CPUMilli: Int64(250), MemoryBytes: Int64(256 << 20)},
					LowerBound: Resources{CPUMilli: Int64(200), MemoryBytes: Int64(200 << 20)},
					UpperBound: Resources{CPUMilli: Int64(1500), MemoryBytes: Int64(1 << 30)},
					Request:    Resources{CPUMilli: Int64(500)},
					Usage:      Resources{CPUMilli: Int64(310), MemoryBytes: Int64(180 << 20)},
					History:    Duration(72 * time.Hour), Confidence: 0.75,
				}, {
					Name:       "sidecar",
					Target:     Resources{CPUMilli: Int64(25), MemoryBytes: Int64(123456789)},
					LowerBound: Resources{CPUMilli: Int64(12), MemoryBytes: Int64(100 << 20)},
					UpperBound: Resources{CPUMilli: Int64(Unbounded), MemoryBytes: Int64(Unbounded)},
					Request:    Resources{CPUMilli: Int64(100), MemoryBytes: Int64(2 << 30)},
					History:    Duration(20 * time.Minute), Confidence: 0.01,
				}},
				Forecast: &Forecast{Mode: "on", GateOpen: true, Replicas: 9, Reactive: 8,
					Gate: Condition{Reason: "ForecastActive", Message: "Resource/cpu forecast 5.4 in 1m15s (error 0.07 <= 0.50, history 26h0m0s): floor 9 replicas"},
					Metrics: []MetricForecast{{Metric: "Resource/cpu", Demand: 5.4, Observed: 4.9, HorizonSeconds: 75, Error: 0.07,
						HistorySeconds: 26 * 3600, PeriodSeconds: 86400, Replicas: 9}}},
				HPA: &HPA{Name: "web", Desired: Int32(8),
					Conditions: []Condition{{Reason: "ScaleUpLimit", Message: "the desired replica count is increasing faster than the maximum scale rate"}}},
				History: []Sample{
					{Time: time.Date(2026, 11, 22, 3, 59, 30, 0, time.UTC), Current: Int32(4), Recommended: Int32(4),
						Desired: Int32(4), HPADesired: Int32(4), Metrics: []Metric{{Name: "Resource/cpu", TargetType: "Utilization",
							Target: 60, Unit: UnitCores, Utilization: Int32(58), Value: Int64(290), Replicas: Int32(4)}}},
					{Time: time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC), Current: Int32(4), Recommended: Int32(9),
						Desired: Int32(8), Applied: Int32(8), HPADesired: Int32(8), Reason: "ScaleUpLimit",
						Metrics: []Metric{{Name: "Resource/cpu", TargetType: "Utilization", Target: 60, Unit: UnitCores,
							Utilization: Int32(130), Value: Int64(650), Replicas: Int32(9)}},
						Vertical: []Container{{Name: "app", Target: Resources{CPUMilli: Int64(250)},
							LowerBound: Resources{CPUMilli: Int64(200)}, UpperBound: Resources{CPUMilli: Int64(Unbounded)},
							Request: Resources{CPUMilli: Int64(500)}, Usage: Resources{CPUMilli: Int64(310)}}}},
				},
			},
			{
				Kind: "StatefulSet", Name: "queue", Mode: "dry-run",
				Current: Int32(6), Desired: Int32(6), Min: 1, Max: 10,
				Reason:  "FailedGetPodsMetric",
				Message: "unable to get metric queue_depth: no data",
				Metrics: []Metric{{Name: "Pods/queue_depth", TargetType: "AverageValue", Target: 30000,
					Error: "query \"sum(queue_depth)\": no data"}},
				Blocking: []Condition{
					{Reason: "MissingMetricsHold", Message: "metrics missing for 3 passes; holding 6 replicas"},
					{Reason: "HPAConflict", Message: "HorizontalPodAutoscaler queue also targets StatefulSet/queue | staying in dry-run"},
				},
				Notes: []Condition{{Reason: "PodMetricsExcluded",
					Message: "pod queue-2: container worker: negative usage (cpu -5m, memory 1048576 bytes); counted as missing"}},
			},
			{
				Kind: "Deployment", Name: "batch", Mode: "off", Min: 1, Max: 3,
				Blocking: []Condition{{Reason: "ModeOff"}},
			},
		},
	}
}

func TestRenderGolden(t *testing.T) {
	ext := map[Format]string{FormatTable: "txt", FormatJSON: "json", FormatCSV: "csv", FormatMarkdown: "md", FormatHTML: "html"}
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, f, sample()); err != nil {
				t.Fatalf("Render(%s) error: %v", f, err)
			}
			golden := filepath.Join("testdata", "report."+ext[f])
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
				t.Errorf("Render(%s) (-want +got):\n%s", f, d)
			}
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	r := Report{GeneratedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Namespace: "empty"}
	for _, tc := range []struct {
		format Format
		want   string
	}{
		{FormatTable, "Namespace: empty\nGenerated: 2026-01-02T03:04:05Z\n\nNo targets.\n"},
		{FormatMarkdown, "# ebb report: empty\n\nGenerated 2026-01-02T03:04:05Z.\n\nNo targets.\n"},
		{FormatJSON, "{\n  \"generatedAt\": \"2026-01-02T03:04:05Z\",\n  \"namespace\": \"empty\",\n  \"targets\": []\n}\n"},
		{FormatCSV, strings.Join(csvHeader, ",") + "\n"},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.format, r); err != nil {
				t.Fatalf("Render error: %v", err)
			}
			if d := cmp.Diff(tc.want, buf.String()); d != "" {
				t.Errorf("Render (-want +got):\n%s", d)
			}
		})
	}
}

func TestRenderHTMLEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatHTML, Report{Namespace: "empty"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<title>ebb report: empty</title>", "<p>No targets.</p>"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty HTML report lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	var buf bytes.Buffer
	err := Render(&buf, Format("yaml"), sample())
	if err == nil || !strings.Contains(err.Error(), `"yaml"`) {
		t.Fatalf("Render(yaml) error = %v, want one naming \"yaml\"", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Render(yaml) wrote %q, want nothing", buf.String())
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{in: "table", want: FormatTable},
		{in: "json", want: FormatJSON},
		{in: "csv", want: FormatCSV},
		{in: "markdown", want: FormatMarkdown},
		{in: "md", want: FormatMarkdown},
		{in: "html", want: FormatHTML},
		{in: "xml", wantErr: true},
		{in: "", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseFormat(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseFormat(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.in) {
				t.Errorf("ParseFormat(%q) error %q does not name the input", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseFormat(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestJSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatJSON, sample()); err != nil {
		t.Fatal(err)
	}
	var got Report
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("unmarshal rendered JSON: %v", err)
	}
	if d := cmp.Diff(sample(), got); d != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", d)
	}
}

func TestCSVShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatCSV, sample()); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll() // fails on ragged rows
	if err != nil {
		t.Fatalf("rendered CSV does not parse: %v", err)
	}
	var kinds []string
	for _, rec := range records[1:] {
		kinds = append(kinds, rec[3]+":"+rec[slices.Index(csvHeader, "row")])
	}
	want := []string{"web:metric", "web:metric", "web:metric", "web:container", "web:container", "queue:metric", "batch:target"}
	if d := cmp.Diff(want, kinds); d != "" {
		t.Errorf("CSV rows (-want +got):\n%s", d)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestRenderWriteError(t *testing.T) {
	// JSON and CSV buffer and write once; the text formats write many times.
	for f, afters := range map[Format][]int{
		FormatJSON: {0}, FormatCSV: {0}, FormatTable: {0, 1, 3, 8}, FormatMarkdown: {0, 1, 3, 8}, FormatHTML: {0, 1, 3},
	} {
		for _, after := range afters {
			err := Render(&failWriter{after: after}, f, sample())
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("Render(%s) after %d writes: error = %v, want disk full", f, after, err)
			}
		}
	}
}

func TestFormatHelpers(t *testing.T) {
	mem := func(unit Unit, typ string, target, value int64) Metric {
		return Metric{TargetType: typ, Target: target, Unit: unit, Value: Int64(value)}
	}
	for _, tc := range []struct {
		name, got, want string
	}{
		{"cpu always millicores", cpu(Int64(2000)), "2000m"},
		{"cpu unbounded", cpu(Int64(Unbounded)), "∞"},
		{"cpu unknown", cpu(nil), unknown},
		{"memory Mi", memory(Int64(256<<20), nil), "256Mi"},
		{"memory in the row's Mi", memory(Int64(1<<30), Int64(256<<20)), "1024Mi"},
		{"memory Gi", memory(Int64(3<<29), Int64(1<<30)), "1.5Gi"},
		{"memory fraction of Mi", memory(Int64(123456789), nil), "117.7Mi"},
		{"memory below 1Mi", memory(Int64(512<<10), nil), "512Ki"},
		{"memory unbounded", memory(Int64(Unbounded+1), Int64(1<<20)), "∞"},
		{"memory unknown", memory(nil, nil), unknown},
		{"replicas unknown", replicas(nil), unknown},
		{"replicas zero is shown", replicas(Int32(0)), "0"},
		{"plain value target", target(Metric{TargetType: "Value", Target: 500}), "0.5"},
		{"plain average", observed(mem(UnitNone, "AverageValue", 10000, 12500)), "12.5"},
		{"plain average target", target(mem(UnitNone, "AverageValue", 10000, 12500)), "10 (avg)"},
		{"cpu average", observed(mem(UnitCores, "AverageValue", 500, 650)), "650m"},
		{"cpu average target", target(mem(UnitCores, "AverageValue", 500, 650)), "500m (avg)"},
		{"memory value in the target's unit", observed(mem(UnitBytes, "AverageValue", 1000<<30, 1000*(768<<20))), "0.75Gi"},
		{"memory target", target(mem(UnitBytes, "AverageValue", 1000<<30, 1000*(768<<20))), "1Gi (avg)"},
		{"utilization", observed(Metric{TargetType: "Utilization", Utilization: Int32(85), Unit: UnitCores}), "85%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// BenchmarkRender renders a 2,000-target report, the size of the loop's
// benchmark namespace, in each format.
func BenchmarkRender(b *testing.B) {
	r := sample()
	base := r.Targets
	r.Targets = nil
	for i := range 2000 {
		t := base[i%len(base)]
		t.Name = t.Name + "-" + strings.Repeat("x", i%7)
		r.Targets = append(r.Targets, t)
	}
	for _, f := range Formats() {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Render(io.Discard, f, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
