package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The HTML report opened in headless Chromium (Debian's chromium, which
// hack/chromium.sh installs; `make unit` sets EBB_REQUIRE_CHROMIUM=1 so a
// missing browser fails there instead of skipping).

var docsScreenshot = flag.String("docs-screenshot", "", "also write the status report's screenshot to this PNG file (make docs-screenshot)")

// chromiumFlags are the flags that work in CI's containers (run as root, no
// GPU, no network): nothing may reach out on its own.
func chromiumAllocator(ctx context.Context, exec, profile string) (context.Context, context.CancelFunc) {
	return chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exec), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1200, 1500))
}

func chromium(t *testing.T) string {
	t.Helper()
	path := cmpOr(os.Getenv("EBB_CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("EBB_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("chromium: %v (hack/chromium.sh installs it)", err)
		}
		t.Skipf("chromium not installed at %s (hack/chromium.sh installs it; EBB_REQUIRE_CHROMIUM=1 makes this a failure)", path)
	}
	return path
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// pageVisit is what the browser saw while it loaded a page.
type pageVisit struct {
	mu       sync.Mutex
	page     string
	console  []string // console API errors and warnings, exceptions, browser log errors
	requests []string // every request other than the page itself
}

func (v *pageVisit) listen(ev any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			v.console = append(v.console, fmt.Sprintf("console.%s (%d args)", e.Type, len(e.Args)))
		}
	case *runtime.EventExceptionThrown:
		v.console = append(v.console, "exception: "+e.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			v.console = append(v.console, fmt.Sprintf("log %s %s: %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		if e.Request.URL != v.page {
			v.requests = append(v.requests, e.Request.URL)
		}
	}
}

// chartInfo is one chart as the page lays it out.
type chartInfo struct {
	Title  string       `json:"title"`
	Series []seriesInfo `json:"series"`
}

type seriesInfo struct {
	Name   string  `json:"name"`
	Points int     `json:"points"`
	Marks  int     `json:"marks"`  // drawn path and circle elements
	Width  float64 `json:"width"`  // bounding box of what was drawn, in px
	Height float64 `json:"height"` // (a horizontal line has height 0)
}

type targetInfo struct {
	Target string      `json:"target"`
	Charts []chartInfo `json:"charts"`
}

// layout is evaluated in the page: every target section, its charts and
// their series with their rendered bounding boxes.
const layout = `[...document.querySelectorAll("section.target")].map(s => ({
  target: s.dataset.target,
  charts: [...s.querySelectorAll("svg.chart")].map(c => ({
    title: c.querySelector("title").textContent,
    series: [...c.querySelectorAll("g.series")].map(g => {
      const b = g.getBBox();
      return {name: g.dataset.series, points: Number(g.dataset.points),
        marks: g.querySelectorAll("path, circle").length, width: b.width, height: b.height};
    }),
  })),
}))`

// visit opens file in a new headless Chromium, lists what the page
// requested and logged, lays out its charts and takes a full-page PNG.
func visit(t *testing.T, exec, file string) (*pageVisit, []targetInfo, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, acancel := chromiumAllocator(ctx, exec, t.TempDir())
	defer acancel()
	v := &pageVisit{page: (&url.URL{Scheme: "file", Path: file}).String()}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(v.listen))
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(v.page), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("open %s: %v", v.page, err)
	}
	targets, err := chromedp.Run(bctx, chromedp.Evaluate[[]targetInfo](layout))
	if err != nil {
		t.Fatalf("lay out the charts: %v", err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	v.mu.Lock() // the listener may still run until the context ends
	defer v.mu.Unlock()
	return &pageVisit{page: v.page, console: slices.Clone(v.console), requests: slices.Clone(v.requests)}, targets, png
}

// TestHTMLInBrowser opens the HTML report in headless Chromium: no console
// error, no request for anything but the file itself, every target has
// its charts and every chart has a series with points drawn; the PNG
// screenshot lands in the test's artifact directory (go test -artifacts).
func TestHTMLInBrowser(t *testing.T) {
	exec := chromium(t)
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
			v, targets, png := visit(t, exec, file)
			if len(v.console) > 0 {
				t.Errorf("console errors: %q", v.console)
			}
			if len(v.requests) > 0 {
				t.Errorf("the page requested %q; it must be self-contained", v.requests)
			}
			checkCharts(t, targets, tc.wantCharts)
			if err := os.WriteFile(filepath.Join(dir, "report.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d bytes of HTML, screenshot %s (%d bytes)", tc.name, buf.Len(), filepath.Join(dir, "report.png"), len(png))
			if tc.name == "status" && *docsScreenshot != "" {
				writeDocsScreenshot(t, exec, file, *docsScreenshot)
			}
		})
	}
}

// checkCharts compares the charts per target with want and requires every
// chart to show at least one series that has points and drawn marks of a
// non-empty extent.
func checkCharts(t *testing.T, targets []targetInfo, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for _, tg := range targets {
		got[tg.Target] = nil
		for _, c := range tg.Charts {
			got[tg.Target] = append(got[tg.Target], c.Title)
			drawn := false
			for _, s := range c.Series {
				if s.Points > 0 && s.Marks > 0 && (s.Width > 0 || s.Height > 0) {
					drawn = true
				}
				if s.Points > 0 && s.Marks == 0 {
					t.Errorf("%s %q: series %q has %d points and nothing drawn", tg.Target, c.Title, s.Name, s.Points)
				}
			}
			if !drawn {
				t.Errorf("%s %q: no series plotted: %+v", tg.Target, c.Title, c.Series)
			}
		}
	}
	if len(targets) != len(want) {
		t.Errorf("page shows %d targets, want %d", len(targets), len(want))
	}
	for name, titles := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("target %s has no section", name)
		} else if !slices.Equal(g, titles) {
			t.Errorf("target %s charts = %q, want %q", name, g, titles)
		}
	}
}

// TestBrowserCheckCanFail is the control of TestHTMLInBrowser: a page that
// logs an error and loads an image from the network is caught.
func TestBrowserCheckCanFail(t *testing.T) {
	exec := chromium(t)
	file := filepath.Join(t.TempDir(), "bad.html")
	bad := `<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script></body></html>`
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	v, _, _ := visit(t, exec, file)
	if !slices.ContainsFunc(v.console, func(s string) bool { return strings.Contains(s, "console.error") }) {
		t.Errorf("console.error not caught: %q", v.console)
	}
	if !slices.Contains(v.requests, "http://127.0.0.1:9/x.png") {
		t.Errorf("network request not caught: %q", v.requests)
	}
}

// writeDocsScreenshot takes the README's picture: the top of the status
// report at 1100 px wide.
func writeDocsScreenshot(t *testing.T, exec, file, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, acancel := chromiumAllocator(ctx, exec, t.TempDir())
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	page := (&url.URL{Scheme: "file", Path: file}).String()
	err := chromedp.Do(bctx, chromedp.EmulateViewport(1100, 1400), chromedp.Navigate(page), chromedp.WaitReady("body"))
	if err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("docs screenshot: %s (%d bytes)", out, len(png))
}
