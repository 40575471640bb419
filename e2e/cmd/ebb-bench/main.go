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
cluster of e2e/cluster (etcd, kube-apiserver, kube-controller-manager, kwok, metrics-server; no
scheduler: the pods name their kwok node), creates N Deployments of 10 kwok pods and measures two
phases of equal length on the same objects:

1. **HPA**: a second kube-controller-manager (same build) running only the HPA controller, and N
   HorizontalPodAutoscalers (CPU utilization 50 %, min 5, max 20, default behavior);
2. **ebb**: the HPAs deleted and the targets reset to 10 pods, ` + "`ebb run`" + ` in apply mode with a
   policy of the same N targets and the same spec, under a namespace-scoped identity
   (deploy/kustomize/role.yaml).

Each pod requests 100m CPU. A load driver keeps each target's CPU demand (500m at the start) spread
over its ready pods through kwok's usage annotation (closed loop: more pods, less each, as with real
load). Each phase runs at demand × 1 for its first third, then × 1.5 (the HPA algorithm then wants 15
pods). Sync period 15 s for both (HPA --horizontal-pod-autoscaler-sync-period, ebb syncPeriod).

What the rows mean:

- **targets evaluated per sync period**: HPA reconciles (its reconcile histogram's count) or ebb
  passes × N, divided by the phase length in sync periods: whether the controller kept up.
- **API requests (all but watch)**: every request of the controller's users in the phase's window,
  from the API server's audit log (Metadata level; the policy logs only those users): the HPA
  controller's service account and its kube-controller-manager identity, or ebb's service account.
  Watches are counted apart (one per informer); ebb's informers' initial lists are streamed as
  watches (client-go's WatchListClient), so they are in the watch row.
- **… of which metrics.k8s.io**: the PodMetrics lists among them.
- **requests served by metrics-server**: metrics-server's own apiserver_request_total for
  metrics.k8s.io, before and after the phase (the same requests seen from metrics-server).
- The goal line **API + metrics-server requests per sync period** adds these two: what the
  controller costs the API server and metrics-server together.
- **controller CPU seconds / peak RSS**: utime + stime and VmHWM of the controller process from
  /proc (the process starts in the phase, so start-up is included).
- **kube-apiserver / metrics-server CPU seconds**: /proc of those processes over the phase; this
  includes the load driver's pod patches and kwok's status updates, the same in both phases.
- **latency**: HPA: the controller's per-HPA reconcile histogram and work-queue wait; ebb: its
  ebb_pass_duration_seconds histogram (one observation per pass over all N targets).
- **machine load average**: the 1-minute load average from /proc/loadavg every 10 s of the phase.
  The machine is shared with other clusters (other e2e runs), so CPU is contended.
- **replicas at the end**: spec.replicas of every target when the phase ends (count×replicas), and
  how many targets ended equal in both phases.

Settings that make the cluster fast enough to create 5,000-20,000 pods: kube-controller-manager
--kube-api-qps 1000 --kube-api-burst 2000 (kcm's defaults 20/30 would take many minutes for the
ReplicaSet controller to create the pods); no scheduler (each pod names its kwok node, so no binding
at the scheduler's client QPS); kwok nodes with capacity N × 20 / 10 + 20 pods; kwok's client is not
rate limited (kwok's own default); the load driver patches with 32 workers at QPS 1000. Both
controllers get client QPS 500, burst 1000 (HPA controller --kube-api-qps/--kube-api-burst, ebb
--kube-api-qps/--kube-api-burst), and the HPA controller 20 workers
(--concurrent-horizontal-pod-autoscaler-syncs; kcm's default 5 falls behind on this machine, see
below). See e2e/bench for how each number is measured; the sections between the bench-cluster
markers below are written by the benchmark itself.
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
