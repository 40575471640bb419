package simulate

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// The world of simulation-model.md changes only at events: syncs, scrapes,
// the ticks at which pods are created or deleted (the first tick after a
// sync that changed spec.replicas) and the ticks at which pods turn Ready.
// Between two events the pods are fixed and only the demand changes, at
// trace rows; every quantity is an integral over such intervals. Run
// therefore jumps from event to event. A pod's Running and Ready ticks are
// known when it is created (the first tick at or after creation + Pending,
// + Startup), and pods are created in time order with the same delays and
// deleted newest first, so the Running pods and the Ready pods are always
// prefixes of the pod list.
//
// Metrics: every Ready pod uses demand/Ready cores, so one accumulator, the
// per-Ready-pod usage since the last scrape, serves all pods. At a scrape it
// becomes the last window's usage; a pod that turned Ready inside that
// window used the part after it (the accumulator's value at its Ready tick
// is kept). A pod's metric is its usage in the last window over the
// resolution, once it was Running at the scrape before the last one (two
// readings), as metrics-server serves it.

// pod is one pod of the world; times are offsets from t = 0.
type pod struct {
	name                        string
	created, runningAt, readyAt time.Duration
	accAtReady                  float64 // the window accumulator at readyAt
}

// world is the mutable state of one run.
type world struct {
	w        World
	end      time.Duration
	replicas int32 // spec.replicas: the last decision
	pods     []pod // in creation order
	ready    int   // pods[:ready] are Ready
	running  int   // pods[:running] were Running at the last sync
	seq      int
	row      int // trace row in force at the last integrated time
	// adjustAt is the tick at which pods are next created or deleted; < 0
	// when the pods match spec.replicas.
	adjustAt time.Duration
	// Scrapes: the next one, the last one and how many were taken.
	nextScrape, lastScrape time.Duration
	// acc is the core-seconds one Ready pod used since the last scrape;
	// window is the same over the last complete scrape interval.
	acc, window float64
	hist        horizontal.History
	totals      Totals
	acct        accounts
	rows        []SyncRow
	// The observation, kept up to date from sync to sync: obs.Pods[i] is
	// pods[i] as seen at the last sync, samples the metrics of the last
	// scrape.
	epoch      time.Time
	obs        horizontal.Observation
	samples    map[string]horizontal.Sample
	containers []horizontal.Container
}

// Run simulates w from t = 0 to its end and returns one row per sync and the
// totals. w must pass Validate.
func Run(w World) (Result, error) {
	if err := w.Validate(); err != nil {
		return Result{}, fmt.Errorf("world: %w", err)
	}
	w = w.repeated()
	if w.Decider == nil {
		w.Decider = HPA(w.Spec, w.Options)
	}
	s := newWorld(w)
	cur, nextSync := time.Duration(0), w.SyncPeriod
	for {
		next := min(nextSync, s.nextScrape, s.end)
		if s.adjustAt >= 0 {
			next = min(next, s.adjustAt)
		}
		if s.ready < len(s.pods) {
			next = min(next, s.pods[s.ready].readyAt)
		}
		if next >= s.end {
			break
		}
		s.integrate(cur, next)
		cur = next
		// Ticks (k + 0.5 s) never coincide with syncs (whole seconds); a
		// tick creates and deletes pods, then turns pods Ready, then scrapes.
		if next == s.adjustAt {
			s.adjust(next)
		}
		for s.ready < len(s.pods) && s.pods[s.ready].readyAt <= next {
			s.pods[s.ready].accAtReady = s.acc
			hp := &s.obs.Pods[s.ready]
			hp.Ready, hp.ReadyTransition = true, s.epoch.Add(s.pods[s.ready].readyAt)
			s.ready++
		}
		if next == s.nextScrape {
			s.scrape(next)
		}
		if next == nextSync {
			if err := s.sync(next); err != nil {
				return Result{}, err
			}
			nextSync += w.SyncPeriod
		}
	}
	s.integrate(cur, s.end)
	s.finish()
	return Result{Syncs: s.rows, Totals: s.totals}, nil
}

