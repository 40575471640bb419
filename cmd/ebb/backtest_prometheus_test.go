package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/backtest"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

const (
	prometheusBin = "/usr/bin/prometheus"
	promtoolBin   = "/usr/bin/promtool"
)

// requirePrometheus skips (or, with EBB_REQUIRE_PROMETHEUS=1, fails) when
// Debian's prometheus and promtool are not installed.
func requirePrometheus(t *testing.T) {
	t.Helper()
	for _, bin := range []string{prometheusBin, promtoolBin} {
		if _, err := os.Stat(bin); err != nil {
			if os.Getenv("EBB_REQUIRE_PROMETHEUS") == "1" {
				t.Fatalf("EBB_REQUIRE_PROMETHEUS=1 but %s is missing (make prometheus installs it): %v", bin, err)
			}
			t.Skipf("%s not installed (make prometheus)", bin)
		}
	}
}

// openMetrics writes, every 15 s from start-1m to end, the counters of
// pods that share a per-minute demand trace evenly: family (a counter) per
// pod, with the pod's share of demand x scale per second, and, when
// gauge is set, a constant gauge per pod.
type openMetrics struct {
	b bytes.Buffer
}

func (o *openMetrics) counter(family string, labels func(pod string) string, pods []string, tr []simulate.Point, scale float64, start, end time.Time) {
	fmt.Fprintf(&o.b, "# TYPE %s counter\n", family)
	for _, pod := range pods {
		cum := 0.0
		for t := start.Add(-time.Minute); !t.After(end); t = t.Add(15 * time.Second) {
			fmt.Fprintf(&o.b, "%s_total{%s} %.6f %d\n", family, labels(pod), cum, t.Unix())
			cum += demandAt(tr, t.Sub(start)) * scale / float64(len(pods)) * 15
		}
	}
}

func (o *openMetrics) gauge(family string, labels func(pod string) string, pods []string, v float64, start, end time.Time) {
	fmt.Fprintf(&o.b, "# TYPE %s gauge\n", family)
	for _, pod := range pods {
		for t := start.Add(-time.Minute); !t.After(end); t = t.Add(15 * time.Second) {
			fmt.Fprintf(&o.b, "%s{%s} %g %d\n", family, labels(pod), v, t.Unix())
		}
	}
}

// demandAt is the trace's demand over [at, at+15s) (rows are minutes).
func demandAt(tr []simulate.Point, at time.Duration) float64 {
	d := tr[0].Demand
	for _, p := range tr {
		if p.T > at {
			break
		}
		d = p.Demand
	}
	return d
}

// startHistoryPrometheus loads the OpenMetrics text into a fresh data
// directory with promtool and serves it with Debian's prometheus.
func startHistoryPrometheus(t testing.TB, om []byte) string {
	t.Helper()
	dir := t.TempDir()
	in, data := filepath.Join(dir, "history.om"), filepath.Join(dir, "data")
	if err := os.WriteFile(in, append(om, []byte("# EOF\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtoolBin, "tsdb", "create-blocks-from", "openmetrics", in, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {scrape_interval: 15s}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(prometheusBin, "--config.file="+cfg, "--storage.tsdb.path="+data, "--web.listen-address="+addr,
		"--storage.tsdb.retention.time=30d", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// fakeAPIServer serves the Deployments and their pods the backtest reads.
func fakeAPIServer(t testing.TB, deps []*appsv1.Deployment, pods []corev1.Pod) string {
	t.Helper()
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/apis/apps/v1/namespaces/prod/deployments/"):
			name := strings.TrimPrefix(r.URL.Path, "/apis/apps/v1/namespaces/prod/deployments/")
			for _, d := range deps {
				if d.Name == name {
					write(w, d)
					return
				}
			}
		case r.URL.Path == "/api/v1/namespaces/prod/pods":
			app := strings.TrimPrefix(r.URL.Query().Get("labelSelector"), "app=")
			list := corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}}
			for _, p := range pods {
				if p.Labels["app"] == app {
					list.Items = append(list.Items, p)
				}
			}
			write(w, list)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		write(w, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: 404})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func testDeployment(name string) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}}}}}},
		},
	}
}

// TestBacktestRealPrometheus: history generated from the shipped diurnal
// trace (pods' cpu counters, and a request-rate counter at 100 requests/s
// per core) is loaded into a real Prometheus with promtool; `ebb backtest`
// on it must give the totals `ebb simulate --trace` gives on the trace:
// core-seconds within 1 %, scale events within 2, under-provisioned time
// within one step per scale event. A target whose metric cannot be
// reconstructed exits 2 while the others are printed.
func TestBacktestRealPrometheus(t *testing.T) {
	requirePrometheus(t)
	traceFile := filepath.Join("..", "..", "docs", "traces", "diurnal.csv")
	f, err := os.Open(traceFile)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := simulate.ParseTrace(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	const window = 2 * time.Hour
	start := time.Now().Add(-4 * time.Hour).Truncate(time.Hour)
	end := start.Add(window)
	webPods := []string{"web-5d8f9c7b6-aaaaa", "web-5d8f9c7b6-bbbbb", "web-5d8f9c7b6-ccccc"}
	apiPods := []string{"api-7c9d8b6f5-aaaaa", "api-7c9d8b6f5-bbbbb"}
	var om openMetrics
	labels := func(pod string) string { return fmt.Sprintf(`namespace="prod",pod="%s",container="app"`, pod) }
	om.counter("container_cpu_usage_seconds", labels, webPods, tr, 1, start, end)
	om.gauge("container_memory_working_set_bytes", labels, webPods, 200<<20, start, end)
	om.counter("http_requests", func(pod string) string { return fmt.Sprintf(`namespace="prod",pod="%s"`, pod) }, apiPods, tr, 100, start, end)
	prom := startHistoryPrometheus(t, om.b.Bytes())

	var pods []corev1.Pod
	for _, p := range append(append([]string{}, webPods...), apiPods...) {
		pods = append(pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p, Namespace: "prod", Labels: map[string]string{"app": p[:3]}}})
	}
	api := fakeAPIServer(t, []*appsv1.Deployment{testDeployment("web"), testDeployment("api"), testDeployment("queue")}, pods)
	home := isolateKubeEnv(t)
	kubeconfig := writeKubeconfig(t, home, "kubeconfig", fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: prod}}]
