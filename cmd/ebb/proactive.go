package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/recommender/forecast"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/ebb-autoscaler/ebb/recommender/sweep"
)

// proactiveOptions are the flags of `ebb simulate --trace` for a policy
// target (its proactive section included), trace repetition and the sweep.
type proactiveOptions struct {
	policy, target string
	repeat         int
	sweep          bool
	// The sweep's grid as written on the command line.
	targets, margins, horizons, minHistory, maxError string
}

func (p *proactiveOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.policy, "policy", "", "ebb policy file: --trace runs its target (with its horizontal.proactive section) instead of --spec")
	fs.StringVar(&p.target, "target", "", "the policy's target as Kind/name (needed when the policy has several)")
	fs.IntVar(&p.repeat, "repeat", 1, "play the trace this many times back to back (the world and the forecaster's history carry over)")
	fs.BoolVar(&p.sweep, "sweep", false, "run the HPA rule at every --sweep-targets utilization and the proactive rule over the grid, print both frontiers")
	fs.StringVar(&p.targets, "sweep-targets", "40:95:5", "utilization targets in percent: from:to:step or a comma list")
	fs.StringVar(&p.margins, "sweep-margins", "0,0.05,0.1,0.15,0.2", "proactive margins (comma list)")
	fs.StringVar(&p.horizons, "sweep-horizons", "", "proactive horizons (comma list of durations; default the policy's, else startup+sync+scale-up period)")
	fs.StringVar(&p.minHistory, "sweep-min-history", "", "proactive minHistory values (comma list of durations; default the policy's, else 1h)")
	fs.StringVar(&p.maxError, "sweep-max-error", "", "proactive maxError values (comma list; default the policy's, else 0.5)")
}

// validate checks the flags that do not need a file.
func (p *proactiveOptions) validate(o *simulateOptions) error {
	var errs []error
	if p.repeat < 1 {
		errs = append(errs, fmt.Errorf("--repeat %d must be >= 1", p.repeat))
	}
	if (p.sweep || p.policy != "" || p.repeat != 1) && o.trace == "" {
		errs = append(errs, errors.New("--policy, --repeat and --sweep need --trace"))
	}
	if p.target != "" && p.policy == "" {
		errs = append(errs, errors.New("--target needs --policy"))
	}
	if p.sweep && o.output != "table" && o.output != "json" && o.output != "html" {
		errs = append(errs, fmt.Errorf("--output %q must be table, json or html", o.output))
	}
	if err := errors.Join(errs...); err != nil {
		return usageError("%s", oneLine(err))
	}
	return nil
}

// policyTarget loads the policy and picks the target: the only one, or the
// one --target names.
func (p *proactiveOptions) policyTarget() (policy.CompiledTarget, error) {
	c, err := loadPolicy(p.policy)
	if err != nil {
		return policy.CompiledTarget{}, err
	}
	if p.target == "" {
		if len(c.Targets) != 1 {
			return policy.CompiledTarget{}, fmt.Errorf("policy %s has %d targets: name one with --target Kind/name", p.policy, len(c.Targets))
		}
		return c.Targets[0], nil
	}
	var keys []string
	for _, t := range c.Targets {
		if t.Key() == p.target {
			return t, nil
		}
		keys = append(keys, t.Key())
	}
	return policy.CompiledTarget{}, fmt.Errorf("--target %q: the policy has %s", p.target, strings.Join(keys, ", "))
}

// proactiveDecider is the decision rule of a policy target in mode on (nil
// otherwise: the world's HPA rule). Mode forecast-only decides as the HPA.
func proactiveDecider(w simulate.World, c proactive.Config) (simulate.Decider, error) {
	if c.Mode != proactive.ModeOn {
		return nil, nil
	}
	tg, err := proactive.NewTarget(forecast.DefaultOptions())
	if err != nil {
		return nil, err
	}
	horizon := proactive.DefaultHorizon(w.Startup, w.SyncPeriod, w.Spec.Behavior)
	spec, opt := w.Spec, w.Options
	return simulate.DeciderFunc(func(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
		return tg.Decide(o, spec, opt, h, c, horizon).Decision
	}), nil
}

