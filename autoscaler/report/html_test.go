package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRequestsYAML(t *testing.T) {
	web := sample().Targets[0]
	got, cmd := requestsYAML("shop", web)
	want := `spec:
  template:
    spec:
      containers:
      - name: app
        resources:
          requests:
            cpu: 250m
            memory: 256Mi
      - name: sidecar
        resources:
          requests:
            cpu: 25m
            memory: 118Mi
`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("requestsYAML (-want +got):\n%s", d)
	}
	if want := "kubectl patch deployment web -n shop --patch-file ebb-deployment-web.yaml"; cmd != want {
		t.Errorf("patch command = %q, want %q", cmd, want)
	}
	if y, c := requestsYAML("shop", Target{Kind: "Deployment", Name: "x", Vertical: []Container{{Name: "app"}}}); y != "" || c != "" {
		t.Errorf("requestsYAML without recommendation = %q, %q; want nothing", y, c)
	}
}

func TestQuantities(t *testing.T) {
	for _, tc := range []struct{ name, got, want string }{
		{"cpu", cpuQuantity(368), "368m"},
		{"whole Mi", memQuantity(256 << 20), "256Mi"},
		{"rounded up to Mi", memQuantity(123456789), "118Mi"},
		{"whole Gi", memQuantity(2 << 30), "2Gi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestHPACell(t *testing.T) {
	for _, tc := range []struct {
		name            string
		t               Target
		want, wantClass string
	}{
		{"not shadowed", Target{Desired: Int32(3)}, "-", ""},
		{"agrees", Target{Desired: Int32(3), HPA: &HPA{Desired: Int32(3)}}, "agrees (3)", "agrees"},
		{"differs", Target{Desired: Int32(3), HPA: &HPA{Desired: Int32(5)}}, "differs: HPA 5", "differs"},
		{"unknown", Target{HPA: &HPA{Desired: Int32(5)}}, "HPA 5, ebb <unknown>", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, class := hpaCell(tc.t)
			if got != tc.want || class != tc.wantClass {
				t.Errorf("hpaCell = %q (%q), want %q (%q)", got, class, tc.want, tc.wantClass)
			}
		})
	}
}

// TestHTMLStatus renders six hours of three targets: the page is
// self-contained and small (the README says under 100 KB), and the same
// status renders to the same bytes.
func TestHTMLStatus(t *testing.T) {
	var a, b bytes.Buffer
	st := fixtureStatus(t)
	if err := Render(&a, FormatHTML, st); err != nil {
		t.Fatal(err)
	}
	if err := Render(&b, FormatHTML, fixtureStatus(t)); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Error("two renders of the same status differ")
	}
	page := a.String()
	if n := a.Len(); n > 100<<10 {
		t.Errorf("page is %d bytes, want under 100 KB", n)
	}
	// The SVG namespace is a name, not a fetch; nothing else may name a URL.
	bare := strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http://", "https://", "<script", "<link", "<img", "@import", "url("} {
		if strings.Contains(bare, bad) {
			t.Errorf("page contains %q: it must fetch nothing", bad)
		}
	}
	if want := "2026-01-01T00:00:00Z to 2026-01-01T06:00:00Z (6h0m0s, 4320 samples)"; !strings.Contains(page, want) {
		t.Errorf("page does not say what the charts cover (%q)", want)
	}
	if n := strings.Count(page, `<svg `); n != 8 {
		t.Errorf("page has %d charts, want 8 (web 4, checkout 2, queue 2)", n)
	}
}
