package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/ebb-autoscaler/ebb/autoscaler/scenario"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// simulateOptions are the flags of `ebb simulate`.
type simulateOptions struct {
	scenario, trace, spec, summary string
	request                        string
	world                          simulate.World
	output                         string
	rate                           rateOptions           // simulate_rate.go
	vertical                       verticalReplayOptions // simulate_vertical.go
	pro                            proactiveOptions      // proactive.go
}

func newSimulateOptions() *simulateOptions {
	return &simulateOptions{world: simulate.DefaultWorld(), request: "500m", output: "table", vertical: newVerticalReplayOptions()}
}

func (o *simulateOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.scenario, "filename", "f", "", "scenario file (YAML or JSON) to replay")
	fs.StringVar(&o.trace, "trace", "", "load trace CSV t_seconds,demand_cores for the closed-loop world")
	fs.StringVar(&o.spec, "spec", "", "autoscaling/v2 HPA spec (or whole HPA) for --trace")
	fs.StringVar(&o.summary, "summary", "", "write the --trace totals as JSON to this file")
	fs.StringVar(&o.request, "request", o.request, "pod CPU request")
	fs.DurationVar(&o.world.Startup, "startup", o.world.Startup, "pod creation to Ready")
	fs.DurationVar(&o.world.Pending, "pending", o.world.Pending, "pod creation to Running")
	fs.DurationVar(&o.world.Resolution, "resolution", o.world.Resolution, "metric resolution (scrape interval)")
	fs.DurationVar(&o.world.Phase, "scrape-phase", o.world.Phase, "first scrape at 0.5s + this")
	fs.DurationVar(&o.world.SyncPeriod, "sync-period", o.world.SyncPeriod, "autoscaler sync period")
	fs.DurationVar(&o.world.Duration, "duration", 0, "run length (default: last trace row + 1s)")
	fs.Float64Var(&o.world.Options.Tolerance, "tolerance", o.world.Options.Tolerance, "controller tolerance")
	fs.DurationVar(&o.world.Options.DownscaleStabilization, "downscale-stabilization", o.world.Options.DownscaleStabilization, "controller downscale stabilization")
	fs.StringVarP(&o.output, "output", "o", o.output, "output format of --vertical (table or json) and --sweep (table, json or html)")
	o.rate.addFlags(fs)
	o.vertical.addFlags(fs)
	o.pro.addFlags(fs)
}

// Validate checks that exactly one of the three modes is asked for.
func (o *simulateOptions) Validate() error {
	switch {
	case o.scenario != "" && o.trace == "" && o.spec == "" && o.vertical.file == "" && o.pro.policy == "":
	case o.scenario == "" && o.trace != "" && (o.spec != "") != (o.pro.policy != "") && o.vertical.file == "":
	case o.scenario == "" && o.trace == "" && o.spec == "" && o.vertical.file != "" && o.pro.policy == "":
	default:
		return usageError("give either -f scenario.yaml, or --trace load.csv with --spec spec.yaml or --policy policy.yaml, or --vertical usage.csv")
	}
	if err := o.rate.validate(); err != nil {
		return err
	}
	return o.pro.validate(o)
}

// Run replays the scenario or drives the trace. A mismatch with the
// scenario's expectations or a failed write is exit 1; a bad input file 2.
func (o *simulateOptions) Run(stdout io.Writer) error {
	var err error
	switch {
	case o.scenario != "":
		err = replayFile(o.scenario, stdout)
	case o.vertical.file != "":
		err = runVerticalReplay(o.vertical, o.output, stdout)
	default:
		err = runTrace(*o, stdout)
	}
	if errors.Is(err, errMismatch) {
		return failure(err)
	}
	return badInput(err)
}

// errMismatch marks a run whose decisions differ from the expectations.
var errMismatch = errors.New("decisions differ from the expectations")

