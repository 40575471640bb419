package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
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
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// reportOptions are the flags of `ebb report`.
type reportOptions struct {
	cluster      *clusterOptions
	policy       string
	output       string
	format       report.Format
	shadowHPAs   bool
	serverDryRun bool
	// controller are the HPA controller settings of the shadowed HPAs
	// without a policy (kube-controller-manager's flags; upstream's
	// defaults for those not given).
	controller policy.Defaults
}

func newReportOptions() *reportOptions {
	d := horizontal.DefaultOptions()
	return &reportOptions{cluster: newClusterOptions(), output: string(report.FormatTable), shadowHPAs: true,
		controller: policy.Defaults{Tolerance: &d.Tolerance, CPUInitializationPeriod: &policy.Duration{Duration: d.CPUInitializationPeriod},
			InitialReadinessDelay:  &policy.Duration{Duration: d.InitialReadinessDelay},
			DownscaleStabilization: &policy.Duration{Duration: d.DownscaleStabilization}}}
}

// controllerFlags are the flags that set o.controller.
var controllerFlags = []string{"tolerance", "cpu-initialization-period", "initial-readiness-delay", "downscale-stabilization"}

func (o *reportOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy file (YAML); without it every HPA of the namespace is shadowed")
	fs.StringVarP(&o.output, "output", "o", o.output, "output format: "+formatList())
	fs.BoolVar(&o.shadowHPAs, "shadow-hpas", o.shadowHPAs, "shadow the HPAs no policy target covers: compute from their specs and show their own decisions beside")
	fs.BoolVar(&o.serverDryRun, "server-dry-run", false, "send each change as a dry-run patch (DryRun=All) so the API server validates and authorizes it (needs update rights on the scale)")
	c := o.controller
	fs.Float64Var(c.Tolerance, "tolerance", *c.Tolerance,
		"shadowed HPAs without --policy: the controller's tolerance (--horizontal-pod-autoscaler-tolerance)")
	fs.DurationVar(&c.CPUInitializationPeriod.Duration, "cpu-initialization-period", c.CPUInitializationPeriod.Duration,
		"shadowed HPAs without --policy: the controller's CPU initialization period")
	fs.DurationVar(&c.InitialReadinessDelay.Duration, "initial-readiness-delay", c.InitialReadinessDelay.Duration,
		"shadowed HPAs without --policy: the controller's initial readiness delay")
	fs.DurationVar(&c.DownscaleStabilization.Duration, "downscale-stabilization", c.DownscaleStabilization.Duration,
		"shadowed HPAs without --policy: the controller's downscale stabilization window")
}

// Validate checks the flags that need no cluster. changed says whether a
// flag was given.
func (o *reportOptions) Validate(changed func(name string) bool) error {
	f, err := validateReport(o.cluster, o.output)
	if err != nil {
		return err
	}
	o.format = f
	if o.policy == "" && !o.shadowHPAs {
		return usageError("--shadow-hpas=false without --policy: nothing to report")
	}
	d := o.controller
	switch {
	case *d.Tolerance < 0 || math.IsNaN(*d.Tolerance) || math.IsInf(*d.Tolerance, 0):
		return badInput(fmt.Errorf("--tolerance %v: must be a number greater than or equal to 0", *d.Tolerance))
	case d.CPUInitializationPeriod.Duration < 0, d.InitialReadinessDelay.Duration < 0, d.DownscaleStabilization.Duration < 0:
		return badInput(errors.New("--cpu-initialization-period, --initial-readiness-delay, --downscale-stabilization: must not be negative"))
	}
	if o.policy != "" {
		for _, name := range controllerFlags {
			if changed(name) {
				return usageError("--%s: only without --policy (set it in the policy's defaults)", name)
			}
		}
	}
	return nil
}

// compile loads the policy, or the shadow-only policy of the controller
// flags; --shadow-hpas decides whether HPAs are shadowed.
func (o *reportOptions) compile() (*policy.Compiled, error) {
	if o.policy == "" {
		return policy.ShadowOnly(o.controller)
	}
	c, err := loadPolicy(o.policy)
	if err != nil {
		return nil, err
	}
	c.ShadowHPAs = o.shadowHPAs
	return c, nil
}

// Run loads the policy, resolves the cluster, runs one pass and prints it.
func (o *reportOptions) Run(ctx context.Context, streams genericiooptions.IOStreams) error {
	log, err := newLogger(streams.ErrOut, o.cluster.logLevel)
	if err != nil {
		return badInput(err)
	}
	compiled, err := o.compile()
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
	rep, err := reportPass(ctx, c, ns, compiled, log, time.Now(), o.serverDryRun)
	if err == nil {
		err = report.Render(streams.Out, o.format, rep)
	}
	if err == nil && o.serverDryRun {
		err = refusedDryRun(rep)
	}
	return failure(err)
}

