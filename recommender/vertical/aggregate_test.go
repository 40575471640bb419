package vertical

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const mb = 1 << 20

// testTimestamp is the upstream container_test.go timestamp.
var testTimestamp = time.Date(2017, 4, 18, 17, 35, 5, 0, time.UTC)

// peaks returns the memory histogram as bucket -> weight, with the weights
// expressed relative to time at (so a peak added with weight 1 at its
// interval end `at` reads 1).
func peaks(a *Aggregate, at time.Time) map[int]float64 {
	h, s := &a.mem, &a.cfg.mem
	out := map[int]float64{}
	f := math.Exp2(float64(at.UnixNano()-h.ref) / float64(s.halfLife))
	for i, w := range h.w {
		if w >= s.eps {
			out[int(h.lo)+i] = w / f
		}
	}
	return out
}

func bucketOf(a *Aggregate, bytes float64) int { return a.cfg.mem.bucket(bytes) }

func TestMemoryPeaksAndOOM(t *testing.T) {
	day := 24 * time.Hour
	end1 := testTimestamp.Add(day)
	type op struct {
		at      time.Time
		bytes   int64
		oom     bool  // RecordOOM with bytes as the request
		wantErr error // for OOMs
	}
	for _, tc := range []struct {
		name string
		ops  []op
		at   time.Time // time the weights are expressed at
		want map[int]float64
	}{
		{name: "TestAggregateContainerUsageSamples: peak replaced inside the interval, new interval adds a peak",
			ops: []op{{at: testTimestamp, bytes: 5 * mb}, {at: testTimestamp.Add(12 * time.Hour), bytes: 10 * mb},
				{at: testTimestamp.Add(24 * time.Hour), bytes: 200 * mb}},
			at:   end1,
			want: nil}, // filled below: 10Mi at end1 (weight 1), 200Mi at end1+24h (weight 2)
		{name: "TestRecordOOMIncreasedByBumpUp",
			ops:  []op{{at: testTimestamp, bytes: 1000 * mb, oom: true}},
			at:   end1,
			want: map[int]float64{-1200: 1}},
		{name: "TestRecordOOMDontRunAway: smaller OOMs keep the peak, a larger one replaces it",
			ops: []op{{at: testTimestamp, bytes: 1000 * mb, oom: true}, {at: testTimestamp, bytes: 999 * mb, oom: true},
				{at: testTimestamp, bytes: 999 * mb, oom: true}, {at: testTimestamp, bytes: 2000 * mb, oom: true}},
			at:   end1,
			want: map[int]float64{-2400: 1}},
		{name: "TestRecordOOMIncreasedByMin",
			ops:  []op{{at: testTimestamp, bytes: 1 * mb, oom: true}},
			at:   end1,
			want: map[int]float64{-101: 1}},
		{name: "TestRecordOOMMaxedWithKnownSample",
			ops:  []op{{at: testTimestamp, bytes: 3000 * mb}, {at: testTimestamp, bytes: 1000 * mb, oom: true}},
			at:   end1,
			want: map[int]float64{-3600: 1}},
		{name: "TestRecordOOMDiscardsOldSample",
			ops: []op{{at: testTimestamp, bytes: 1000 * mb},
				{at: testTimestamp.Add(-30 * time.Hour), bytes: 1000 * mb, oom: true, wantErr: ErrStaleOOM}},
			at:   end1,
			want: map[int]float64{-1000: 1}},
		{name: "TestRecordOOMInNewWindow",
			ops:  []op{{at: testTimestamp, bytes: 2000 * mb}, {at: testTimestamp.Add(2 * day), bytes: 1000 * mb, oom: true}},
			at:   end1,
			want: map[int]float64{-2000: 1, -2400: 4}}, // 2400Mi at end1+2d: weight 2^2
		{name: "TestRecordOOMFreshOOMNearWindowBoundaryIsNotDiscarded",
			ops: []op{{at: testTimestamp, bytes: 100 * mb}, {at: end1, bytes: 2000 * mb},
				{at: end1.Add(-time.Second), bytes: 1000 * mb, oom: true}},
			at:   end1,
			want: map[int]float64{-100: 1, -2400: 2}},
		{name: "a lower sample does not replace the peak; an older sample is dropped",
			ops: []op{{at: testTimestamp, bytes: 500 * mb}, {at: testTimestamp.Add(time.Hour), bytes: 300 * mb},
				{at: testTimestamp.Add(30 * time.Minute), bytes: 900 * mb}},
			at:   end1,
			want: map[int]float64{-500: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregate(DefaultConfig(), testTimestamp)
			c := a.NewContainer()
			for i, o := range tc.ops {
				var err error
				if o.oom {
					err = c.RecordOOM(o.at, o.bytes)
				} else {
					_, err = c.AddMemory(o.at, o.bytes)
				}
				if !errors.Is(err, o.wantErr) {
					t.Fatalf("op %d: err = %v, want %v", i, err, o.wantErr)
				}
			}
			want := map[int]float64{}
			for k, w := range tc.want {
				want[bucketOf(a, float64(-k)*mb)] += w
			}
			if tc.want == nil {
				want = map[int]float64{bucketOf(a, 10*mb): 1, bucketOf(a, 200*mb): 2}
			}
			if d := cmp.Diff(want, peaks(a, tc.at), cmpopts.EquateApprox(1e-9, 0)); d != "" {
				t.Errorf("memory peaks (-want +got):\n%s", d)
			}
		})
	}
}

