package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/ebb-autoscaler/ebb/autoscaler/backtest"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// maxBacktest is the longest window: the world model's longest run.
const maxBacktest = 30 * 24 * time.Hour

// backtestOptions are the flags of `ebb backtest`.
type backtestOptions struct {
	cluster      *clusterOptions
	policy       string
	prometheus   string
	since, until string
	step         time.Duration
	rateWindow   time.Duration
	capacity     float64
	variants     []string
	variantsFile string
	output       string
	concurrency  int
	startup      time.Duration

	// Set by Validate.
	window   time.Duration
	end      time.Time
	format   report.Format
	parsed   []backtest.Variant
	compiled *policy.Compiled
}

func newBacktestOptions() *backtestOptions {
	return &backtestOptions{cluster: newClusterOptions(), since: "7d", step: time.Minute, output: string(report.FormatTable),
		concurrency: 4, startup: simulate.DefaultWorld().Startup}
}

func (o *backtestOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy file (YAML); without one, each HorizontalPodAutoscaler of the namespace")
	fs.StringVar(&o.prometheus, "prometheus", "", "Prometheus URL (default: the policy's prometheus.url)")
	fs.StringVar(&o.since, "since", o.since, "how far back to replay (Prometheus durations: 7d, 36h, 90m)")
	fs.StringVar(&o.until, "until", "", "end of the window, RFC 3339 (default now)")
	fs.DurationVar(&o.step, "step", o.step, "resolution of the history (range query step)")
	fs.DurationVar(&o.rateWindow, "rate-window", 0, "rate() window of the cpu usage (default the step, at least 1m)")
	fs.Float64Var(&o.capacity, "capacity", 0, "request-rate targets: the rate one pod serves (default the target's averageValue)")
	fs.StringArrayVar(&o.variants, "variant", nil, "a variant of every target's spec, name=key=value,... (keys: target=70%, min, max, tolerance, downscaleStabilization, scaleUp.window, scaleDown.window); repeatable")
	fs.StringVar(&o.variantsFile, "variants", "", "file of variants: a YAML list of {name, spec: HPA spec}")
	fs.StringVarP(&o.output, "output", "o", o.output, "output format: "+formatList())
	fs.IntVar(&o.concurrency, "concurrency", o.concurrency, "targets backtested at once")
	fs.DurationVar(&o.startup, "startup", o.startup, "replay: pod creation to Ready")
}

// Validate checks everything that needs no cluster and no Prometheus.
func (o *backtestOptions) Validate() error {
	if err := o.cluster.validate(); err != nil {
		return badInput(err)
	}
	var errs []error
	d, err := model.ParseDuration(o.since)
	if o.window = time.Duration(d); err != nil || o.window <= 0 || o.window > maxBacktest {
		errs = append(errs, fmt.Errorf("--since %q: want a positive duration up to 30d, like 7d or 36h", o.since))
	}
	o.end = time.Now()
	if o.until != "" {
		if o.end, err = time.Parse(time.RFC3339, o.until); err != nil {
			errs = append(errs, fmt.Errorf("--until %q: want an RFC 3339 time like 2026-03-01T00:00:00Z", o.until))
		}
	}
	if o.step <= 0 || o.rateWindow < 0 || o.startup < 0 || o.concurrency < 1 || o.capacity < 0 {
		errs = append(errs, fmt.Errorf("--step %v, --rate-window %v, --startup %v, --concurrency %d, --capacity %v: want a positive step, no negative value",
			o.step, o.rateWindow, o.startup, o.concurrency, o.capacity))
	}
	if o.format, err = report.ParseFormat(o.output); err != nil {
		errs = append(errs, fmt.Errorf("-o: %w", err))
	}
	for _, v := range o.variants {
		pv, err := backtest.ParseVariant(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--variant: %w", err))
		}
		o.parsed = append(o.parsed, pv)
	}
	if o.variantsFile != "" {
		data, err := os.ReadFile(o.variantsFile)
		if err == nil {
			var vs []backtest.Variant
			vs, err = backtest.LoadVariants(data)
			o.parsed = append(o.parsed, vs...)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--variants %s: %w", o.variantsFile, err))
		}
	}
	if o.policy != "" {
		if o.compiled, err = loadPolicy(o.policy); err != nil {
			errs = append(errs, err)
		}
	}
	if o.prometheus == "" && (o.compiled == nil || o.compiled.Prometheus == nil) {
		errs = append(errs, errors.New("--prometheus: required (or a policy with a prometheus section)"))
	}
	return badInput(errors.Join(errs...))
}

