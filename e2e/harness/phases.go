package harness

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Phases orders the tests of one e2e suite run. Every test starts in the
// parallel phase, at most a fixed number at a time. A test that must run
// alone (it stops or restarts a shared component, runs the HPA controller)
// calls Exclusive when it gets to that part: it gives back its slot, waits
// until no test is left in its parallel part and no other test is alone,
// and then has the cluster to itself until it ends. So a fault test
// prepares (workloads, ebb, steady state) beside the others and only its
// fault part runs alone. The e2e package drives Phases from testing.T
// (setup, exclusive); Phases knows nothing of testing.
//
// The protocol: Register before t.Parallel (go test resumes parallel tests
// only after every top-level test reached t.Parallel, so when the first
// one resumes all have registered), Acquire (or Begin, without a slot)
// after it, Exclusive if needed,
// Done when the test ends.
type Phases struct {
	slots chan struct{} // one per test running its parallel part

	mu            sync.Mutex
	cond          *sync.Cond
	tests         map[string]*testState // by test name
	parallelLeft  int                   // registered tests still in their parallel part
	holder        string                // test running alone, "" when none
	namespaces    map[string]string     // namespace → test that claimed it
	parallelStart time.Time
	parallelEnd   time.Time // when parallelLeft last reached 0
	aloneStart    time.Time
}

type testState struct {
	slot, alone, done bool
}

// NewPhases runs at most parallel tests' parallel parts at once.
func NewPhases(parallel int) *Phases {
	if parallel < 1 {
		parallel = 1
	}
	p := &Phases{slots: make(chan struct{}, parallel), tests: map[string]*testState{}, namespaces: map[string]string{}}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Claim records that test owns namespace ns for this run; a namespace
// claimed by another test is an error (tests share one cluster).
func (p *Phases) Claim(test, ns string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if owner, ok := p.namespaces[ns]; ok && owner != test {
		return fmt.Errorf("namespace %q is already used by %s: every e2e test needs its own namespace", ns, owner)
	}
	p.namespaces[ns] = test
	return nil
}

// Owner is the test that claimed ns ("" if none).
func (p *Phases) Owner(ns string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.namespaces[ns]
}

// Register counts test as one more test in its parallel part.
func (p *Phases) Register(test string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.tests[test]; ok {
		return fmt.Errorf("test %s registered twice: call setup once per test", test)
	}
	if !p.parallelStart.IsZero() {
		return fmt.Errorf("test %s registered after the parallel phase began: call setup from a top-level test, before anything else", test)
	}
	p.tests[test] = &testState{}
	p.parallelLeft++
	return nil
}

// Acquire blocks until a slot is free and gives it to test.
func (p *Phases) Acquire(test string) {
	p.slots <- struct{}{}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tests[test].slot = true
	p.begin()
}

// Begin starts test's parallel part without a slot: a test on a cluster of
// its own, which the slots (shares of the shared cluster) do not concern.
// It counts in the parallel phase like any other.
func (p *Phases) Begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.begin()
}

// begin marks the start of the parallel phase at its first test (p.mu held).
func (p *Phases) begin() {
	if p.parallelStart.IsZero() {
		p.parallelStart = time.Now()
	}
}

// Exclusive ends test's parallel part (its slot goes back), waits until
// every test has ended its parallel part and no test runs alone, and then
// lets test run alone until Done.
func (p *Phases) Exclusive(test string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.tests[test]
	if st == nil || st.alone {
		return fmt.Errorf("test %s: Exclusive needs a registered test not already alone", test)
	}
	p.endParallel(st)
	for p.parallelLeft > 0 || p.holder != "" {
		p.cond.Wait()
	}
	st.alone, p.holder = true, test
	if p.aloneStart.IsZero() {
		p.aloneStart = time.Now()
	}
	return nil
}

// Done ends test: its slot or the cluster goes back.
func (p *Phases) Done(test string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.tests[test]
	if st == nil || st.done {
		return
	}
	st.done = true
	if st.alone {
		p.holder = ""
		p.cond.Broadcast()
		return
	}
	p.endParallel(st)
}

// endParallel gives back st's slot and counts its parallel part done
// (p.mu held).
func (p *Phases) endParallel(st *testState) {
	if st.slot {
		<-p.slots
		st.slot = false
	}
	p.parallelLeft--
	if p.parallelLeft == 0 {
		p.parallelEnd = time.Now()
	}
	p.cond.Broadcast()
}

// Ended reports whether test has ended (Done).
func (p *Phases) Ended(test string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.tests[test]
	return st != nil && st.done
}

// Holder is the test running alone ("" if none).
func (p *Phases) Holder() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.holder
}

// Guard is a cluster fault guard (cluster.Cluster.SetFaultGuard): a
// component may be stopped, restarted or added only by a test running
// alone.
func (p *Phases) Guard(action string) error {
	if p.Holder() == "" {
		return errors.New("only a test running alone may stop, restart or add shared components: " +
			"call exclusive(t) (or use setupFault) before the fault")
	}
	return nil
}

// Timings returns the wall time of the parallel phase (first slot taken to
// the last parallel part ended) and of the alone phase up to end.
func (p *Phases) Timings(end time.Time) (parallel, alone time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.parallelStart.IsZero() && !p.parallelEnd.IsZero() {
		parallel = p.parallelEnd.Sub(p.parallelStart)
	}
	if !p.aloneStart.IsZero() {
		alone = end.Sub(p.aloneStart)
	}
	return parallel, alone
}
