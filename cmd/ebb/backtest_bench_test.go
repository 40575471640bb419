package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// BenchmarkBacktestRealPrometheus100Targets is one `ebb backtest` of 100
// Deployments over 7 days of 15-s data in a real Prometheus (each target
// one pod whose cpu counter follows the World Cup trace, scaled per
// target; 4 million samples loaded with promtool before the timer starts),
// at the default 1-minute step. It needs Debian's prometheus and takes
// minutes to prepare, so it runs only with EBB_BENCH_PROMETHEUS=1.
func BenchmarkBacktestRealPrometheus100Targets(b *testing.B) {
	if os.Getenv("EBB_BENCH_PROMETHEUS") != "1" {
		b.Skip("set EBB_BENCH_PROMETHEUS=1 (minutes of preparation, ~400 MB of OpenMetrics)")
	}
	for _, bin := range []string{prometheusBin, promtoolBin} {
		if _, err := os.Stat(bin); err != nil {
			b.Skipf("%s: %v", bin, err)
		}
	}
	const targets = 100
	f, err := os.Open(filepath.Join("..", "..", "recommender", "simulate", "testdata", "hpa-peer", "traces", "worldcup98-cores.csv.gz"))
	if err != nil {
		b.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := simulate.ParseTrace(zr)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	const window = 7 * 24 * time.Hour
	end := time.Now().Add(-time.Hour).Truncate(time.Hour)
	start := end.Add(-window)
	dir := b.TempDir()
	om := filepath.Join(dir, "history.om")
	out, err := os.Create(om)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintln(w, "# TYPE container_cpu_usage_seconds counter")
	var deps []*appsv1.Deployment
	var pods []corev1.Pod
	for i := range targets {
		name := fmt.Sprintf("svc%03d", i)
		pod := name + "-5d8f9c7b6-aaaaa"
		deps = append(deps, testDeployment(name))
		pods = append(pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "prod", Labels: map[string]string{"app": name}}})
		scale, cum := 0.5+float64(i)/100, 0.0
		for t := start.Add(-time.Minute); !t.After(end); t = t.Add(15 * time.Second) {
			fmt.Fprintf(w, "container_cpu_usage_seconds_total{namespace=\"prod\",pod=%q,container=\"app\"} %.6f %d\n", pod, cum, t.Unix())
			cum += demandAt(tr, t.Sub(start)) * scale * 15
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	out.Close()
	data, err := os.ReadFile(om)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	prom := startHistoryPrometheus(b, bytes.TrimSuffix(data, []byte("# EOF\n")))
	b.Logf("%d MB of OpenMetrics loaded and served in %v", len(data)>>20, time.Since(t0).Round(time.Second))
	api := fakeAPIServer(b, deps, pods)
	home := isolateKubeEnv(b)
	kubeconfig := writeKubeconfig(b, home, "kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: prod}}]
current-context: x
`, api))
	var policy bytes.Buffer
	fmt.Fprintf(&policy, "prometheus: {url: %q, timeout: 60s}\ntargets:\n", prom)
	for i := range targets {
		fmt.Fprintf(&policy, `- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: svc%03d}
  horizontal:
    minReplicas: 2
    maxReplicas: 40
    metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}]
`, i)
	}
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, policy.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		if code := runEbb([]string{"backtest", "--kubeconfig", kubeconfig, "--policy", policyFile, "--since", "7d",
			"--until", end.UTC().Format(time.RFC3339), "-o", "json"}, &stdout, &stderr); code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
}
