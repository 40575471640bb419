package main

import (
	"github.com/spf13/pflag"

	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

// rateOptions make `ebb simulate --trace` a request-rate world: the trace's
// demand is a rate served as a Pods metric.
type rateOptions struct {
	metric   string
	capacity float64
}

func (r *rateOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&r.metric, "rate-metric", "", "--trace demand is a request rate served as this Pods metric (per pod: demand / Ready pods) instead of CPU")
	fs.Float64Var(&r.capacity, "capacity", 0, "with --rate-metric: the rate one pod can serve (under-provisioned when demand > Ready pods x capacity)")
}

// validate names a --capacity without --rate-metric and the reverse.
func (r *rateOptions) validate() error {
	switch {
	case r.metric == "" && r.capacity != 0:
		return usageError("--capacity: only with --rate-metric")
	case r.metric != "" && !(r.capacity > 0):
		return usageError("--capacity: %v: --rate-metric needs the rate one pod can serve, > 0", r.capacity)
	}
	return nil
}

// apply sets the world's rate signal.
func (r *rateOptions) apply(w *simulate.World) {
	if r.metric != "" {
		w.Rate = &simulate.Rate{Metric: r.metric, Capacity: r.capacity}
	}
}
