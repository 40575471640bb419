package autoscaler

import (
	"net/http"
	"sync/atomic"

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

// Handler serves /metrics from g, /healthz (the process answers) and
// /readyz (from r).
func Handler(g prometheus.Gatherer, r *Readiness) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
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
