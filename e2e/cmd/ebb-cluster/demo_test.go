package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestWriteHTMLReport runs a stand-in ebb that prints its arguments as the
// page: the demo asks for the HTML page of the leader's status in its
// namespace, writes it into its directory and says where.
func TestWriteHTMLReport(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "ebb")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"<html>$*</html>\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := harness.EbbOptions{Bin: fake, Kubeconfig: "kc", Namespace: "demo", Policy: "p.yaml"}
	var out bytes.Buffer
	if err := writeHTMLReport(t.Context(), o, true, dir, &out); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "<html>status --kubeconfig kc --namespace demo --output html</html>\n"; string(page) != want {
		t.Errorf("report.html = %q, want %q", page, want)
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "report.html")) {
		t.Errorf("demo output %q does not name the page", out.String())
	}
	// Without the proxy (no address but loopback): one pass, ebb report.
	if err := writeHTMLReport(t.Context(), o, false, dir, &out); err != nil {
		t.Fatal(err)
	}
	if page, err = os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !strings.HasPrefix(string(page), "<html>report ") {
		t.Errorf("report.html without status = %q (err %v), want the page of ebb report", page, err)
	}
	o.Bin = filepath.Join(dir, "missing")
	if err := writeHTMLReport(t.Context(), o, true, dir, &out); err == nil || !strings.Contains(err.Error(), "HTML report") {
		t.Errorf("writeHTMLReport with no ebb: error = %v, want one about the HTML report", err)
	}
}
