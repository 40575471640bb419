package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ebb-autoscaler/ebb/recommender/sweep"
)

// stepTrace is the hpa-peer step trace: 1 core, 6 cores from 600 s to
// 3600 s, 1 core until 7200 s.
const stepTrace = "t_seconds,demand_cores\n0,1\n600,6\n3600,1\n7200,1\n"

const sweepPolicy = `
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    minReplicas: 2
    maxReplicas: 40
    metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
    proactive: {mode: "on", minHistory: 5m}
`

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSimulateSweep(t *testing.T) {
	dir := writeFiles(t, map[string]string{"step.csv": stepTrace, "policy.yaml": sweepPolicy})
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", filepath.Join(dir, "step.csv"), "--policy", filepath.Join(dir, "policy.yaml"),
		"--sweep", "--sweep-targets", "50,70,90", "--sweep-margins", "0,0.1"}
	if code := runEbb(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"same target, proactive margin 0.00, horizon 1m, minHistory 5m, maxError 0.50 vs hpa:",
		"| 50% |", "| 90% |", "frontiers:", "every run:",
		"| proactive | 70% | 0.10 | 1m | 5m | 0.50 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// 3 HPA + 6 proactive rows in the last table.
	last := out[strings.Index(out, "every run:"):]
	if n := strings.Count(last, "\n| hpa |") + strings.Count(last, "\n| proactive |"); n != 9 {
		t.Errorf("every-run table has %d rows, want 9:\n%s", n, last)
	}

	stdout.Reset()
	if code := runEbb(append(args, "-o", "json"), &stdout, &stderr); code != 0 {
		t.Fatalf("json: exit %d: %s", code, stderr.String())
	}
	var res sweep.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("json output: %v", err)
	}
	if len(res.HPA) != 3 || len(res.Proactive) != 6 || res.HPA[0].Totals.CoreSeconds <= 0 {
		t.Errorf("json: %d HPA and %d proactive runs (first %+v), want 3 and 6 with totals", len(res.HPA), len(res.Proactive), res.HPA[0])
	}

	stdout.Reset()
	if code := runEbb(append(args, "-o", "html"), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "<svg") ||
		!strings.Contains(stdout.String(), "ebb sweep: step.csv") {
		t.Fatalf("html: exit %d, %d bytes without the chart or the trace's name: %s", code, stdout.Len(), stderr.String())
	}
}

// TestSimulateRepeat: --repeat 3 plays the trace three times (three times
// the syncs), and --policy without a sweep runs the target's rule.
func TestSimulateRepeat(t *testing.T) {
	dir := writeFiles(t, map[string]string{"step.csv": stepTrace, "policy.yaml": sweepPolicy})
	syncs := func(extra ...string) int {
		var stdout, stderr bytes.Buffer
		args := append([]string{"simulate", "--trace", filepath.Join(dir, "step.csv"), "--policy", filepath.Join(dir, "policy.yaml")}, extra...)
		if code := runEbb(args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, stderr.String())
		}
		return strings.Count(stdout.String(), "\n") - 3 // header and two total lines
	}
	once, thrice := syncs(), syncs("--repeat", "3")
	if once != 480 || thrice != 3*480 {
		t.Errorf("syncs: %d once, %d with --repeat 3; want 480 and 1440", once, thrice)
	}
}

func TestSimulateProactiveUsage(t *testing.T) {
	dir := writeFiles(t, map[string]string{"step.csv": stepTrace, "policy.yaml": sweepPolicy, "spec.yaml": "maxReplicas: 4\n",
		"two.yaml": sweepPolicy + strings.Replace(sweepPolicy[len("\ntargets:\n"):], "name: web", "name: api", 1)})
	trace, pol := filepath.Join(dir, "step.csv"), filepath.Join(dir, "policy.yaml")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"spec and policy", []string{"--trace", trace, "--policy", pol, "--spec", filepath.Join(dir, "spec.yaml")}, "give either -f scenario.yaml"},
		{"sweep without trace", []string{"-f", "x.yaml", "--sweep"}, "--policy, --repeat and --sweep need --trace"},
		{"repeat zero", []string{"--trace", trace, "--policy", pol, "--repeat", "0"}, "--repeat 0 must be >= 1"},
		{"bad output", []string{"--trace", trace, "--policy", pol, "--sweep", "-o", "xml"}, `--output "xml" must be table, json or html`},
		{"bad targets", []string{"--trace", trace, "--policy", pol, "--sweep", "--sweep-targets", "90:40:5"}, `--sweep-targets "90:40:5"`},
		{"bad margin", []string{"--trace", trace, "--policy", pol, "--sweep", "--sweep-margins", "0,-1"}, "proactive.margin -1"},
		{"several targets", []string{"--trace", trace, "--policy", filepath.Join(dir, "two.yaml")}, "has 2 targets: name one with --target Kind/name"},
		{"unknown target", []string{"--trace", trace, "--policy", filepath.Join(dir, "two.yaml"), "--target", "Deployment/db"}, `--target "Deployment/db": the policy has Deployment/web, Deployment/api`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb(append([]string{"simulate"}, tc.args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
}
