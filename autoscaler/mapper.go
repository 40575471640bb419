package autoscaler

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
)

// MapperResetInterval is the least time between two resets of the
// RESTMapper's discovery cache. A kind the mapper does not know (a CRD
// installed since the last discovery, or a typo in the policy) is looked
// up again at most this often: a reset re-reads every API group, so
// resetting on each failed target in each pass would rediscover the whole
// API every sync period (kube-controller-manager resets its mapper every
// 30 s for the same reason).
const MapperResetInterval = time.Minute

// mapperResets rate-limits the resets of a ResettableRESTMapper.
type mapperResets struct {
	mu   sync.Mutex
	last time.Time
}

// reset resets m's discovery cache after a no-match error, at most once per
// MapperResetInterval (by now, the pass's clock), and reports whether it
// did. Other errors (a discovery request failed) are retried by the mapper
// itself and reset nothing.
func (r *mapperResets) reset(m meta.RESTMapper, err error, now time.Time) bool {
	rm, ok := m.(meta.ResettableRESTMapper)
	if !ok || !meta.IsNoMatchError(err) {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < MapperResetInterval {
		return false
	}
	r.last = now
	rm.Reset()
	return true
}
