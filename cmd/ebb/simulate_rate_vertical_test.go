package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestSimulateRateWorld: 100 requests/s, pods serving 40 each, a Pods
// metric target of 40 per pod: the HPA asks for 3 pods at once (50 per
// pod), the CSV shows the observed per-pod value, and the summary counts
// the 45.5 s until the third pod is Ready as under-provisioned.
func TestSimulateRateWorld(t *testing.T) {
	trace := writeFile(t, "rps.csv", "t_seconds,demand\n0,100\n60,100\n")
	spec := writeFile(t, "spec.yaml", `
minReplicas: 2
maxReplicas: 10
metrics:
- type: Pods
  pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: "40"}}
`)
	summary := writeFile(t, "summary.json", "")
	var stdout, stderr bytes.Buffer
	args := []string{"simulate", "--trace", trace, "--spec", spec, "--rate-metric", "rps", "--capacity", "40", "--summary", summary}
	if code := runEbb(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(stdout.String(), "\n")
	want := []string{"t,desired,ready,value", "15,3,2,50", "30,3,2,50", "45,3,2,33.333"}
	if diff := cmp.Diff(want, lines[:4]); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if !strings.Contains(stdout.String(), "underProvisionedSeconds=45.5 scaleEvents=1") {
		t.Errorf("totals line missing or wrong:\n%s", stdout.String())
	}
}

func TestSimulateRateFlags(t *testing.T) {
	trace := writeFile(t, "t.csv", "0,1\n")
	cpuSpec := writeFile(t, "spec.yaml", "maxReplicas: 5\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trace", trace, "--spec", cpuSpec, "--capacity", "3"}, "--capacity: only with --rate-metric"},
		{[]string{"--trace", trace, "--spec", cpuSpec, "--rate-metric", "rps"}, "--capacity: 0: --rate-metric needs"},
		{[]string{"--trace", trace, "--spec", cpuSpec, "--rate-metric", "rps", "--capacity", "3"}, `a request-rate world serves only the Pods metric "rps"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := runEbb(append([]string{"simulate"}, tc.args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// usageCSV is hours of one sample per minute at cpu cores and mem bytes.
func usageCSV(hours int, cpu float64, mem int64) string {
	var b strings.Builder
	b.WriteString("t_seconds,cpu_cores,memory_bytes\n")
	for m := 0; m <= hours*60; m++ {
		fmt.Fprintf(&b, "%d,%g,%d\n", m*60, cpu, mem)
	}
	return b.String()
}

// TestSimulateVerticalJSON: one JSON object per line, at every hour and the
// last at the end of the trace, each with at (seconds) and cpu and memory
// objects of numbers; the recommendation of a constant 0.5 cores / 300 MiB
// is p90 + 15 % of the bucket holding it.
func TestSimulateVerticalJSON(t *testing.T) {
	usage := writeFile(t, "usage.csv", usageCSV(24, 0.5, 300<<20)+"86430,0.5,314572800\n")
	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"simulate", "--vertical", usage, "-o", "json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 25 {
		t.Fatalf("got %d lines, want 25 (hours 1..24 and the end at 86430 s)", len(lines))
	}
	type bounds struct{ Target, Lower, Upper float64 }
	type line struct {
		At          float64
		CPU, Memory bounds
	}
	var got []line
	for i, l := range lines {
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		var v line
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		got = append(got, v)
	}
	if got[0].At != 3600 || got[23].At != 86400 || got[24].At != 86430 {
		t.Errorf("at: first %v, 24th %v, last %v; want 3600, 86400, 86430", got[0].At, got[23].At, got[24].At)
	}
	end := got[24]
	if end.CPU.Target < 575 || end.CPU.Target > 610 || end.Memory.Target < 1.15*300*(1<<20) || end.Memory.Target > 1.15*318*(1<<20) {
		t.Errorf("end recommendation %+v: want cpu 575..610 (millicores), memory 1.15 x 300..318 MiB (bytes)", end)
	}
	if !(end.CPU.Lower <= end.CPU.Target && end.CPU.Target <= end.CPU.Upper) {
		t.Errorf("cpu bounds not ordered: %+v", end.CPU)
	}
	if !strings.Contains(lines[0], `"cpu":{"target":`) || !strings.Contains(lines[0], `"memory":{"target":`) {
		t.Errorf("line %q lacks the cpu/memory objects", lines[0])
	}
}

func TestSimulateVerticalTableAndFlags(t *testing.T) {
	usage := writeFile(t, "usage.csv", usageCSV(2, 0.25, 100<<20))
	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"simulate", "--vertical", usage, "--every", "30m", "--recommendation-margin-fraction", "0"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "AT") || !strings.HasPrefix(lines[4], "2h0m0s") {
		t.Fatalf("table:\n%s", stdout.String())
	}
	// Without a margin the target is the bucket end of 250m: 250..263m.
	f := strings.Fields(lines[4])
	if q, err := resource.ParseQuantity(f[1]); err != nil || q.MilliValue() < 250 || q.MilliValue() > 263 {
		t.Errorf("cpu target %s (%v), want 250m..263m without the margin", f[1], err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vertical", usage, "-o", "yaml"}, `-o: "yaml" is not a format of --vertical`},
		{[]string{"--vertical", usage, "--target-percentile", "1.5"}, "vertical recommender settings"},
		{[]string{"--vertical", writeFile(t, "bad.csv", "0,1,1\n1,x,1\n")}, `usage line 2: cpu_cores "x"`},
		{[]string{"--vertical", usage, "--trace", usage}, "give either -f"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runEbb(append([]string{"simulate"}, tc.args...), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args[2:], code, stderr.String(), tc.want)
		}
	}
}
