package simulate

import (
	"fmt"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// reading is one cumulative CPU counter value of a pod (core-seconds).
type tickReading struct {
	at  time.Duration
	cum float64
}

type tickPod struct {
	name           string
	created        time.Duration
	running, ready bool
	runningAt      time.Duration // tick at which it became Running
	readyAt        time.Duration // tick at which it became Ready
	cum            float64       // core-seconds used so far
	prev, last     tickReading
	readings       int
}

// world is the mutable state of one run.
type tickWorld struct {
	w        World
	end      time.Duration
	replicas int32 // spec.replicas: the last decision
	pods     []*tickPod
	seq      int
	row      int // trace row in force at the last integrated time
	segBuf   []tickSegment
	hist     horizontal.History
	totals   Totals
	acct     accounts
	rows     []SyncRow
}

// runPerSecond is the world as it was before Run went from event to event:
// it advances in 1 s ticks, integrates between ticks and syncs, and keeps a
// cumulative counter per pod. It is kept as the reference Run must equal
// (TestRunEqualsPerSecond, FuzzRunEqualsPerSecond) and as the baseline of
// BenchmarkWorld.
func runPerSecond(w World) (Result, error) {
	if err := w.Validate(); err != nil {
		return Result{}, fmt.Errorf("world: %w", err)
	}
	w = w.repeated()
	if w.Decider == nil {
		w.Decider = HPA(w.Spec, w.Options)
	}
	s := newTickWorld(w)
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

func newTickWorld(w World) *tickWorld {
	end := w.Duration
	if end == 0 {
		end = w.Trace[len(w.Trace)-1].T + time.Second
	}
	s := &tickWorld{w: w, end: end, replicas: w.Spec.MinReplicas}
	// The initial pods were created and Ready long before t = 0 and were
	// last scraped one resolution before the first scrape, using the first
	// row's demand since then.
	firstScrape := tickOffset + w.Phase
	before := (-(firstScrape - w.Resolution)).Seconds() * w.Trace[0].Demand / float64(w.Spec.MinReplicas)
	for range w.Spec.MinReplicas {
		p := s.newPod(-initialAge)
		p.running, p.ready, p.runningAt, p.readyAt = true, true, -initialAge, -initialAge
		p.last = tickReading{at: firstScrape - w.Resolution, cum: -before}
		p.readings = 1
	}
	return s
}

func (s *tickWorld) newPod(at time.Duration) *tickPod {
	s.seq++
	p := &tickPod{name: fmt.Sprintf("pod-%d", s.seq), created: at}
	s.pods = append(s.pods, p)
	return p
}

// tick advances the world at t = k + 0.5 s: create or delete pods to match
// spec.replicas (newest deleted first), move pods to Running and Ready, and
// scrape when a scrape is due.
func (s *tickWorld) tick(t time.Duration) {
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
				p.prev, p.last = p.last, tickReading{at: t, cum: p.cum}
				p.readings++
			}
		}
	}
}

func (s *tickWorld) readyCount() int {
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
func (s *tickWorld) integrate(a, b time.Duration) {
	if b <= a {
		return
	}
	ready := s.readyCount()
	capacity := float64(ready) * float64(s.w.Request) / 1000
	var demandSecs float64
	for _, seg := range s.segments(a, b) {
		demandSecs += seg.demand * seg.dur.Seconds()
		s.acct.addDemand(s.w.Trace, seg.row, seg.dur, seg.demand > capacity)
	}
	s.acct.addPods(len(s.pods), b-a)
	if ready == 0 {
		return
	}
	for _, p := range s.pods {
		if p.ready {
			p.cum += demandSecs / float64(ready)
		}
	}
}

type tickSegment struct {
	row    int
	dur    time.Duration
	demand float64
}

// segments splits [a, b) at trace rows; before the first row the demand is
// the first row's. Calls come in time order, so a cursor (s.row, the row in
// force at the last a) keeps this linear in the trace length over a run.
func (s *tickWorld) segments(a, b time.Duration) []tickSegment {
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
			out = append(out, tickSegment{row: i, dur: hi - lo, demand: tr[i].Demand})
		}
	}
	s.segBuf = out
	return out
}

// sync is one reconcile of the autoscaler at t.
func (s *tickWorld) sync(t time.Duration) error {
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
		row.Utilization, row.Value = ms[0].Utilization, ms[0].Value
	}
	s.rows = append(s.rows, row)
	s.totals.Syncs++
	return nil
}

func (s *tickWorld) observe(p *tickPod, now time.Time) horizontal.Pod {
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

func (s *tickWorld) finish() {
	s.acct.fill(&s.totals, s.w.Trace, s.end.Seconds(), s.w.Request, float64(s.w.Request)/1000)
	s.totals.MaxPods = max(s.totals.MaxPods, int(s.w.Spec.MinReplicas))
}