// Run reads the targets, backtests them and prints the result. A target
// that could not be backtested makes the exit status 2, after the others
// were printed.
func (o *backtestOptions) Run(ctx context.Context, streams genericiooptions.IOStreams) error {
	log, err := newLogger(streams.ErrOut, o.cluster.logLevel)
	if err != nil {
		return badInput(err)
	}
	grid, err := backtest.NewGrid(o.end, o.window, o.step)
	if err != nil {
		return badInput(fmt.Errorf("--since/--step: %w", err))
	}
	cfg, ns, err := o.cluster.resolve()
	if err != nil {
		return badInput(err)
	}
	klog.SetSlogLogger(log)
	prom, err := o.prometheusClient(log)
	if err != nil {
		return badInput(err)
	}
	c, err := newClients(cfg)
	if err != nil {
		return failure(err)
	}
	targets, err := backtest.Targets(ctx, backtest.Cluster{Kube: c.kube, Mapper: c.mapper, Scales: c.scales, Namespace: ns}, o.compiled)
	if err != nil {
		return failure(err)
	}
	if len(targets) == 0 {
		return badInput(fmt.Errorf("nothing to backtest: no target in the policy and no HorizontalPodAutoscaler in namespace %s", ns))
	}
	world := simulate.DefaultWorld()
	world.Startup = o.startup
	rateWindow := o.rateWindow
	if rateWindow == 0 {
		rateWindow = max(o.step, time.Minute)
	}
	res, err := backtest.Run(ctx, prom, targets, o.parsed, backtest.Options{Grid: grid, RateWindow: rateWindow,
		RateCapacity: o.capacity, World: world, Concurrency: o.concurrency})
	if err != nil {
		return failure(err)
	}
	if err := backtest.Render(streams.Out, o.format, res); err != nil {
		return failure(err)
	}
	if failed := res.Failed(); len(failed) > 0 {
		for _, t := range failed {
			fmt.Fprintf(streams.ErrOut, "ebb backtest: %s: %s\n", t.Target, oneLine(errors.New(t.Err)))
		}
		return &exitError{code: exitUsage}
	}
	return nil
}

// prometheusClient connects to --prometheus, else the policy's Prometheus
// (with its HTTP settings and timeout).
func (o *backtestOptions) prometheusClient(log *slog.Logger) (*metricsource.Prometheus, error) {
	url, timeout, httpCfg := o.prometheus, policy.DefaultPrometheusTimeout, map[string]any(nil)
	if o.compiled != nil && o.compiled.Prometheus != nil {
		if url == "" {
			url = o.compiled.Prometheus.URL
		}
		timeout, httpCfg = o.compiled.Prometheus.Timeout, o.compiled.Prometheus.HTTPConfig
	}
	hc, err := metricsource.DecodeHTTPConfig(httpCfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	// A range query reads much more than an instant query.
	return metricsource.NewPrometheusClient(strings.TrimSuffix(url, "/"), hc, max(timeout, time.Minute), metricsource.WithLogger(log))
}

// newBacktestCmd is `ebb backtest`.
func newBacktestCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := newBacktestOptions()
	cmd := &cobra.Command{
		Use:   "backtest [--policy policy.yaml] (--prometheus URL | a policy with prometheus)",
		Short: "Replay Prometheus history through the policy: what it would have done, beside what happened",
		Long: `Replay the namespace's Prometheus history through its autoscaling: for each target
of the policy (without one, each HorizontalPodAutoscaler of the namespace) it
reconstructs the demand (the pods' cpu usage, or the request rate of its Pods
metric's query) and what actually happened (pods, core-hours, time under-provisioned,
scale events), replays the demand through ebb's world model with the target's spec
and with each --variant, and compares the vertical recommendation with the current
requests (docs/backtest.md). Exit 2 when a target could not be backtested (the
others are printed).`,
		Example: "  ebb backtest -n prod --prometheus http://prometheus:9090 --since 7d\n" +
			"  ebb backtest --policy policy.yaml --variant lean=target=75%,scaleDown.window=60s -o markdown",
		Args: noArgs,
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
