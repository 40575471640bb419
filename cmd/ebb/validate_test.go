package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	put := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	example := filepath.Join("..", "..", "autoscaler", "policy", "testdata", "example.yaml")
	broken := put("broken.yaml", `
defaults: {mode: fast, tolerance: -1}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 0}
`)
	adapter := put("adapter.yaml", `
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    maxReplicas: 5
    metrics:
    - {type: Pods, pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: "10"}}}
    - type: Object
      object: {describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: web}, metric: {name: hits}, target: {type: Value, value: "100"}}
    - {type: External, external: {metric: {name: queue, selector: {matchLabels: {queue: jobs}}}, target: {type: Value, value: "5"}}}
`)
	exampleOK := example + ": ok (3 targets)\n" +
		"  Deployment/web Resource/cpu: metrics.k8s.io (metrics-server)\n" +
		"  Deployment/web Pods/http_requests_per_second: Prometheus (queries.http_requests_per_second)\n" +
		"  StatefulSet/worker External/queue_messages: Prometheus (queries.queue_messages)\n" +
		"  Deployment/batch Resource/cpu: metrics.k8s.io (metrics-server)\n"
	unknown := put("unknown.yaml", "targets: []\nextra: 1\n")
	dup := put("dup.yaml", "targets: []\ntargets: []\n")
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string // lines
	}{
		{name: "valid example: where each metric is read", args: []string{"-f", example}, wantCode: 0,
			wantStdout: exampleOK},
		{name: "metrics without queries read from the metrics APIs", args: []string{"-f", adapter}, wantCode: 0,
			wantStdout: adapter + ": ok (1 target)\n" +
				`  Deployment/web Pods/rps: custom.metrics.k8s.io, metric "rps" of the target's pods` + "\n" +
				`  Deployment/web Object/hits: custom.metrics.k8s.io, metric "hits" of Ingress web` + "\n" +
				`  Deployment/web External/queue: external.metrics.k8s.io, metric "queue" selected by "queue=jobs"` + "\n"},
		{name: "every problem, one per line", args: []string{"-f", broken}, wantCode: 2, wantStderr: []string{
			broken + `: defaults.mode: invalid value "fast": must be off, dry-run or apply`,
			broken + `: defaults.tolerance: invalid value -1: must be a number greater than or equal to 0`,
			broken + `: targets[0] Deployment/web: targets[0].horizontal.maxReplicas: must be set and greater than 0`,
			broken + `: invalid (3 problems)`,
		}},
		{name: "unknown field", args: []string{"-f", unknown}, wantCode: 2, wantStderr: []string{
			unknown + `: extra: unknown field "extra"`,
			unknown + `: invalid (1 problem)`,
		}},
		{name: "multi-line YAML error folded onto one line", args: []string{"-f", dup}, wantCode: 2, wantStderr: []string{
			dup + `: policy is not valid YAML: yaml: unmarshal errors: line 2: key "targets" already set in map`,
			dup + `: invalid (1 problem)`,
		}},
		{name: "several files, one bad", args: []string{"-f", example, broken}, wantCode: 2,
			wantStdout: exampleOK},
		{name: "missing file", args: []string{"-f", filepath.Join(dir, "nope.yaml")}, wantCode: 2, wantStderr: []string{
			filepath.Join(dir, "nope.yaml") + ": open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory",
		}},
		{name: "no file", args: nil, wantCode: 2},
		{name: "bad flag", args: []string{"--nope"}, wantCode: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runEbb(append([]string{"validate"}, tc.args...), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if d := cmp.Diff(tc.wantStdout, stdout.String()); d != "" {
				t.Errorf("stdout (-want +got):\n%s", d)
			}
			if tc.wantStderr != nil {
				got := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
				if d := cmp.Diff(tc.wantStderr, got); d != "" {
					t.Errorf("stderr lines (-want +got):\n%s", d)
				}
			} else if tc.wantCode != 0 && stderr.Len() == 0 {
				t.Error("stderr is empty, want a message")
			}
		})
	}
}

func TestValidateDispatch(t *testing.T) {
	var stdout, stderr bytes.Buffer
	example := filepath.Join("..", "..", "autoscaler", "policy", "testdata", "example.yaml")
	if code := runEbb([]string{"validate", "-f", example}, &stdout, &stderr); code != 0 {
		t.Fatalf("ebb validate exit %d, stderr %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), ": ok (3 targets)\n") {
		t.Errorf("stdout = %q", stdout.String())
	}
}

// TestREADMEMetricSources keeps README's two ways of reading a metric true:
// `ebb validate` on its example policy prints exactly the console block
// that follows it.
func TestREADMEMetricSources(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Pods, Object and External metrics")
	if !ok {
		t.Fatal("README has no section on Pods, Object and External metrics")
	}
	block := func(s, lang string) (string, string) {
		_, rest, ok := strings.Cut(s, "```"+lang+"\n")
		if !ok {
			t.Fatalf("README section has no %s block", lang)
		}
		body, after, _ := strings.Cut(rest, "```")
		return body, after
	}
	policyYAML, rest := block(section, "yaml")
	console, _ := block(rest, "console")
	cmdLine, want, _ := strings.Cut(console, "\n")
	if cmdLine != "$ ebb validate -f policy.yaml" {
		t.Fatalf("console block starts with %q", cmdLine)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile("policy.yaml", []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"validate", "-f", "policy.yaml"}, &stdout, &stderr); code != 0 {
		t.Fatalf("ebb validate exit %d: %s", code, stderr.String())
	}
	if d := cmp.Diff(want, stdout.String()); d != "" {
		t.Errorf("README console block (-readme +ebb validate):\n%s", d)
	}
}
