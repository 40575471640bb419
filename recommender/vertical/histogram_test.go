package vertical

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// startTime is the upstream tests' arbitrary timestamp.
var startTime = time.Unix(1234567890, 0)

// linearLike stands in for the upstream tests' linear options (bucket size
// 1): with a ratio of 1+1e-9 the exponential buckets are [n, n+1) up to
// rounding, so samples are placed at n+0.5 to stay clear of the edges.
func linearLike(halfLife time.Duration) *scheme {
	// ratio 1+1e-9 makes buckets 1 wide for the values used (1..5):
	// start(b) = (ratio^b - 1) / (ratio - 1) ~= b.
	s, err := newScheme(1, 10, 1+1e-9, 1e-4, halfLife)
	if err != nil {
		panic(err)
	}
	return &s
}

func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

func TestPercentileEmptyHistogram(t *testing.T) {
	s := linearLike(time.Hour)
	h := newHistogram[float64]()
	for _, p := range []float64{-0.5, 0, 0.5, 1, 1.5} {
		if got := h.percentile(s, p); got != 0 {
			t.Errorf("percentile(%v) of empty = %v, want 0", p, got)
		}
	}
}

// Ported from decaying_histogram_test.go.
func TestDecayingHistogram(t *testing.T) {
	type sample struct {
		v, w  float64
		hours int
	}
	for _, tc := range []struct {
		name    string
		samples []sample
		want    map[float64]float64 // percentile -> value
		// ties are percentiles whose threshold equals a cumulative weight
		// exactly; float32 rounding may then land one bucket higher.
		ties map[float64]bool
	}{
		{name: "TestSimpleDecay: a heavy sample decays after 20 half-lives",
			samples: []sample{{2, 1000, 0}, {1, 1, 20}},
			want:    map[float64]float64{0.999: 2, 1.0: 3}},
		{name: "TestLongtermDecay: decay past 2^maxDecayExponent shifts the reference",
			samples: []sample{{2, 1, 0}, {1, 1, 101}},
			want:    map[float64]float64{1.0: 2}},
		{name: "TestDecayingHistogramPercentiles",
			samples: []sample{{1, 1, 0}, {2, 2, 1}, {3, 3, 2}, {4, 4, 3}},
			want: map[float64]float64{0: 2, 0.02: 2, 0.03: 3, 0.10: 3, 0.11: 4, 0.34: 4,
				0.35: 5, 1: 5}},
		{name: "TestNoDecay",
			samples: []sample{{1, 1, 0}, {2, 2, 0}, {3, 3, 0}, {4, 4, 0}},
			want: map[float64]float64{0: 2, 0.1: 2, 0.2: 3, 0.3: 3, 0.4: 4, 0.5: 4, 0.6: 4,
				0.7: 5, 0.8: 5, 0.9: 5, 1: 5},
			ties: map[float64]bool{0.1: true, 0.3: true, 0.6: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := linearLike(time.Hour)
			for _, hw := range []string{"float64", "float32"} {
				h64, h32 := newHistogram[float64](), newHistogram[float32]()
				for _, smp := range tc.samples {
					ts := startTime.Add(time.Duration(smp.hours) * time.Hour).UnixNano()
					h64.add(s, smp.v+0.5, smp.w, ts)
					h32.add(s, smp.v+0.5, smp.w, ts)
				}
				for p, want := range tc.want {
					got := h64.percentile(s, p)
					if hw == "float32" {
						got = h32.percentile(s, p)
						if tc.ties[p] && near(got, want+1, 1e-6) {
							continue
						}
					}
					if !near(got, want, 1e-6) {
						t.Errorf("%s percentile(%v) = %v, want %v", hw, p, got, want)
					}
				}
			}
		})
	}
}

// The bucket boundaries of the default CPU and memory schemes, checked
// against values computed by hand (algorithms.md D.2).
func TestDefaultBuckets(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.cpu.n != 176 || cfg.mem.n != 176 {
		t.Fatalf("bucket counts cpu=%d mem=%d, want 176 and 176", cfg.cpu.n, cfg.mem.n)
	}
	for _, tc := range []struct {
		name       string
		s          *scheme
		v          float64
		wantBucket int
		wantEnd    float64
	}{
		{"0.5 core", &cfg.cpu, 0.5, 25, 0.51113},
		{"1 core", &cfg.cpu, 1, 36, 1.01628},
		{"below first bucket", &cfg.cpu, 0.005, 0, 0.01},
		{"exactly first bucket", &cfg.cpu, 0.01, 1, 0.0205},
		{"beyond the last bucket", &cfg.cpu, 5000, 175, 0},
		{"1 GB", &cfg.mem, 1e9, 36, 1.01628e9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.s.bucket(tc.v)
			if b != tc.wantBucket {
				t.Fatalf("bucket(%v) = %d, want %d", tc.v, b, tc.wantBucket)
			}
			if b+1 < tc.s.n && !near(tc.s.starts[b+1], tc.wantEnd, 1e-4) {
				t.Errorf("end of bucket %d = %v, want %v", b, tc.s.starts[b+1], tc.wantEnd)
			}
			// The bucket contains the value.
			if tc.v >= tc.s.first && b < tc.s.n-1 && (tc.s.starts[b] > tc.v || tc.s.starts[b+1] <= tc.v) {
				t.Errorf("bucket %d = [%v, %v) does not contain %v", b, tc.s.starts[b], tc.s.starts[b+1], tc.v)
			}
		})
	}
}

