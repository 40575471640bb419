// Package reporttest opens ebb's HTML report in headless Chromium (Debian's
// chromium, driven by chromedp) for tests: what the page logged and
// requested, how its charts were laid out, and a screenshot. It is imported
// only by tests (the report's unit tests and the e2e suite), so chromedp
// never reaches the ebb binary.
package reporttest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium is the browser's path: $EBB_CHROMIUM, else /usr/bin/chromium.
// When it is missing the test is skipped, or fails when
// EBB_REQUIRE_CHROMIUM=1 (as `make unit` and `make e2e` set it;
// hack/chromium.sh installs the browser).
func Chromium(t testing.TB) string {
	t.Helper()
	path := os.Getenv("EBB_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("EBB_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("chromium: %v (hack/chromium.sh installs it)", err)
		}
		t.Skipf("chromium not installed at %s (hack/chromium.sh installs it; EBB_REQUIRE_CHROMIUM=1 makes this a failure)", path)
	}
	return path
}

// allocator starts Chromium with the flags that work in CI's containers
// (root, no GPU, no network) and keep it from reaching out on its own.
func allocator(ctx context.Context, exec, profile string) (context.Context, context.CancelFunc) {
	return chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exec), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1200, 1500))
}

// Visit is what the browser saw while it loaded a page.
type Visit struct {
	// Console holds console API errors, warnings and failed assertions,
	// uncaught exceptions, and browser log errors and warnings.
	Console []string
	// Requests are the URLs requested other than the page itself.
	Requests []string
	// Targets are the page's target sections and their charts.
	Targets []Target
	// PNG is a full-page screenshot.
	PNG []byte
}

// Target is one target section of the page.
type Target struct {
	Target string  `json:"target"`
	Charts []Chart `json:"charts"`
}

// Chart is one chart as the browser laid it out.
type Chart struct {
	Title  string   `json:"title"`
	Series []Series `json:"series"`
}

// Series is one series of a chart.
type Series struct {
	Name   string  `json:"name"`
	Points int     `json:"points"` // present points (data-points)
	Marks  int     `json:"marks"`  // drawn path and circle elements
	Width  float64 `json:"width"`  // bounding box of what was drawn, in px
	Height float64 `json:"height"` // (a horizontal line has height 0)
}

// Drawn reports whether the series has points and put something of
// non-empty extent on the screen.
func (s Series) Drawn() bool { return s.Points > 0 && s.Marks > 0 && (s.Width > 0 || s.Height > 0) }

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

// recorder collects the events that matter while the page loads.
type recorder struct {
	mu       sync.Mutex
	page     string
	console  []string
	requests []string
}

func (r *recorder) listen(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		switch e.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
			r.console = append(r.console, fmt.Sprintf("console.%s (%d args)", e.Type, len(e.Args)))
		}
	case *runtime.EventExceptionThrown:
		r.console = append(r.console, "exception: "+e.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			r.console = append(r.console, fmt.Sprintf("log %s %s: %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		if e.Request.URL != r.page {
			r.requests = append(r.requests, e.Request.URL)
		}
	}
}

// Open loads the HTML file at path (absolute) in a new headless Chromium
// at exec, lays out its charts and takes a full-page screenshot.
func Open(t testing.TB, exec, path string) Visit {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, acancel := allocator(ctx, exec, t.TempDir())
	defer acancel()
	rec := &recorder{page: (&url.URL{Scheme: "file", Path: path}).String()}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithListener(rec.listen))
	defer bcancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(rec.page), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("open %s: %v", rec.page, err)
	}
	targets, err := chromedp.Run(bctx, chromedp.Evaluate[[]Target](layout))
	if err != nil {
		t.Fatalf("lay out the charts of %s: %v", rec.page, err)
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", rec.page, err)
	}
	rec.mu.Lock() // the listener may run until the context ends
	defer rec.mu.Unlock()
	return Visit{Console: slices.Clone(rec.console), Requests: slices.Clone(rec.requests), Targets: targets, PNG: png}
}

// Screenshot writes a PNG of the top of the page at path, in a viewport
// width x height pixels.
func Screenshot(t testing.TB, exec, path, out string, width, height int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	actx, acancel := allocator(ctx, exec, t.TempDir())
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	page := (&url.URL{Scheme: "file", Path: path}).String()
	err := chromedp.Do(bctx, chromedp.EmulateViewport(width, height), chromedp.Navigate(page), chromedp.WaitReady("body"))
	if err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", page, err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Check fails t when the page logged an error, requested anything but
// itself, or has a chart where no series is drawn (or a series with points
// and no mark). It returns the chart titles per target, in page order.
func Check(t testing.TB, v Visit) map[string][]string {
	t.Helper()
	if len(v.Console) > 0 {
		t.Errorf("console errors: %q", v.Console)
	}
	if len(v.Requests) > 0 {
		t.Errorf("the page requested %q; it must be self-contained", v.Requests)
	}
	titles := map[string][]string{}
	for _, tg := range v.Targets {
		titles[tg.Target] = nil
		for _, c := range tg.Charts {
			titles[tg.Target] = append(titles[tg.Target], c.Title)
			if !slices.ContainsFunc(c.Series, Series.Drawn) {
				t.Errorf("%s %q: no series plotted: %+v", tg.Target, c.Title, c.Series)
			}
			for _, s := range c.Series {
				if s.Points > 0 && s.Marks == 0 {
					t.Errorf("%s %q: series %q has %d points and nothing drawn", tg.Target, c.Title, s.Name, s.Points)
				}
			}
		}
	}
	return titles
}