func newWorld(w World) *world {
	end := w.Duration
	if end == 0 {
		end = w.Trace[len(w.Trace)-1].T + time.Second
	}
	s := &world{
		w: w, end: end, replicas: w.Spec.MinReplicas, adjustAt: -1, epoch: Epoch(),
		nextScrape: tickOffset + w.Phase,
		rows:       make([]SyncRow, 0, int(end/w.SyncPeriod)),
		samples:    map[string]horizontal.Sample{},
		containers: []horizontal.Container{{Name: containerName, Requests: map[string]int64{"cpu": w.Request}}},
	}
	s.obs.Metrics = make([]horizontal.MetricValues, len(w.Spec.Metrics))
	for i := range s.obs.Metrics {
		s.obs.Metrics[i].PodValues = s.samples
	}
	// The initial pods were created and Ready long before t = 0 and were
	// last scraped one resolution before the first scrape, using the first
	// row's demand since then.
	for range w.Spec.MinReplicas {
		s.newPod(-initialAge)
	}
	s.ready, s.running = len(s.pods), len(s.pods)
	s.acc = (-(s.nextScrape - w.Resolution)).Seconds() * w.Trace[0].Demand / float64(w.Spec.MinReplicas)
	return s
}

// firstTickFrom is the first tick (k + 0.5 s) at or after t.
func firstTickFrom(t time.Duration) time.Duration {
	if t <= tickOffset {
		return tickOffset
	}
	k := (t - tickOffset + tick - 1) / tick
	return k*tick + tickOffset
}

func (s *world) newPod(at time.Duration) {
	s.seq++
	p := pod{name: "pod-" + strconv.Itoa(s.seq), created: at, runningAt: at, readyAt: at}
	hp := horizontal.Pod{Name: p.name, Phase: horizontal.PodPending, HasReadyCondition: true,
		ReadyTransition: s.epoch.Add(at), Containers: s.containers}
	if at >= 0 {
		p.runningAt, p.readyAt = firstTickFrom(at+s.w.Pending), firstTickFrom(at+s.w.Startup)
	} else { // an initial pod
		hp.Phase, hp.Ready, hp.StartTime = horizontal.PodRunning, true, hp.ReadyTransition
	}
	s.pods = append(s.pods, p)
	s.obs.Pods = append(s.obs.Pods, hp)
}

// adjust creates missing pods and deletes surplus pods, newest first.
func (s *world) adjust(t time.Duration) {
	for int32(len(s.pods)) < s.replicas {
		s.newPod(t)
	}
	if n := int(s.replicas); len(s.pods) > n {
		for _, p := range s.pods[n:] {
			delete(s.samples, p.name)
		}
		s.pods, s.obs.Pods = s.pods[:n], s.obs.Pods[:n]
		s.ready, s.running = min(s.ready, n), min(s.running, n)
	}
	s.totals.MaxPods = max(s.totals.MaxPods, len(s.pods))
	s.adjustAt = -1
}

// integrate accounts [a, b), during which the pods do not change; the demand
// may change at trace rows inside it. Before the first row the demand is the
// first row's. Calls come in time order, so a cursor (s.row, the row in
// force at the last a) keeps a run linear in the trace length.
func (s *world) integrate(a, b time.Duration) {
	if b <= a {
		return
	}
	capacity := float64(s.ready) * s.podCapacity()
	tr := s.w.Trace
	for s.row+1 < len(tr) && tr[s.row+1].T <= a {
		s.row++
	}
	var demandSecs float64
	for i, lo := s.row, a; i < len(tr) && lo < b; i++ {
		hi := b
		if i+1 < len(tr) {
			hi = min(b, tr[i+1].T)
		}
		if hi <= lo {
			continue
		}
		demandSecs += tr[i].Demand * (hi - lo).Seconds()
		s.acct.addDemand(tr, i, hi-lo, tr[i].Demand > capacity)
		lo = hi
	}
	s.acct.addPods(len(s.pods), b-a)
	if s.ready > 0 {
		s.acc += demandSecs / float64(s.ready)
	}
}

