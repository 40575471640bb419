package simulate

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
)

// recorder wraps a rule and keeps a copy of every observation it was given
// (the world reuses the observation's slices and maps).
type recorder struct {
	next Decider
	seen []horizontal.Observation
}

func (r *recorder) Decide(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
	c := o
	c.Pods = append([]horizontal.Pod(nil), o.Pods...)
	c.Metrics = nil
	for _, mv := range o.Metrics {
		mv.PodValues = maps.Clone(mv.PodValues)
		c.Metrics = append(c.Metrics, mv)
	}
	r.seen = append(r.seen, c)
	return r.next.Decide(o, h)
}

func stepWorld() World {
	w := DefaultWorld()
	w.Spec = cpuSpec(2, 20, 70)
	w.Trace = []Point{{0, 1}, {120 * time.Second, 4}, {400 * time.Second, 0.5}, {900 * time.Second, 2}}
	return w
}

// TestDeciderSeesOnlyThePast: the observations a decider is given at the
// syncs up to T are the same whatever the trace holds after T, they come at
// the sync times only, and every metric sample in them was taken before the
// sync.
func TestDeciderSeesOnlyThePast(t *testing.T) {
	const cut = 400 * time.Second
	run := func(after float64) []horizontal.Observation {
		w := stepWorld()
		w.Trace[2].Demand, w.Trace[3].Demand = after, after*2
		rec := &recorder{next: HPA(w.Spec, w.Options)}
		w.Decider = rec
		if _, err := Run(w); err != nil {
			t.Fatal(err)
		}
		return rec.seen
	}
	a, b := run(0.5), run(9)
	if len(a) != len(b) || len(a) != 60 {
		t.Fatalf("got %d and %d observations, want 60 (900 s / 15 s)", len(a), len(b))
	}
	upTo := func(obs []horizontal.Observation) []horizontal.Observation {
		var out []horizontal.Observation
		for _, o := range obs {
			if o.Now.Sub(Epoch()) <= cut {
				out = append(out, o)
			}
		}
		return out
	}
	if diff := cmp.Diff(upTo(a), upTo(b)); diff != "" {
		t.Errorf("observations up to %v depend on the trace after it (-low +high):\n%s", cut, diff)
	}
	if cmp.Equal(a, b) {
		t.Errorf("observations after %v do not depend on the trace there: the test cannot tell", cut)
	}
	for i, o := range a {
		at := o.Now.Sub(Epoch())
		if want := time.Duration(i+1) * 15 * time.Second; at != want {
			t.Errorf("observation %d at %v, want the sync time %v", i, at, want)
		}
		for _, mv := range o.Metrics {
			for pod, smp := range mv.PodValues {
				if !smp.Timestamp.Before(o.Now) {
					t.Errorf("sync at %v: pod %s sample taken at %v, not before the sync", at, pod, smp.Timestamp.Sub(Epoch()))
				}
			}
		}
	}
}

// fixed decides a set size per sync from its own counter: state kept by the
// decider itself.
type fixed struct {
	calls int
	sizes map[int]int32 // call number -> size from then on
	cur   int32
}

func (f *fixed) Decide(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
	f.calls++
	if n, ok := f.sizes[f.calls]; ok {
		f.cur = n
	}
	if f.cur == 0 {
		f.cur = o.CurrentReplicas
	}
	return horizontal.Decision{Replicas: f.cur, Reason: "Fixed"}
}

func TestDeciderReplacesTheRule(t *testing.T) {
	w := DefaultWorld()
	w.Spec, w.Trace, w.Duration = cpuSpec(2, 20, 70), []Point{{0, 1}}, 121*time.Second
	w.Decider = &fixed{sizes: map[int]int32{2: 5, 6: 3}}
	res, err := Run(w)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		T                float64
		Current, Desired int32
		Pods, Ready      int
		Reason           string
	}
	var got []row
	for _, r := range res.Syncs {
		got = append(got, row{r.T.Seconds(), r.Current, r.Desired, r.Pods, r.Ready, r.Reason})
	}
	// 5 pods from the 30.5 s tick (Ready at 60.5 s), 3 from the 90.5 s tick.
	want := []row{
		{15, 2, 2, 2, 2, "Fixed"}, {30, 2, 5, 2, 2, "Fixed"}, {45, 5, 5, 5, 2, "Fixed"}, {60, 5, 5, 5, 2, "Fixed"},
		{75, 5, 5, 5, 5, "Fixed"}, {90, 5, 3, 5, 5, "Fixed"}, {105, 3, 3, 3, 3, "Fixed"}, {120, 3, 3, 3, 3, "Fixed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("syncs (-want +got):\n%s", diff)
	}
	if res.Totals.ScaleUps != 1 || res.Totals.ScaleDowns != 1 {
		t.Errorf("scale events: up %d, down %d; want 1 and 1", res.Totals.ScaleUps, res.Totals.ScaleDowns)
	}
}

