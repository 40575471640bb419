package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/ebb-autoscaler/ebb/autoscaler"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// reportOptions are the flags of `ebb report`.
type reportOptions struct {
	cluster *clusterOptions
	policy  string
	output  string
	format  report.Format
}

func newReportOptions() *reportOptions {
	return &reportOptions{cluster: newClusterOptions(), output: string(report.FormatTable)}
}

func (o *reportOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy file (YAML)")
	fs.StringVarP(&o.output, "output", "o", o.output, "output format: "+formatList())
}

// Validate checks the flags that need no cluster.
func (o *reportOptions) Validate() error {
	if err := o.cluster.validate(); err != nil {
		return badInput(err)
	}
	f, err := report.ParseFormat(o.output)
	if err != nil {
		return badInput(fmt.Errorf("-o: %w", err))
	}
	o.format = f
	if o.policy == "" {
		return usageError("--policy: required")
	}
	return nil
}

// Run loads the policy, resolves the cluster, runs one pass and prints it.
func (o *reportOptions) Run(ctx context.Context, streams genericiooptions.IOStreams) error {
	log, err := newLogger(streams.ErrOut, o.cluster.logLevel)
	if err != nil {
		return badInput(err)
	}
	compiled, err := loadPolicy(o.policy)
	if err != nil {
		return badInput(err)
	}
	cfg, ns, err := o.cluster.resolve()
	if err != nil {
		return badInput(err)
	}
	klog.SetSlogLogger(log) // only after every check: tests run the checks above
	c, err := newClients(cfg)
	if err != nil {
		return failure(err)
	}
	rep, err := reportPass(ctx, c, ns, compiled, log, time.Now())
	if err == nil {
		err = report.Render(streams.Out, o.format, rep)
	}
	return failure(err)
}

// newReportCmd is `ebb report`: one pass over the policy's targets in which
// every target is dry-run (patches carry DryRun=All, so the API server
// checks them and the Role's patch permission, and persists nothing),
// printed as a table, JSON, CSV or Markdown. It reads the running ebb's
// state ConfigMap, so stabilization windows show as they are, and writes
// nothing: no state, no Events.
func newReportCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := newReportOptions()
	cmd := &cobra.Command{
		Use:   "report --policy policy.yaml [-n NAMESPACE] [-o table|json|csv|markdown]",
		Short: "One dry-run pass against a live cluster, printed as table/json/csv/markdown",
		Long: `Run one pass over the policy's targets in which every target is dry-run, and print
what ebb would do: current and desired replicas, the reason, each metric against
its target, vertical recommendations. It reads the running ebb's state, so
stabilization windows show as they are, and writes nothing.`,
		Example: "  ebb report --policy policy.yaml -n shop\n  ebb report --policy policy.yaml --context prod -o json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return o.Run(ctx, streams)
		},
	}
	o.cluster.addFlags(cmd)
	o.addFlags(cmd.Flags())
	return cmd
}

// formatList is the report formats for help texts: "table, json, ...".
func formatList() string {
	var names []string
	for _, f := range report.Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
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
	reg := prometheus.NewRegistry()
	sm := metricsource.NewSourceMetrics(reg)
	prom, err := newPrometheus(compiled, sm, log)
	if err != nil {
		return report.Report{}, err
	}
	state, err := stateStore(c, ns, true) // reads the running ebb's checkpoints, never writes
	if err != nil {
		return report.Report{}, err
	}
	loop, err := newLoop(ctx, loopParts{
		c: c, namespace: ns, compiled: compiled, log: log, dryRun: true, reportOnly: true,
		holder: autoscaler.NewPolicyHolder(ns, compiled, promSource(prom)), prom: prom, sm: sm,
		reg:      reg,
		recorder: &record.FakeRecorder{}, // a report emits no Events
		state:    state,
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