func TestSubtractRestoresEmpty(t *testing.T) {
	cfg := DefaultConfig()
	s := &cfg.mem
	h := newHistogram[float64]()
	ts := startTime.UnixNano()
	h.add(s, 5e8, 1, ts)
	h.add(s, 2e9, 1, ts)
	h.subtract(s, 5e8, 1, ts)
	if got, want := h.percentile(s, 0), s.starts[s.bucket(2e9)+1]; got != want {
		t.Errorf("after subtracting the low sample percentile(0) = %v, want %v", got, want)
	}
	h.subtract(s, 2e9, 1, ts)
	if !h.isEmpty(s.eps) || len(h.w) != 0 {
		t.Errorf("after subtracting every sample: empty=%v window=%d, want empty and no buckets", h.isEmpty(s.eps), len(h.w))
	}
}

func TestWindowGrowsBothWays(t *testing.T) {
	cfg := DefaultConfig()
	s := &cfg.cpu
	h := newHistogram[float32]()
	ts := startTime.UnixNano()
	for _, v := range []float64{1, 0.1, 10} {
		h.add(s, v, 1, ts)
	}
	if got, want := int(h.lo), s.bucket(0.1); got != want {
		t.Errorf("lo = %d, want %d", got, want)
	}
	if got, want := int(h.lo)+len(h.w)-1, s.bucket(10); got != want {
		t.Errorf("hi = %d, want %d", got, want)
	}
	for p, v := range map[float64]float64{0.2: 0.1, 0.5: 1, 1: 10} {
		if got, want := h.percentile(s, p), s.starts[s.bucket(v)+1]; got != want {
			t.Errorf("percentile(%v) = %v, want %v (end of the bucket of %v)", p, got, want, v)
		}
	}
}

// The table lookup in bucket must agree with the VPA's log formula
// everywhere: random values over the whole range and every bucket boundary
// nudged by a few ulps either way.
func TestBucketMatchesLogFormula(t *testing.T) {
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name string
		s    *scheme
		lo   float64
	}{
		{"cpu", &cfg.cpu, 1e-4},
		{"memory", &cfg.mem, 1e5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var values []float64
			for range 200000 {
				values = append(values, tc.lo*math.Pow(10, rng.Float64()*10))
			}
			for _, start := range tc.s.starts {
				v := start
				for range 4 {
					values = append(values, v)
					v = math.Nextafter(v, math.Inf(1))
				}
				v = start
				for range 4 {
					v = math.Nextafter(v, 0)
					values = append(values, v)
				}
			}
			values = append(values, 0, -1, math.NaN(), math.Inf(1), tc.s.first)
			for _, v := range values {
				if got, want := tc.s.bucket(v), tc.s.logBucket(v); got != want {
					t.Fatalf("bucket(%v) = %d, log formula gives %d", v, got, want)
				}
			}
		})
	}
}

// Over 300 days (three reference shifts) the histogram's percentiles equal
// those of a direct computation with every weight taken relative to the
// last sample (no shift needed).
func TestReferenceShiftKeepsPercentiles(t *testing.T) {
	cfg := DefaultConfig()
	s := &cfg.cpu
	h := newHistogram[float32]()
	direct := make([]float64, s.n)
	end := startTime.Add(300 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(5, 6))
	shifts := 0
	for ts := startTime; ts.Before(end); ts = ts.Add(30 * time.Minute) {
		v := 0.05 + rng.Float64()*2*(1+math.Sin(float64(ts.Unix())/1e6))
		ref := h.ref
		h.add(s, v, 0.1, ts.UnixNano())
		if ref != noRef && h.ref != ref {
			shifts++
		}
		direct[s.bucket(v)] += 0.1 * math.Exp2(float64(ts.Sub(end))/float64(s.halfLife))
	}
	if shifts != 2 {
		t.Errorf("reference shifts = %d, want 2 (every 100 days after the first)", shifts)
	}
	total := 0.0
	for _, w := range direct {
		total += w
	}
	for _, p := range []float64{0.1, 0.5, 0.9, 0.95, 0.99} {
		sum, b := 0.0, 0
		for ; b < s.n-1; b++ {
			if sum += direct[b]; sum >= p*total {
				break
			}
		}
		if got, want := h.percentile(s, p), s.starts[b+1]; got != want {
			t.Errorf("percentile(%v) = %v, direct computation %v", p, got, want)
		}
	}
}

func TestExp2(t *testing.T) {
	s := &DefaultConfig().cpu
	rng := rand.New(rand.NewPCG(8, 9))
	xs := []float64{0, 1, -1, 0.5, -0.5, 1.0 / 512, 99.999, -300, 100, 999.9, -999.9, 1000, -1000, 2000}
	for range 100000 {
		xs = append(xs, (rng.Float64()*2-1)*200)
	}
	for _, x := range xs {
		got, want := s.exp2(x), math.Exp2(x)
		if math.Abs(got-want) > 4e-16*want {
			t.Fatalf("exp2(%v) = %v, math.Exp2 = %v (relative error %.2g)", x, got, want, (got-want)/want)
		}
	}
	if !math.IsNaN(s.exp2(math.NaN())) {
		t.Error("exp2(NaN) is not NaN")
	}
}
