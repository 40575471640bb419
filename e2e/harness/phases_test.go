package harness

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPhasesOrder runs 6 parallel tests and 3 fault tests as goroutines
// with the protocol of the e2e package (each fault test prepares in its
// parallel part, then calls Exclusive) and checks what the phases promise:
// at most 2 parallel parts at once, no alone part before every parallel
// part has ended, one alone part at a time, and the fault guard open only
// while a test runs alone.
func TestPhasesOrder(t *testing.T) {
	p := NewPhases(2)
	var (
		mu                   sync.Mutex
		running, maxRunning  int
		parallelPartsEnded   int
		events, problems     []string
		parallel, faultNames []string
	)
	for i := range 6 {
		parallel = append(parallel, fmt.Sprintf("TestParallel%d", i))
	}
	faultNames = []string{"TestFaultA", "TestFaultB", "TestFaultC"}
	for _, name := range append(append([]string{}, parallel...), faultNames...) {
		if err := p.Register(name); err != nil { // before any test resumes, as go test guarantees
			t.Fatal(err)
		}
	}
	parallelPart := func(name string, d time.Duration) {
		p.Acquire(name)
		mu.Lock()
		running++
		maxRunning = max(maxRunning, running)
		if err := p.Guard("stop metrics-server"); err == nil {
			problems = append(problems, name+": guard allowed a fault during the parallel phase")
		}
		mu.Unlock()
		time.Sleep(d)
		mu.Lock()
		running--
		parallelPartsEnded++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for i, name := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.Done(name)
			parallelPart(name, time.Duration(5+i)*time.Millisecond)
		}()
	}
	for _, name := range faultNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.Done(name)
			parallelPart(name, 2*time.Millisecond)
			if err := p.Exclusive(name); err != nil {
				mu.Lock()
				problems = append(problems, err.Error())
				mu.Unlock()
				return
			}
			mu.Lock()
			events = append(events, "start "+name)
			if parallelPartsEnded != 9 || running != 0 {
				problems = append(problems, fmt.Sprintf("%s alone while %d parallel parts run, %d of 9 ended", name, running, parallelPartsEnded))
			}
			if err := p.Guard("stop metrics-server"); err != nil {
				problems = append(problems, name+": "+err.Error())
			}
			mu.Unlock()
			time.Sleep(3 * time.Millisecond)
			mu.Lock()
			events = append(events, "end "+name)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if maxRunning != 2 {
		t.Errorf("at most %d parallel parts ran at once, want 2", maxRunning)
	}
	for _, e := range problems {
		t.Error(e)
	}
	if len(events) != 6 {
		t.Fatalf("alone events %v, want a start and an end for each of 3", events)
	}
	for i := 0; i < len(events); i += 2 {
		start, end := strings.TrimPrefix(events[i], "start "), strings.TrimPrefix(events[i+1], "end ")
		if !strings.HasPrefix(events[i], "start ") || start != end {
			t.Errorf("alone parts overlapped: %v", events)
			break
		}
	}
	if err := p.Guard("stop kwok"); err == nil {
		t.Error("guard allows faults after the last alone test ended")
	}
	if par, alone := p.Timings(time.Now()); par <= 0 || alone <= 0 {
		t.Errorf("Timings() = %s, %s; want both positive", par, alone)
	}
}

// TestPhasesAloneOnly: with only fault tests (go test -run picked them),
// each runs alone as soon as it asks.
func TestPhasesAloneOnly(t *testing.T) {
	p := NewPhases(4)
	if err := p.Register("TestFault"); err != nil {
		t.Fatal(err)
	}
	p.Acquire("TestFault")
	done := make(chan error, 1)
	go func() { done <- p.Exclusive("TestFault") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Exclusive waited although no other test was registered")
	}
	if got := p.Holder(); got != "TestFault" {
		t.Errorf("Holder() = %q, want TestFault", got)
	}
	if p.Ended("TestFault") {
		t.Error("Ended() before Done = true")
	}
	p.Done("TestFault")
	if got := p.Holder(); got != "" {
		t.Errorf("Holder() after Done = %q, want none", got)
	}
	if !p.Ended("TestFault") {
		t.Error("Ended() after Done = false")
	}
}

// TestPhasesDoneWithoutSlot: a test that ends before it got a slot
// (skipped or failed while paused) still ends its parallel part, so tests
// waiting to run alone do not wait forever.
func TestPhasesDoneWithoutSlot(t *testing.T) {
	p := NewPhases(1)
	for _, name := range []string{"TestSkipped", "TestFault"} {
		if err := p.Register(name); err != nil {
			t.Fatal(err)
		}
	}
	p.Done("TestSkipped")
	p.Acquire("TestFault")
	done := make(chan error, 1)
	go func() { done <- p.Exclusive("TestFault") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still waiting after the only other test ended")
	}
}

func TestPhasesMisuse(t *testing.T) {
	p := NewPhases(1)
	if err := p.Register("TestA"); err != nil {
		t.Fatal(err)
	}
	if err := p.Register("TestA"); err == nil {
		t.Error("Register twice = nil, want an error")
	}
	if err := p.Exclusive("TestUnknown"); err == nil {
		t.Error("Exclusive of an unregistered test = nil, want an error")
	}
	p.Acquire("TestA")
	if err := p.Register("TestA/subtest"); err == nil {
		t.Error("Register after a test resumed = nil, want an error (a subtest calling setup)")
	}
}

func TestPhasesClaim(t *testing.T) {
	p := NewPhases(1)
	for _, tc := range []struct {
		name, test, ns string
		wantErr        bool
	}{
		{name: "first claim", test: "TestA", ns: "a"},
		{name: "same test again (a subtest)", test: "TestA", ns: "a"},
		{name: "another namespace", test: "TestB", ns: "b"},
		{name: "another test, same namespace", test: "TestB", ns: "a", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Claim(tc.test, tc.ns)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Claim(%s, %s) = %v, want error %v", tc.test, tc.ns, err, tc.wantErr)
			}
			if tc.wantErr && !strings.Contains(err.Error(), "TestA") {
				t.Errorf("error %q does not name the owner TestA", err)
			}
		})
	}
	if got := p.Owner("a"); got != "TestA" {
		t.Errorf("Owner(a) = %q, want TestA", got)
	}
}

// TestPhasesBeginWithoutSlot: a test on its own cluster (Begin) runs while
// every slot is taken, and the parallel phase lasts until it is done too.
func TestPhasesBeginWithoutSlot(t *testing.T) {
	p := NewPhases(1)
	for _, name := range []string{"TestShared", "TestOwn"} {
		if err := p.Register(name); err != nil {
			t.Fatal(err)
		}
	}
	p.Acquire("TestShared") // the only slot
	begun := make(chan struct{})
	go func() {
		p.Begin()
		close(begun)
	}()
	select {
	case <-begun:
	case <-time.After(10 * time.Second):
		t.Fatal("Begin waited for a slot")
	}
	p.Done("TestShared")
	if par, _ := p.Timings(time.Now()); par != 0 {
		t.Errorf("parallel phase ended (%s) while TestOwn still runs", par)
	}
	time.Sleep(time.Millisecond)
	p.Done("TestOwn")
	if par, _ := p.Timings(time.Now()); par <= 0 {
		t.Errorf("Timings() parallel = %s after both ended, want > 0", par)
	}
}
