package autoscaler

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Readiness is the /readyz state: ready once the informers synced and a
// policy is loaded. A standby replica (not the leader) is ready too.
type Readiness struct{ ready atomic.Bool }

// Set marks the process ready or not.
func (r *Readiness) Set(ready bool) { r.ready.Store(ready) }

// Ready reports the state.
func (r *Readiness) Ready() bool { return r.ready.Load() }

// Health is the /healthz check: nil while the process does its work.
// Loop.Healthy fails when a leader completed no pass for StallPeriods sync
// periods.
type Health interface {
	Healthy(now time.Time) error
}

// Handler serves /metrics from g, /healthz (from h: 500 with the reason
// when it fails, so the kubelet restarts a stalled loop) and /readyz (from
// r).
func Handler(g prometheus.Gatherer, r *Readiness, h Health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := h.Healthy(time.Now()); err != nil {
			http.Error(w, "unhealthy: "+err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !r.Ready() {
			http.Error(w, "not ready: informers not synced or no policy loaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