func TestOOMBumpValues(t *testing.T) {
	// The OOM sample's value, read back as the single bucket it landed in.
	for _, tc := range []struct {
		name          string
		request, want int64
	}{
		{"x1.2 when larger than +100Mi", 1000 * mb, 1200 * mb},
		{"+100Mi when larger than x1.2", 1 * mb, 101 * mb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAggregate(DefaultConfig(), testTimestamp)
			if err := a.NewContainer().RecordOOM(testTimestamp, tc.request); err != nil {
				t.Fatal(err)
			}
			if got, want := a.MemoryPercentile(1), a.cfg.mem.starts[bucketOf(a, float64(tc.want))+1]; got != want {
				t.Errorf("memory p100 = %v, want end of the bucket of %d = %v", got, tc.want, want)
			}
		})
	}
}

func TestCPUSamples(t *testing.T) {
	a := NewAggregate(DefaultConfig(), testTimestamp)
	c := a.NewContainer()
	step := 12 * time.Hour
	for _, tc := range []struct {
		name      string
		at        time.Time
		millis    int64
		wantAdded bool
		wantErr   bool
	}{
		{"first", testTimestamp, 3140, true, false},
		{"later", testTimestamp.Add(step), 6280, true, false},
		{"latest", testTimestamp.Add(2 * step), 1570, true, false},
		{"same timestamp is dropped", testTimestamp.Add(2 * step), 1000, false, false},
		{"older is dropped", testTimestamp.Add(step), 1000, false, false},
		{"negative usage is an error", testTimestamp.Add(4 * step), -1000, false, true},
		{"time before 1970 is an error", time.Unix(-5, 0), 1, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			added, err := c.AddCPU(tc.at, tc.millis)
			if added != tc.wantAdded || (err != nil) != tc.wantErr {
				t.Errorf("AddCPU(%v, %d) = %v, %v; want added=%v err=%v", tc.at, tc.millis, added, err, tc.wantAdded, tc.wantErr)
			}
		})
	}
	if a.Samples() != 3 || a.History() != 2*step {
		t.Errorf("samples=%d history=%v, want 3 and %v", a.Samples(), a.History(), 2*step)
	}
	if _, err := c.AddMemory(testTimestamp, -1); err == nil {
		t.Error("AddMemory with negative bytes: no error")
	}
}

func TestExpired(t *testing.T) {
	cfg := DefaultConfig()
	a := NewAggregate(cfg, testTimestamp)
	window := 8 * 24 * time.Hour
	if a.Expired(testTimestamp.Add(window-time.Second)) || !a.Expired(testTimestamp.Add(window)) {
		t.Error("empty aggregate: want expiry exactly one window after creation")
	}
	if _, err := a.NewContainer().AddCPU(testTimestamp.Add(window), 100); err != nil {
		t.Fatal(err)
	}
	if a.Expired(testTimestamp.Add(2*window-time.Second)) || !a.Expired(testTimestamp.Add(2*window)) {
		t.Error("want expiry one window after the last sample")
	}
}

func TestMaxSampleUnix(t *testing.T) {
	if got := maxSampleTime.Unix(); got != maxSampleUnix {
		t.Errorf("maxSampleTime.Unix() = %d, constant is %d", got, maxSampleUnix)
	}
	c := NewAggregate(DefaultConfig(), startTime).NewContainer()
	if _, err := c.AddCPU(maxSampleTime, 1); err == nil {
		t.Error("AddCPU at 2200-01-01: no error")
	}
	if _, err := c.AddCPU(maxSampleTime.Add(-time.Second), 1); err != nil {
		t.Errorf("AddCPU just before 2200: %v", err)
	}
}
