package autoscaler

import (
	"sync/atomic"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// PromSource is a policy's Prometheus: per-pod and scalar queries
// (metricsource.Prometheus satisfies it).
type PromSource interface {
	PodValuesSource
	ScalarSource
}

// PolicyHolder is the ConfigSource of a hot-reloaded policy: the watcher
// Sets each new valid policy with the Prometheus client built for its
// prometheus section, and every pass reads the pair in force.
type PolicyHolder struct {
	namespace string
	cur       atomic.Pointer[Config]
}

// NewPolicyHolder returns a holder of c (with prom, nil for none) for the
// targets of namespace.
func NewPolicyHolder(namespace string, c *policy.Compiled, prom PromSource) *PolicyHolder {
	h := &PolicyHolder{namespace: namespace}
	h.Set(c, prom)
	return h
}

// Set replaces the policy in force and its Prometheus (nil: none).
func (h *PolicyHolder) Set(c *policy.Compiled, prom PromSource) {
	cfg := ConfigFromPolicy(c, h.namespace)
	if prom != nil {
		cfg.PodValues, cfg.Scalars = prom, prom
	}
	h.cur.Store(&cfg)
}

// Config returns the policy in force.
func (h *PolicyHolder) Config() Config { return *h.cur.Load() }
