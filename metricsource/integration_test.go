package metricsource

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/config"
)

const prometheusBinary = "/usr/bin/prometheus"

// exporterRates are the per-pod request rates the test exporter counts at.
// web-10 must not match the regex built for web-1|web-2.
var exporterRates = map[string]float64{"web-1": 2, "web-2": 5, "web-10": 100}

// startExporter serves http_requests_total{namespace="prod",pod=...}
// counters that grow at exporterRates per second.
func startExporter(t *testing.T) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	start := time.Now()
	for pod, rate := range exporterRates {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "http_requests_total",
			Help:        "Requests served, growing at a fixed rate.",
			ConstLabels: prometheus.Labels{"namespace": "prod", "pod": pod},
		}, func() float64 { return rate * time.Since(start).Seconds() }))
	}
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a bytes.Buffer safe for the process' writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startRealPrometheus runs Debian's prometheus on 127.0.0.1 scraping target
// every second, and returns its URL once /-/ready answers.
func startRealPrometheus(t *testing.T, target string) string {
	t.Helper()
	if _, err := os.Stat(prometheusBinary); err != nil {
		if os.Getenv("EBB_REQUIRE_PROMETHEUS") == "1" {
			t.Fatalf("EBB_REQUIRE_PROMETHEUS=1 but %s is missing (make prometheus installs it): %v", prometheusBinary, err)
		}
		t.Skipf("%s not installed (apt-get install -y prometheus, or make prometheus)", prometheusBinary)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: exporter
    honor_labels: true
    scrape_interval: 1s
    static_configs:
      - targets: [%q]
`, target)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var logs syncBuffer
	cmd := exec.Command(prometheusBinary, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", prometheusBinary, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus output:\n%s", logs.String())
		}
	})
	url := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, 30*time.Second, "prometheus /-/ready", func() error {
		resp, err := client.Get(url + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	})
	return url
}

// waitFor polls cond every 500ms until it succeeds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestRealPrometheusTemplatedRate(t *testing.T) {
	url := startRealPrometheus(t, startExporter(t))
	p, err := NewPrometheusClient(url, config.DefaultHTTPClientConfig, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q, err := RenderQuery(`sum by (pod) (rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"}[5s]))`,
		QueryVars{Namespace: "prod", Target: "web", Kind: "Deployment", Pods: []string{"web-2", "web-1"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	waitFor(t, 30*time.Second, "per-pod rates", func() error {
		got, err := p.PodValues(ctx, q, time.Now())
		if err != nil {
			return err
		}
		if len(got) != 2 {
			return fmt.Errorf("pods %v, want web-1 and web-2 only", got)
		}
		for _, pod := range []string{"web-1", "web-2"} {
			if !near(got[pod], exporterRates[pod]) {
				return fmt.Errorf("rate of %s = %v, want about %v (all: %v)", pod, got[pod], exporterRates[pod], got)
			}
		}
		return nil
	})

	sum, err := p.Scalar(ctx, `sum(rate(http_requests_total{pod=~"web-1|web-2"}[5s]))`, time.Now())
	if err != nil || !near(sum, 7) {
		t.Errorf("Scalar(sum of rates) = %v, %v; want about 7", sum, err)
	}
	_, err = p.Scalar(ctx, `sum(rate(http_requests_total{pod="no-such-pod"}[5s]))`, time.Now())
	checkErr(t, err, true, ErrNoData, []string{"no-such-pod"})

	now := time.Now()
	series, err := p.RangeQuery(ctx, `http_requests_total{pod="web-1"}`, now.Add(-3*time.Second), now, time.Second)
	if err != nil {
		t.Fatalf("RangeQuery: %v", err)
	}
	if len(series) != 1 || len(series[0].Samples) < 2 || series[0].Labels["pod"] != "web-1" {
		t.Errorf("RangeQuery() = %v, want one web-1 series with samples", series)
	}
}

// near reports whether got is within 15% of want.
func near(got, want float64) bool { return math.Abs(got-want) <= 0.15*want }