// grid is the sweep's grid from the flags, single values defaulting to c
// (the policy target's proactive section, or proactive.DefaultConfig).
func (p *proactiveOptions) grid(c proactive.Config) (sweep.Grid, error) {
	var errs []error
	g := sweep.Grid{Horizons: []time.Duration{c.Horizon}, MinHistory: []time.Duration{c.MinHistory}, MaxError: []float64{c.MaxError}}
	var err error
	if g.Targets, err = parseTargets(p.targets); err != nil {
		errs = append(errs, err)
	}
	if g.Margins, err = parseFloats("--sweep-margins", p.margins); err != nil {
		errs = append(errs, err)
	}
	if p.horizons != "" {
		if g.Horizons, err = parseDurations("--sweep-horizons", p.horizons); err != nil {
			errs = append(errs, err)
		}
	}
	if p.minHistory != "" {
		if g.MinHistory, err = parseDurations("--sweep-min-history", p.minHistory); err != nil {
			errs = append(errs, err)
		}
	}
	if p.maxError != "" {
		if g.MaxError, err = parseFloats("--sweep-max-error", p.maxError); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return g, err
	}
	return g, g.Validate()
}

// runSweep sweeps the world and writes the summary and the frontiers.
// output is table (Markdown), json (durations in nanoseconds) or html (one
// self-contained page with a chart of both frontiers); title names the
// trace.
func runSweep(w simulate.World, p *proactiveOptions, c proactive.Config, output, title string, stdout io.Writer) error {
	g, err := p.grid(c)
	if err != nil {
		return err
	}
	res, err := sweep.Run(w, g, forecast.DefaultOptions(), runtime.GOMAXPROCS(0))
	if err != nil {
		return err
	}
	ref := c
	ref.Mode = proactive.ModeOn
	if output == "html" {
		if err := sweep.WriteHTML(stdout, res, ref, title); err != nil {
			return failure(fmt.Errorf("write output: %w", err))
		}
		return nil
	}
	if output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return failure(fmt.Errorf("write output: %w", err))
		}
		return nil
	}
	var b strings.Builder
	if err := sweep.WriteSummary(&b, res, ref); err != nil {
		return err
	}
	b.WriteString("\nfrontiers:\n\n")
	if err := sweep.WriteTable(&b, sweep.Result{HPA: sweep.Frontier(res.HPA), Proactive: sweep.Frontier(res.Proactive), Horizon: res.Horizon}); err != nil {
		return err
	}
	b.WriteString("\nevery run:\n\n")
	if err := sweep.WriteTable(&b, res); err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, b.String()); err != nil {
		return failure(fmt.Errorf("write output: %w", err))
	}
	return nil
}

// parseTargets reads "from:to:step" or a comma list of percents.
func parseTargets(s string) ([]int32, error) {
	bad := fmt.Errorf("--sweep-targets %q: want from:to:step or a comma list of percents", s)
	if parts := strings.Split(s, ":"); len(parts) == 3 {
		var v [3]int
		for i, p := range parts {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return nil, bad
			}
			v[i] = n
		}
		if v[2] <= 0 || v[1] < v[0] || (v[1]-v[0])/v[2] > 1000 {
			return nil, bad
		}
		var out []int32
		for t := v[0]; t <= v[1]; t += v[2] {
			out = append(out, int32(t))
		}
		return out, nil
	}
	var out []int32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%")))
		if err != nil {
			return nil, bad
		}
		out = append(out, int32(n))
	}
	return out, nil
}

func parseFloats(flag, s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not a number", flag, s, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseDurations(flag, s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		v, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not a duration", flag, s, f)
		}
		out = append(out, v)
	}
	return out, nil
}
