package autoscaler

import (
	"sync/atomic"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// PolicyHolder is the ConfigSource of a hot-reloaded policy: the watcher
// Sets each new valid policy and every pass reads the one in force.
type PolicyHolder struct {
	namespace string
	cur       atomic.Pointer[Config]
}

// NewPolicyHolder returns a holder of c for the targets of namespace.
func NewPolicyHolder(namespace string, c *policy.Compiled) *PolicyHolder {
	h := &PolicyHolder{namespace: namespace}
	h.Set(c)
	return h
}

// Set replaces the policy in force.
func (h *PolicyHolder) Set(c *policy.Compiled) {
	cfg := ConfigFromPolicy(c, h.namespace)
	h.cur.Store(&cfg)
}

// Config returns the policy in force.
func (h *PolicyHolder) Config() Config { return *h.cur.Load() }
