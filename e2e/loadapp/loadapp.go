// Package loadapp is the fake application the e2e tests drive: an exporter of
// per-pod `http_requests_total{namespace,pod}` counters whose rates the test
// sets, advanced lazily at read time (value += elapsed × rate), so a
// Prometheus scrape sees an exact rate. It imports only the standard library;
// the drivers that follow a workload's pods live in package e2e/harness.
package loadapp

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// series is one pod's counter.
type series struct {
	value float64   // requests counted up to last
	rate  float64   // requests per second since last
	last  time.Time // when value was last advanced
}

// key names a series.
type key struct{ namespace, pod string }

// Exporter holds the counters. Its zero value is not usable: use New.
type Exporter struct {
	now func() time.Time
	mu  sync.Mutex
	s   map[key]*series
}

// New returns an exporter reading time from now (time.Now in tests against
// a real Prometheus, a fake clock in unit tests).
func New(now func() time.Time) *Exporter {
	return &Exporter{now: now, s: map[key]*series{}}
}

// SetRate sets the request rate of one pod from now on (creating its series).
// A negative or NaN rate is an error.
func (e *Exporter) SetRate(namespace, pod string, rps float64) error {
	if !(rps >= 0) {
		return fmt.Errorf("rate of %s/%s: %v is not a non-negative number", namespace, pod, rps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	k := key{namespace, pod}
	s, ok := e.s[k]
	if !ok {
		s = &series{last: now}
		e.s[k] = s
	}
	s.advance(now)
	s.rate = rps
	return nil
}

// SetRates sets the rates of the pods of namespace to rates and stops (rate
// 0, series kept so counters never go back) every other pod of namespace.
func (e *Exporter) SetRates(namespace string, rates map[string]float64) error {
	e.mu.Lock()
	var stop []string
	for k := range e.s {
		if _, keep := rates[k.pod]; k.namespace == namespace && !keep {
			stop = append(stop, k.pod)
		}
	}
	e.mu.Unlock()
	for _, pod := range stop {
		if err := e.SetRate(namespace, pod, 0); err != nil {
			return err
		}
	}
	for pod, r := range rates {
		if err := e.SetRate(namespace, pod, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *series) advance(now time.Time) {
	if d := now.Sub(s.last).Seconds(); d > 0 {
		s.value += d * s.rate
	}
	s.last = now
}

// WriteMetrics writes every counter in the Prometheus text format, advanced
// to now, sorted by namespace and pod.
func (e *Exporter) WriteMetrics(w io.Writer) error {
	e.mu.Lock()
	now := e.now()
	keys := make([]key, 0, len(e.s))
	for k, s := range e.s {
		s.advance(now)
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].namespace != keys[j].namespace {
			return keys[i].namespace < keys[j].namespace
		}
		return keys[i].pod < keys[j].pod
	})
	vals := make([]float64, len(keys))
	for i, k := range keys {
		vals[i] = e.s[k].value
	}
	e.mu.Unlock()
	if _, err := io.WriteString(w, "# HELP http_requests_total Requests served, per pod (emulated).\n# TYPE http_requests_total counter\n"); err != nil {
		return err
	}
	for i, k := range keys {
		if _, err := fmt.Fprintf(w, "http_requests_total{namespace=%q,pod=%q} %g\n", k.namespace, k.pod, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// ServeHTTP serves /metrics.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/metrics" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_ = e.WriteMetrics(w) // a failed write means the scraper went away
}

// Spread divides total over pods evenly: the closed loop of a service behind
// a load balancer, where the rate per pod falls as replicas rise. No pods
// gives an empty map.
func Spread(total float64, pods []string) map[string]float64 {
	out := make(map[string]float64, len(pods))
	for _, p := range pods {
		out[p] = total / float64(len(pods))
	}
	return out
}
