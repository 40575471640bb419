package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/ebb-autoscaler/ebb/autoscaler"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// runReport is `ebb report`: one pass over the policy's targets in which
// every target is dry-run (patches carry DryRun=All, so the API server
// checks them and the Role's patch permission, and persists nothing),
// printed as a table, JSON, CSV or Markdown. It reads the running ebb's
// state ConfigMap, so stabilization windows show as they are, and writes
// nothing: no state, no Events.
func runReport(args []string, stdout, stderr io.Writer) int {
	var f clusterFlags
	fs := flag.NewFlagSet("ebb report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	out := fs.String("o", "table", "output format: table, json, csv, markdown")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	format, err := report.ParseFormat(*out)
	if err != nil {
		fmt.Fprintf(stderr, "ebb report: -o: %v\n", err)
		return 2
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "ebb report: %v\n", err)
		return 2
	}
	compiled, err := loadPolicy(f.policy)
	if err != nil {
		fmt.Fprintf(stderr, "ebb report: %v\n", err)
		return 2
	}
	ns, err := resolveNamespace(f.namespace)
	if err != nil {
		fmt.Fprintf(stderr, "ebb report: %v\n", err)
		return 2
	}
	klog.SetSlogLogger(log) // only after every check: tests run the checks above
	c, err := newClients(f.kubeconfig, f.qps, f.burst)
	if err != nil {
		fmt.Fprintf(stderr, "ebb report: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	rep, err := reportPass(ctx, c, ns, compiled, log, time.Now())
	if err == nil {
		err = report.Render(stdout, format, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ebb report: %v\n", err)
		return 1
	}
	return 0
}

// loadPolicy reads and compiles the policy file.
func loadPolicy(path string) (*policy.Compiled, error) {
	if path == "" {
		return nil, fmt.Errorf("--policy: required")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	c, err := policy.Load(data)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return c, nil
}

// reportPass runs one all-dry-run pass at now.
func reportPass(ctx context.Context, c *clients, ns string, compiled *policy.Compiled, log *slog.Logger, now time.Time) (report.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the informers
	loop, err := newLoop(ctx, loopParts{
		c: c, namespace: ns, compiled: compiled, log: log, dryRun: true, reportOnly: true,
		holder:   autoscaler.NewPolicyHolder(ns, compiled),
		reg:      prometheus.NewRegistry(),
		recorder: &record.FakeRecorder{}, // a report emits no Events
		state:    autoscaler.NewConfigMapStore(c.kube.CoreV1(), ns, autoscaler.DefaultStateName, true, log),
	})
	if err != nil {
		return report.Report{}, err
	}
	rep, err := loop.Pass(ctx, now)
	if err != nil {
		return rep, fmt.Errorf("report pass: %w", err)
	}
	return rep, nil
}
