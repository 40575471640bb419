package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// demoNamespace is where `make demo` puts its sample workload.
const demoNamespace = "demo"

// demoPolicy is the sample policy of the demo; %s is Prometheus' URL. Short
// sync period and window so recommendations move within two minutes.
const demoPolicy = `# ebb demo policy (written by ebb-cluster demo)
defaults:
  mode: dry-run
  syncPeriod: 5s
  downscaleStabilization: 60s
  cpuInitializationPeriod: 10s
  initialReadinessDelay: 5s
prometheus:
  url: %s
targets:
  - scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    mode: dry-run
    horizontal:
      minReplicas: 1
      maxReplicas: 12
      metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
        - type: External
          external:
            metric: {name: http_requests}
            target: {type: AverageValue, averageValue: "10"}
    queries:
      http_requests: 'sum(rate(http_requests_total{namespace="{{.Namespace}}", pod=~"{{.PodRegex}}"}[20s]))'
`

type demoConfig struct {
	dir, binDir, ebbBin string
	duration            time.Duration
}

// demo brings the cluster up (or reuses it), creates namespace demo with a
// Deployment web (2 replicas), drives a request rate and CPU load that rise
// and fall over a 3-minute cycle, starts `ebb run` in dry-run with the
// namespace-scoped identity and prints `ebb report` every 5 s until the
// duration ends or Ctrl-C, then writes the HTML page of ebb's status (its
// decisions over the demo) into the demo's directory and prints its path. It then stops ebb and the load; the
// cluster stays up (`make demo` runs `ebb-cluster down` next unless
// DEMO_KEEP=1).
func demo(ctx context.Context, log *slog.Logger, cfg demoConfig, w io.Writer) error {
	ebbBin, err := filepath.Abs(cfg.ebbBin)
	if err != nil {
		return fmt.Errorf("--ebb %q: %w", cfg.ebbBin, err)
	}
	c, err := upOrReuse(ctx, log, cfg.dir, cfg.binDir, false)
	if err != nil {
		return err
	}
	env, err := harness.NewEnv(c)
	if err != nil {
		return err
	}
	wl := harness.Workload{Namespace: demoNamespace, Name: "web", Replicas: 2, CPURequest: "100m", CPUUsage: "50m"}
	if err := env.CreateNamespace(ctx, demoNamespace); err != nil {
		return err
	}
	if _, err := env.CreateDeployment(ctx, wl); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := env.SetScale(ctx, harness.DeploymentsGVR, demoNamespace, "web", 2); err != nil {
		return err
	}
	// Prime kwok once the pods run, so their CPU is served one scrape sooner.
	if _, err := env.WaitReadyPods(ctx, demoNamespace, wl.Selector(), 2, time.Minute); err != nil {
		return err
	}
	if err := c.PrimeKwok(ctx); err != nil {
		return err
	}
	repo, _ := os.Getwd() // make runs from the repository root
	kubeconfig, err := env.ScopedKubeconfig(ctx, demoNamespace, filepath.Join(repo, "deploy", "kustomize", "role.yaml"), cfg.dir)
	if err != nil {
		return err
	}
	policy := filepath.Join(cfg.dir, "demo-policy.yaml")
	if err := os.WriteFile(policy, fmt.Appendf(nil, demoPolicy, c.PrometheusURL()), 0o644); err != nil {
		return fmt.Errorf("write demo policy: %w", err)
	}
	app, err := env.StartLoadApp()
	if err != nil {
		return err
	}
	defer app.Close()
	reqs := env.RequestLoad(ctx, app, demoNamespace, wl.Selector(), 20)
	defer reqs.Stop()
	cpu := env.CPULoad(ctx, demoNamespace, wl.Selector(), 100)
	defer cpu.Stop()

	// ebb listens on the machine's address and stands behind Service
	// ebb-metrics as installed, so that `ebb status` reads its /status
	// through the API server's service proxy (harness.ExposeEbb).
	// A machine with no address but loopback cannot be proxied to: ebb
	// then listens on 127.0.0.1 and the page is `ebb report -o html`.
	host, hostErr := harness.HostIP()
	if hostErr != nil {
		fmt.Fprintf(w, "demo: %v; the HTML page will be `ebb report -o html` (one pass) instead of `ebb status -o html`\n", hostErr)
	}
	o := harness.EbbOptions{Bin: ebbBin, Name: "ebb-demo", Kubeconfig: kubeconfig, Namespace: demoNamespace,
		Policy: policy, LogDir: filepath.Join(cfg.dir, "logs"), MetricsHost: host,
		ExtraArgs: []string{"--status-resolution", "5s"}} // the page's charts: a point per 5 s
	ebb, err := env.StartEbb(o, true)
	if err != nil {
		return err
	}
	if err := c.Track(ebb.Process); err != nil {
		return err
	}
	defer ebb.Terminate(5 * time.Second)
	if hostErr == nil {
		if err := env.ExposeEbb(ctx, demoNamespace, "ebb-metrics", "ebb-demo", ebb); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "demo: cluster %s, namespace %s, ebb (dry-run) pid %d, log %s\n", c.Server(), demoNamespace, ebb.PID, ebb.Log)
	fmt.Fprintf(w, "demo: KUBECONFIG=%s; Prometheus %s\n", c.AdminKubeconfig(), c.PrometheusURL())
	if err := demoLoop(ctx, cfg.duration, o, ebb, reqs, cpu, w); err != nil {
		return err
	}
	// Also after Ctrl-C (make traps it): the page is what the demo leaves.
	return writeHTMLReport(context.WithoutCancel(ctx), o, hostErr == nil, cfg.dir, w)
}