// scrape takes the metrics at tick t: the last window's usage of every pod
// that was Running at the scrape before (two readings), over the
// resolution.
func (s *world) scrape(t time.Duration) {
	s.window, s.acc = s.acc, 0
	s.lastScrape, s.nextScrape = t, t+s.w.Resolution
	prev := t - s.w.Resolution
	res := s.w.Resolution.Seconds()
	at := s.epoch.Add(t)
	for i := range s.pods {
		p := &s.pods[i]
		if p.runningAt > prev {
			break // the Running pods are a prefix
		}
		var used float64
		switch {
		case p.readyAt <= prev:
			used = s.window
		case p.readyAt <= t:
			used = s.window - p.accAtReady
		}
		s.samples[p.name] = horizontal.Sample{Value: s.served(used / res), Timestamp: at, Window: s.w.Resolution}
	}
}

// sync is one reconcile of the autoscaler at t.
func (s *world) sync(t time.Duration) error {
	now := s.epoch.Add(t)
	current := s.replicas
	for s.running < len(s.pods) && s.pods[s.running].runningAt <= t {
		hp := &s.obs.Pods[s.running]
		hp.Phase, hp.StartTime = horizontal.PodRunning, s.epoch.Add(s.pods[s.running].runningAt)
		if !hp.Ready {
			hp.ReadyTransition = hp.StartTime
		}
		s.running++
	}
	o := &s.obs
	o.Now, o.CurrentReplicas, o.StatusReplicas = now, current, int32(len(s.pods))
	d := s.w.Decider.Decide(*o, &s.hist)
	if d.Replicas < 0 || d.Replicas > maxPods {
		return fmt.Errorf("sync at %vs: the decider wants %d replicas, outside [0, %d]", t.Seconds(), d.Replicas, maxPods)
	}
	if d.Replicas != s.replicas {
		s.hist.RecordScale(now, s.replicas, d.Replicas, s.w.Spec.Behavior)
		s.totals.ScaleEvents++
		if d.Replicas > s.replicas {
			s.totals.ScaleUps++
		} else {
			s.totals.ScaleDowns++
		}
		s.replicas = d.Replicas
	}
	if int32(len(s.pods)) != s.replicas {
		s.adjustAt = firstTickFrom(t + time.Nanosecond)
	}
	row := SyncRow{T: t, Current: current, Desired: d.Replicas, Pods: len(s.pods), Ready: s.ready, Reason: d.Reason}
	if ms := d.Proposal.Metrics; len(ms) > 0 && ms[0].Err == nil {
		row.Utilization, row.Value = ms[0].Utilization, ms[0].Value
	}
	s.rows = append(s.rows, row)
	s.totals.Syncs++
	return nil
}

// podCapacity is the demand one Ready pod can serve: its CPU request in
// cores, or the rate's capacity.
func (s *world) podCapacity() float64 {
	if s.w.Rate != nil {
		return s.w.Rate.Capacity
	}
	return float64(s.w.Request) / 1000
}

// served is the metric value the autoscaler reads for a pod's average
// usage (cores) or rate over the last scrape interval.
func (s *world) served(v float64) int64 {
	if s.w.Rate != nil {
		return int64(math.Round(v * 1000))
	}
	return milliCeil(v)
}

// milliCeil is what the HPA reads of a CPU usage metrics-server serves:
// the value in nanocores (rounded to the nearest nanocore) read with
// Quantity.MilliValue, which rounds up to the next millicore.
func milliCeil(cores float64) int64 {
	nano := int64(math.Round(cores * 1e9))
	milli := nano / 1e6
	if nano%1e6 != 0 {
		milli++
	}
	return milli
}

func (s *world) finish() {
	s.acct.fill(&s.totals, s.w.Trace, s.end.Seconds(), s.w.Request, s.podCapacity())
	s.totals.MaxPods = max(s.totals.MaxPods, int(s.w.Spec.MinReplicas))
}
