package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-autoscaler/ebb/autoscaler/report/reporttest"
)

var docsScreenshot = flag.String("docs-screenshot", "", "also write the status report's screenshot to this PNG file (make docs-screenshot)")

// TestHTMLInBrowser opens the HTML report in headless Chromium: no console
// error, no request for anything but the file itself, every target has
// its charts and every chart has a series with points drawn; the PNG
// screenshot lands in the test's artifact directory (go test -artifacts).
func TestHTMLInBrowser(t *testing.T) {
	exec := reporttest.Chromium(t)
	for _, tc := range []struct {
		name       string
		report     Report
		wantCharts map[string][]string // per target, the chart titles in order
	}{
		{name: "status", report: fixtureStatus(t), wantCharts: map[string][]string{
			"Deployment/web": {"Replicas", "Resource/cpu (% of request)", "Container app CPU (millicores)",
				"Container app memory (MiB)"},
			"Deployment/checkout": {"Replicas", "Resource/cpu (millicores)"},
			"StatefulSet/queue":   {"Replicas", "Pods/queue_depth (value)"},
		}},
		{name: "one pass", report: sample(), wantCharts: map[string][]string{
			// web carries two samples of history; queue is charted from its one pass.
			"Deployment/web":    {"Replicas", "Resource/cpu (% of request)", "Container app CPU (millicores)"},
			"StatefulSet/queue": {"Replicas", "Pods/queue_depth (value)"},
			"Deployment/batch":  nil, // mode off: nothing to chart
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.ArtifactDir()
			file := filepath.Join(dir, "report.html")
			var buf bytes.Buffer
			if err := Render(&buf, FormatHTML, tc.report); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			v := reporttest.Open(t, exec, file)
			if d := cmp.Diff(tc.wantCharts, reporttest.Check(t, v)); d != "" {
				t.Errorf("charts per target (-want +got):\n%s", d)
			}
			png := filepath.Join(dir, "report.png")
			if err := os.WriteFile(png, v.PNG, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes of HTML, screenshot %s (%d bytes)", tc.name, buf.Len(), png, len(v.PNG))
			if tc.name == "status" && *docsScreenshot != "" {
				reporttest.Screenshot(t, exec, file, *docsScreenshot, 1100, 1400)
				t.Logf("docs screenshot: %s", *docsScreenshot)
			}
		})
	}
}

// TestBrowserCheckCanFail is the control of TestHTMLInBrowser: a page that
// logs an error, loads an image from the network and draws a chart with
// nothing in it is caught.
func TestBrowserCheckCanFail(t *testing.T) {
	exec := reporttest.Chromium(t)
	file := filepath.Join(t.TempDir(), "bad.html")
	bad := `<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>
<section class="target" data-target="Deployment/x"><svg class="chart" xmlns="http://www.w3.org/2000/svg"><title>Replicas</title>
<g class="series" data-series="current" data-points="3"></g></svg></section></body></html>`
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	v := reporttest.Open(t, exec, file)
	if !slices.ContainsFunc(v.Console, func(s string) bool { return strings.Contains(s, "console.error") }) {
		t.Errorf("console.error not caught: %q", v.Console)
	}
	if !slices.Contains(v.Requests, "http://127.0.0.1:9/x.png") {
		t.Errorf("network request not caught: %q", v.Requests)
	}
	rec := &recordingTB{TB: t}
	reporttest.Check(rec, v)
	if len(rec.errors) < 3 { // console, request, empty chart
		t.Errorf("Check reported %d problems, want the console error, the request and the empty chart: %q", len(rec.errors), rec.errors)
	}
}

// recordingTB records Errorf calls instead of failing.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, format)
}
