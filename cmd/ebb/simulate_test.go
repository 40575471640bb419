package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the simulate golden files")

const simTestdata = "../../recommender/simulate/testdata"

// golden compares got with the golden file name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(simTestdata, "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./cmd/ebb -run Simulate -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// TestSimulateScenarios runs every scenario through the command: each must
// meet its expectations (exit 0) and print its golden JSON lines.
func TestSimulateScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(simTestdata, "scenarios", "*.yaml"))
	if err != nil || len(files) < 20 {
		t.Fatalf("want at least 20 scenarios, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb([]string{"simulate", "-f", f}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), `"expectedReplicas"`) {
				t.Errorf("scenario %s checks no expectation", name)
			}
			if strings.Contains(stdout.String(), `"match":false`) {
				t.Errorf("a step missed its expectation:\n%s", stdout.String())
			}
			golden(t, name+".jsonl", stdout.Bytes())
		})
	}
}

func TestSimulateTraces(t *testing.T) {
	for _, name := range []string{"step", "diurnal", "flash-crowd"} {
		t.Run(name, func(t *testing.T) {
			summary := filepath.Join(t.TempDir(), "summary.json")
			var stdout, stderr bytes.Buffer
			args := []string{"--trace", filepath.Join("../../docs/traces", name+".csv"),
				"--spec", filepath.Join("../../docs/traces", "spec.yaml"), "--summary", summary}
			if code := runEbb(append([]string{"simulate"}, args...), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			js, err := os.ReadFile(summary)
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{`"coreSeconds"`, `"underProvisionedSeconds"`, `"scaleEvents"`} {
				if !bytes.Contains(js, []byte(key)) {
					t.Errorf("summary lacks %s:\n%s", key, js)
				}
			}
			golden(t, name+".csv", stdout.Bytes())
			golden(t, name+".summary.json", js)
		})
	}
}

func TestSimulateMismatchExits1(t *testing.T) {
	f := writeFile(t, "s.yaml", `
spec: {maxReplicas: 10, metrics: [{type: External, external: {metric: {name: q}, target: {type: AverageValue, averageValue: "1"}}}]}
steps:
- {currentReplicas: 2, metrics: {external: {q: ["3"]}}, expect: {desiredReplicas: 9}}
`)
	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"simulate", "-f", f}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr.String())
	}
	if want := "step 0 at 0s: desired 3 (DesiredWithinRange), expected 9"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSimulateBadInput: one error line naming the field and value, exit 2.
func TestSimulateBadInput(t *testing.T) {
	const spec = "spec: {maxReplicas: 5}\n"
	const step = "steps:\n- currentReplicas: 1\n"
	tests := []struct {
		name     string
		scenario string
		want     string
	}{
		{"unknown top-level field", spec + step + "extra: 1\n", `unknown field "extra"`},
		{"unknown nested field", spec + "steps:\n- currentReplicas: 1\n  pods: [{name: a, colour: red}]\n", `unknown field "steps[0].pods[0].colour"`},
		{"unknown spec field", "spec: {maxReplicas: 5, minReplica: 1}\n" + step, `unknown field "spec.minReplica"`},
		{"malformed pod quantity", spec + "steps:\n- currentReplicas: 1\n  metrics: {resource: {cpu: {pods: {a: 12xyz}}}}\n", `steps[0].metrics.resource.cpu.a: invalid quantity "12xyz"`},
		{"malformed spec quantity", "spec: {maxReplicas: 5, metrics: [{type: Pods, pods: {metric: {name: q}, target: {type: AverageValue, averageValue: lots}}}]}\n" + step,
			`spec.metrics[0].pods.target.averageValue: invalid quantity "lots"`},
		{"malformed duration", spec + "steps:\n- currentReplicas: 1\n  pods: [{name: a, startTime: yesterday}]\n", `steps[0].pods[0].startTime: invalid duration "yesterday"`},
		{"invalid spec", "spec: {minReplicas: 3, maxReplicas: 2}\n" + step, "spec.maxReplicas: invalid value 2"},
		{"wrong type", "spec: {maxReplicas: five}\n" + step, "spec.maxReplicas"},
		{"missing current replicas", spec + "steps:\n- at: 0s\n", "steps[0].currentReplicas: required field is missing"},
		{"no steps", spec, "steps: at least one step is required"},
		{"bad phase", spec + "steps:\n- currentReplicas: 1\n  pods: [{name: a, phase: Sleeping}]\n", `steps[0].pods[0].phase: invalid value "Sleeping"`},
		{"error for unknown metric", spec + "steps:\n- currentReplicas: 1\n  errors: {qps: boom}\n", "steps[0].errors.qps: no metric"},
		{"not yaml", "spec: [\n", "parse scenario"},
		{"duplicate key", spec + spec + step, `line 2: key "spec" already set in map`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := writeFile(t, "bad.yaml", tc.scenario)
			var stdout, stderr bytes.Buffer
			code := runEbb([]string{"simulate", "-f", f}, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) {
				t.Errorf("stderr = %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}

func TestSimulateTraceBadInput(t *testing.T) {
	specOK := writeFile(t, "spec.yaml", "maxReplicas: 5\n")
	traceOK := writeFile(t, "t.csv", "t_seconds,demand_cores\n0,1\n60,2\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad trace row", []string{"--trace", writeFile(t, "b.csv", "0,1\n5,-2\n"), "--spec", specOK}, `trace line 2: demand_cores "-2"`},
		{"bad spec", []string{"--trace", traceOK, "--spec", writeFile(t, "s.yaml", "maxReplicas: 0\n")}, "spec.maxReplicas: must be set"},
		{"unknown spec field", []string{"--trace", traceOK, "--spec", writeFile(t, "s2.yaml", "maxReplicas: 3\nfoo: 1\n")}, `unknown field "foo"`},
		{"memory metric", []string{"--trace", traceOK, "--spec", writeFile(t, "s3.yaml",
			"maxReplicas: 3\nmetrics: [{type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 50}}}]\n")}, "Resource/memory"},
		{"bad request", []string{"--trace", traceOK, "--spec", specOK, "--request", "lots"}, `--request: invalid quantity "lots"`},
		{"no mode", []string{}, "give either -f"},
		{"missing file", []string{"-f", "/nonexistent/x.yaml"}, "read scenario"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb(append([]string{"simulate"}, tc.args...), &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			msg := stderr.String()
			if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) {
				t.Errorf("stderr = %q, want one line containing %q", msg, tc.want)
			}
		})
	}
}