// refusedDryRun is the error of a --server-dry-run report in which the API
// server refused a change (the report shows it as FailedRescale): asking
// the API server is the flag's point, so its refusal fails the command
// after the report is printed. nil when every change was accepted.
func refusedDryRun(rep report.Report) error {
	var refused []string
	forbidden := false
	for _, t := range rep.Targets {
		for _, c := range t.Blocking {
			if c.Reason == "FailedRescale" {
				refused = append(refused, t.Ref()+": "+c.Message)
				forbidden = forbidden || strings.Contains(c.Message, "forbidden")
			}
		}
	}
	if len(refused) == 0 {
		return nil
	}
	hint := ""
	if forbidden {
		hint = " (a dry-run change is authorized as a write: it needs update on the scale subresource, " +
			"which the Role ebb runs with has and the read-only report Role has not)"
	}
	return fmt.Errorf("--server-dry-run: the API server refused %d change(s)%s: %s", len(refused), hint, strings.Join(refused, "; "))
}

// newReportCmd is `ebb report`: one pass in which every target is dry-run,
// printed as a table, JSON, CSV or Markdown. Without --policy (or beside
// it) every HPA of the namespace is shadowed: ebb decides from the HPA's
// spec on the same metrics and shows the HPA's own decision beside. It
// reads the running ebb's state ConfigMap, so stabilization windows show as
// they are, and writes nothing: no state, no Events, and no patch unless
// --server-dry-run (then DryRun=All patches, persisting nothing), so it
// needs only read rights.
func newReportCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := newReportOptions()
	cmd := &cobra.Command{
		Use:   "report [-n NAMESPACE] [--policy policy.yaml] [-o table|json|csv|markdown|html]",
		Short: "One dry-run pass against a live cluster: the policy's targets and the HPAs, beside ebb's decisions",
		Long: `Run one pass in which every target is dry-run, and print what ebb would do: current
and desired replicas, the reason, each metric against its target, vertical
recommendations.

Without --policy every HorizontalPodAutoscaler of the namespace is shadowed: ebb
computes from the HPA's own spec on the same metrics (controller settings from the
flags below, upstream's defaults otherwise) and prints the HPA's decision
(status.desiredReplicas, conditions, the metrics it read) beside ebb's, and whether
they agree. With --policy the policy's targets are reported, and the HPAs no target
covers are shadowed too (--shadow-hpas=false turns that off).

It reads the running ebb's state, so stabilization windows show as they are, and
writes nothing: it needs only read rights. --server-dry-run also sends each change
as a dry-run patch, so the API server validates and authorizes it; that needs
update rights on the scale, and a change the API server refuses makes the command
fail (exit status 1) after the report is printed.`,
		Example: "  ebb report -n shop\n  ebb report --policy policy.yaml -n shop\n  ebb report --context prod -o json",
		Args:    noArgs,
		RunE: validateThenRun(func(cmd *cobra.Command) error { return o.Validate(cmd.Flags().Changed) },
			func(ctx context.Context) error { return o.Run(ctx, streams) }),
	}
	o.cluster.addFlags(cmd)
	o.addFlags(cmd.Flags())
	return cmd
}

// validateReport checks the connection flags and -o of a command that
// prints a report.
func validateReport(c *clusterOptions, output string) (report.Format, error) {
	if err := c.validate(); err != nil {
		return "", badInput(err)
	}
	f, err := report.ParseFormat(output)
	if err != nil {
		return "", badInput(fmt.Errorf("-o: %w", err))
	}
	return f, nil
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

// reportPass runs one all-dry-run pass at now. Without serverDryRun no
// change is sent at all, not even as a dry-run patch.
func reportPass(ctx context.Context, c *clients, ns string, compiled *policy.Compiled, log *slog.Logger, now time.Time, serverDryRun bool) (report.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the informers
	reg := prometheus.NewRegistry()
	sm := metricsource.NewSourceMetrics(reg)
	prom, err := newPrometheus(compiled, sm, log)
	if err != nil {
		return report.Report{}, err
	}
	state, err := stateStore(c, ns, true, "", nil) // reads the running ebb's checkpoints, never writes
	if err != nil {
		return report.Report{}, err
	}
	var act autoscaler.Actuator = autoscaler.ReadOnlyActuator{}
	if serverDryRun {
		act = nil // the loop's dry-run ScaleActuator
	}
	loop, err := newLoop(ctx, loopParts{dryRunActuator: act,
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