// writeHTMLReport writes the HTML page of the leader's status (`ebb
// status -o html`: summary, the charts of every target over the demo,
// recommended requests) to dir/report.html and prints its path.
// Without status (ebb not reachable through the proxy) it writes `ebb
// report -o html`, one fresh pass.
func writeHTMLReport(ctx context.Context, o harness.EbbOptions, status bool, dir string, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	run := harness.EbbStatus
	if !status {
		run = harness.EbbReport
	}
	page, err := run(ctx, o, "--output", "html")
	if err != nil {
		return fmt.Errorf("HTML report: %w", err)
	}
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		return fmt.Errorf("write the HTML report: %w", err)
	}
	fmt.Fprintf(w, "demo: HTML report (open it in a browser): %s\n", path)
	return nil
}

// demoLoop moves the load along a 3-minute triangle (requests 20 → 100 →
// 20 /s, CPU 100m → 600m → 100m in total) and prints `ebb report` every 5 s.
func demoLoop(ctx context.Context, d time.Duration, o harness.EbbOptions, ebb *harness.Ebb, reqs, cpu *harness.Driver, w io.Writer) error {
	start := time.Now()
	end := time.After(d)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		phase := math.Mod(time.Since(start).Seconds(), 180) / 180 // 0..1
		level := 1 - math.Abs(2*phase-1)                          // 0 → 1 → 0
		reqs.Set(20 + 80*level)
		cpu.Set(100 + 500*level)
		select {
		case <-ctx.Done():
			fmt.Fprintln(w, "demo: interrupted; stopping ebb and the load")
			return nil
		case <-end:
			fmt.Fprintln(w, "demo: done; stopping ebb and the load")
			return nil
		case <-tick.C:
		}
		fmt.Fprintf(w, "\n=== %s  load: %.0f req/s, %.0fm CPU in total\n", time.Now().Format("15:04:05"), 20+80*level, 100+500*level)
		if !ebb.Alive() {
			fmt.Fprintf(w, "ebb run exited; last log lines:\n%s\n", ebb.LogTail(5))
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		out, err := harness.EbbReport(rctx, o)
		cancel()
		fmt.Fprint(w, out)
		if err != nil {
			fmt.Fprintf(w, "%s\n", strings.TrimSpace(err.Error()))
		}
	}
}