// newSimulateCmd is `ebb simulate`: -f replays a scenario file, --trace
// drives the closed-loop world model. Exit 0 ok, 1 expectation mismatch or
// write failure, 2 bad usage or bad input.
func newSimulateCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := newSimulateOptions()
	cmd := &cobra.Command{
		Use:   "simulate (-f scenario.yaml | --trace load.csv (--spec spec.yaml | --policy policy.yaml) [--sweep] | --vertical usage.csv)",
		Short: "Replay recorded observations or a load trace offline",
		Long: `Replay recorded observations (-f scenario.yaml: one JSON line per step, exit 1 when
a decision misses the scenario's expectation) or drive the closed-loop world model
with a load trace (--trace load.csv --spec spec.yaml: one CSV row per sync and the
totals; --rate-metric NAME --capacity N makes the trace a request rate served as
a Pods metric), or replay one container's usage through the vertical recommender
(--vertical usage.csv: the recommendation over time, -o json for JSON lines).
--policy runs a policy target instead of a spec, with its proactive section;
--repeat plays the trace several times back to back; --sweep runs the HPA rule
at a range of utilization targets and the proactive rule over a grid of its
parameters on the same world and prints both cost/under-provisioning frontiers.
Needs no cluster.`,
		Example: "  ebb simulate -f scenario.yaml\n  ebb simulate --trace load.csv --spec spec.yaml --duration 5m --summary totals.json\n" +
			"  ebb simulate --trace rps.csv --spec rps-spec.yaml --rate-metric http_requests --capacity 50\n" +
			"  ebb simulate --vertical usage.csv -o json\n" +
			"  ebb simulate --trace diurnal.csv --policy policy.yaml --repeat 7 --sweep",
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(streams.Out)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

// stepLine is one JSON line of `ebb simulate -f`.
type stepLine struct {
	At              string       `json:"at"`
	CurrentReplicas int32        `json:"currentReplicas"`
	DesiredReplicas int32        `json:"desiredReplicas"`
	Recommended     int32        `json:"recommendedReplicas"`
	Stabilized      int32        `json:"stabilizedReplicas"`
	Reason          string       `json:"reason"`
	Message         string       `json:"message,omitempty"`
	Error           string       `json:"error,omitempty"`
	Metrics         []metricLine `json:"metrics"`
	Expected        *int32       `json:"expectedReplicas,omitempty"`
	ExpectedReason  string       `json:"expectedReason,omitempty"`
	Match           *bool        `json:"match,omitempty"`
}

type metricLine struct {
	Metric      string `json:"metric"`
	Replicas    *int32 `json:"replicas,omitempty"`
	Utilization *int32 `json:"utilization,omitempty"`
	Value       string `json:"value,omitempty"`
	Error       string `json:"error,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

func replayFile(path string, stdout io.Writer) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read scenario: %w", err)
	}
	sc, err := scenario.Decode(data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	enc := json.NewEncoder(stdout)
	var mismatches []error
	for i, r := range simulate.Replay(sc) {
		if err := enc.Encode(newStepLine(r)); err != nil {
			return fmt.Errorf("write step %d: %w", i, err)
		}
		if r.Mismatch() {
			mismatches = append(mismatches, fmt.Errorf("step %d at %v: desired %d (%s), expected %s",
				i, r.At, r.Decision.Replicas, r.Decision.Reason, expectation(r)))
		}
	}
	if len(mismatches) > 0 {
		return fmt.Errorf("%s: %w: %w", path, errMismatch, mismatches[0])
	}
	return nil
}

func expectation(r simulate.StepResult) string {
	s := "any size"
	if r.Expect != nil {
		s = fmt.Sprint(*r.Expect)
	}
	if r.ExpectReason != "" {
		s += " (" + r.ExpectReason + ")"
	}
	return s
}

func newStepLine(r simulate.StepResult) stepLine {
	d := r.Decision
	l := stepLine{
		At: r.At.String(), CurrentReplicas: r.CurrentReplicas, DesiredReplicas: d.Replicas,
		Recommended: d.Recommended, Stabilized: d.Stabilized, Reason: d.Reason, Message: d.Message,
		Expected: r.Expect, ExpectedReason: r.ExpectReason, Metrics: []metricLine{},
	}
	if d.Err != nil {
		l.Error = d.Err.Error()
	}
	if r.Expect != nil || r.ExpectReason != "" {
		ok := !r.Mismatch()
		l.Match = &ok
	}
	for _, m := range d.Proposal.Metrics {
		ml := metricLine{Metric: m.Metric.String(), Reason: m.Reason}
		if m.Err != nil {
			ml.Error = m.Err.Error()
		} else {
			ml.Replicas, ml.Utilization = &m.Replicas, m.Utilization
			ml.Value = resource.NewMilliQuantity(m.Value, resource.DecimalSI).String()
		}
		l.Metrics = append(l.Metrics, ml)
	}
	return l
}

func runTrace(o simulateOptions, stdout io.Writer) error {
	req, err := resource.ParseQuantity(o.request)
	if err != nil {
		return fmt.Errorf("--request: invalid quantity %q: %w", o.request, err)
	}
	o.world.Request = req.MilliValue()
	o.rate.apply(&o.world)
	f, err := os.Open(o.trace)
	if err != nil {
		return fmt.Errorf("read trace: %w", err)
	}
	defer f.Close()
	if o.world.Trace, err = simulate.ParseTrace(f); err != nil {
		return fmt.Errorf("%s: %w", o.trace, err)
	}
	o.world.Repeat = o.pro.repeat
	cfg := proactive.DefaultConfig()
	if o.pro.policy != "" {
		t, err := o.pro.policyTarget()
		if err != nil {
			return err
		}
		o.world.Spec, o.world.Options, cfg = t.Spec, t.Options, t.Proactive
	} else {
		data, err := os.ReadFile(o.spec)
		if err != nil {
			return fmt.Errorf("read spec: %w", err)
		}
		if o.world.Spec, err = scenario.DecodeSpec(data, o.world.Options.DownscaleStabilization); err != nil {
			return fmt.Errorf("%s: %w", o.spec, err)
		}
	}
	if o.pro.sweep {
		return runSweep(o.world, &o.pro, cfg, o.output, filepath.Base(o.trace), stdout)
	}
	if o.world.Decider, err = proactiveDecider(o.world, cfg); err != nil {
		return err
	}
	res, err := simulate.Run(o.world)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	writeTraceCSV(&buf, res, o.world.Rate != nil)
	if _, err := stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if o.summary != "" {
		js, err := json.MarshalIndent(res.Totals, "", "  ")
		if err != nil {
			return fmt.Errorf("encode summary: %w", err)
		}
		if err := os.WriteFile(o.summary, append(js, '\n'), 0o644); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	}
	return nil
}

// writeTraceCSV writes one row per sync, then the totals as '#' comments.
// The last column is the utilization the first metric observed (percent),
// or in a request-rate world its per-pod value.
func writeTraceCSV(w io.Writer, res simulate.Result, rate bool) {
	fmt.Fprintln(w, map[bool]string{false: "t,desired,ready,utilization", true: "t,desired,ready,value"}[rate])
	for _, r := range res.Syncs {
		last := ""
		switch {
		case rate && r.Utilization == nil:
			last = strconv.FormatFloat(float64(r.Value)/1000, 'f', -1, 64)
		case r.Utilization != nil:
			last = fmt.Sprint(*r.Utilization)
		}
		fmt.Fprintf(w, "%g,%d,%d,%s\n", r.T.Seconds(), r.Desired, r.Ready, last)
	}
	t := res.Totals
	fmt.Fprintf(w, "# coreSeconds=%g underProvisionedSeconds=%g scaleEvents=%d (up %d, down %d)\n",
		t.CoreSeconds, t.UnderProvisionedSeconds, t.ScaleEvents, t.ScaleUps, t.ScaleDowns)
	fmt.Fprintf(w, "# demandCoreSeconds=%g demandOverRequested=%.3f averagePods=%.2f maxPods=%d syncs=%d seconds=%g\n",
		t.DemandCoreSeconds, t.DemandOverRequested, t.AveragePods, t.MaxPods, t.Syncs, t.Seconds)
}

// oneLine joins the lines of a (possibly joined) error with "; ".
func oneLine(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.ReplaceAll(strings.Join(parts, "; "), ":; ", ": ")
}
