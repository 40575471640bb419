//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/report/reporttest"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// verticalResources and verticalRow are the vertical section of `ebb
// report -o json` (autoscaler/report.Container).
type verticalResources struct {
	CPUMilli    *int64 `json:"cpuMilli"`
	MemoryBytes *int64 `json:"memoryBytes"`
}

type verticalRow struct {
	Name    string            `json:"name"`
	Target  verticalResources `json:"target"`
	Lower   verticalResources `json:"lowerBound"`
	Upper   verticalResources `json:"upperBound"`
	Request verticalResources `json:"request"`
}

// verticalRows runs `ebb report -o json` and returns kind/name's rows.
func verticalRows(ctx context.Context, o harness.EbbOptions, kind, name string) ([]verticalRow, string, error) {
	out, err := harness.EbbReport(ctx, o, "-o", "json")
	if err != nil {
		return nil, out, err
	}
	var r struct {
		Targets []struct {
			Kind     string        `json:"kind"`
			Name     string        `json:"name"`
			Vertical []verticalRow `json:"vertical"`
		} `json:"targets"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, out, fmt.Errorf("decode ebb report: %w", err)
	}
	for _, tg := range r.Targets {
		if tg.Kind == kind && tg.Name == name {
			return tg.Vertical, out, nil
		}
	}
	return nil, out, fmt.Errorf("report has no target %s/%s", kind, name)
}

// TestEbbVertical: a Deployment of 2 kwok pods using 300m CPU and 400Mi
// memory, requesting 10m and 16Mi (far below any lower bound). `ebb report`
// shows a recommendation for container app whose CPU target covers the
// usage metrics.k8s.io shows and whose memory target covers 400Mi, and sends
// no patch. Then `ebb run` in mode apply with vertical mode rollout patches
// the Deployment's template to the recommended targets, once (rollout
// period 1h). minReplicas = maxReplicas keeps the horizontal side still.
// In-place resize is TestEbbVerticalInPlace (ebb_inplace_test.go).
func TestEbbVertical(t *testing.T) {
	const ns, name = "ebb-vertical", "web"
	s := setup(t, ns)
	ctx := context.Background()
	_, usage := underRequestedWorkload(t, s, ns, name, 2)
	minCPU := int64(math.MaxInt64)
	for _, u := range usage {
		minCPU = min(minCPU, u)
	}
	policy := cpuPolicy("apply", "Deployment", name, 2, 2, 50, "") + `  vertical:
    mode: rollout
    rollout: {period: 1h}
`
	o := ebbSetup(t, s, ns, policy)

	rows, out, err := verticalRows(ctx, o, "Deployment", name)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0].Name != "app" || rows[0].Target.CPUMilli == nil || rows[0].Target.MemoryBytes == nil {
		t.Fatalf("report vertical rows = %+v, want one for container app with cpu and memory targets\n%s", rows, out)
	}
	r := rows[0]
	if *r.Target.CPUMilli < minCPU {
		t.Errorf("report cpu target %dm, want >= the %dm usage metrics.k8s.io shows", *r.Target.CPUMilli, minCPU)
	}
	if *r.Target.MemoryBytes < 400<<20 {
		t.Errorf("report memory target %d bytes, want >= 400Mi used", *r.Target.MemoryBytes)
	}
	if r.Request.CPUMilli == nil || *r.Request.CPUMilli != 10 {
		t.Errorf("report cpu request %v, want 10m", r.Request.CPUMilli)
	}
	if r.Lower.MemoryBytes == nil || r.Upper.MemoryBytes == nil {
		t.Fatalf("report memory bounds missing: %+v", r)
	}
	if *r.Lower.MemoryBytes > *r.Target.MemoryBytes || *r.Target.MemoryBytes > *r.Upper.MemoryBytes {
		t.Errorf("report memory bounds %d <= %d <= %d do not hold", *r.Lower.MemoryBytes, *r.Target.MemoryBytes, *r.Upper.MemoryBytes)
	}
	if g := deploymentGeneration(t, s, ns, name); g != 1 {
		t.Fatalf("after ebb report the Deployment's generation is %d, want 1 (a report never patches)", g)
	}
	checkHTMLReport(t, o, "Deployment/"+name, "Container app CPU (millicores)", "Container app memory (MiB)")

	ebb := startEbb(t, s, o, "")
	requests := waitTemplateChange(t, s, ns, name, 60*time.Second)
	match := map[string]string{"namespace": ns, "target": "Deployment/" + name, "container": "app", "bound": "target"}
	cpu := ebb.waitMetric(t, "ebb_vertical_recommendation_cpu_cores", match, "present", func(float64) bool { return true }, 10*time.Second)
	mem := ebb.waitMetric(t, "ebb_vertical_recommendation_memory_bytes", match, "present", func(float64) bool { return true }, 10*time.Second)
	if got, want := requests.Cpu().MilliValue(), int64(math.Round(cpu*1000)); got != want {
		t.Errorf("template cpu request %dm, want the recommendation target %dm", got, want)
	}
	if got, want := requests.Memory().Value(), int64(math.Round(mem)); got != want {
		t.Errorf("template memory request %d, want the recommendation target %d", got, want)
	}
	eventsMention(t, s, ns, "Deployment", name, "VerticalRollout", "app cpu 10m->", 10*time.Second)
	// At most one rollout per period: a few more passes change nothing.
	time.Sleep(3 * syncPeriod)
	if g := deploymentGeneration(t, s, ns, name); g != 2 {
		t.Errorf("Deployment generation %d after a few more passes, want 2 (one rollout per 1h)", g)
	}
	t.Logf("rolled out requests cpu %s memory %s", requests.Cpu(), requests.Memory())
}

// checkHTMLReport runs `ebb report -o html` and opens the page in headless
// Chromium (autoscaler/report/reporttest): no console error, no request,
// every chart drawn, and target's section has its replicas chart and the
// charts named in want. The page and its screenshot stay in the test's
// artifact directory (go test -artifacts).
func checkHTMLReport(t *testing.T, o harness.EbbOptions, target string, want ...string) {
	t.Helper()
	exec := reporttest.Chromium(t)
	page, err := harness.EbbReport(context.Background(), o, "-o", "html")
	if err != nil {
		t.Fatalf("ebb report -o html: %v", err)
	}
	file := filepath.Join(t.ArtifactDir(), "report.html")
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	v := reporttest.Open(t, exec, file)
	charts := reporttest.Check(t, v)
	got, ok := charts[target]
	if !ok || len(got) == 0 || got[0] != "Replicas" {
		t.Fatalf("HTML report charts of %s = %q (all: %q), want Replicas first", target, got, charts)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("HTML report charts of %s = %q, want %q among them", target, got, w)
		}
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), "report.png"), v.PNG, 0o644); err != nil {
		t.Fatal(err)
	}
}

// underRequestedWorkload creates a Deployment of n pods using 300m CPU and
// 400Mi memory while requesting 10m and 16Mi (far below any lower bound of
// a recommendation), waits until metrics.k8s.io serves their CPU and
// returns the CPU it served per pod.
func underRequestedWorkload(t *testing.T, s *Suite, ns, name string, n int) (harness.Workload, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	w := harness.Workload{Namespace: ns, Name: name, Replicas: int32(n), CPURequest: "10m", MemRequest: "16Mi",
		CPUUsage: "300m", MemUsage: "400Mi"}
	if _, err := s.Env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	pods, err := s.Env.WaitReadyPods(ctx, ns, w.Selector(), n, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	usage, err := s.Env.WaitPodCPU(ctx, ns, w.Selector(), pods, harness.Within(300, 15), 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return w, usage
}

func deploymentGeneration(t *testing.T, s *Suite, ns, name string) int64 {
	t.Helper()
	d, err := s.Env.Kube.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Generation
}

// waitTemplateChange waits until the Deployment's pod template requests of
// container app differ from the workload's initial 10m/16Mi and returns
// them.
func waitTemplateChange(t *testing.T, s *Suite, ns, name string, timeout time.Duration) corev1.ResourceList {
	t.Helper()
	var req corev1.ResourceList
	initial := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}
	err := harness.Eventually(context.Background(), "a rollout of new requests", timeout, 500*time.Millisecond, func(ctx context.Context) error {
		d, err := s.Env.Kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		req = d.Spec.Template.Spec.Containers[0].Resources.Requests
		if req.Cpu().Equal(*initial.Cpu()) || req.Memory().Equal(*initial.Memory()) {
			return fmt.Errorf("template requests cpu %s memory %s", req.Cpu(), req.Memory())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return req
}
