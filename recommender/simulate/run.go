package simulate

import (
	"fmt"
	"math"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// reading is one cumulative CPU counter value of a pod (core-seconds).
type reading struct {
	at  time.Duration
	cum float64
}

type pod struct {
	name           string
	created        time.Duration
	running, ready bool
	runningAt      time.Duration // tick at which it became Running
	readyAt        time.Duration // tick at which it became Ready
	cum            float64       // core-seconds used so far
	prev, last     reading
	readings       int
}

// world is the mutable state of one run.
type world struct {
	w        World
	end      time.Duration
	replicas int32 // spec.replicas: the last decision
	pods     []*pod
	seq      int
	row      int // trace row in force at the last integrated time
	segBuf   []segment
	hist     horizontal.History
	totals   Totals
	podSecs  float64
	rows     []SyncRow
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
	cur := time.Duration(0)
	nextTick, nextSync := tickOffset, w.SyncPeriod
	for {
		next := min(nextTick, nextSync)
		if next >= s.end {
			break
		}
		s.integrate(cur, next)
		cur = next
		if next == nextTick {
			s.tick(next)
			nextTick += tick
		} else {
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
	s := &world{w: w, end: end, replicas: w.Spec.MinReplicas}
	// The initial pods were created and Ready long before t = 0 and were
	// last scraped one resolution before the first scrape, using the first
	// row's demand since then.
	firstScrape := tickOffset + w.Phase
	before := (-(firstScrape - w.Resolution)).Seconds() * w.Trace[0].Demand / float64(w.Spec.MinReplicas)
	for range w.Spec.MinReplicas {
		p := s.newPod(-initialAge)
		p.running, p.ready, p.runningAt, p.readyAt = true, true, -initialAge, -initialAge
		p.last = reading{at: firstScrape - w.Resolution, cum: -before}
		p.readings = 1
	}
	return s
}

func (s *world) newPod(at time.Duration) *pod {
	s.seq++
	p := &pod{name: fmt.Sprintf("pod-%d", s.seq), created: at}
	s.pods = append(s.pods, p)
	return p
}

// tick advances the world at t = k + 0.5 s: create or delete pods to match
// spec.replicas (newest deleted first), move pods to Running and Ready, and
// scrape when a scrape is due.
func (s *world) tick(t time.Duration) {
	for int32(len(s.pods)) < s.replicas {
		s.newPod(t)
	}
	if n := int(s.replicas); len(s.pods) > n {
		s.pods = s.pods[:n]
	}
	for _, p := range s.pods {
		if !p.running && t >= p.created+s.w.Pending {
			p.running, p.runningAt = true, t
		}
		if !p.ready && t >= p.created+s.w.Startup {
			p.ready, p.readyAt = true, t
		}
	}
	s.totals.MaxPods = max(s.totals.MaxPods, len(s.pods))
	firstScrape := tickOffset + s.w.Phase
	if t >= firstScrape && (t-firstScrape)%s.w.Resolution == 0 {
		for _, p := range s.pods {
			if p.running {
				p.prev, p.last = p.last, reading{at: t, cum: p.cum}
				p.readings++
			}
		}
	}
}

func (s *world) readyCount() int {
	n := 0
	for _, p := range s.pods {
		if p.ready {
			n++
		}
	}
	return n
}

// integrate accounts [a, b), during which the pods do not change; the demand
// may change at trace rows inside it.
func (s *world) integrate(a, b time.Duration) {
	if b <= a {
		return
	}
	ready := s.readyCount()
	capacity := float64(ready) * float64(s.w.Request) / 1000
	var demandSecs float64
	for _, seg := range s.segments(a, b) {
		secs := seg.dur.Seconds()
		demandSecs += seg.demand * secs
		if seg.demand > capacity {
			s.totals.UnderProvisionedSeconds += secs
		}
	}
	secs := (b - a).Seconds()
	s.totals.DemandCoreSeconds += demandSecs
	s.totals.CoreSeconds += float64(len(s.pods)) * float64(s.w.Request) / 1000 * secs
	s.podSecs += float64(len(s.pods)) * secs
	if ready == 0 {
		return
	}
	for _, p := range s.pods {
		if p.ready {
			p.cum += demandSecs / float64(ready)
		}
	}
}

type segment struct {
	dur    time.Duration
	demand float64
}

// segments splits [a, b) at trace rows; before the first row the demand is
// the first row's. Calls come in time order, so a cursor (s.row, the row in
// force at the last a) keeps this linear in the trace length over a run.
func (s *world) segments(a, b time.Duration) []segment {
	tr := s.w.Trace
	for s.row+1 < len(tr) && tr[s.row+1].T <= a {
		s.row++
	}
	out := s.segBuf[:0]
	for i := s.row; i < len(tr); i++ {
		lo := max(tr[i].T, a)
		if i == s.row {
			lo = a
		}
		if lo >= b {
			break
		}
		hi := b
		if i+1 < len(tr) {
			hi = min(b, tr[i+1].T)
		}
		if hi > lo {
			out = append(out, segment{dur: hi - lo, demand: tr[i].Demand})
		}
	}
	s.segBuf = out
	return out
}

// sync is one reconcile of the autoscaler at t.
func (s *world) sync(t time.Duration) error {
	now := Epoch().Add(t)
	current := s.replicas
	o := horizontal.Observation{Now: now, CurrentReplicas: current, StatusReplicas: int32(len(s.pods))}
	samples := map[string]horizontal.Sample{}
	for _, p := range s.pods {
		o.Pods = append(o.Pods, s.observe(p, now))
		if p.readings >= 2 {
			win := p.last.at - p.prev.at
			cores := (p.last.cum - p.prev.cum) / win.Seconds()
			samples[p.name] = horizontal.Sample{
				Value:     milliCeil(cores),
				Timestamp: Epoch().Add(p.last.at), Window: win,
			}
		}
	}
	for range s.w.Spec.Metrics {
		o.Metrics = append(o.Metrics, horizontal.MetricValues{PodValues: samples})
	}
	d := s.w.Decider.Decide(o, &s.hist)
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
	row := SyncRow{T: t, Current: current, Desired: d.Replicas, Pods: len(s.pods), Ready: s.readyCount(), Reason: d.Reason}
	if ms := d.Proposal.Metrics; len(ms) > 0 && ms[0].Err == nil {
		row.Utilization = ms[0].Utilization
	}
	s.rows = append(s.rows, row)
	s.totals.Syncs++
	return nil
}

func (s *world) observe(p *pod, now time.Time) horizontal.Pod {
	hp := horizontal.Pod{
		Name: p.name, Phase: horizontal.PodPending, HasReadyCondition: true, Ready: p.ready,
		Containers: []horizontal.Container{{Name: containerName, Requests: map[string]int64{"cpu": s.w.Request}}},
	}
	if p.running {
		hp.Phase = horizontal.PodRunning
		hp.StartTime = Epoch().Add(p.runningAt)
		hp.ReadyTransition = hp.StartTime
	} else {
		hp.ReadyTransition = Epoch().Add(p.created)
	}
	if p.ready {
		hp.ReadyTransition = Epoch().Add(p.readyAt)
	}
	return hp
}

func (s *world) finish() {
	// The sums are exact up to float noise: report them to the micro unit.
	for _, v := range []*float64{&s.totals.CoreSeconds, &s.totals.UnderProvisionedSeconds, &s.totals.DemandCoreSeconds} {
		*v = math.Round(*v*1e6) / 1e6
	}
	secs := s.end.Seconds()
	s.totals.Seconds = secs
	if secs > 0 {
		s.totals.AveragePods = s.podSecs / secs
	}
	if s.totals.CoreSeconds > 0 {
		s.totals.DemandOverRequested = s.totals.DemandCoreSeconds / s.totals.CoreSeconds
	}
	s.totals.MaxPods = max(s.totals.MaxPods, int(s.w.Spec.MinReplicas))
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