current-context: x
`, api))
	policyFile := writeFile(t, "policy.yaml", fmt.Sprintf(`prometheus: {url: %q}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    minReplicas: 2
    maxReplicas: 20
    metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
    behavior: {}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  horizontal:
    minReplicas: 2
    maxReplicas: 20
    metrics: [{type: Pods, pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: "35"}}}]
    behavior: {}
  queries:
    rps: 'sum by (pod) (rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"}[1m]))'
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: queue}
  horizontal:
    maxReplicas: 5
    metrics: [{type: External, external: {metric: {name: depth}, target: {type: Value, value: "30"}}}]
  queries:
    depth: 'sum(queue_depth{namespace="{{.Namespace}}"})'
`, prom))

	var stdout, stderr bytes.Buffer
	args := []string{"backtest", "--kubeconfig", kubeconfig, "--policy", policyFile, "--since", "2h", "--step", "1m",
		"--until", end.UTC().Format(time.RFC3339), "--capacity", "50", "-o", "json"}
	code := runEbb(args, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "Deployment/queue: cannot reconstruct the demand") {
		t.Fatalf("exit %d, stderr %q: want 2 naming Deployment/queue", code, stderr.String())
	}
	var res backtest.Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output: %v\n%s", err, stdout.String())
	}
	byName := map[string]backtest.TargetResult{}
	for _, tg := range res.Targets {
		byName[tg.Target] = tg
	}

	// The same trace through `ebb simulate --trace`.
	simulateTotals := func(extra ...string) simulate.Totals {
		t.Helper()
		summary := filepath.Join(t.TempDir(), "s.json")
		spec := writeFile(t, "spec.yaml", "minReplicas: 2\nmaxReplicas: 20\nmetrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]\nbehavior: {}\n")
		traceArg := traceFile
		if len(extra) > 0 {
			spec = writeFile(t, "rspec.yaml", "minReplicas: 2\nmaxReplicas: 20\nmetrics: [{type: Pods, pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: \"35\"}}}]\nbehavior: {}\n")
			var b strings.Builder
			for _, p := range tr {
				fmt.Fprintf(&b, "%g,%g\n", p.T.Seconds(), p.Demand*100)
			}
			traceArg = writeFile(t, "rps.csv", b.String())
		}
		var so, se bytes.Buffer
		a := append([]string{"simulate", "--trace", traceArg, "--spec", spec, "--duration", "2h", "--summary", summary}, extra...)
		if c := runEbb(a, &so, &se); c != 0 {
			t.Fatalf("simulate: exit %d: %s", c, se.String())
		}
		var tot simulate.Totals
		b, _ := os.ReadFile(summary)
		if err := json.Unmarshal(b, &tot); err != nil {
			t.Fatal(err)
		}
		return tot
	}
	for _, tc := range []struct {
		target string
		want   simulate.Totals
	}{
		{"Deployment/web", simulateTotals()},
		{"Deployment/api", simulateTotals("--rate-metric", "rps", "--capacity", "50")},
	} {
		got := byName[tc.target]
		if got.Err != "" || len(got.Replays) == 0 {
			t.Errorf("%s: %+v", tc.target, got)
			continue
		}
		g := got.Replays[0].Totals
		t.Logf("%s: backtest %+v\nsimulate %+v", tc.target, g, tc.want)
		if math.Abs(g.CoreSeconds-tc.want.CoreSeconds) > 0.01*tc.want.CoreSeconds {
			t.Errorf("%s: core-seconds %v, simulate %v: more than 1 %% apart", tc.target, g.CoreSeconds, tc.want.CoreSeconds)
		}
		if d := g.ScaleEvents - tc.want.ScaleEvents; d > 2 || d < -2 {
			t.Errorf("%s: scale events %d, simulate %d: more than 2 apart", tc.target, g.ScaleEvents, tc.want.ScaleEvents)
		}
		if d := math.Abs(g.UnderProvisionedSeconds - tc.want.UnderProvisionedSeconds); d > 60*float64(max(tc.want.ScaleEvents, 1)) {
			t.Errorf("%s: under-provisioned %vs, simulate %vs: more than one step per scale event apart", tc.target, g.UnderProvisionedSeconds, tc.want.UnderProvisionedSeconds)
		}
	}
	// The actual run: 3 (2) pods all along, demand up to 4.5 cores (450/s).
	if a := byName["Deployment/web"].Actual; a.MaxReplicas != 3 || math.Abs(a.CoreSeconds-3*0.5*7200) > 1e-6 || a.UnderProvisionedSeconds == 0 {
		t.Errorf("web actual %+v: want 3 pods of 500m for 2h, under-provisioned at the peak", a)
	}
	if cs := byName["Deployment/web"].Containers; len(cs) != 1 || cs[0].RecommendedMemoryBytes < 200<<20 || cs[0].CurrentCPUMillis != 500 {
		t.Errorf("web containers %+v", cs)
	}
	if res.Queries > 12 {
		t.Errorf("%d distinct queries for 3 targets", res.Queries)
	}
}