func TestDeciderOutOfRange(t *testing.T) {
	w := DefaultWorld()
	w.Spec, w.Trace = cpuSpec(2, 20, 70), []Point{{0, 1}, {60 * time.Second, 1}}
	w.Decider = &fixed{sizes: map[int]int32{3: 20000}}
	_, err := Run(w)
	if err == nil || !strings.Contains(err.Error(), "sync at 45s: the decider wants 20000 replicas") {
		t.Errorf("Run error = %v, want it to name the sync and the size", err)
	}
}

// TestDefaultDeciderIsTheHPA: a nil Decider and HPA(spec, options) give the
// same run, and the HPA rule is called once per sync.
func TestDefaultDeciderIsTheHPA(t *testing.T) {
	w := stepWorld()
	base, err := Run(w)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: HPA(w.Spec, w.Options)}
	w.Decider = rec
	got, err := Run(w)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(base, got); diff != "" {
		t.Errorf("run with HPA(spec, options) differs from the default (-default +explicit):\n%s", diff)
	}
	if len(rec.seen) != base.Totals.Syncs {
		t.Errorf("decider called %d times, %d syncs", len(rec.seen), base.Totals.Syncs)
	}
}

// TestRepeat: a trace played N times is the trace written out N times back
// to back (its first row's demand from each play's start, each play cut at
// the play length), the decider's own state carries over, and the first play
// is the single run.
func TestRepeat(t *testing.T) {
	tests := []struct {
		name     string
		trace    []Point
		duration time.Duration
		repeat   int
		// want is the trace written out by hand, with its duration.
		want    []Point
		wantDur time.Duration
	}{
		{
			name:  "rows from 0, play = last row + 1 s",
			trace: []Point{{0, 1}, {100 * time.Second, 3}}, repeat: 3,
			want: []Point{{0, 1}, {100 * time.Second, 3}, {101 * time.Second, 1}, {201 * time.Second, 3},
				{202 * time.Second, 1}, {302 * time.Second, 3}},
			wantDur: 303 * time.Second,
		},
		{
			name:  "first row after 0 and a duration cutting the last row",
			trace: []Point{{10 * time.Second, 2}, {50 * time.Second, 4}, {300 * time.Second, 9}}, duration: 200 * time.Second, repeat: 2,
			want: []Point{{0, 2}, {10 * time.Second, 2}, {50 * time.Second, 4},
				{200 * time.Second, 2}, {210 * time.Second, 2}, {250 * time.Second, 4}},
			wantDur: 400 * time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := DefaultWorld()
			w.Spec, w.Trace, w.Duration, w.Repeat = cpuSpec(2, 20, 70), tc.trace, tc.duration, tc.repeat
			rec := &recorder{next: HPA(w.Spec, w.Options)}
			w.Decider = rec
			got, err := Run(w)
			if err != nil {
				t.Fatal(err)
			}
			byHand := DefaultWorld()
			byHand.Spec, byHand.Trace, byHand.Duration = w.Spec, tc.want, tc.wantDur
			want, err := Run(byHand)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("repeated run differs from the trace written out (-by hand +repeated):\n%s", diff)
			}
			if got.Totals.Seconds != tc.wantDur.Seconds() || len(rec.seen) != got.Totals.Syncs {
				t.Errorf("seconds %v (want %v), decider calls %d for %d syncs", got.Totals.Seconds, tc.wantDur.Seconds(), len(rec.seen), got.Totals.Syncs)
			}
			once := w
			once.Repeat, once.Decider = 1, nil
			first, err := Run(once)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(first.Syncs); len(got.Syncs) < n || !cmp.Equal(first.Syncs, got.Syncs[:n]) {
				t.Errorf("the first play differs from a single run")
			}
		})
	}
}

func TestRepeatCarriesDeciderState(t *testing.T) {
	w := DefaultWorld()
	w.Spec, w.Trace, w.Repeat = cpuSpec(2, 20, 70), []Point{{0, 1}, {59 * time.Second, 1}}, 3
	f := &fixed{sizes: map[int]int32{6: 7}} // the 6th sync is in the second play
	w.Decider = f
	res, err := Run(w)
	if err != nil {
		t.Fatal(err)
	}
	// Syncs at 15, 30, ..., 165 s: the one at 180 s is the end of the run.
	if f.calls != 11 || res.Totals.Syncs != 11 {
		t.Fatalf("decider calls %d, syncs %d; want 11 over 3 plays of 60 s", f.calls, res.Totals.Syncs)
	}
	if r := res.Syncs[5]; r.T != 90*time.Second || r.Desired != 7 || res.Syncs[10].Desired != 7 {
		t.Errorf("sync 6 = %+v, last desired %d; want 7 from 90 s to the end", r, res.Syncs[10].Desired)
	}
}

func TestRepeatValidate(t *testing.T) {
	for _, tc := range []struct {
		repeat int
		want   string
	}{
		{-1, "repeat: -1 must be >= 0"},
		{40, "repeat: 40 plays of 24h0m0s exceed the longest run"},
	} {
		w := DefaultWorld()
		w.Spec, w.Trace, w.Duration, w.Repeat = cpuSpec(1, 5, 50), []Point{{0, 1}}, 24*time.Hour, tc.repeat
		if _, err := Run(w); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("repeat %d: Run error = %v, want %q", tc.repeat, err, tc.want)
		}
	}
}
