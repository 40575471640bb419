// Command ebb-bench is `make bench-cluster`: ebb against kube-controller-
// manager's HPA controller on the local cluster (package e2e/bench). It
// prints the side-by-side tables and writes them into --doc under a section
// of their own target count.
//
//	ebb-bench --targets 500 --ebb bin/ebb --bin-dir "$(e2e/cluster/build.sh path)"
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ebb-autoscaler/ebb/e2e/bench"
)

// docHeader starts docs/performance.md when it does not exist yet.
const docHeader = `# Performance on a real cluster: ebb against the HPA controller

` + "`make bench-cluster`" + ` (BENCH_TARGETS=500 by default; 2000 for the large run) starts the local
cluster of e2e/cluster, creates N Deployments of kwok pods whose CPU use changes over time and
measures two phases of equal length on the same objects: kube-controller-manager's HPA controller
with N HorizontalPodAutoscalers, then ebb (apply mode, namespace-scoped identity) with a policy of
the same N targets. See e2e/bench for how each number is measured; the sections below are written
by the benchmark itself.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o := bench.DefaultOptions()
	fs := flag.NewFlagSet("ebb-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Targets, "targets", o.Targets, "Deployments, HPAs and policy targets")
	fs.IntVar(&o.PodsPerTarget, "pods", o.PodsPerTarget, "pods of each target at the start")
	fs.DurationVar(&o.Phase, "phase", o.Phase, "length of each phase")
	fs.DurationVar(&o.SyncPeriod, "sync-period", o.SyncPeriod, "HPA sync period and ebb syncPeriod")
	qps := fs.Float64("qps", float64(o.ClientQPS), "client QPS of both controllers")
	fs.IntVar(&o.ClientBurst, "burst", o.ClientBurst, "client burst of both controllers")
	fs.IntVar(&o.Nodes, "nodes", o.Nodes, "kwok nodes")
	fs.IntVar(&o.HPAWorkers, "hpa-workers", o.HPAWorkers, "--concurrent-horizontal-pod-autoscaler-syncs of the HPA controller")
	fs.StringVar(&o.Dir, "dir", "e2e/.run/bench", "run directory of the cluster")
	fs.StringVar(&o.BinDir, "bin-dir", "", "cluster binaries (output of e2e/cluster/build.sh path)")
	fs.StringVar(&o.EbbBin, "ebb", "bin/ebb", "ebb binary")
	fs.StringVar(&o.RolePath, "role", "deploy/kustomize/role.yaml", "ebb's Role")
	doc := fs.String("doc", "docs/performance.md", "Markdown file to write the tables into (\"\" for none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	o.ClientQPS = float32(*qps)
	var err error
	for _, p := range []*string{&o.Dir, &o.EbbBin, &o.RolePath} {
		if *p, err = filepath.Abs(*p); err != nil {
			fmt.Fprintln(stderr, "ebb-bench:", err)
			return 2
		}
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := os.RemoveAll(o.Dir); err != nil {
		fmt.Fprintln(stderr, "ebb-bench:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "ebb-bench:", err)
		if errors.Is(err, context.Canceled) {
			return 130
		}
		return 1
	}
	r.Markdown(stdout)
	r.MachineMarkdown(stdout)
	if *doc != "" {
		if err := r.WriteDoc(*doc, docHeader); err != nil {
			fmt.Fprintln(stderr, "ebb-bench:", err)
			return 1
		}
		fmt.Fprintf(stdout, "written to %s\n", *doc)
	}
	return 0
}
